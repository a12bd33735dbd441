// push_share_once against a real redis-server (docs/protocol.md section 4, "Share
// claims"): every key lands in queued_shares_list exactly once, byte for byte, whatever
// retries, duplicates, restarts or script flushes happen; a push whose token finds its own
// claim is stored, one that finds another's is a duplicate; the claims queued together
// go in one script call; and a push abandoned before it was written never reaches Redis
// and never calls done.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis/redis_store.hpp"
#include "support/redis_server.hpp"

namespace sharegate::redis {
namespace {

using namespace std::chrono_literals;
using sharegate_test::TestRedisServer;

// Polls pred until true or timeout; the store works on its own threads.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

Endpoint endpoint_of(const TestRedisServer& server) {
    Endpoint e;
    e.port = server.port();
    return e;
}

std::string key_of(int i) { return "sharegate:pushed:0xabc:0x" + std::to_string(1000000 + i); }

// The token of the one push of share i (as one instance would issue it).
std::string token_of(int i) { return "0123456789abcdef." + std::to_string(i); }

std::string share_json(int i) {
    return R"({"block":5600000,"nonce":"0x)" + std::to_string(1000000 + i) +
           R"(","minerEthAddress":"0x00000000000000000000000000000000000000b1","challengeNumber":"0xabc","digest":"0x00)" +
           std::to_string(i) + R"(","difficulty":4000})";
}

std::vector<std::string> list_entries(TestRedisServer& server) {
    const std::string all = server.command({"LRANGE", "queued_shares_list", "0", "-1"});
    std::vector<std::string> entries;
    if (all.empty()) return entries;
    for (std::size_t pos = 0; pos <= all.size();) {
        const std::size_t nl = std::min(all.find('\n', pos), all.size());
        entries.push_back(all.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return entries;
}

// Asserts that the list holds share_json(i) exactly once for every i below n, and
// nothing else.
void expect_each_once(TestRedisServer& server, int n) {
    std::map<std::string, int> seen;
    for (const auto& entry : list_entries(server)) ++seen[entry];
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) EXPECT_EQ(seen[share_json(i)], 1) << "share " << i;
}

// Counts the done calls of many pushes.
struct Outcomes {
    std::atomic<int> stored{0};
    std::atomic<int> claimed_elsewhere{0};
    std::atomic<int> failed{0};
    std::function<void(ClaimResult)> done() {
        return [this](ClaimResult result) {
            switch (result) {
                case ClaimResult::stored: stored++; break;
                case ClaimResult::claimed_elsewhere: claimed_elsewhere++; break;
                case ClaimResult::failed: failed++; break;
            }
        };
    }
    // For push_share, which has no claim.
    std::function<void(bool)> plain_done() {
        return [this](bool ok) { (ok ? stored : failed)++; };
    }
    int total() const { return stored.load() + claimed_elsewhere.load() + failed.load(); }
};

class PushOnce : public ::testing::Test {
protected:
    void start_store(Endpoint endpoint) {
        store_ = std::make_unique<RedisStore>(std::move(endpoint), Events{});
        store_->start();
        ASSERT_TRUE(eventually([&] { return store_->connected(); }));
    }

    std::unique_ptr<RedisStore> store_;
};

// A retry (the same token) finds its own claim: stored, not pushed again. Another token
// (another instance, another miner's earlier submit) finds a claim not its own: a
// duplicate, not pushed. An empty token (a record spooled before tokens) takes any claim
// for its own.
TEST_F(PushOnce, TheSameTokenIsStoredOnceAnotherTokenIsADuplicate) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    Outcomes out;
    store_->push_share_once(key_of(1), token_of(1), share_json(1), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 1; }));
    // Another JSON under the same key and token: the share was pushed already, nothing changes.
    store_->push_share_once(key_of(1), token_of(1), share_json(2), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 2; }));
    EXPECT_EQ(out.stored.load(), 2);
    store_->push_share_once(key_of(1), token_of(2), share_json(3), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 3; }));
    EXPECT_EQ(out.claimed_elsewhere.load(), 1);
    store_->push_share_once(key_of(1), "", share_json(4), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 4; }));
    EXPECT_EQ(out.stored.load(), 3);
    EXPECT_EQ(server.command({"LRANGE", "queued_shares_list", "0", "-1"}), share_json(1));
    EXPECT_EQ(server.command({"GET", key_of(1)}), token_of(1));
    const Counters c = store_->counters();
    EXPECT_EQ(c.shares_pushed, 1u);
    EXPECT_EQ(c.shares_already_pushed, 2u);
    EXPECT_EQ(c.shares_claimed_elsewhere, 1u);
    EXPECT_EQ(c.queued, 0u);
}

