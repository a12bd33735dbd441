// The Redis store against a real redis-server: what lands in Redis must be byte for
// byte what the pool's back-end reads (docs/protocol.md section 4).
#include "redis/redis_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.hpp"

namespace sharegate::redis {
namespace {

using namespace std::chrono_literals;
using sharegate_test::TestRedisServer;

const std::string kChallenge = "0x" + std::string(62, 'a') + "0f";
const std::string kMiner = "0x" + std::string(38, 'b') + "c1";

// Polls pred until true or timeout; the store works on its own threads.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

// Records every event the store raises.
struct Recorder {
    std::mutex mutex;
    std::vector<PoolSnapshot> snapshots;
    std::vector<Bytes32> challenges;
    std::vector<std::uint64_t> blocks;
    std::vector<VarDiffUpdate> var_diffs;
    std::vector<bool> connection;

    Events events() {
        Events e;
        e.on_snapshot = [this](const PoolSnapshot& s) {
            std::lock_guard lock(mutex);
            snapshots.push_back(s);
        };
        e.on_challenge = [this](const Bytes32& c) {
            std::lock_guard lock(mutex);
            challenges.push_back(c);
        };
        e.on_block = [this](std::uint64_t b) {
            std::lock_guard lock(mutex);
            blocks.push_back(b);
        };
        e.on_var_diff = [this](const VarDiffUpdate& u) {
            std::lock_guard lock(mutex);
            var_diffs.push_back(u);
        };
        e.on_connection = [this](bool up) {
            std::lock_guard lock(mutex);
            connection.push_back(up);
        };
        return e;
    }

    template <typename T>
    std::size_t size(const std::vector<T>& v) {
        std::lock_guard lock(mutex);
        return v.size();
    }
};

Endpoint endpoint_of(const TestRedisServer& server) {
    Endpoint e;
    e.port = server.port();
    return e;
}

std::string share_json(int i) {
    return R"({"block":5600000,"nonce":"0x)" + std::to_string(1000000 + i) + R"(","minerEthAddress":")" + kMiner +
           R"(","challengeNumber":")" + kChallenge + R"(","digest":"0x00)" + std::to_string(i) +
           R"(","difficulty":4000})";
}

// Waits until the store's subscriber connection listens on all three channels.
void wait_subscribed(TestRedisServer& server) {
    ASSERT_TRUE(eventually([&] {
        return server.command({"PUBSUB", "NUMSUB", "challengeNumber", "ethBlockNumber", "varDiff"}) ==
               "challengeNumber\n1\nethBlockNumber\n1\nvarDiff\n1";
    }));
}

TEST(RedisEndpoint, Parses) {
    auto e = Endpoint::parse("redis.local:6380");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "redis.local");
    EXPECT_EQ(e->port, 6380);
    e = Endpoint::parse("10.0.0.1");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "10.0.0.1");
    EXPECT_EQ(e->port, 6379);
    e = Endpoint::parse("h:65535");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->port, 65535);
    for (const char* bad : {"", ":6379", "host:", "host:0", "host:65536", "host:12a", "host:-1", "host:+80",
                            "host:99999999999999999999", "a:b:1"}) {
        EXPECT_FALSE(Endpoint::parse(bad)) << bad;
    }
}

TEST(RedisStore, SnapshotReadsJsonEncodedKeys) {
    TestRedisServer server;
    server.command({"SET", "challengeNumber", "\"" + kChallenge + "\""});
    server.command({"SET", "ethBlockNumber", "5600000"});
    const std::string target = "1234567890123456789012345678901234567890";
    server.command({"SET", "miningTarget", "\"" + target + "\""});

    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    ASSERT_TRUE(eventually([&] { return rec.size(rec.snapshots) >= 1; }));
    ASSERT_TRUE(eventually([&] { return store.connected(); }));
    // connected() turns true just before on_connection runs, on the store's thread.
    ASSERT_TRUE(eventually([&] { return rec.size(rec.connection) >= 1; }));
    std::lock_guard lock(rec.mutex);
    const PoolSnapshot& s = rec.snapshots[0];
    ASSERT_TRUE(s.challenge);
    EXPECT_EQ(to_hex(*s.challenge), kChallenge);
    ASSERT_TRUE(s.eth_block);
    EXPECT_EQ(*s.eth_block, 5600000u);
    ASSERT_TRUE(s.mining_target);
    EXPECT_EQ(s.mining_target->to_decimal(), target);
    ASSERT_EQ(rec.connection, std::vector<bool>{true});
}

