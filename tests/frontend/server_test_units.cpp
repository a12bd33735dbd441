// Unit tests of the server's parts that need no network: the batcher, the inline verify
// queue and the options.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "server/batcher.hpp"
#include "server/inline_verify_queue.hpp"
#include "server/options.hpp"
#include "server/stats.hpp"
#include "sharegate/seed_share.hpp"

namespace {

using namespace sharegate;
using namespace std::chrono_literals;

constexpr const char* kChallenge = sharegate::seed::kChallenge;
constexpr const char* kPool = sharegate::seed::kPool;
constexpr const char* kSeedNonce = sharegate::seed::kNonce;
constexpr const char* kSeedDigest = sharegate::seed::kDigest;

// Collects verdicts from the verifier thread.
struct Results {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::optional<Verdict>> verdicts;
    std::size_t answered = 0;

    explicit Results(std::size_t n) : verdicts(n) {}
    std::function<void(std::optional<Verdict>)> slot(std::size_t i) {
        return [this, i](std::optional<Verdict> v) {
            std::lock_guard lock(mutex);
            verdicts[i] = v;
            ++answered;
            cv.notify_all();
        };
    }
    bool wait(std::size_t n, std::chrono::milliseconds timeout = 5000ms) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, timeout, [&] { return answered >= n; });
    }
};

server::PendingShare seed_share(const Bytes32& challenge, std::uint64_t difficulty,
                                std::function<void(std::optional<Verdict>)> done) {
    server::PendingShare share;
    share.challenge = challenge;
    share.nonce = *parse_hex32(kSeedNonce);
    share.digest = *U256::from_hex32(kSeedDigest);
    share.target = share_target(234, difficulty);
    share.done = std::move(done);
    return share;
}

class BatcherTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto made = make_verifier("cpu-scalar");
        ASSERT_TRUE(made) << made.error;
        verifier_ = std::move(made.verifier);
        pool_ = *Address::parse(kPool);
        challenge_ = *parse_hex32(kChallenge);
    }
    std::unique_ptr<Verifier> verifier_;
    Address pool_;
    Bytes32 challenge_{};
};

TEST_F(BatcherTest, VerdictsForEachShare) {
    server::Batcher batcher(*verifier_, pool_, 4096, 200us);
    batcher.start();
    Results results(3);
    batcher.add(seed_share(challenge_, 872, results.slot(0)));
    batcher.add(seed_share(challenge_, 1'000'000'000'000, results.slot(1)));  // target not met
    Bytes32 other = challenge_;
    other[31] ^= 1;
    batcher.add(seed_share(other, 872, results.slot(2)));  // not this challenge's hash
    ASSERT_TRUE(results.wait(3));
    EXPECT_EQ(results.verdicts[0], Verdict::accepted);
    EXPECT_EQ(results.verdicts[1], Verdict::target_not_met);
    EXPECT_EQ(results.verdicts[2], Verdict::invalid_digest);
    batcher.stop();
}

// A flush that straddles a challenge change verifies each share against its own challenge.
TEST_F(BatcherTest, GroupsByChallengeWithinOneFlush) {
    server::Batcher batcher(*verifier_, pool_, 4, 10s);  // flushes on size only
    batcher.start();
    Results results(4);
    Bytes32 other = challenge_;
    other[0] ^= 0x80;
    batcher.add(seed_share(other, 872, results.slot(0)));
    batcher.add(seed_share(challenge_, 872, results.slot(1)));
    batcher.add(seed_share(other, 872, results.slot(2)));
    batcher.add(seed_share(challenge_, 872, results.slot(3)));
    ASSERT_TRUE(results.wait(4, 3000ms));
    EXPECT_EQ(results.verdicts[0], Verdict::invalid_digest);
    EXPECT_EQ(results.verdicts[1], Verdict::accepted);
    EXPECT_EQ(results.verdicts[2], Verdict::invalid_digest);
    EXPECT_EQ(results.verdicts[3], Verdict::accepted);
    EXPECT_EQ(batcher.stats().batches, 2u);  // one ShareBatch per challenge
    batcher.stop();
}