// Claims queued together (here: while Redis was away) go in one script call per
// kMaxClaimsPerScript shares, in one round trip, and keep their order in the list.
TEST_F(PushOnce, QueuedClaimsGoInOneScriptCallEach1000Shares) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    server.stop();
    ASSERT_TRUE(eventually([&] { return !store_->connected(); }));
    constexpr int kN = 2500;
    Outcomes out;
    for (int i = 0; i < kN; ++i) store_->push_share_once(key_of(i), token_of(i), share_json(i), out.done());
    // The same share twice in one call, under another token: the second is a duplicate.
    store_->push_share_once(key_of(7), token_of(kN), share_json(kN), out.done());
    const std::uint64_t round_trips_before = store_->counters().round_trips;
    server.start();
    ASSERT_TRUE(eventually([&] { return out.total() == kN + 1; }, 30s));
    EXPECT_EQ(out.stored.load(), kN);
    EXPECT_EQ(out.claimed_elsewhere.load(), 1);
    expect_each_once(server, kN);
    // LPUSH puts the newest first: the list read from its tail is the order pushed.
    const auto entries = list_entries(server);
    ASSERT_EQ(entries.size(), static_cast<std::size_t>(kN));
    for (int i = 0; i < kN; ++i) EXPECT_EQ(entries[static_cast<std::size_t>(kN - 1 - i)], share_json(i)) << i;
    const Counters c = store_->counters();
    EXPECT_EQ(c.claim_scripts, 3u);
    const std::string stats = server.command({"INFO", "commandstats"});
    EXPECT_NE(stats.find("cmdstat_evalsha:calls=3,"), std::string::npos) << stats;
    EXPECT_NE(stats.find("cmdstat_lpush:calls=3,"), std::string::npos) << stats;
    // The reads at the reconnection (script, keys, bans), then the one flush.
    EXPECT_LE(c.round_trips - round_trips_before, 4u);
}

TEST_F(PushOnce, TheKeyLivesForTheConfiguredTime) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    Outcomes out;
    store_->push_share_once(key_of(1), token_of(1), share_json(1), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 1; }));
    EXPECT_EQ(server.command({"GET", key_of(1)}), token_of(1));
    const long long ttl = std::stoll(server.command({"TTL", key_of(1)}));
    EXPECT_GT(ttl, 6 * 3600 - 60);
    EXPECT_LE(ttl, 6 * 3600);

    Endpoint shorter = endpoint_of(server);
    shorter.claim_ttl = 100s;
    start_store(shorter);
    store_->push_share_once(key_of(2), token_of(2), share_json(2), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 2; }));
    const long long short_ttl = std::stoll(server.command({"TTL", key_of(2)}));
    EXPECT_GT(short_ttl, 0);
    EXPECT_LE(short_ttl, 100);
}

// Four instances (four tokens) claiming the same shares at once, in different orders:
// each share is stored by exactly one of them and a duplicate for the other three.
TEST_F(PushOnce, ConcurrentClaimsOfTheSameShareStoreItOnce) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    constexpr int kKeys = 1000;
    constexpr int kThreads = 4;
    constexpr int kCoprime[kThreads] = {1, 3, 7, 9};
    Outcomes out;
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t) {
        producers.emplace_back([&, t] {
            // Each thread in its own order, so duplicates meet in the same batches and
            // across batches: a multiplier prime to kKeys visits every key once.
            for (int n = 0; n < kKeys; ++n) {
                const int i = (n * kCoprime[t] + t * 137) % kKeys;  // each key once per thread
                store_->push_share_once(key_of(i), token_of(i) + "/" + std::to_string(t), share_json(i), out.done());
            }
        });
    }
    for (auto& p : producers) p.join();
    ASSERT_TRUE(eventually([&] { return out.total() == kKeys * kThreads; }));
    EXPECT_EQ(out.stored.load(), kKeys);
    EXPECT_EQ(out.claimed_elsewhere.load(), kKeys * (kThreads - 1));
    expect_each_once(server, kKeys);
    const Counters c = store_->counters();
    EXPECT_EQ(c.shares_pushed, static_cast<std::uint64_t>(kKeys));
    EXPECT_EQ(c.shares_already_pushed, 0u);
    EXPECT_EQ(c.shares_claimed_elsewhere, static_cast<std::uint64_t>(kKeys * (kThreads - 1)));
}

