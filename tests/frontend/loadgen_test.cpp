// sharegate-loadgen checked against the real sharegate and a private redis-server: each
// workload's short run must come out with exact counts, agree with the queue in Redis,
// and find no mismatches, so that a load generator that miscounts fails here before it
// misleads a benchmark.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/loadgen_run.hpp"
#include "support/redis_server.hpp"
#include "support/seed_share.hpp"
#include "support/server_process.hpp"

namespace {

using sharegate_test::by_kind;
using sharegate_test::member;
using sharegate_test::number;
using sharegate_test::ProcessResult;
using sharegate_test::rejected;
using sharegate_test::run_process;
using sharegate_test::TestRedisServer;
using namespace std::chrono_literals;

constexpr const char* kChallenge = sharegate_test::seed::kChallenge;
constexpr const char* kPool = sharegate_test::seed::kPool;

TEST(LoadgenJsonReader, ReadsTopLevelAndNested) {
    const std::string j = R"({"answered":7,"rejected_by_code":{"20":3,"22":1},"by_kind":{"valid":{"answered":2}},)"
                          R"("honest_answered":9})";
    EXPECT_EQ(number(j, "answered"), 7);
    EXPECT_EQ(rejected(j, 20), 3);
    EXPECT_EQ(rejected(j, 21), 0);
    EXPECT_EQ(by_kind(j, "valid", "answered"), 2);
    EXPECT_EQ(by_kind(j, "stale", "answered"), -1);
}

ProcessResult run_loadgen(const std::vector<std::string>& args, bool with_stderr = false) {
    return run_process(SHAREGATE_LOADGEN_BINARY, args, with_stderr);
}

// Bad option values: one line on stderr, exit status 2, and no server needed.
TEST(LoadgenOptions, BadValuesExitTwoWithOneLine) {
    const std::vector<std::vector<std::string>> cases = {
        {"--target", "127.0.0.1:1", "--connections", "abc"},
        {"--target", "127.0.0.1:1", "--connections", "0"},
        {"--target", "127.0.0.1:1", "--connections", "20001"},
        {"--target", "127.0.0.1:1", "--workload", "bogus"},
        {"--target", "127.0.0.1:1", "--workload", "stale=x"},
        {"--target", "127.0.0.1:1", "--rate", "-1"},
        {"--target", "127.0.0.1:1", "--count", "0"},
        {"--target", "127.0.0.1:1", "--depth"},
        {"--target", "nohost"},
        {"--target", "127.0.0.1:1", "--seed-redis"},
        {"--target", "127.0.0.1:1", "--workload", "valid"},
        {"--target", "127.0.0.1:1", "--frobnicate"},
        {"--target", "127.0.0.1:1", "--source", "127.0.0.300"},
        {"--target", "127.0.0.1:1", "--honest-source", "localhost"},
        {"--target", "127.0.0.1:1", "--server-pid", "0"},
        {"--target", "127.0.0.1:1", "--redis-pid", "x"},
    };
    for (const auto& args : cases) {
        ProcessResult r = run_loadgen(args, true);
        std::string joined;
        for (const auto& a : args) joined += a + " ";
        EXPECT_EQ(r.status, 2) << joined << "\n" << r.out;
        EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << joined << "\n" << r.out;
        EXPECT_EQ(r.out.rfind("sharegate-loadgen: ", 0), 0u) << r.out;
    }
}

class LoadgenTest : public ::testing::Test {
protected:
    void SetUp() override {
        redis_ = std::make_unique<TestRedisServer>();
        redis_->command({"SET", "challengeNumber", std::string("\"") + kChallenge + "\""});
        redis_->command({"SET", "ethBlockNumber", "5600000"});
        start_server();
    }

    // The generator's garbage and invalid shares from 127.0.0.1 would get it banned and
    // rate-limited: these tests are about the generator, so its address is allow-listed
    // (the defenses have their own tests in defense_test.cpp).
    void start_server() {
        ASSERT_EQ(server_.start(SHAREGATE_BINARY, *redis_, kPool, {"--allow", "127.0.0.1/32"}), "");
        port_ = server_.port();
    }