TEST_F(BatcherTest, FlushesWhenTheWindowPasses) {
    server::Batcher batcher(*verifier_, pool_, 4096, 1ms);
    batcher.start();
    Results results(1);
    auto t0 = std::chrono::steady_clock::now();
    batcher.add(seed_share(challenge_, 872, results.slot(0)));
    ASSERT_TRUE(results.wait(1, 2000ms));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
    batcher.stop();
}

TEST_F(BatcherTest, StopVerifiesWhatWaitsThenRefuses) {
    server::Batcher batcher(*verifier_, pool_, 4096, 10s);
    batcher.start();
    Results results(2);
    batcher.add(seed_share(challenge_, 872, results.slot(0)));
    batcher.stop();  // must not wait 10 s, must not drop the share
    ASSERT_TRUE(results.wait(1, 0ms));
    EXPECT_EQ(results.verdicts[0], Verdict::accepted);
    batcher.add(seed_share(challenge_, 872, results.slot(1)));
    ASSERT_TRUE(results.wait(2, 0ms));
    EXPECT_EQ(results.verdicts[1], std::nullopt);
}

// ---- verifying on the caller's thread (server/inline_verify_queue.hpp) ----

using InlineVerifyQueueTest = BatcherTest;

TEST_F(InlineVerifyQueueTest, OutsideAHoldEachShareIsVerifiedAtOnceOnTheCallersThread) {
    server::InlineVerifyQueue queue(*verifier_, pool_);
    Results results(2);
    queue.add(seed_share(challenge_, 872, results.slot(0)));
    ASSERT_TRUE(results.wait(1, 0ms));  // answered within add()
    Bytes32 other = challenge_;
    other[31] ^= 1;
    queue.add(seed_share(other, 872, results.slot(1)));
    ASSERT_TRUE(results.wait(2, 0ms));
    EXPECT_EQ(results.verdicts[0], Verdict::accepted);
    EXPECT_EQ(results.verdicts[1], Verdict::invalid_digest);
    EXPECT_EQ(queue.stats().batches, 2u);
    EXPECT_EQ(queue.stats().shares, 2u);
    EXPECT_EQ(queue.waiting(), 0u);
}

TEST_F(InlineVerifyQueueTest, WithinAHoldSharesWaitAndAreVerifiedInOneCallAtTheOutermostRelease) {
    server::InlineVerifyQueue queue(*verifier_, pool_);
    Results results(3);
    queue.hold();
    queue.add(seed_share(challenge_, 872, results.slot(0)));
    queue.hold();  // nested: still one group
    queue.add(seed_share(challenge_, 1'000'000'000'000, results.slot(1)));
    queue.release();
    queue.add(seed_share(challenge_, 872, results.slot(2)));
    EXPECT_EQ(results.answered, 0u);
    EXPECT_EQ(queue.waiting(), 3u);  // what load shedding reads
    queue.release();
    ASSERT_TRUE(results.wait(3, 0ms));
    EXPECT_EQ(results.verdicts[0], Verdict::accepted);
    EXPECT_EQ(results.verdicts[1], Verdict::target_not_met);
    EXPECT_EQ(results.verdicts[2], Verdict::accepted);
    EXPECT_EQ(queue.stats().batches, 1u);
    EXPECT_EQ(queue.stats().shares, 3u);
    EXPECT_EQ(queue.waiting(), 0u);
}

TEST_F(InlineVerifyQueueTest, AHoldOfManySharesIsVerifiedInCallsOfAtMostTheGroupSize) {
    server::InlineVerifyQueue queue(*verifier_, pool_);
    const std::size_t n = 2 * server::InlineVerifyQueue::kMaxGroupShares + 5;
    Results results(n);
    queue.hold();
    for (std::size_t i = 0; i < n; ++i) queue.add(seed_share(challenge_, 872, results.slot(i)));
    // Two full groups went while held; the rest waits for the release.
    EXPECT_EQ(results.answered, 2 * server::InlineVerifyQueue::kMaxGroupShares);
    queue.release();
    ASSERT_TRUE(results.wait(n, 0ms));
    for (const auto& verdict : results.verdicts) EXPECT_EQ(verdict, Verdict::accepted);
    EXPECT_EQ(queue.stats().batches, 3u);
}