// Redis killed (SIGKILL, no goodbye) while pushes are on the wire and restarted on the
// same port from its append-only file: a push Redis ran but could not answer is sent
// again, finds its key, and is not pushed twice.
TEST_F(PushOnce, PushesRetriedAcrossARedisKillLandExactlyOnce) {
    TestRedisServer server(TestRedisServer::Persistence::append_only);
    start_store(endpoint_of(server));
    constexpr int kN = 20000;
    Outcomes out;
    std::thread producer([&] {
        for (int i = 0; i < kN; ++i) {
            store_->push_share_once(key_of(i), token_of(i), share_json(i), out.done());
            if (i % 200 == 0) std::this_thread::sleep_for(1ms);
        }
    });
    ASSERT_TRUE(eventually([&] { return out.stored.load() >= kN / 10; }));
    server.kill_hard();
    ASSERT_TRUE(eventually([&] { return !store_->connected(); }));
    EXPECT_FALSE(store_->writable());
    server.start();
    producer.join();
    ASSERT_TRUE(eventually([&] { return out.total() == kN; }, 60s));
    EXPECT_EQ(out.stored.load(), kN);
    expect_each_once(server, kN);
    const Counters c = store_->counters();
    EXPECT_GE(c.reconnects, 1u);
    EXPECT_EQ(c.shares_pushed + c.shares_already_pushed, static_cast<std::uint64_t>(kN));
    RecordProperty("already_pushed", std::to_string(c.shares_already_pushed));
}

// The same with the connection dropped under a stream of pushes, many times over: with
// a half-answered pipeline each time, some pushes are run twice by Redis.
TEST_F(PushOnce, ConnectionsKilledMidStreamPushEachShareOnce) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    constexpr int kN = 20000;
    Outcomes out;
    std::thread producer([&] {
        for (int i = 0; i < kN; ++i) {
            store_->push_share_once(key_of(i), token_of(i), share_json(i), out.done());
            if (i % 200 == 0) std::this_thread::sleep_for(1ms);
        }
    });
    for (int round = 0; round < 5; ++round) {
        std::this_thread::sleep_for(15ms);
        server.command({"CLIENT", "KILL", "TYPE", "normal"});
    }
    producer.join();
    ASSERT_TRUE(eventually([&] { return out.total() == kN; }, 60s));
    EXPECT_EQ(out.stored.load(), kN);
    expect_each_once(server, kN);
    // A push Redis ran but could not answer counts as already pushed when retried.
    const Counters c = store_->counters();
    EXPECT_EQ(c.shares_pushed + c.shares_already_pushed, static_cast<std::uint64_t>(kN));
    RecordProperty("already_pushed", std::to_string(c.shares_already_pushed));
}

TEST_F(PushOnce, ScriptFlushedAfterLoadingStillPushes) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    Outcomes out;
    store_->push_share_once(key_of(0), token_of(0), share_json(0), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 1; }));
    // Redis forgets the script the store loaded: its EVALSHA is answered NOSCRIPT.
    ASSERT_EQ(server.command({"SCRIPT", "FLUSH"}), "OK");
    for (int i = 1; i < 3; ++i) store_->push_share_once(key_of(i), token_of(i), share_json(i), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 3; }));
    EXPECT_EQ(out.stored.load(), 3);
    expect_each_once(server, 3);
    EXPECT_NE(server.command({"INFO", "commandstats"}).find("cmdstat_eval:calls="), std::string::npos);
    EXPECT_TRUE(store_->connected());
    EXPECT_EQ(store_->counters().reconnects, 0u);  // NOSCRIPT is no reason to reconnect
}