    // A run against this server, its miners seeded at difficulty 1 (the corpus's), with
    // a fixed seed; returns the JSON line.
    std::string run(std::vector<std::string> extra, int expect_status = 0) {
        std::vector<std::string> args = {"--target",
                                         "127.0.0.1:" + std::to_string(port_),
                                         "--redis",
                                         "127.0.0.1:" + std::to_string(redis_->port()),
                                         "--seed-redis",
                                         "--corpus",
                                         std::string(SHAREGATE_VECTORS_DIR) + "/valid_d1.jsonl",
                                         "--seed",
                                         "1",
                                         "--depth",
                                         "8",
                                         "--duration",
                                         "60",
                                         "--json",
                                         "--quiet"};
        args.insert(args.end(), extra.begin(), extra.end());
        ProcessResult r = run_loadgen(args);
        EXPECT_EQ(r.status, expect_status) << r.out;
        EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
        return r.out;
    }

    long long queued() { return std::stoll(redis_->command({"LLEN", "queued_shares_list"})); }

    std::unique_ptr<TestRedisServer> redis_;
    sharegate_test::ServerProcess server_;
    std::uint16_t port_ = 0;
};

// 4 connections x 50: the whole corpus once, every share accepted and queued once.
TEST_F(LoadgenTest, ValidReplaysEachCorpusShareOnce) {
    std::string j = run({"--connections", "4", "--workload", "valid", "--count", "200"});
    EXPECT_EQ(member(j, "complete"), "true") << j;
    EXPECT_EQ(number(j, "sent"), 200) << j;
    EXPECT_EQ(number(j, "answered"), 200) << j;
    EXPECT_EQ(number(j, "accepted"), 200) << j;
    EXPECT_EQ(member(j, "rejected_by_code"), "{}") << j;
    EXPECT_EQ(by_kind(j, "valid", "answered"), 200) << j;
    EXPECT_EQ(number(j, "mismatches"), 0) << j;
    EXPECT_EQ(number(j, "disconnects"), 0) << j;
    EXPECT_EQ(number(j, "lost_in_flight"), 0) << j;
    EXPECT_EQ(queued(), 200);
    // Latency was measured for every answer.
    auto lat = member(j, "latency_us");
    ASSERT_TRUE(lat) << j;
    EXPECT_EQ(number(*lat, "count"), 200) << j;
    for (const char* p : {"p50", "p90", "p99", "p999", "max"}) EXPECT_GE(number(*lat, p), 0) << p << " " << j;
    EXPECT_LE(number(*lat, "p50"), number(*lat, "max")) << j;
    EXPECT_GE(number(j, "answered_per_second"), 1) << j;
}

// Asked for more than the corpus holds: each connection stops when its slice is spent
// rather than repeat a share, and the run says it fell short.
TEST_F(LoadgenTest, ValidStopsWhenSlicesAreSpent) {
    std::string j = run({"--connections", "4", "--workload", "valid", "--count", "240"}, 1);
    EXPECT_EQ(member(j, "complete"), "false") << j;
    EXPECT_EQ(number(j, "answered"), 200) << j;
    EXPECT_EQ(number(j, "accepted"), 200) << j;
    EXPECT_EQ(number(j, "corpus_exhausted"), 4) << j;
    EXPECT_EQ(number(j, "mismatches"), 0) << j;
    EXPECT_EQ(queued(), 200);
}

// Every invalid digest is hashed and refused as such; nothing reaches Redis.
TEST_F(LoadgenTest, InvalidDigest) {
    std::string j = run({"--connections", "3", "--workload", "invalid-digest", "--count", "90"});
    EXPECT_EQ(number(j, "answered"), 90) << j;
    EXPECT_EQ(number(j, "accepted"), 0) << j;
    EXPECT_EQ(rejected(j, 20), 90) << j;
    EXPECT_EQ(member(j, "rejected_by_code"), "{\"20\":90}") << j;
    EXPECT_EQ(by_kind(j, "invalid-digest", "answered"), 90) << j;
    EXPECT_EQ(number(j, "mismatches"), 0) << j;
    EXPECT_EQ(number(j, "disconnects"), 0) << j;
    EXPECT_EQ(queued(), 0);
}

// --server-pid: the server's CPU time over the measured window, and per answered submit,
// read from /proc (bench/run-cpu.sh's figure). A real server doing real work spends some;
// the generator's own is reported beside it; without the option neither server field is.
TEST_F(LoadgenTest, ServerCpuTimePerAnsweredSubmit) {
    const auto decimal = [](const std::string& json, const std::string& key) {
        const auto text = member(json, key);
        return text ? std::stod(*text) : -1.0;
    };
    std::string j = run({"--connections", "4", "--workload", "invalid-digest", "--count", "40000", "--server-pid",
                         std::to_string(server_.pid())});
    EXPECT_EQ(number(j, "answered"), 40000) << j;
    const double server_s = decimal(j, "server_window_cpu_s");
    EXPECT_GT(server_s, 0) << j;  // 40 000 Keccaks and replies: well over one clock tick
    EXPECT_NEAR(decimal(j, "server_cpu_us_per_answered"), server_s * 1e6 / 40000, 0.01) << j;
    EXPECT_GT(decimal(j, "loadgen_cpu_us_per_answered"), 0) << j;
    EXPECT_FALSE(member(j, "redis_window_cpu_s")) << j;  // no --redis-pid
    std::string without = run({"--connections", "1", "--workload", "invalid-digest", "--count", "10"});
    EXPECT_FALSE(member(without, "server_window_cpu_s")) << without;
}

TEST_F(LoadgenTest, Stale) {
    std::string j = run({"--connections", "2", "--workload", "stale", "--count", "60"});
    EXPECT_EQ(number(j, "answered"), 60) << j;
    EXPECT_EQ(member(j, "rejected_by_code"), "{\"21\":60}") << j;
    EXPECT_EQ(by_kind(j, "stale", "mismatches"), 0) << j;
    EXPECT_EQ(number(j, "mismatches"), 0) << j;
    EXPECT_EQ(queued(), 0);
}

// Per connection and three garbage lines: bad submit parameters ([20]), JSON that is not
// an object ([20]), a line that is not JSON (the server closes; the generator reconnects).
// 2 connections x 6: 8 answers of code 20 and 4 closes, the last of each connection's
// not followed by a reconnect since it has nothing left to send.
TEST_F(LoadgenTest, Garbage) {
    std::string j = run({"--connections", "2", "--workload", "garbage", "--count", "12"});
    EXPECT_EQ(number(j, "answered"), 12) << j;
    EXPECT_EQ(member(j, "rejected_by_code"), "{\"20\":8}") << j;
    EXPECT_EQ(number(j, "garbage_closes"), 4) << j;
    EXPECT_EQ(number(j, "reconnects"), 2) << j;
    EXPECT_EQ(number(j, "disconnects"), 0) << j;
    EXPECT_EQ(number(j, "lost_in_flight"), 0) << j;
    EXPECT_EQ(number(j, "mismatches"), 0) << j;
}

// Each connection's first submit is the original (accepted), the rest repeat it (22).
TEST_F(LoadgenTest, Duplicate) {
    std::string j = run({"--connections", "2", "--workload", "duplicate", "--count", "40"});
    EXPECT_EQ(number(j, "answered"), 40) << j;
    EXPECT_EQ(number(j, "accepted"), 2) << j;
    EXPECT_EQ(member(j, "rejected_by_code"), "{\"22\":38}") << j;
    EXPECT_EQ(by_kind(j, "valid", "answered"), 2) << j;
    EXPECT_EQ(by_kind(j, "duplicate", "answered"), 38) << j;
    EXPECT_EQ(number(j, "mismatches"), 0) << j;
    EXPECT_EQ(queued(), 2);
}

// A mix is exact per connection: 100 submits each at 40/20/20/10/10 percent.
TEST_F(LoadgenTest, MixByPercentage) {
    std::string j = run({"--connections", "2", "--workload",
                         "valid=40,invalid-digest=20,stale=20,garbage=10,duplicate=10", "--count", "200"});
    EXPECT_EQ(number(j, "answered"), 200) << j;
    EXPECT_EQ(by_kind(j, "valid", "answered"), 80) << j;
    EXPECT_EQ(by_kind(j, "invalid-digest", "answered"), 40) << j;
    EXPECT_EQ(by_kind(j, "stale", "answered"), 40) << j;
    EXPECT_EQ(by_kind(j, "garbage", "answered"), 20) << j;
    EXPECT_EQ(by_kind(j, "duplicate", "answered"), 20) << j;
    EXPECT_EQ(number(j, "accepted"), 80) << j;
    // 40 invalid digests and 14 of the garbage lines (4 + 3 per connection) answer 20;
    // the other 6 garbage lines are closes.
    EXPECT_EQ(member(j, "rejected_by_code"), "{\"20\":54,\"21\":40,\"22\":20}") << j;
    EXPECT_EQ(number(j, "garbage_closes"), 6) << j;
    EXPECT_EQ(number(j, "accepted") + 54 + 40 + 20 + number(j, "garbage_closes"), number(j, "answered")) << j;
    EXPECT_EQ(number(j, "mismatches"), 0) << j;
    EXPECT_EQ(number(j, "disconnects"), 0) << j;
    EXPECT_EQ(queued(), 80);
}

// Open loop: submits leave at the clock's pace, and the count still comes out exact.
TEST_F(LoadgenTest, OpenLoopCount) {
    std::string j = run({"--connections", "2", "--workload", "invalid-digest", "--rate", "1000", "--count", "50"});
    EXPECT_EQ(member(j, "mode"), "\"open\"") << j;
    EXPECT_EQ(number(j, "answered"), 50) << j;
    EXPECT_EQ(member(j, "rejected_by_code"), "{\"20\":50}") << j;
    EXPECT_EQ(number(j, "mismatches"), 0) << j;
}

// --source binds the connections to that address: with only 127.0.0.1 allow-listed and a
// rate limit of 1 submit/s (burst 20), the same 100 submits are all judged from 127.0.0.1
// and mostly refused as "Rate limit exceeded" from 127.0.0.3, without being mismatches.
TEST_F(LoadgenTest, SourceAddressIsWhereConnectionsComeFrom) {
    ASSERT_EQ(server_.stop(), 0);
    ASSERT_EQ(server_.start(SHAREGATE_BINARY, *redis_, kPool,
                            {"--allow", "127.0.0.1/32", "--max-submits-per-s", "1", "--submit-burst", "20",
                             "--ban-times", "off"}),
              "");
    port_ = server_.port();
    const std::string allowed = run({"--connections", "1", "--workload", "stale", "--count", "100"});
    EXPECT_EQ(member(allowed, "rejected_by_code"), "{\"21\":100}") << allowed;
    EXPECT_EQ(number(allowed, "rate_limited"), 0) << allowed;

    const std::string limited =
        run({"--connections", "1", "--workload", "stale", "--count", "100", "--source", "127.0.0.3"});
    EXPECT_EQ(number(limited, "answered"), 100) << limited;
    // At least the 80 past the burst, less one token for each second the run took.
    EXPECT_GE(number(limited, "rate_limited"), 50) << limited;
    EXPECT_EQ(number(limited, "rate_limited") + rejected(limited, 21), 100) << limited;
    EXPECT_EQ(number(limited, "mismatches"), 0) << limited;
    EXPECT_EQ(number(limited, "disconnects") + number(limited, "refused"), 0) << limited;
}

// A timed run prints a progress line each second on stderr, then the JSON.
TEST_F(LoadgenTest, TimedRunShowsProgress) {
    ProcessResult r = run_loadgen({"--target", "127.0.0.1:" + std::to_string(port_), "--workload", "stale",
                                   "--connections", "2", "--rate", "200", "--duration", "1.3", "--json"},
                                  true);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("[  1s] answered "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" p99 "), std::string::npos) << r.out;
    auto at = r.out.find("{\"duration_s\"");
    ASSERT_NE(at, std::string::npos) << r.out;
    std::string j = r.out.substr(at, r.out.find('\n', at) - at);
    EXPECT_GT(number(j, "answered"), 100) << j;
    EXPECT_EQ(rejected(j, 21), number(j, "answered")) << j;
    EXPECT_EQ(number(j, "mismatches"), 0) << j;
}

}  // namespace