// A verdict's answer may hand in more shares (a session handling its next lines): they
// are verified too, before release() returns, and none is lost or answered twice.
TEST_F(InlineVerifyQueueTest, SharesHandedInByAVerdictAreVerifiedBeforeReleaseReturns) {
    server::InlineVerifyQueue queue(*verifier_, pool_);
    Results results(3);
    queue.hold();
    auto first = results.slot(0);
    queue.add(seed_share(challenge_, 872, [&, first](std::optional<Verdict> v) {
        first(v);
        queue.add(seed_share(challenge_, 872, results.slot(1)));  // outside any hold now: at once
        queue.hold();
        queue.add(seed_share(challenge_, 872, results.slot(2)));
        queue.release();
    }));
    queue.release();
    ASSERT_TRUE(results.wait(3, 0ms));
    EXPECT_EQ(results.answered, 3u);
    for (const auto& verdict : results.verdicts) EXPECT_EQ(verdict, Verdict::accepted);
    EXPECT_EQ(queue.waiting(), 0u);
}

TEST_F(InlineVerifyQueueTest, HoldsAreEachThreadsOwn) {
    server::InlineVerifyQueue queue(*verifier_, pool_);
    Results results(2);
    queue.hold();
    queue.add(seed_share(challenge_, 872, results.slot(0)));
    // Another thread, holding nothing: its share is verified at once, this one's waits.
    std::thread([&] { queue.add(seed_share(challenge_, 872, results.slot(1))); }).join();
    EXPECT_EQ(results.answered, 1u);
    EXPECT_TRUE(results.verdicts[1].has_value());
    queue.release();
    ASSERT_TRUE(results.wait(2, 0ms));
}

TEST_F(InlineVerifyQueueTest, AfterStopAShareIsAnsweredUnverifiedAtOnce) {
    server::InlineVerifyQueue queue(*verifier_, pool_);
    Results results(1);
    queue.stop();
    queue.add(seed_share(challenge_, 872, results.slot(0)));
    ASSERT_TRUE(results.wait(1, 0ms));
    EXPECT_EQ(results.verdicts[0], std::nullopt);
    EXPECT_EQ(queue.stats().shares, 0u);
}

