// Pool-wide bans through the Redis store against a real redis-server
// (docs/protocol.md section 4, "Bans"): what one instance publishes lands in Redis with
// its expiry and reaches every other instance; an instance that starts later reads it;
// a lift deletes it; an outage delays a ban but does not lose it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/ban_scan.hpp"
#include "redis/connection.hpp"
#include "redis/redis_store.hpp"
#include "redis/value_codec.hpp"
#include "support/redis_server.hpp"

namespace sharegate::redis {
namespace {

using namespace std::chrono_literals;
using sharegate_test::TestRedisServer;

// Generous: a sanitizer build on a loaded 2-core machine is slow, and nothing here
// waits this long unless it has failed.
constexpr auto kPatience = 20s;

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

BanRecord ban_of(const std::string& address, std::chrono::milliseconds length, unsigned offence = 1) {
    BanRecord ban;
    ban.address = address;
    ban.until_unix_ms = unix_ms_now() + length.count();
    ban.offence = offence;
    ban.reason = "invalid shares";
    ban.by = "gate-a";
    return ban;
}

Endpoint endpoint_of(const TestRedisServer& server) {
    Endpoint e;
    e.port = server.port();
    return e;
}

// Every ban event a store raises, waited for on a condition variable.
class BanRecorder {
public:
    Events events() {
        Events e;
        e.on_ban = [this](const BanRecord& ban) {
            std::lock_guard lock(mutex_);
            messages_.push_back(ban);
            changed_.notify_all();
        };
        e.on_bans = [this](std::vector<BanRecord> bans) {
            std::lock_guard lock(mutex_);
            reads_.push_back(std::move(bans));
            changed_.notify_all();
        };
        return e;
    }

    // Waits until pred (called under the lock with the messages and the reads) holds.
    bool wait(
        const std::function<bool(const std::vector<BanRecord>&, const std::vector<std::vector<BanRecord>>&)>& pred) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, kPatience, [&] { return pred(messages_, reads_); });
    }

    std::vector<BanRecord> messages() {
        std::lock_guard lock(mutex_);
        return messages_;
    }

