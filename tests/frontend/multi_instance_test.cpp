// Many sharegate instances behind HAProxy on one Redis, end to end (issue 16;
// docs/operations.md, "Many instances"): a private redis-server, two real sharegate
// processes (each with its own spool and `--proxy 127.0.0.1/32`) and a real HAProxy in
// front of them, configured as deploy/haproxy/haproxy.cfg is (send-proxy-v2, leastconn,
// /readyz checks). What is checked is what a pool running several instances relies on:
// miners are spread over the instances; a share accepted by one is a duplicate on the
// other; a ban made by one is enforced by both; an instance that dies loses no share it
// acknowledged and its miners carry on on the other.
//
// Direct connections to an instance come from 127.0.0.2 or 127.0.0.9, outside its --proxy
// range (HAProxy connects from 127.0.0.1), so they need no PROXY header. Every wait is
// for a condition, with a generous deadline; nothing passes or fails on timing alone.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "defense_fixture.hpp"
#include "support/haproxy_process.hpp"
#include "support/http_client.hpp"
#include "support/mined_shares.hpp"

namespace {

using namespace sharegate_defense_test;
using sharegate_test::HaproxyProcess;
using sharegate_test::HttpClient;
using sharegate_test::refused;
using sharegate_test::ServerProcess;
using sharegate_test::ShareMiner;
using Clock = std::chrono::steady_clock;

// Outside the instances' --proxy range: a peer whose own address is the miner's.
constexpr const char* kDirect = "127.0.0.2";
// The flooder of the ban test, through HAProxy and directly.
constexpr const char* kFlooder = "127.0.0.9";

// The samples of a Prometheus exposition: "name{labels}" -> value.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto end = text.find('\n', at);
        const std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        at = end == std::string::npos ? text.size() : end + 1;
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        if (space == std::string::npos) continue;
        out[line.substr(0, space)] = std::strtod(line.substr(space + 1).c_str(), nullptr);
    }
    return out;
}

// One metric of an instance's /metrics (its admin port); -1 when it did not answer or
// lacks it.
double metric(std::uint16_t admin_port, const std::string& sample) {
    HttpClient client(admin_port);
    if (!client.connected() || !client.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return -1;
    const auto response = client.read_response();
    if (!response || response->status != 200) return -1;
    const auto all = samples(response->body);
    const auto it = all.find(sample);
    return it == all.end() ? -1 : it->second;
}

constexpr const char* kStratumOpen = R"(sharegate_connections_open{door="stratum"})";

// Waits (up to the deadline) until `condition` holds; true when it did.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds deadline = 15000ms) {
    const auto until = Clock::now() + deadline;
    for (;;) {
        if (condition()) return true;
        if (Clock::now() > until) return false;
        std::this_thread::sleep_for(20ms);
    }
}

// A share whose digest is not its hash ("Invalid digest"), numbered by `n`.
std::string invalid_submit(int id, int n, const VectorShare& share) {
    char nonce[67];
    std::snprintf(nonce, sizeof nonce, "0x%064x", 0x5eed0000 + n);
    return sharegate::protocol::submit_request(static_cast<std::uint64_t>(id), nonce, kMinerD1, share.digest, "1",
                                               kChallenge);
}

std::string submit(int id, const VectorShare& share) {
    return sharegate::protocol::submit_request(static_cast<std::uint64_t>(id), share.nonce, kMinerD1, share.digest, "1",
                                               kChallenge);
}

// The reply to a request, past any work notify that comes first.
ServerLine reply(LineClient& client, std::chrono::milliseconds timeout = 15000ms) {
    for (;;) {
        ServerLine line = client.read_message(timeout);
        if (!line.is_notify()) return line;
    }
}

// Subscribed as the difficulty-1 miner (the reply and the first work read), or why not.
std::string subscribe(LineClient& client) {
    if (!client.connected()) return "not connected";
    client.send(subscribe_request(1, kMinerD1));
    const ServerLine answer = client.read_message(15000ms);
    if (answer != accepted(1)) return "subscribe answered: " + answer.text;
    const ServerLine work = client.read_message(15000ms);
    if (!work.is_notify()) return "no work after the subscribe: " + work.text;
    return {};
}

class MultiInstanceTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (HaproxyProcess::binary().empty())
            GTEST_SKIP() << "haproxy is not installed (apt-get install haproxy; scripts/install-deps.sh has it)";
        redis_ = std::make_unique<TestRedisServer>();
        sharegate_test::write_pool_state(*redis_);
        ASSERT_NO_FATAL_FAILURE(start_instance(a_, "a"));
        ASSERT_NO_FATAL_FAILURE(start_instance(b_, "b"));
        const std::string started = haproxy_.start({as_seen(a_, "a"), as_seen(b_, "b")});
        ASSERT_EQ(started, "");
        ASSERT_TRUE(haproxy_.wait_for_status("a", "UP")) << haproxy_.stratum_server_status("a").value_or("?");
        ASSERT_TRUE(haproxy_.wait_for_status("b", "UP")) << haproxy_.stratum_server_status("b").value_or("?");
    }

    void TearDown() override {
        haproxy_.stop();
        for (ServerProcess* instance : {&a_, &b_}) {
            if (instance->running()) {
                EXPECT_EQ(instance->stop(), 0);
            }
        }
        if (HasFailure()) {
            for (const auto& [name, path] : logs_) std::cout << "---- log of instance " << name << ":\n" << read(path);
            std::cout << "---- haproxy:\n" << haproxy_.log();
        }
        for (const auto& [name, path] : logs_) std::filesystem::remove(path);
    }

    static std::string read(const std::filesystem::path& path) {
        std::ifstream in(path);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }

    // An instance as HAProxy's backends name it.
    static HaproxyProcess::Instance as_seen(const ServerProcess& instance, const std::string& name) {
        return {name, instance.port(), instance.getwork_port(), instance.admin_port()};
    }

    // Starts (or restarts, on the same spool directory) an instance behind HAProxy: PROXY
    // headers from 127.0.0.1, shares of difficulty 1 at 2^250 (mined on the spot), no
    // submit rate limit (the miners are honest), bans after 10 shares.
    void start_instance(ServerProcess& instance, const std::string& name) {
        if (!logs_.count(name)) {
            logs_[name] = std::filesystem::temp_directory_path() /
                          ("sharegate-multi-" + std::to_string(::getpid()) + "-" +
                           ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + name + ".log");
        }
        instance.set_log_file(logs_[name]);
        const std::string started =
            instance.start(SHAREGATE_BINARY, *redis_, kPool,
                           {"--proxy", "127.0.0.1/32", "--max-target-bits", "250", "--reply-style", "legacy",
                            "--max-submits-per-s", "0", "--ban-min-shares", "10", "--log-level", "info"});
        ASSERT_EQ(started, "") << "instance " << name;
    }

    // The nonce of every share in queued_shares_list, with how often it is there.
    std::map<std::string, int> listed_nonces() {
        std::map<std::string, int> nonces;
        const std::string list = redis_->command({"LRANGE", "queued_shares_list", "0", "-1"});
        const std::string key = "\"nonce\":\"";
        for (auto at = list.find(key); at != std::string::npos; at = list.find(key, at + 1)) {
            const auto start = at + key.size();
            ++nonces[list.substr(start, list.find('"', start) - start)];
        }
        return nonces;
    }

    // Every running instance has handed Redis all it took: nothing waits in its spool or
    // for Redis's answer.
    bool settled() {
        for (ServerProcess* instance : {&a_, &b_}) {
            if (!instance->running()) continue;
            if (metric(instance->admin_port(), "sharegate_spool_shares") != 0 ||
                metric(instance->admin_port(), "sharegate_redis_queued_commands") != 0)
                return false;
        }
        return true;
    }

    // A connection from `source` to `port` (an instance's, or HAProxy's in front of them)
    // is closed at accept: end of stream, without a byte.
    static void expect_refused_at(std::uint16_t port, const std::string& source, const std::string& what) {
        LineClient client(port, source);
        ASSERT_TRUE(client.connected()) << what;
        const auto line = client.read_line(10000ms);
        EXPECT_EQ(line, std::nullopt) << what << " was sent: " << line.value_or("");
        EXPECT_TRUE(client.closed_by_server(1ms)) << what << " was not closed within 10 s";
    }

    std::unique_ptr<TestRedisServer> redis_;
    ServerProcess a_, b_;
    HaproxyProcess haproxy_;
    std::map<std::string, std::filesystem::path> logs_;
};