server::ParseResult parse(std::vector<std::string> args) {
    args.insert(args.begin(), "sharegate");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    return server::parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(Options, Defaults) {
    auto r = parse({"--pool-address", kPool});
    ASSERT_EQ(r.action, server::ParseResult::Action::run) << r.message;
    const auto& o = r.options;
    EXPECT_EQ(o.port, 9192);
    EXPECT_EQ(o.bind, "0.0.0.0");
    EXPECT_EQ(o.redis.host, "127.0.0.1");
    EXPECT_EQ(o.redis.port, 6379);
    EXPECT_EQ(o.min_share_difficulty, 1u);
    EXPECT_EQ(o.max_target_bits, 234u);
    EXPECT_EQ(o.verifier, "auto");
    EXPECT_GE(o.threads, 1u);
    EXPECT_EQ(o.batch_size, 4096u);
    EXPECT_EQ(o.batch_window, 500us);
    EXPECT_EQ(o.reply_style, server::ReplyStyleOption::automatic);
    EXPECT_EQ(o.max_line_bytes, 10240u);
    EXPECT_EQ(o.stats_interval_s, 10u);
    EXPECT_EQ(o.pool.checksummed(), kPool);
    EXPECT_EQ(o.opencl_platform, -1);
    EXPECT_EQ(o.opencl_device, -1);
}

TEST(Options, VerifyOn) {
    EXPECT_EQ(parse({"--pool-address", kPool}).options.verify_on, server::Options::VerifyOn::automatic);
    EXPECT_EQ(parse({"--pool-address", kPool, "--verify-on", "io"}).options.verify_on, server::Options::VerifyOn::io);
    EXPECT_EQ(parse({"--pool-address", kPool, "--verify-on", "batcher"}).options.verify_on,
              server::Options::VerifyOn::batcher);
    // The I/O threads may share only a CPU verifier.
    EXPECT_EQ(parse({"--pool-address", kPool, "--verify-on", "io", "--verifier", "cpu-scalar"}).action,
              server::ParseResult::Action::run);
    for (const char* device : {"cuda", "opencl"}) {
        const auto refused = parse({"--pool-address", kPool, "--verify-on", "io", "--verifier", device});
        EXPECT_EQ(refused.action, server::ParseResult::Action::error) << device;
        EXPECT_NE(refused.message.find("--verify-on io needs a CPU verifier"), std::string::npos) << refused.message;
    }
    const auto bad = parse({"--pool-address", kPool, "--verify-on", "gpu"});
    EXPECT_EQ(bad.action, server::ParseResult::Action::error);
    EXPECT_NE(bad.message.find("--verify-on"), std::string::npos) << bad.message;
}

TEST(Options, BothSpellingsAndErrors) {
    auto r =
        parse({"--pool-address=" + std::string(kPool), "--port=1234", "--redis", "redis.local:7000",
               "--max-target-bits", "244", "--reply-style", "jsonrpc2", "--opencl-platform", "1", "--opencl-device=2"});
    ASSERT_EQ(r.action, server::ParseResult::Action::run) << r.message;
    EXPECT_EQ(r.options.port, 1234);
    EXPECT_EQ(r.options.redis.host, "redis.local");
    EXPECT_EQ(r.options.redis.port, 7000);
    EXPECT_EQ(r.options.max_target_bits, 244u);
    EXPECT_EQ(r.options.reply_style, server::ReplyStyleOption::jsonrpc2);
    EXPECT_EQ(r.options.opencl_platform, 1);
    EXPECT_EQ(r.options.opencl_device, 2);

    for (auto bad : std::vector<std::vector<std::string>>{
             {},
             {"--pool-address", "0x1b7bfB694eE51913c347971c7090a74AEFbd41f7"},
             {"--pool-address", "0x1234"},
             {"--pool-address", kPool, "--max-target-bits", "0"},
             {"--pool-address", kPool, "--max-target-bits", "256"},
             {"--pool-address", kPool, "--port", "65536"},
             {"--pool-address", kPool, "--min-share-difficulty", "0"},
             {"--pool-address", kPool, "--log-level", "loud"},
             {"--pool-address", kPool, "--batch-size"},
             {"--pool-address", kPool, "stray"},
             {"--pool-address", kPool, "--opencl-platform", "-1"},
             {"--pool-address", kPool, "--opencl-device", "first"},
         }) {
        auto result = parse(bad);
        EXPECT_EQ(result.action, server::ParseResult::Action::error);
        EXPECT_EQ(result.message.find('\n'), std::string::npos) << "one line: " << result.message;
    }
}

TEST(Options, ConfigFileUnderCommandLine) {
    char path[] = "/tmp/sharegate-options-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    {
        std::ofstream out(path);
        out << "# pool settings\npool-address = " << kPool << "\nport = 7777  # inline\n\nbatch-size=64\n";
    }
    auto r = parse({"--config", path, "--port", "8888"});
    ASSERT_EQ(r.action, server::ParseResult::Action::run) << r.message;
    EXPECT_EQ(r.options.port, 8888);  // the command line wins
    EXPECT_EQ(r.options.batch_size, 64u);
    {
        std::ofstream out(path);
        out << "pool-address = " << kPool << "\nbatch-size = lots\n";
    }
    auto bad = parse({"--config", path});
    EXPECT_EQ(bad.action, server::ParseResult::Action::error);
    EXPECT_NE(bad.message.find("batch-size"), std::string::npos) << bad.message;
    ::unlink(path);
}