TEST(RedisStore, SnapshotOfMissingKeysIsEmpty) {
    TestRedisServer server;
    server.command({"SET", "miningTarget", "\"not a number\""});
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    ASSERT_TRUE(eventually([&] { return rec.size(rec.snapshots) >= 1; }));
    std::lock_guard lock(rec.mutex);
    EXPECT_FALSE(rec.snapshots[0].challenge);
    EXPECT_FALSE(rec.snapshots[0].eth_block);
    EXPECT_FALSE(rec.snapshots[0].mining_target);
}

TEST(RedisStore, SelectsTheDatabase) {
    TestRedisServer server;
    server.command({"SELECT", "3"});  // per connection only; the SET below goes to db 0
    std::string reply = server.command({"SET", "ethBlockNumber", "1"});
    ASSERT_EQ(reply, "OK");
    Endpoint e = endpoint_of(server);
    e.database = 3;
    Recorder rec;
    std::atomic<bool> stored{false};
    {
        RedisStore store(e, rec.events());
        store.start();
        store.push_share("x", [&](bool ok) { stored = ok; });
        ASSERT_TRUE(eventually([&] { return stored.load(); }));
    }
    EXPECT_EQ(server.command({"LLEN", "queued_shares_list"}), "0");  // db 0 untouched
    std::lock_guard lock(rec.mutex);
    ASSERT_GE(rec.snapshots.size(), 1u);
    for (const auto& snapshot : rec.snapshots) EXPECT_FALSE(snapshot.eth_block);  // db 3 has none
}

TEST(RedisStore, PushLandsByteForByteBeforeDone) {
    TestRedisServer server;
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    const std::string json = share_json(7);
    std::mutex m;
    std::condition_variable cv;
    bool called = false;
    bool result = false;
    std::string list_at_done;
    store.push_share(json, [&](bool ok) {
        // done(true) promises the share is already in Redis.
        std::string seen = server.command({"LRANGE", "queued_shares_list", "0", "-1"});
        std::lock_guard lock(m);
        called = true;
        result = ok;
        list_at_done = seen;
        cv.notify_all();
    });
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return called; }));
    EXPECT_TRUE(result);
    EXPECT_EQ(list_at_done, json);
    EXPECT_EQ(store.counters().shares_pushed, 1u);
}

TEST(RedisStore, TenThousandPushesArePipelined) {
    TestRedisServer server;
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    ASSERT_TRUE(eventually([&] { return store.connected(); }));
    // Holding Redis for a moment makes the pushes pile up however fast this machine (or a
    // sanitizer build) runs the producer loop; that pile must then go out in few flushes.
    ASSERT_EQ(server.command({"CLIENT", "PAUSE", "300"}), "OK");
    constexpr int kN = 10000;
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    for (int i = 0; i < kN; ++i) {
        store.push_share(share_json(i), [&](bool stored) { (stored ? ok : failed)++; });
    }
    ASSERT_TRUE(eventually([&] { return ok.load() + failed.load() == kN; }, 30s));
    EXPECT_EQ(ok.load(), kN);
    const Counters c = store.counters();
    EXPECT_EQ(c.shares_pushed, static_cast<std::uint64_t>(kN));
    EXPECT_LT(c.round_trips, 1000u);
    RecordProperty("round_trips", std::to_string(c.round_trips));
    EXPECT_EQ(c.queued, 0u);
    ASSERT_EQ(server.command({"LLEN", "queued_shares_list"}), std::to_string(kN));
    // LPUSH puts the newest first.
    EXPECT_EQ(server.command({"LINDEX", "queued_shares_list", "0"}), share_json(kN - 1));
    EXPECT_EQ(server.command({"LINDEX", "queued_shares_list", "-1"}), share_json(0));
    const std::string all = server.command({"LRANGE", "queued_shares_list", "0", "-1"});
    std::string expected;
    for (int i = kN - 1; i >= 0; --i) {
        expected += share_json(i);
        if (i != 0) expected += '\n';
    }
    EXPECT_TRUE(all == expected);
}