// Six miners through HAProxy: every share accepted, and the miners spread over both
// instances (each holds some; together they hold all six). A getwork submit through
// HAProxy's getwork frontend is accepted too.
TEST_F(MultiInstanceTest, MinersThroughHaproxyAreSpreadOverTheInstances) {
    constexpr int kMiners = 6;
    constexpr int kShares = 5;
    std::vector<std::unique_ptr<LineClient>> miners;
    for (int i = 0; i < kMiners; ++i) {
        miners.push_back(std::make_unique<LineClient>(haproxy_.stratum_port()));
        ASSERT_EQ(subscribe(*miners.back()), "") << "miner " << i;
    }
    for (int i = 0; i < kMiners; ++i) {
        ShareMiner mine(0x100 + static_cast<std::uint32_t>(i));
        std::string lines;
        for (int s = 0; s < kShares; ++s) lines += submit(10 + s, mine.next());
        miners[static_cast<std::size_t>(i)]->send(lines);
    }
    for (int i = 0; i < kMiners; ++i) {
        for (int s = 0; s < kShares; ++s)
            EXPECT_EQ(reply(*miners[static_cast<std::size_t>(i)]), accepted(10 + s)) << "miner " << i << " share " << s;
    }

    double on_a = -1, on_b = -1;
    EXPECT_TRUE(eventually([&] {
        on_a = metric(a_.admin_port(), kStratumOpen);
        on_b = metric(b_.admin_port(), kStratumOpen);
        return on_a + on_b == kMiners;
    })) << "open on a: "
        << on_a << ", on b: " << on_b;
    EXPECT_GT(on_a, 0) << "no miner on instance a (b has " << on_b << ")";
    EXPECT_GT(on_b, 0) << "no miner on instance b (a has " << on_a << ")";

    // Getwork through HAProxy (TCP mode, send-proxy-v2): the door reads the header too.
    const auto d1 = load_d1();
    HttpClient getwork(haproxy_.getwork_port());
    ASSERT_TRUE(getwork.connected());
    const auto answer =
        getwork.post(R"({"jsonrpc":"2.0","id":1,"method":"submitShare","params":[")" + d1[0].nonce + R"(",")" +
                     kMinerD1 + R"(",")" + d1[0].digest + R"(",1,")" + kChallenge + R"("]})");
    ASSERT_TRUE(answer) << "no answer from getwork through HAProxy";
    EXPECT_EQ(answer->status, 200);
    EXPECT_NE(answer->body.find(R"("result":true)"), std::string::npos) << answer->body;
}

// The pool-wide duplicate filter: a share accepted by instance a is a duplicate on
// instance b, and is in queued_shares_list once; the same share sent to both at the same
// moment is accepted by exactly one.
TEST_F(MultiInstanceTest, ShareAcceptedByOneInstanceIsADuplicateOnTheOther) {
    const auto d1 = load_d1();
    LineClient on_a(a_.port(), kDirect);
    LineClient on_b(b_.port(), kDirect);
    ASSERT_EQ(subscribe(on_a), "");
    ASSERT_EQ(subscribe(on_b), "");

    on_a.send(submit(10, d1[0]));
    ASSERT_EQ(reply(on_a), accepted(10));
    on_b.send(submit(11, d1[0]));
    EXPECT_EQ(reply(on_b), refused(11, 22, "Duplicate share")) << "the share instance a accepted, sent to b";

    // Both at once, from two threads released together.
    std::latch go(2);
    ServerLine from_a, from_b;
    std::thread to_a([&] {
        go.arrive_and_wait();
        on_a.send(submit(20, d1[1]));
        from_a = reply(on_a);
    });
    std::thread to_b([&] {
        go.arrive_and_wait();
        on_b.send(submit(21, d1[1]));
        from_b = reply(on_b);
    });
    to_a.join();
    to_b.join();
    const bool a_took_it = from_a == accepted(20);
    const bool b_took_it = from_b == accepted(21);
    EXPECT_NE(a_took_it, b_took_it) << "exactly one instance accepts it; a: " << from_a.text << ", b: " << from_b.text;
    if (a_took_it) {
        EXPECT_EQ(from_b, refused(21, 22, "Duplicate share"));
    }
    if (b_took_it) {
        EXPECT_EQ(from_a, refused(20, 22, "Duplicate share"));
    }

    ASSERT_TRUE(eventually([&] { return settled(); })) << "the instances did not hand Redis their shares";
    const auto listed = listed_nonces();
    for (int i = 0; i < 2; ++i) {
        const std::string& nonce = d1[static_cast<std::size_t>(i)].nonce;
        const auto it = listed.find(nonce);
        EXPECT_EQ(it == listed.end() ? 0 : it->second, 1) << "share " << i << " in queued_shares_list";
    }
    EXPECT_EQ(listed.size(), 2u);
}