// The duplicate filter's bound: default, a value in range, and values outside it refused.
TEST(Options, MaxSharesPerChallenge) {
    auto defaults = parse({"--pool-address", kPool});
    ASSERT_EQ(defaults.action, server::ParseResult::Action::run) << defaults.message;
    EXPECT_EQ(defaults.options.max_shares_per_challenge, 262144u);
    auto set = parse({"--pool-address", kPool, "--max-shares-per-challenge", "1024"});
    ASSERT_EQ(set.action, server::ParseResult::Action::run) << set.message;
    EXPECT_EQ(set.options.max_shares_per_challenge, 1024u);
    for (const char* bad : {"1023", "67108865", "0", "-5", "lots", "1e6"}) {
        auto result = parse({"--pool-address", kPool, "--max-shares-per-challenge", bad});
        EXPECT_EQ(result.action, server::ParseResult::Action::error) << bad;
        EXPECT_NE(result.message.find("--max-shares-per-challenge"), std::string::npos) << result.message;
        EXPECT_EQ(result.message.find('\n'), std::string::npos) << "one line: " << result.message;
    }
}

// The abuse defenses' options: defaults, values and every bad value refused in one line
// that names the option.
TEST(Options, AbuseDefenses) {
    auto defaults = parse({"--pool-address", kPool});
    ASSERT_EQ(defaults.action, server::ParseResult::Action::run) << defaults.message;
    const server::Options& d = defaults.options;
    EXPECT_EQ(d.max_submits_per_s, 100u);
    EXPECT_EQ(d.submit_burst, 200u);
    EXPECT_EQ(d.bans.window, std::chrono::seconds(60));
    EXPECT_EQ(d.bans.min_shares, 50u);
    EXPECT_EQ(d.bans.invalid_percent, 50u);
    EXPECT_EQ(d.bans.junk_lines, 5u);
    EXPECT_EQ(d.bans.ban_times,
              (std::vector<std::chrono::seconds>{std::chrono::seconds(600), std::chrono::seconds(3600),
                                                 std::chrono::seconds(86400)}));
    EXPECT_EQ(d.bans.grace, std::chrono::seconds(5));
    EXPECT_EQ(d.bans.max_addresses, 65536u);
    EXPECT_EQ(d.max_queued_shares, 16384u);
    EXPECT_TRUE(d.proxies.empty());

    auto r = parse({"--pool-address",
                    kPool,
                    "--max-submits-per-s",
                    "0",
                    "--submit-burst",
                    "5",
                    "--ban-window-s",
                    "30",
                    "--ban-min-shares",
                    "10",
                    "--ban-invalid-percent",
                    "90",
                    "--ban-junk-lines",
                    "2",
                    "--ban-times",
                    "60,120",
                    "--ban-grace-s",
                    "0",
                    "--max-tracked-addresses",
                    "1000",
                    "--max-queued-shares",
                    "256",
                    "--proxy",
                    "10.0.0.1/32",
                    "--proxy",
                    "fd00::/8",
                    "--allow",
                    "192.168.0.0/16"});
    ASSERT_EQ(r.action, server::ParseResult::Action::run) << r.message;
    const server::Options& o = r.options;
    EXPECT_EQ(o.max_submits_per_s, 0u);
    EXPECT_EQ(o.submit_burst, 5u);
    EXPECT_EQ(o.bans.window, std::chrono::seconds(30));
    EXPECT_EQ(o.bans.min_shares, 10u);
    EXPECT_EQ(o.bans.invalid_percent, 90u);
    EXPECT_EQ(o.bans.junk_lines, 2u);
    EXPECT_EQ(o.bans.ban_times,
              (std::vector<std::chrono::seconds>{std::chrono::seconds(60), std::chrono::seconds(120)}));
    EXPECT_EQ(o.bans.grace, std::chrono::seconds(0));
    EXPECT_EQ(o.bans.max_addresses, 1000u);
    EXPECT_EQ(o.max_queued_shares, 256u);
    ASSERT_EQ(o.proxies.size(), 2u);
    EXPECT_EQ(o.proxies[1].to_string(), "fd00::/8");
    ASSERT_EQ(o.bans.allow.size(), 1u);  // the ban rules see the allow-list
    EXPECT_EQ(o.bans.allow[0].to_string(), "192.168.0.0/16");
    EXPECT_TRUE(parse({"--pool-address", kPool, "--ban-times", "off"}).options.bans.ban_times.empty());

    for (auto bad : std::vector<std::vector<std::string>>{
             {"--max-submits-per-s", "-1"},
             {"--max-submits-per-s", "1000001"},
             {"--max-submits-per-s", "ten"},
             {"--submit-burst", "0"},
             {"--ban-window-s", "5"},
             {"--ban-window-s", "86401"},
             {"--ban-min-shares", "0"},
             {"--ban-invalid-percent", "0"},
             {"--ban-invalid-percent", "101"},
             {"--ban-junk-lines", "0"},
             {"--ban-times", ""},
             {"--ban-times", "0"},
             {"--ban-times", "600,"},
             {"--ban-times", "600,,3600"},
             {"--ban-times", "-600"},
             {"--ban-times", "2592001"},
             {"--ban-times", "10m"},
             {"--ban-grace-s", "3601"},
             {"--max-tracked-addresses", "15"},
             {"--max-queued-shares", "15"},
             {"--max-queued-shares", "16777217"},
             {"--proxy", "10.0.0.1"},
             {"--proxy", "10.0.0.1/33"},
             {"--proxy", "haproxy"},
         }) {
        bad.insert(bad.begin(), {"--pool-address", kPool});
        auto result = parse(bad);
        EXPECT_EQ(result.action, server::ParseResult::Action::error) << bad[2] << " " << bad.back();
        EXPECT_EQ(result.message.find('\n'), std::string::npos) << "one line: " << result.message;
        EXPECT_NE(result.message.find(bad[2]), std::string::npos) << result.message;
    }
}