// Redis down: pushes wait in the queue, and an abandoned one is gone for good.
TEST_F(PushOnce, AbandonedBeforeTheWriteIsDroppedAndNeverDone) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    EXPECT_TRUE(store_->writable());
    server.stop();
    ASSERT_TRUE(eventually([&] { return !store_->connected(); }));
    EXPECT_FALSE(store_->writable());

    // The done closure holds this; once abandoned, the store must have let go of it.
    auto held = std::make_shared<int>(0);
    std::atomic<int> abandoned_done_calls{0};
    auto ticket = store_->push_share_once(key_of(0), token_of(0), share_json(0),
                                          [held, &abandoned_done_calls](ClaimResult) { abandoned_done_calls++; });
    ASSERT_TRUE(ticket);
    EXPECT_EQ(held.use_count(), 2);
    EXPECT_EQ(store_->counters().queued, 1u);
    EXPECT_TRUE(ticket->abandon());
    EXPECT_EQ(held.use_count(), 1);
    EXPECT_FALSE(ticket->abandon());  // once only
    Counters c = store_->counters();
    EXPECT_EQ(c.queued, 0u);
    EXPECT_EQ(c.shares_abandoned, 1u);

    // Many more, all abandoned, while Redis stays away.
    constexpr int kMany = 5000;
    std::vector<std::shared_ptr<PushTicket>> tickets;
    for (int i = 1; i <= kMany; ++i) {
        tickets.push_back(
            store_->push_share_once(key_of(i), token_of(i), share_json(i),
                                    [held, &abandoned_done_calls](ClaimResult) { abandoned_done_calls++; }));
    }
    EXPECT_EQ(held.use_count(), 1 + kMany);
    for (auto& t : tickets) EXPECT_TRUE(t->abandon());
    EXPECT_EQ(held.use_count(), 1);
    c = store_->counters();
    EXPECT_EQ(c.queued, 0u);
    EXPECT_EQ(c.shares_abandoned, static_cast<std::uint64_t>(1 + kMany));

    // Redis back: only what was not abandoned reaches it.
    server.start();
    Outcomes out;
    store_->push_share_once(key_of(kMany + 1), token_of(kMany + 1), share_json(kMany + 1), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 1; }));
    EXPECT_EQ(out.stored.load(), 1);
    EXPECT_TRUE(store_->writable());
    EXPECT_EQ(server.command({"LRANGE", "queued_shares_list", "0", "-1"}), share_json(kMany + 1));
    EXPECT_EQ(server.command({"EXISTS", key_of(0)}), "0");
    store_->stop();
    EXPECT_EQ(abandoned_done_calls.load(), 0);
    c = store_->counters();
    EXPECT_EQ(c.shares_failed, 0u);
    EXPECT_EQ(c.shares_pushed, 1u);
}

// abandon() racing the store's thread taking pushes off the queue: each push is either
// abandoned (never done, never in Redis) or not (done once, in Redis once), never both.
TEST_F(PushOnce, AbandonRacingTheWriteIsEitherDroppedOrDone) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    constexpr int kN = 4000;
    std::vector<std::atomic<int>> done_calls(kN);
    std::vector<char> abandoned(kN, 0);
    std::vector<std::shared_ptr<PushTicket>> tickets(kN);
    std::atomic<int> published{0};
    // The producer hands each ticket over as it pushes; another thread abandons every
    // second one as soon as it sees it, a moment before or after the store writes it.
    std::thread abandoner([&] {
        for (int i = 0; i < kN; i += 2) {
            while (published.load(std::memory_order_acquire) <= i) std::this_thread::yield();
            abandoned[static_cast<std::size_t>(i)] = tickets[static_cast<std::size_t>(i)]->abandon() ? 1 : 0;
        }
    });
    for (int i = 0; i < kN; ++i) {
        tickets[static_cast<std::size_t>(i)] =
            store_->push_share_once(key_of(i), token_of(i), share_json(i), [&done_calls, i](ClaimResult result) {
                done_calls[static_cast<std::size_t>(i)] += result == ClaimResult::stored ? 1 : 100;
            });
        published.store(i + 1, std::memory_order_release);
        if (i % 50 == 0) std::this_thread::sleep_for(100us);
    }
    abandoner.join();
    const auto kept = static_cast<int>(kN - std::count(abandoned.begin(), abandoned.end(), 1));
    ASSERT_TRUE(eventually([&] { return store_->counters().shares_pushed == static_cast<std::uint64_t>(kept); }));
    store_->stop();
    std::map<std::string, int> in_list;
    for (const auto& entry : list_entries(server)) ++in_list[entry];
    EXPECT_EQ(in_list.size(), static_cast<std::size_t>(kept));
    for (int i = 0; i < kN; ++i) {
        const auto at = static_cast<std::size_t>(i);
        const int expected = abandoned[at] ? 0 : 1;
        EXPECT_EQ(done_calls[at].load(), expected) << "share " << i;
        EXPECT_EQ(in_list[share_json(i)], expected) << "share " << i;
    }
    const Counters c = store_->counters();
    EXPECT_EQ(c.shares_abandoned, static_cast<std::uint64_t>(kN - kept));
    EXPECT_EQ(c.shares_failed, 0u);
    RecordProperty("abandoned", std::to_string(kN - kept));
}