std::optional<std::uint64_t> var_diff_of(RedisStore& store, const std::string& miner) {
    std::mutex m;
    std::condition_variable cv;
    bool called = false;
    std::optional<std::uint64_t> answer;
    store.miner_var_diff(miner, [&](std::optional<std::uint64_t> v) {
        std::lock_guard lock(m);
        called = true;
        answer = v;
        cv.notify_all();
    });
    std::unique_lock lock(m);
    EXPECT_TRUE(cv.wait_for(lock, 5s, [&] { return called; }));
    return answer;
}

TEST(RedisStore, MinerVarDiff) {
    TestRedisServer server;
    const std::string known = "0x" + std::string(40, '1');
    const std::string fresh = "0x" + std::string(40, '2');
    const std::string garbage = "0x" + std::string(40, '3');
    const std::string as_double = "0x" + std::string(40, '4');
    const std::string zero = "0x" + std::string(40, '5');
    server.command(
        {"HSET", "miner_data", known,
         R"({"shareCredits":5,"tokenBalance":0,"tokensAwarded":0,"varDiff":12345,"validSubmittedSolutionsCount":1})"});
    server.command({"HSET", "miner_data", garbage, "{not json"});
    server.command({"HSET", "miner_data", as_double, R"({"varDiff":8000.0})"});
    server.command({"HSET", "miner_data", zero, R"({"varDiff":0})"});

    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    EXPECT_EQ(var_diff_of(store, known), std::optional<std::uint64_t>(12345));
    EXPECT_EQ(var_diff_of(store, fresh), std::optional<std::uint64_t>(kDefaultVarDiff));
    EXPECT_TRUE(eventually([&] { return server.command({"HGET", "miner_data", fresh}) == kDefaultMinerData; }));
    EXPECT_EQ(
        server.command({"HGET", "miner_data", fresh}),
        R"({"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":4000,"validSubmittedSolutionsCount":0})");
    EXPECT_EQ(var_diff_of(store, garbage), std::nullopt);
    EXPECT_EQ(server.command({"HGET", "miner_data", garbage}), "{not json");  // left alone
    EXPECT_EQ(var_diff_of(store, as_double), std::optional<std::uint64_t>(8000));
    EXPECT_EQ(var_diff_of(store, zero), std::nullopt);
    // The default written for the fresh miner is read back as such.
    EXPECT_EQ(var_diff_of(store, fresh), std::optional<std::uint64_t>(kDefaultVarDiff));
}

TEST(RedisStore, SubscriptionsDispatchParsedMessages) {
    TestRedisServer server;
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    wait_subscribed(server);

    // Malformed ones first: they must be ignored without disturbing what follows.
    server.command({"PUBLISH", "challengeNumber", "0x1234"});
    server.command({"PUBLISH", "ethBlockNumber", "12a"});
    server.command({"PUBLISH", "varDiff", "{\"miner\":\"nope\",\"varDiff\":5}"});
    server.command({"PUBLISH", "varDiff", "not json"});
    server.command({"PUBLISH", "varDiff", "{\"miner\":\"" + kMiner + "\"}"});
    ASSERT_TRUE(eventually([&] { return store.counters().messages_ignored == 5; }));

    server.command({"PUBLISH", "challengeNumber", kChallenge});
    server.command({"PUBLISH", "challengeNumber", "\"" + kChallenge + "\""});  // tolerated
    server.command({"PUBLISH", "ethBlockNumber", "5600001"});
    const std::string mixed_case = "0xABCDEF" + std::string(34, '0');
    server.command(
        {"PUBLISH", "varDiff",
         R"({"miner":")" + mixed_case +
             R"(","varDiff":16000,"target":"26959946667150639794667015087019630673637144422540572481103610249216"})"});
    server.command({"PUBLISH", "varDiff", R"({"miner":")" + kMiner + R"(","varDiff":2000})"});

    ASSERT_TRUE(eventually([&] { return rec.size(rec.var_diffs) == 2; }));
    std::lock_guard lock(rec.mutex);
    ASSERT_EQ(rec.challenges.size(), 2u);
    EXPECT_EQ(to_hex(rec.challenges[0]), kChallenge);
    EXPECT_EQ(to_hex(rec.challenges[1]), kChallenge);
    EXPECT_EQ(rec.blocks, std::vector<std::uint64_t>{5600001});
    EXPECT_EQ(rec.var_diffs[0].miner, "0xabcdef" + std::string(34, '0'));
    EXPECT_EQ(rec.var_diffs[0].var_diff, 16000u);
    ASSERT_TRUE(rec.var_diffs[0].target);
    EXPECT_EQ(*rec.var_diffs[0].target, U256::pow2(224));
    EXPECT_EQ(rec.var_diffs[1].miner, kMiner);
    EXPECT_EQ(rec.var_diffs[1].var_diff, 2000u);
    EXPECT_FALSE(rec.var_diffs[1].target);
    EXPECT_EQ(store.counters().messages_ignored, 5u);
}