// The connection defenses: defaults, ranges, --allow repeated and comma-separated in the
// config file, and a bad range refused in one line.
TEST(Options, ConnectionDefenses) {
    auto defaults = parse({"--pool-address", kPool});
    ASSERT_EQ(defaults.action, server::ParseResult::Action::run) << defaults.message;
    EXPECT_EQ(defaults.options.max_connections_per_address, 256u);
    EXPECT_EQ(defaults.options.max_connections, 0u);  // derived from the file limit at start
    EXPECT_TRUE(defaults.options.allow.empty());
    EXPECT_EQ(defaults.options.subscribe_timeout_s, 10u);

    auto r = parse({"--pool-address", kPool, "--max-connections-per-address", "1000000", "--max-connections", "50",
                    "--allow", "10.0.0.0/8", "--allow=::1/128", "--subscribe-timeout-s", "3600"});
    ASSERT_EQ(r.action, server::ParseResult::Action::run) << r.message;
    EXPECT_EQ(r.options.max_connections_per_address, 1000000u);
    EXPECT_EQ(r.options.max_connections, 50u);
    ASSERT_EQ(r.options.allow.size(), 2u);
    EXPECT_EQ(r.options.allow[0].to_string(), "10.0.0.0/8");
    EXPECT_EQ(r.options.allow[1].to_string(), "::1/128");
    EXPECT_EQ(r.options.subscribe_timeout_s, 3600u);

    for (auto bad : std::vector<std::vector<std::string>>{
             {"--max-connections-per-address", "0"},
             {"--max-connections-per-address", "1000001"},
             {"--max-connections", "-1"},
             {"--max-connections", "99999999999"},  // past any hard file limit
             {"--allow", "10.0.0.1/8"},
             {"--allow", "10.0.0.0"},
             {"--allow", "::1/129"},
             {"--allow", "10.0.0.0/8,"},
             {"--subscribe-timeout-s", "0"},
             {"--subscribe-timeout-s", "3601"},
         }) {
        bad.insert(bad.begin(), {"--pool-address", kPool});
        auto result = parse(bad);
        EXPECT_EQ(result.action, server::ParseResult::Action::error) << bad.back();
        EXPECT_EQ(result.message.find('\n'), std::string::npos) << "one line: " << result.message;
        EXPECT_NE(result.message.find(bad[2]), std::string::npos) << result.message;
    }

    char path[] = "/tmp/sharegate-options-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    {
        std::ofstream out(path);
        out << "pool-address = " << kPool << "\nallow = 10.0.0.0/8,127.0.0.1/32,::1/128\nmax-connections = 40\n";
    }
    auto from_file = parse({"--config", path});
    ASSERT_EQ(from_file.action, server::ParseResult::Action::run) << from_file.message;
    ASSERT_EQ(from_file.options.allow.size(), 3u);
    EXPECT_EQ(from_file.options.allow[1].to_string(), "127.0.0.1/32");
    EXPECT_EQ(from_file.options.max_connections, 40u);
    auto overridden = parse({"--config", path, "--allow", "192.168.0.0/16"});  // the command line wins
    ASSERT_EQ(overridden.action, server::ParseResult::Action::run) << overridden.message;
    ASSERT_EQ(overridden.options.allow.size(), 1u);
    EXPECT_EQ(overridden.options.allow[0].to_string(), "192.168.0.0/16");
    {
        std::ofstream out(path);
        out << "pool-address = " << kPool << "\nallow = 10.0.0.0/8, 300.0.0.0/8\n";
    }
    auto bad_file = parse({"--config", path});
    EXPECT_EQ(bad_file.action, server::ParseResult::Action::error);
    EXPECT_NE(bad_file.message.find("allow"), std::string::npos) << bad_file.message;
    EXPECT_EQ(bad_file.message.find('\n'), std::string::npos) << bad_file.message;
    ::unlink(path);
}

