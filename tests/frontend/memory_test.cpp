// The server's memory under a flood it must not keep: shares with a right digest that miss
// their target cost the sender one Keccak each, so the server must not hold on to them
// (issue 12). The real sharegate and a private redis-server, driven by sharegate-loadgen's
// target-miss workload from one connection; the server's resident memory is read from
// /proc between a warm-up and the end of the flood.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/loadgen_run.hpp"
#include "support/redis_server.hpp"
#include "support/seed_share.hpp"
#include "support/server_process.hpp"

namespace {

using sharegate_test::member;
using sharegate_test::number;
using sharegate_test::TestRedisServer;

constexpr const char* kChallenge = sharegate_test::seed::kChallenge;
constexpr const char* kPool = sharegate_test::seed::kPool;
constexpr int kWarmUpShares = 20000;
constexpr int kFloodShares = 300000;
// Before the fix each such share stayed in the duplicate filter (~120 bytes): 300 000 of
// them grew the server by about 34 MB.
constexpr long long kMaxGrowthKiB = 8 * 1024;

// VmRSS of `pid` in KiB; -1 when it cannot be read.
long long resident_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
    }
    return -1;
}

class MemoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        redis_ = std::make_unique<TestRedisServer>();
        redis_->command({"SET", "challengeNumber", std::string("\"") + kChallenge + "\""});
        redis_->command({"SET", "ethBlockNumber", "5600000"});
        // Allow-listed, so that the flooder is not simply banned after its first 50 shares:
        // what is measured is the duplicate filter's bound (the ban is defense_test.cpp's).
        ASSERT_EQ(server_.start(SHAREGATE_BINARY, *redis_, kPool, {"--allow", "127.0.0.1/32"}), "");
    }

    // `count` target-miss shares from one connection, closed loop; every one must be
    // answered [23,"Target not met"] (the load generator checks the message too).
    void flood(int count, int seed) {
        const sharegate_test::ProcessResult run = sharegate_test::run_process(
            SHAREGATE_LOADGEN_BINARY,
            {"--target", "127.0.0.1:" + std::to_string(server_.port()), "--connections", "1", "--workload",
             "target-miss", "--count", std::to_string(count), "--depth", "64", "--seed", std::to_string(seed),
             "--duration", "500", "--json", "--quiet"},
            true);
        const std::string& out = run.out;
        ASSERT_EQ(run.status, 0) << out;
        const auto at = out.find("{\"duration_s\"");
        ASSERT_NE(at, std::string::npos) << out;
        const std::string j = out.substr(at, out.find('\n', at) - at);
        EXPECT_EQ(member(j, "complete"), "true") << j;
        EXPECT_EQ(number(j, "sent"), count) << j;
        EXPECT_EQ(number(j, "answered"), count) << j;
        EXPECT_EQ(number(j, "accepted"), 0) << j;
        EXPECT_EQ(member(j, "rejected_by_code"), "{\"23\":" + std::to_string(count) + "}") << j;
        EXPECT_EQ(number(j, "mismatches"), 0) << j;
        EXPECT_EQ(number(j, "disconnects"), 0) << j;
        EXPECT_EQ(number(j, "lost_in_flight"), 0) << j;
    }

    std::unique_ptr<TestRedisServer> redis_;
    sharegate_test::ServerProcess server_;
};

TEST_F(MemoryTest, TargetMissFloodDoesNotGrowTheServer) {
    // The warm-up brings the server's allocator, reply buffers and batches to their steady
    // size; a different seed for the flood, so that no nonce of it was sent before.
    ASSERT_NO_FATAL_FAILURE(flood(kWarmUpShares, 1));
    const long long before = resident_kib(server_.pid());
    ASSERT_GT(before, 0);
    ASSERT_NO_FATAL_FAILURE(flood(kFloodShares, 2));
    const long long after = resident_kib(server_.pid());
    ASSERT_GT(after, 0);
    std::printf("server VmRSS: %lld KiB after the warm-up, %lld KiB after %d more shares\n", before, after,
                kFloodShares);
#ifndef SHAREGATE_TEST_SANITIZED
    EXPECT_LT(after - before, kMaxGrowthKiB) << "grew from " << before << " KiB to " << after << " KiB";
#endif
    // Under a sanitizer (memory.cmake defines SHAREGATE_TEST_SANITIZED) resident memory is
    // inflated by the allocator's quarantine and shadow memory and too noisy to bound: only
    // the answers above are checked there.
    EXPECT_EQ(server_.stop(), 0);
}

}  // namespace