TEST(RedisStore, SurvivesRedisRestart) {
    TestRedisServer server;
    server.command({"SET", "challengeNumber", "\"" + kChallenge + "\""});
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    wait_subscribed(server);
    ASSERT_TRUE(eventually([&] { return store.connected() && rec.size(rec.snapshots) >= 1; }));

    server.stop();
    ASSERT_TRUE(eventually([&] { return !store.connected(); }));
    constexpr int kN = 100;
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    for (int i = 0; i < kN; ++i) store.push_share(share_json(i), [&](bool stored) { (stored ? ok : failed)++; });
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(ok.load() + failed.load(), 0);  // nothing acknowledged while Redis is down
    EXPECT_EQ(store.counters().queued, static_cast<std::size_t>(kN));

    server.start();
    ASSERT_TRUE(eventually([&] { return ok.load() == kN; }, 10s));
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(server.command({"LLEN", "queued_shares_list"}), std::to_string(kN));
    EXPECT_EQ(server.command({"LINDEX", "queued_shares_list", "0"}), share_json(kN - 1));
    EXPECT_TRUE(store.connected());
    EXPECT_GE(store.counters().reconnects, 1u);

    wait_subscribed(server);
    server.command({"PUBLISH", "ethBlockNumber", "42"});
    ASSERT_TRUE(eventually([&] { return rec.size(rec.blocks) == 1; }));

    std::lock_guard lock(rec.mutex);
    EXPECT_EQ(rec.blocks[0], 42u);
    ASSERT_GE(rec.connection.size(), 3u);
    EXPECT_EQ(rec.connection[0], true);
    EXPECT_EQ(rec.connection[1], false);
    EXPECT_EQ(rec.connection.back(), true);
    // Re-read after the reconnect: the restarted Redis holds no challenge.
    ASSERT_GE(rec.snapshots.size(), 2u);
    EXPECT_TRUE(rec.snapshots.front().challenge);
    EXPECT_FALSE(rec.snapshots.back().challenge);
}

TEST(RedisStore, ConnectionKilledMidStreamLosesNothing) {
    TestRedisServer server;
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    ASSERT_TRUE(eventually([&] { return store.connected(); }));
    constexpr int kN = 20000;
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    std::thread producer([&] {
        for (int i = 0; i < kN; ++i) {
            store.push_share(share_json(i), [&](bool stored) { (stored ? ok : failed)++; });
            if (i % 200 == 0) std::this_thread::sleep_for(1ms);
        }
    });
    // Redis stays up (it keeps the list) but drops the store's connections, most likely
    // with a pipeline half answered.
    int killed = 0;
    for (int round = 0; round < 5; ++round) {
        std::this_thread::sleep_for(15ms);
        killed += std::stoi(server.command({"CLIENT", "KILL", "TYPE", "normal"}));
    }
    producer.join();
    ASSERT_TRUE(eventually([&] { return ok.load() + failed.load() == kN; }, 30s));
    EXPECT_EQ(ok.load(), kN);
    EXPECT_GE(killed, 1);
    EXPECT_GE(store.counters().reconnects, 1u);

    // Every share is there at least once, in order of first appearance; a share whose
    // LPUSH was executed but not answered before the kill may be there twice.
    const std::string all = server.command({"LRANGE", "queued_shares_list", "0", "-1"});
    std::vector<std::string> entries;
    for (std::size_t pos = 0; pos <= all.size();) {
        const std::size_t nl = std::min(all.find('\n', pos), all.size());
        entries.push_back(all.substr(pos, nl - pos));
        pos = nl + 1;
    }
    EXPECT_GE(entries.size(), static_cast<std::size_t>(kN));
    RecordProperty("killed", killed);
    RecordProperty("reconnects", std::to_string(store.counters().reconnects));
    RecordProperty("duplicates", std::to_string(entries.size() - kN));
    std::vector<bool> seen(kN, false);
    for (const auto& entry : entries) {
        const auto digest = entry.find("\"digest\":\"0x00");
        ASSERT_NE(digest, std::string::npos) << entry;
        const int i = std::stoi(entry.substr(digest + 14));
        ASSERT_EQ(entry, share_json(i));
        seen[static_cast<std::size_t>(i)] = true;
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), true), kN);
}