// The statistics line names each rejection by the protocol error's kind; a kind listed
// out of order would count one error under another's name.
TEST(Stats, EachProtocolErrorHasItsOwnName) {
    namespace errors = protocol::errors;
    const std::pair<protocol::StratumError, std::string_view> expected[] = {
        {errors::kInvalidShareParameters, "params"},
        {errors::kInvalidAccount, "account"},
        {errors::kWrongChallenge, "stale"},
        {errors::kLowDifficulty, "low-diff"},
        {errors::kDuplicateShare, "duplicate"},
        {errors::kInvalidDigest, "invalid-digest"},
        {errors::kTargetNotMet, "target"},
        {errors::kShareNotStored, "not-stored"},
        {errors::kNotSubscribed, "not-subscribed"},
        {errors::kUnknownMethod, "unknown-method"},
        {errors::kServerBusy, "busy"},
        {errors::kRateLimited, "rate-limited"},
    };
    static_assert(std::size(expected) == static_cast<std::size_t>(protocol::ErrorKind::count));
    for (const auto& [error, name] : expected) {
        EXPECT_EQ(server::kRejectionNames[static_cast<std::size_t>(error.kind)], name) << error.message;
    }
    server::Stats stats;
    stats.reject(errors::kInvalidDigest.kind);
    stats.reject(errors::kInvalidDigest.kind);
    stats.reject(errors::kUnknownMethod.kind);
    EXPECT_EQ(stats.rejected[static_cast<std::size_t>(protocol::ErrorKind::invalid_digest)].load(), 2u);
    EXPECT_EQ(stats.rejected[static_cast<std::size_t>(protocol::ErrorKind::unknown_method)].load(), 1u);
    EXPECT_EQ(stats.rejected[static_cast<std::size_t>(protocol::ErrorKind::invalid_parameters)].load(), 0u);
}

}  // namespace