    std::vector<std::vector<BanRecord>> reads() {
        std::lock_guard lock(mutex_);
        return reads_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<BanRecord> messages_;
    std::vector<std::vector<BanRecord>> reads_;
};

// Polls a condition on Redis itself (or the store's counters) until it holds.
bool eventually(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

// Waits until `stores` subscribers listen on the ban channel.
void wait_listening(TestRedisServer& server, int stores) {
    ASSERT_TRUE(eventually([&] {
        return server.command({"PUBSUB", "NUMSUB", kBanChannel}) ==
               std::string(kBanChannel) + "\n" + std::to_string(stores);
    }));
}

std::int64_t pttl(TestRedisServer& server, const std::string& address) {
    return std::stoll(server.command({"PTTL", ban_key(address)}));
}

TEST(BanStore, APublishedBanIsKeptWithItsExpiryAndReachesTheOtherInstance) {
    TestRedisServer server;
    BanRecorder a_events, b_events;
    RedisStore a(endpoint_of(server), a_events.events());
    RedisStore b(endpoint_of(server), b_events.events());
    a.start();
    b.start();
    wait_listening(server, 2);

    const BanRecord ban = ban_of("10.0.0.7", 600s, 2);
    a.publish_ban(ban);
    ASSERT_TRUE(b_events.wait([&](const auto& messages, const auto&) { return !messages.empty(); }));
    EXPECT_EQ(b_events.messages(), std::vector<BanRecord>{ban});
    // SET is queued before PUBLISH, so the key is there once the message has arrived.
    EXPECT_EQ(server.command({"GET", ban_key("10.0.0.7")}), ban_json(ban));
    const std::int64_t ttl = pttl(server, "10.0.0.7");
    EXPECT_LE(ttl, 600'000);
    EXPECT_GT(ttl, 600'000 - 60'000);  // near the ban's length, however slow this run
    // Its own message comes back to the publisher as well.
    ASSERT_TRUE(a_events.wait([&](const auto& messages, const auto&) { return !messages.empty(); }));
    EXPECT_EQ(a_events.messages(), std::vector<BanRecord>{ban});
    // Counted once the publisher has read PUBLISH's reply, which may come after the
    // subscribers have the message.
    EXPECT_TRUE(eventually([&] { return a.counters().bans_published == 1; })) << a.counters().bans_published;
    EXPECT_EQ(b.counters().bans_published, 0u);
}

TEST(BanStore, AStoreStartedLaterReadsTheBansRedisHolds) {
    TestRedisServer server;
    const BanRecord v4 = ban_of("10.0.0.9", 600s);
    const BanRecord v6 = ban_of("2001:db8::5", 600s, 3);
    {
        RedisStore writer(endpoint_of(server), {});
        writer.start();
        writer.publish_ban(v6);
        writer.publish_ban(v4);
        ASSERT_TRUE(eventually([&] { return writer.counters().bans_published == 2; }));
    }
    // What is not a ban record is skipped and counted: junk, a record filed under another
    // address, a lift, a key of the wrong type.
    server.command({"SET", ban_key("10.0.0.1"), "junk"});
    server.command({"SET", ban_key("10.0.0.2"), ban_json(ban_of("10.0.0.3", 600s))});
    BanRecord lift;
    lift.address = "10.0.0.4";
    server.command({"SET", ban_key("10.0.0.4"), ban_json(lift)});
    server.command({"HSET", ban_key("10.0.0.5"), "a", "b"});
    server.command({"SET", "sharegate:bans", ban_json(ban_of("10.0.0.6", 600s))});  // not a ban key

    BanRecorder events;
    RedisStore late(endpoint_of(server), events.events());
    late.start();
    ASSERT_TRUE(events.wait([&](const auto&, const auto& reads) { return !reads.empty(); }));
    EXPECT_EQ(events.reads().front(), (std::vector<BanRecord>{v4, v6}));  // sorted by address
    ASSERT_TRUE(eventually([&] { return late.counters().bans_ignored >= 4; }));
    EXPECT_EQ(late.counters().bans_ignored % 4, 0u);  // once per read
    EXPECT_EQ(late.counters().bans_read % 2, 0u);
}

TEST(BanStore, ManyBansAreReadAcrossScanPages) {
    TestRedisServer server;
    constexpr int kBans = 2500;  // SCAN ... COUNT 1000 needs several pages for these
    std::vector<std::string> mset = {"MSET"};
    std::vector<BanRecord> expected;
    for (int i = 0; i < kBans; ++i) {
        BanRecord ban = ban_of("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256), 600s);
        mset.push_back(ban_key(ban.address));
        mset.push_back(ban_json(ban));
        expected.push_back(ban);
    }
    ASSERT_EQ(server.command(mset), "OK");
    std::sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) { return x.address < y.address; });

    BanRecorder events;
    RedisStore store(endpoint_of(server), events.events());
    store.start();
    ASSERT_TRUE(events.wait([&](const auto&, const auto& reads) { return !reads.empty(); }));
    EXPECT_TRUE(events.reads().front() == expected);
    EXPECT_EQ(events.reads().front().size(), static_cast<std::size_t>(kBans));
}

TEST(BanStore, TheReadStopsAtItsBound) {
    TestRedisServer server;
    std::vector<std::string> mset = {"MSET"};
    for (int i = 0; i < 50; ++i) {
        const BanRecord ban = ban_of("10.2.0." + std::to_string(i), 600s);
        mset.push_back(ban_key(ban.address));
        mset.push_back(ban_json(ban));
    }
    ASSERT_EQ(server.command(mset), "OK");
    Context c = connect(endpoint_of(server), 5s);
    ASSERT_TRUE(c);
    redisSetTimeout(c.get(), to_timeval(5000ms));

    auto bounded = scan_bans(c.get(), 20);
    ASSERT_TRUE(bounded);
    EXPECT_TRUE(bounded->truncated);
    EXPECT_EQ(bounded->bans.size(), 20u);
    auto whole = scan_bans(c.get(), 50);
    ASSERT_TRUE(whole);
    EXPECT_FALSE(whole->truncated);
    EXPECT_EQ(whole->bans.size(), 50u);
    EXPECT_EQ(whole->ignored, 0u);
}

TEST(BanStore, ALiftDeletesTheKeyAndArrivesAsUntilZero) {
    TestRedisServer server;
    BanRecorder a_events, b_events;
    RedisStore a(endpoint_of(server), a_events.events());
    RedisStore b(endpoint_of(server), b_events.events());
    a.start();
    b.start();
    wait_listening(server, 2);

    a.publish_ban(ban_of("2001:db8::9", 600s));
    a.lift_ban("2001:db8::9", "gate-a");
    ASSERT_TRUE(b_events.wait([&](const auto& messages, const auto&) { return messages.size() == 2; }));
    const BanRecord lift = b_events.messages()[1];
    EXPECT_EQ(lift.address, "2001:db8::9");
    EXPECT_EQ(lift.until_unix_ms, 0);
    EXPECT_TRUE(lift.is_lift());
    EXPECT_EQ(lift.offence, 0u);
    EXPECT_EQ(lift.reason, "lifted");
    EXPECT_EQ(lift.by, "gate-a");
    EXPECT_EQ(server.command({"EXISTS", ban_key("2001:db8::9")}), "0");
    // Counted once the publisher has read the replies, which may come after the message.
    EXPECT_TRUE(eventually([&] { return a.counters().bans_published == 1 && a.counters().bans_lifted == 1; }))
        << a.counters().bans_published << " published, " << a.counters().bans_lifted << " lifted";

    // A lift with no ban behind it is still published: an instance may hold a copy.
    a.lift_ban("10.0.0.8", "gate-a");
    ASSERT_TRUE(b_events.wait([&](const auto& messages, const auto&) { return messages.size() == 3; }));
    EXPECT_EQ(b_events.messages()[2].address, "10.0.0.8");
    EXPECT_TRUE(b_events.messages()[2].is_lift());
}

TEST(BanStore, ABanPublishedWhileRedisIsDownIsWrittenOnceItIsBack) {
    TestRedisServer server;
    RedisStore store(endpoint_of(server), {});
    store.start();
    ASSERT_TRUE(eventually([&] { return store.connected(); }));
    server.stop();
    ASSERT_TRUE(eventually([&] { return !store.connected(); }));

    // Queued in this order: a ban that will be over before Redis is back, then one that
    // will not. The first is dropped, not written with a stale expiry.
    const BanRecord short_ban = ban_of("10.0.0.20", 1ms);
    const BanRecord long_ban = ban_of("10.0.0.21", 600s);
    store.publish_ban(short_ban);
    store.publish_ban(long_ban);
    EXPECT_EQ(store.counters().bans_published, 0u);
    // Setup, not an assertion: the short ban's end must be in the past before Redis returns.
    while (unix_ms_now() <= short_ban.until_unix_ms) std::this_thread::sleep_for(1ms);

    server.start();
    ASSERT_TRUE(eventually([&] { return store.counters().bans_published == 1; }));
    EXPECT_EQ(server.command({"GET", ban_key("10.0.0.21")}), ban_json(long_ban));
    EXPECT_GT(pttl(server, "10.0.0.21"), 0);
    EXPECT_EQ(server.command({"EXISTS", ban_key("10.0.0.20")}), "0");
    EXPECT_EQ(store.counters().bans_expired, 1u);
    EXPECT_EQ(store.counters().bans_failed, 0u);
}

TEST(BanStore, MalformedBanMessagesAreIgnoredAndCounted) {
    TestRedisServer server;
    BanRecorder events;
    RedisStore store(endpoint_of(server), events.events());
    store.start();
    wait_listening(server, 1);

    server.command({"PUBLISH", kBanChannel, "not json"});
    server.command({"PUBLISH", kBanChannel, R"({"address":"1.2.3.4"})"});
    server.command(
        {"PUBLISH", kBanChannel, R"({"address":"::ffff:1.2.3.4","until":1,"offence":1,"reason":"","by":""})"});
    ASSERT_TRUE(eventually([&] { return store.counters().messages_ignored == 3; }));
    const BanRecord ban = ban_of("1.2.3.4", 600s);
    server.command({"PUBLISH", kBanChannel, ban_json(ban)});
    ASSERT_TRUE(events.wait([&](const auto& messages, const auto&) { return !messages.empty(); }));
    EXPECT_EQ(events.messages(), std::vector<BanRecord>{ban});
    EXPECT_EQ(store.counters().messages_ignored, 3u);
}

TEST(BanStore, StopWithRedisDownGivesUpOnQueuedBans) {
    TestRedisServer server;
    RedisStore store(endpoint_of(server), {});
    store.start();
    ASSERT_TRUE(eventually([&] { return store.connected(); }));
    server.stop();
    store.publish_ban(ban_of("10.0.0.30", 600s));
    store.lift_ban("10.0.0.31", "gate-a");
    store.stop(100ms);
    EXPECT_EQ(store.counters().bans_failed, 2u);
    EXPECT_EQ(store.counters().queued, 0u);
}

}  // namespace
}  // namespace sharegate::redis