TEST(RedisStore, ResubscribingRereadsTheKeys) {
    TestRedisServer server;
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    wait_subscribed(server);
    ASSERT_TRUE(eventually([&] { return store.connected() && rec.size(rec.snapshots) >= 1; }));
    std::this_thread::sleep_for(100ms);  // let a second start-up snapshot, if any, arrive
    const std::size_t before = rec.size(rec.snapshots);

    // A challenge set (and published) while the subscriber is away would be missed; the
    // keys are read again once it is back.
    server.command({"SET", "challengeNumber", "\"" + kChallenge + "\""});
    ASSERT_EQ(server.command({"CLIENT", "KILL", "TYPE", "pubsub"}), "1");
    ASSERT_TRUE(eventually([&] { return rec.size(rec.snapshots) > before; }));
    std::lock_guard lock(rec.mutex);
    ASSERT_TRUE(rec.snapshots.back().challenge);
    EXPECT_EQ(to_hex(*rec.snapshots.back().challenge), kChallenge);
    EXPECT_EQ(rec.connection, std::vector<bool>{true});  // the command connection stayed up
}

TEST(RedisStore, RefusedPushIsRetried) {
    TestRedisServer server;
    // What Redis answers with an error (LOADING after a restart, OOM, here WRONGTYPE) is
    // not stored, so it must be neither acknowledged nor dropped.
    server.command({"SET", "queued_shares_list", "not a list"});
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    store.push_share(share_json(1), [&](bool stored) { (stored ? ok : failed)++; });
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(ok.load() + failed.load(), 0);
    EXPECT_EQ(store.counters().queued, 1u);
    server.command({"DEL", "queued_shares_list"});
    ASSERT_TRUE(eventually([&] { return ok.load() == 1; }));
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(server.command({"LRANGE", "queued_shares_list", "0", "-1"}), share_json(1));
}

TEST(RedisStore, StopWithRedisDownFailsQueuedWithinDrainTimeout) {
    TestRedisServer server;
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    ASSERT_TRUE(eventually([&] { return store.connected(); }));
    server.stop();
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    std::atomic<int> var_diff_failed{0};
    for (int i = 0; i < 3; ++i) store.push_share(share_json(i), [&](bool stored) { (stored ? ok : failed)++; });
    store.miner_var_diff(kMiner, [&](std::optional<std::uint64_t> v) {
        if (!v) var_diff_failed++;
    });
    const auto t0 = std::chrono::steady_clock::now();
    store.stop(300ms);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, 1500ms);
    EXPECT_EQ(ok.load(), 0);
    EXPECT_EQ(failed.load(), 3);
    EXPECT_EQ(var_diff_failed.load(), 1);
    EXPECT_EQ(store.counters().shares_failed, 3u);
    EXPECT_EQ(store.counters().queued, 0u);
    store.stop();  // idempotent
    bool late = true;
    store.push_share("late", [&](bool stored) { late = stored; });
    EXPECT_FALSE(late);
}

TEST(RedisStore, StopFlushesWhatIsQueued) {
    TestRedisServer server;
    Recorder rec;
    RedisStore store(endpoint_of(server), rec.events());
    store.start();
    ASSERT_TRUE(eventually([&] { return store.connected(); }));
    std::atomic<int> ok{0};
    for (int i = 0; i < 500; ++i) store.push_share(share_json(i), [&](bool stored) { ok += stored ? 1 : 0; });
    store.stop(5s);
    EXPECT_EQ(ok.load(), 500);
    EXPECT_EQ(server.command({"LLEN", "queued_shares_list"}), "500");
}

TEST(RedisStore, StopWithoutStartFailsQueued) {
    RedisStore store(Endpoint{}, Events{});
    bool result = true;
    store.push_share("x", [&](bool stored) { result = stored; });
    store.stop(10ms);
    EXPECT_FALSE(result);
}

}  // namespace
}  // namespace sharegate::redis