// A flooder that HAProxy sends to one instance is banned there; the ban travels through
// Redis, and a new connection from its address is closed at accept by both instances,
// through HAProxy or straight to each. Another address is still served.
TEST_F(MultiInstanceTest, FlooderBannedByOneInstanceIsRefusedByBoth) {
    const auto d1 = load_d1();
    LineClient flooder(haproxy_.stratum_port(), kFlooder);
    ASSERT_EQ(subscribe(flooder), "");
    std::string lines;
    for (int i = 0; i < 200; ++i) lines += invalid_submit(1000 + i, i, d1[0]);
    flooder.send_all(lines);  // false once the instance has cut it: expected
    EXPECT_TRUE(flooder.closed_by_server(15000ms)) << "the flooder was not cut";

    // One instance made the ban, the other learnt it from Redis.
    const std::string banned = "sharegate_bans_active";
    ASSERT_TRUE(eventually([&] {
        return metric(a_.admin_port(), banned) >= 1 && metric(b_.admin_port(), banned) >= 1;
    })) << "bans active on a: "
        << metric(a_.admin_port(), banned) << ", on b: " << metric(b_.admin_port(), banned);
    const std::string made_a =
        metric(a_.admin_port(), R"(sharegate_bans_total{reason="invalid_shares"})") >= 1 ? "a" : "b";
    EXPECT_EQ(redis_->command({"EXISTS", std::string("sharegate:ban:") + kFlooder}), "1");

    // Through HAProxy, several times (leastconn sends them to either instance).
    for (int i = 0; i < 6; ++i) {
        ASSERT_NO_FATAL_FAILURE(expect_refused_at(haproxy_.stratum_port(), kFlooder,
                                                  "connection " + std::to_string(i) + " of the flooder via HAProxy"));
    }
    // Straight to each instance: its own address, no PROXY header.
    ASSERT_NO_FATAL_FAILURE(
        expect_refused_at(a_.port(), kFlooder, "the flooder straight to a (ban made by " + made_a + ")"));
    ASSERT_NO_FATAL_FAILURE(
        expect_refused_at(b_.port(), kFlooder, "the flooder straight to b (ban made by " + made_a + ")"));
    const std::string refused_banned = R"(sharegate_connections_refused_total{reason="banned"})";
    EXPECT_GE(metric(a_.admin_port(), refused_banned), 1);
    EXPECT_GE(metric(b_.admin_port(), refused_banned), 1);

    // Its neighbour is served, through HAProxy.
    LineClient neighbour(haproxy_.stratum_port(), "127.0.0.10");
    EXPECT_EQ(subscribe(neighbour), "");
    neighbour.send(submit(10, d1[1]));
    EXPECT_EQ(reply(neighbour), accepted(10));
}

// What one miner saw: the shares answered "true", and those whose answer never came (its
// connection was cut) which may or may not have been stored.
struct MinerRecord {
    std::mutex mutex;
    std::vector<std::string> accepted;
    std::vector<std::string> unanswered;
    std::vector<std::string> refused;  // answers other than "true": none are expected
    std::atomic<int> accepted_count{0};
    std::atomic<int> accepted_after_down{0};
    std::atomic<int> connections{0};
};

// A miner through HAProxy: subscribes, sends a fresh valid share every 20 ms (each
// answered before the next), and reconnects whenever its connection is cut, until told to
// stop.
void mine_through(std::uint16_t port, std::uint32_t tag, const std::atomic<bool>& stop,
                  const std::atomic<bool>& a_is_down, MinerRecord& record) {
    ShareMiner mine(tag);
    int id = 10;
    while (!stop.load()) {
        LineClient client(port);
        if (!subscribe(client).empty()) {
            std::this_thread::sleep_for(50ms);  // HAProxy had no instance for it: again shortly
            continue;
        }
        record.connections.fetch_add(1);
        while (!stop.load()) {
            const auto share = mine.next();
            const bool after_down = a_is_down.load();
            const auto sent = Clock::now();
            client.send(submit(id, share));
            const ServerLine answer = reply(client);
            {
                std::lock_guard lock(record.mutex);
                if (answer == accepted(id)) {
                    record.accepted.push_back(share.nonce);
                } else if (answer.kind == ServerLine::Kind::none) {
                    record.unanswered.push_back(share.nonce);
                } else {
                    record.refused.push_back(share.nonce + ": " + answer.text);
                }
            }
            if (answer.kind == ServerLine::Kind::none) break;  // cut: reconnect
            if (answer == accepted(id)) {
                record.accepted_count.fetch_add(1);
                if (after_down) record.accepted_after_down.fetch_add(1);
            }
            ++id;
            std::this_thread::sleep_until(sent + 20ms);
        }
    }
}