TEST_F(PushOnce, AbandonAfterDoneReturnsFalse) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    Outcomes out;
    auto ticket = store_->push_share_once(key_of(0), token_of(0), share_json(0), out.done());
    ASSERT_TRUE(eventually([&] { return out.total() == 1; }));
    EXPECT_FALSE(ticket->abandon());
    EXPECT_EQ(store_->counters().shares_abandoned, 0u);
    expect_each_once(server, 1);
}

// Stopping with Redis down fails what waits, but an abandoned push is not a failure.
TEST_F(PushOnce, StopFailsWhatWaitsButNotWhatWasAbandoned) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    server.stop();
    ASSERT_TRUE(eventually([&] { return !store_->connected(); }));
    Outcomes out;
    auto kept = store_->push_share_once(key_of(0), token_of(0), share_json(0), out.done());
    auto dropped = store_->push_share_once(key_of(1), token_of(1), share_json(1), out.done());
    EXPECT_TRUE(dropped->abandon());
    store_->stop(100ms);
    EXPECT_EQ(out.failed.load(), 1);
    EXPECT_EQ(out.stored.load(), 0);
    EXPECT_FALSE(kept->abandon());
    const Counters c = store_->counters();
    EXPECT_EQ(c.shares_failed, 1u);
    EXPECT_EQ(c.shares_abandoned, 1u);
    EXPECT_EQ(c.queued, 0u);
    // After the stop, a push fails at once and cannot be abandoned.
    auto late = store_->push_share_once(key_of(2), token_of(2), share_json(2), out.done());
    EXPECT_EQ(out.failed.load(), 2);
    EXPECT_FALSE(late->abandon());
}

// A refused LPUSH leaves no key behind (the script marks the share only after pushing
// it), so its retry pushes; meanwhile the store says it is not writable.
TEST_F(PushOnce, RefusedPushIsRetriedAndNotWritableMeanwhile) {
    TestRedisServer server;
    server.command({"SET", "queued_shares_list", "not a list"});
    start_store(endpoint_of(server));
    Outcomes out;
    store_->push_share_once(key_of(0), token_of(0), share_json(0), out.done());
    ASSERT_TRUE(eventually([&] { return !store_->writable(); }));
    EXPECT_EQ(out.total(), 0);
    EXPECT_EQ(server.command({"EXISTS", key_of(0)}), "0");
    server.command({"DEL", "queued_shares_list"});
    ASSERT_TRUE(eventually([&] { return out.total() == 1; }));
    EXPECT_EQ(out.stored.load(), 1);
    expect_each_once(server, 1);
    EXPECT_EQ(server.command({"EXISTS", key_of(0)}), "1");
    ASSERT_TRUE(eventually([&] { return store_->writable(); }));
}

TEST_F(PushOnce, LatencyIsCountedPerReadAndReset) {
    TestRedisServer server;
    start_store(endpoint_of(server));
    Outcomes out;
    constexpr int kN = 100;
    for (int i = 0; i < kN; ++i) store_->push_share_once(key_of(i), token_of(i), share_json(i), out.done());
    store_->push_share(share_json(kN), out.plain_done());
    ASSERT_TRUE(eventually([&] { return out.total() == kN + 1; }));
    const PushLatency first = store_->push_latency();
    EXPECT_EQ(first.samples, static_cast<std::uint64_t>(kN + 1));
    EXPECT_GT(first.max.count(), 0);
    EXPECT_LE(first.mean, first.max);
    EXPECT_LE(first.last, first.max);
    const PushLatency second = store_->push_latency();
    EXPECT_EQ(second.samples, 0u);
    EXPECT_EQ(second.max.count(), 0);
    EXPECT_EQ(second.mean.count(), 0);
}

}  // namespace
}  // namespace sharegate::redis