// Instance a SIGKILLed under four miners streaming through HAProxy: HAProxy marks it down
// and every miner ends up on b, whose answers keep coming; once a is restarted on its
// spool directory and everything has reached Redis, every share either instance answered
// "true" is in queued_shares_list exactly once (and nothing that was never sent is).
TEST_F(MultiInstanceTest, InstanceKilledLosesNoAcknowledgedShare) {
    constexpr int kMiners = 4;
    std::atomic<bool> stop{false}, a_is_down{false};
    std::vector<std::unique_ptr<MinerRecord>> records;
    std::vector<std::thread> miners;
    for (int i = 0; i < kMiners; ++i) records.push_back(std::make_unique<MinerRecord>());
    for (int i = 0; i < kMiners; ++i) {
        miners.emplace_back(mine_through, haproxy_.stratum_port(), 0x200 + static_cast<std::uint32_t>(i),
                            std::cref(stop), std::cref(a_is_down), std::ref(*records[static_cast<std::size_t>(i)]));
    }
    const auto stop_miners = [&] {
        stop.store(true);
        for (auto& miner : miners)
            if (miner.joinable()) miner.join();
    };
    const auto each_has = [&](auto count_of_record, int at_least) {
        for (auto& record : records)
            if (count_of_record(*record) < at_least) return false;
        return true;
    };

    // Streaming on both instances.
    const bool streaming = eventually([&] {
        return each_has([](MinerRecord& r) { return r.accepted_count.load(); }, 5) &&
               metric(a_.admin_port(), kStratumOpen) >= 1 && metric(b_.admin_port(), kStratumOpen) >= 1;
    });
    if (!streaming) stop_miners();
    ASSERT_TRUE(streaming) << "the miners were not streaming on both instances: on a "
                           << metric(a_.admin_port(), kStratumOpen) << ", on b "
                           << metric(b_.admin_port(), kStratumOpen);

    ASSERT_TRUE(a_.signal(SIGKILL));
    EXPECT_EQ(a_.stop(), 128 + SIGKILL);  // reaps it
    const bool marked_down = haproxy_.wait_for_status("a", "DOWN");
    a_is_down.store(true);
    // Every miner carries on on b: all of them connected there, each with shares accepted
    // that it sent after HAProxy had taken a out.
    const bool carried_on = marked_down && eventually([&] {
                                return each_has([](MinerRecord& r) { return r.accepted_after_down.load(); }, 10) &&
                                       metric(b_.admin_port(), kStratumOpen) == kMiners;
                            });
    const double on_b = metric(b_.admin_port(), kStratumOpen);
    stop_miners();
    EXPECT_TRUE(marked_down) << "HAProxy did not mark a down: " << haproxy_.stratum_server_status("a").value_or("?");
    EXPECT_TRUE(carried_on) << "the miners did not all carry on on b (open there: " << on_b << ")";
    int reconnected = 0;
    for (auto& record : records) reconnected += record->connections.load() > 1 ? 1 : 0;
    EXPECT_GE(reconnected, 1) << "no miner was on a when it was killed";

    // a again, on the same spool: whatever it held reaches Redis.
    ASSERT_NO_FATAL_FAILURE(start_instance(a_, "a"));
    ASSERT_TRUE(eventually([&] { return settled(); }, 60000ms)) << "the spools did not drain";

    const auto listed = listed_nonces();
    std::set<std::string> sent;
    std::size_t acknowledged = 0;
    for (std::size_t m = 0; m < records.size(); ++m) {
        MinerRecord& record = *records[m];
        EXPECT_TRUE(record.refused.empty()) << "miner " << m << " had shares refused, the first: " << record.refused[0];
        for (const auto& nonce : record.accepted) {
            ++acknowledged;
            sent.insert(nonce);
            const auto it = listed.find(nonce);
            EXPECT_EQ(it == listed.end() ? 0 : it->second, 1) << "miner " << m << ": accepted share " << nonce;
        }
        sent.insert(record.unanswered.begin(), record.unanswered.end());
    }
    for (const auto& [nonce, count] : listed) {
        EXPECT_TRUE(sent.count(nonce)) << nonce << " is listed but was never sent";
        EXPECT_EQ(count, 1) << nonce << " is listed more than once";
    }
    std::cout << "[ info ] " << acknowledged << " shares acknowledged, " << listed.size() << " listed, " << reconnected
              << " of " << kMiners << " miners reconnected\n";
}

}  // namespace
