// Redis outages end to end (issue 13): the real binary, a real redis-server that is
// killed, frozen and restarted, and miners on real sockets. What is checked is what a pool
// operator relies on: every submit is answered while Redis is away, every share answered
// "true" reaches queued_shares_list exactly once when it returns, a crash loses only what
// was never acknowledged, and a full spool says so instead of dropping shares.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "defense_fixture.hpp"
#include "spool/spool.hpp"
#include "support/http_client.hpp"
#include "support/mined_shares.hpp"

namespace {

using namespace sharegate_defense_test;
using sharegate_test::ShareMiner;
using Clock = std::chrono::steady_clock;

// The fixture's Redis keeps every acknowledged write in an append-only file (fsync
// always), as a pool's Redis should: a Redis killed and restarted still holds what it
// acknowledged, so "exactly once" can be checked across the outage.
class OutageTest : public DefenseTest {
protected:
    void SetUp() override {
        DefenseTest::SetUp();
        redis_ = std::make_unique<TestRedisServer>(TestRedisServer::Persistence::append_only);
        sharegate_test::write_pool_state(*redis_);
    }

    // A miner at varDiff 1, as the pool back-end would have it.
    void add_miner(const std::string& miner) {
        redis_->command({"HSET", "miner_data", miner,
                         R"({"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":1,)"
                         R"("validSubmittedSolutionsCount":0})"});
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

    long long list_length() { return std::atoll(redis_->command({"LLEN", "queued_shares_list"}).c_str()); }

    // Waits (up to the deadline) until the list holds `count` shares, then a moment more:
    // a duplicate, if any, would come with the last of the replay.
    void wait_for_list(long long count, std::chrono::seconds deadline = 60s) {
        const auto until = Clock::now() + deadline;
        while (list_length() < count && Clock::now() < until) std::this_thread::sleep_for(50ms);
        std::this_thread::sleep_for(1000ms);
    }

    // The spool segment files of the running (or killed) server, oldest first.
    std::vector<std::filesystem::path> segments() const {
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(server_.spool_dir()))
            if (entry.path().extension() == ".spool") files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        return files;
    }

    static std::string submit(int id, const sharegate_test::VectorShare& share, const std::string& miner) {
        return sharegate::protocol::submit_request(static_cast<std::uint64_t>(id), share.nonce, miner, share.digest,
                                                   "1", kChallenge);
    }

    // Subscribes and waits for the first work, which comes once the miner's varDiff has
    // been read from Redis: a Redis stopped before that answer leaves the miner at the
    // default varDiff, and its varDiff-1 shares would be refused as low difficulty.
    static void subscribe_at_var_diff_1(LineClient& client, const std::string& miner) {
        client.send(subscribe_request(1, miner));
        ASSERT_EQ(client.read_message(15000ms), accepted(1));
        const ServerLine work = client.read_message(15000ms);
        ASSERT_TRUE(work.is_notify()) << work.text;
        ASSERT_EQ(work.difficulty, 1u) << "the miner's varDiff, read from Redis";
    }

    // The reply to a request, past any work notify that comes first.
    static ServerLine reply(LineClient& client, std::chrono::milliseconds timeout = 10000ms) {
        for (;;) {
            ServerLine line = client.read_message(timeout);
            if (!line.is_notify()) return line;
        }
    }
};

ServerLine not_stored(int id) { return sharegate_test::refused(id, 20, "Share could not be stored"); }

// One miner's steady stream: a fresh share every 20 ms, each answered before the next.
struct Answer {
    std::string nonce;
    Clock::time_point sent, answered;
    bool accepted = false;
    std::string text;  // the reply, for failure messages
};

void stream(std::uint16_t port, const std::string& miner, std::uint32_t tag, const std::atomic<bool>& stop,
            std::vector<Answer>& answers) {
    LineClient client(port);
    client.send(subscribe_request(1, miner));
    if (client.read_message() != accepted(1)) return;
    ShareMiner mine(tag);
    int id = 10;
    while (!stop.load()) {
        const auto share = mine.next();
        Answer answer;
        answer.nonce = share.nonce;
        answer.sent = Clock::now();
        client.send(sharegate::protocol::submit_request(static_cast<std::uint64_t>(id), share.nonce, miner,
                                                        share.digest, "1", kChallenge));
        ServerLine line;
        do line = client.read_message(15000ms);
        while (line.is_notify());
        answer.answered = Clock::now();
        answer.accepted = line == accepted(id);
        answer.text = line.kind == ServerLine::Kind::none ? "no answer within 15 s" : line.text;
        answers.push_back(std::move(answer));
        if (line.kind == ServerLine::Kind::none) return;
        ++id;
        std::this_thread::sleep_until(answers.back().sent + 20ms);
    }
}

// Redis SIGKILLed for 20 s under a steady stream of valid shares from four miners: every
// submit is answered while it is away (from the spool, within the bound; without a spool
// each would wait the 20 s), and once it is back every share answered "true" is in the
// list exactly once, and nothing else is. The latencies are printed; the bench
// (bench/run-outage.sh) measures them properly.
TEST_F(OutageTest, RedisKilledFor20SecondsUnderASteadyStream) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--max-target-bits", "250"}));
    constexpr int kMiners = 4;
    std::vector<std::string> miners;
    for (int m = 0; m < kMiners; ++m) {
        miners.push_back("0x00000000000000000000000000000000000000e" + std::to_string(m));
        add_miner(miners.back());
    }
    std::atomic<bool> stop{false};
    std::vector<std::vector<Answer>> answers(kMiners);
    std::vector<std::thread> threads;
    for (int m = 0; m < kMiners; ++m)
        threads.emplace_back(stream, port_, miners[static_cast<std::size_t>(m)], 0xe0 + m, std::cref(stop),
                             std::ref(answers[static_cast<std::size_t>(m)]));

    std::this_thread::sleep_for(3s);
    const auto killed = Clock::now();
    redis_->kill_hard();
    std::this_thread::sleep_for(20s);
    redis_->start();  // the same port, its append-only file reloaded
    const auto back = Clock::now();
    std::this_thread::sleep_for(3s);
    stop = true;
    for (auto& thread : threads) thread.join();

    std::vector<Answer> all;
    for (auto& miner_answers : answers) all.insert(all.end(), miner_answers.begin(), miner_answers.end());
    std::vector<double> outage_ms;
    long long accepted_count = 0;
    for (const Answer& answer : all) {
        EXPECT_TRUE(answer.accepted) << answer.nonce << ": " << answer.text;
        if (answer.accepted) ++accepted_count;
        if (answer.sent >= killed && answer.sent < back)
            outage_ms.push_back(std::chrono::duration<double, std::milli>(answer.answered - answer.sent).count());
    }
    // 4 miners at 50 submits/s for 26 s; far fewer means the streams stalled.
    EXPECT_GT(all.size(), 1000u);
    ASSERT_GT(outage_ms.size(), 400u) << "too few submits while Redis was away";
    std::sort(outage_ms.begin(), outage_ms.end());
    const double p50 = outage_ms[outage_ms.size() / 2];
    const double p99 = outage_ms[outage_ms.size() * 99 / 100];
    std::cout << "during the outage: " << outage_ms.size() << " submits answered, p50 " << p50 << " ms, p99 " << p99
              << " ms, max " << outage_ms.back() << " ms\n";
    // Answered while Redis was away, not when it came back: well under the 20 s outage.
    EXPECT_LT(outage_ms.back(), 5000.0) << "a submit waited for Redis";

    wait_for_list(accepted_count);
    const auto listed = listed_nonces();
    EXPECT_EQ(list_length(), accepted_count);
    for (const Answer& answer : all) {
        if (!answer.accepted) continue;
        const auto it = listed.find(answer.nonce);
        EXPECT_TRUE(it != listed.end() && it->second == 1)
            << answer.nonce << " is in the list " << (it == listed.end() ? 0 : it->second) << " times";
    }
}

// A crash in the middle of a spool write leaves a torn last record: it was never
// acknowledged to the miner, so the restart drops it with a log line and replays the
// records before it.
TEST_F(OutageTest, TornLastRecordIsDroppedAndTheEarlierOnesReplay) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--redis-bound-ms", "200"}));
    const auto d1 = load_d1();
    ASSERT_GE(d1.size(), 10u);
    LineClient client(port_);
    ASSERT_NO_FATAL_FAILURE(subscribe_at_var_diff_1(client, kMinerD1));
    redis_->stop();
    std::string lines;
    for (int i = 0; i < 10; ++i) lines += submit(10 + i, d1[static_cast<std::size_t>(i)], kMinerD1);
    client.send(lines);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(reply(client), accepted(10 + i)) << "while Redis is down";
    ASSERT_TRUE(server_.signal(SIGKILL));
    server_.stop();  // reaps it

    // The last record in the last segment that holds any: the one whose nonce comes last.
    const auto files = segments();
    ASSERT_FALSE(files.empty());
    std::filesystem::path segment;
    std::string bytes;
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.find("\"nonce\"") != std::string::npos) {
            segment = file;
            bytes = std::move(text);
        }
    }
    ASSERT_FALSE(segment.empty()) << "no spooled share on disk";
    std::size_t last_at = 0;
    std::string torn;
    for (int i = 0; i < 10; ++i) {
        const auto at = bytes.find(d1[static_cast<std::size_t>(i)].nonce);
        if (at != std::string::npos && at >= last_at) {
            last_at = at;
            torn = d1[static_cast<std::size_t>(i)].nonce;
        }
    }
    ASSERT_FALSE(torn.empty());
    std::filesystem::resize_file(segment, bytes.size() - 3);

    redis_->start();
    ASSERT_NO_FATAL_FAILURE(start_server({"--redis-bound-ms", "200"}));
    EXPECT_TRUE(wait_for_log(log_path_, "dropped the torn tail of " + segment.string())) << log();
    wait_for_list(9);
    const auto listed = listed_nonces();
    EXPECT_EQ(list_length(), 9);
    for (int i = 0; i < 10; ++i) {
        const std::string& nonce = d1[static_cast<std::size_t>(i)].nonce;
        EXPECT_EQ(listed.count(nonce), nonce == torn ? 0u : 1u) << nonce << (nonce == torn ? " (torn)" : "");
    }
}

// Lower case, as a share's claim key is named (docs/protocol.md section 4, "Share claims").
std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

std::string claim_key(const std::string& nonce) { return "sharegate:pushed:" + lower(kChallenge) + ":" + lower(nonce); }

// Shares spooled while Redis was away were answered "true"; if another instance claimed
// some of them meanwhile (the same shares sent there), the replay pushes only the others,
// and counts the rest as replay duplicates. Records spooled by a version before claim
// tokens (key, newline, JSON) still replay: pushed when unclaimed, never twice.
TEST_F(OutageTest, SpooledSharesClaimedElsewhereMeanwhileAreNotReplayed) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--redis-bound-ms", "200"}));
    const auto d1 = load_d1();
    ASSERT_GE(d1.size(), 14u);
    LineClient client(port_);
    ASSERT_NO_FATAL_FAILURE(subscribe_at_var_diff_1(client, kMinerD1));
    redis_->stop();
    std::string lines;
    for (int i = 0; i < 10; ++i) lines += submit(10 + i, d1[static_cast<std::size_t>(i)], kMinerD1);
    client.send(lines);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(reply(client), accepted(10 + i)) << "while Redis is down";
    ASSERT_TRUE(server_.signal(SIGKILL));
    server_.stop();  // reaps it

    // Two records as the previous version spooled them, appended behind the others.
    {
        auto opened = sharegate::spool::Spool::open(server_.spool_dir(), {});
        ASSERT_TRUE(std::holds_alternative<std::unique_ptr<sharegate::spool::Spool>>(opened))
            << std::get<std::string>(opened);
        auto spool = std::move(std::get<std::unique_ptr<sharegate::spool::Spool>>(opened));
        std::atomic<int> durable{0};
        for (int i = 10; i < 12; ++i) {
            const auto& share = d1[static_cast<std::size_t>(i)];
            const std::string json = R"({"block":5600000,"nonce":")" + share.nonce + R"(","minerEthAddress":")" +
                                     lower(kMinerD1) + R"(","challengeNumber":")" + kChallenge + R"(","digest":")" +
                                     share.digest + R"(","difficulty":1})";
            spool->append(claim_key(share.nonce) + "\n" + json, [&](bool ok) { durable += ok ? 1 : 100; });
        }
        const auto until = Clock::now() + 10s;
        while (durable.load() < 2 && Clock::now() < until) std::this_thread::sleep_for(10ms);
        ASSERT_EQ(durable.load(), 2);
    }

    // Meanwhile another instance claimed shares 0..2 (and the old-format share 11).
    redis_->start();
    for (int i : {0, 1, 2, 11})
        redis_->command({"SET", claim_key(d1[static_cast<std::size_t>(i)].nonce), "0123456789abcdef.7"});
    ASSERT_NO_FATAL_FAILURE(start_server({"--redis-bound-ms", "200"}));
    wait_for_list(8);
    const auto listed = listed_nonces();
    EXPECT_EQ(list_length(), 8);
    for (int i = 0; i < 12; ++i) {
        const std::string& nonce = d1[static_cast<std::size_t>(i)].nonce;
        const bool claimed_elsewhere = i < 3 || i == 11;
        EXPECT_EQ(listed.count(nonce), claimed_elsewhere ? 0u : 1u) << "share " << i;
        const std::string holder = redis_->command({"GET", claim_key(nonce)});
        if (claimed_elsewhere) {
            EXPECT_EQ(holder, "0123456789abcdef.7") << "share " << i;
        } else if (i < 10) {
            // This instance's token: 16 hex digits, a dot, a count.
            EXPECT_EQ(holder.size() > 17 && holder[16] == '.', true) << "share " << i << ": " << holder;
            EXPECT_NE(holder, "0123456789abcdef.7");
        }
    }
    // The three were answered "true" from the spool before; they are counted, not pushed.
    sharegate_test::HttpClient http(server_.admin_port());
    ASSERT_TRUE(http.connected());
    ASSERT_TRUE(http.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const auto page = http.read_response();
    ASSERT_TRUE(page);
    EXPECT_NE(page->body.find("sharegate_pool_duplicates_total{at=\"replay\"} 3\n"), std::string::npos) << page->body;
}

// A spool that fills while Redis is away answers [20,"Share could not be stored"] (a
// line in the log says so, once, not once a share); once Redis is back the refused shares
// can be sent again, and once the drain has emptied it the spool takes new ones.
TEST_F(OutageTest, FullSpoolRefusesSharesAndRecoversWhenRedisDrainsIt) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--max-target-bits", "250", "--spool-max-bytes", "1048576",
                                          "--max-submits-per-s", "0", "--redis-bound-ms", "200"}));
    const std::string miner = "0x00000000000000000000000000000000000000f1";
    add_miner(miner);
    LineClient client(port_);
    ASSERT_NO_FATAL_FAILURE(subscribe_at_var_diff_1(client, miner));
    redis_->kill_hard();

    // About 450 bytes a record: 1 MiB holds some 2 300 shares; 4 000 overflow it.
    ShareMiner mine(0xf1);
    std::vector<sharegate_test::VectorShare> shares;
    for (int i = 0; i < 4000; ++i) shares.push_back(mine.next());
    for (std::size_t from = 0; from < shares.size(); from += 500) {
        std::string lines;
        for (std::size_t i = from; i < from + 500; ++i) lines += submit(10 + int(i), shares[i], miner);
        client.send(lines);
    }
    std::vector<std::size_t> stored, refused;
    for (std::size_t i = 0; i < shares.size(); ++i) {
        const ServerLine line = reply(client);
        if (line == accepted(10 + int(i))) {
            stored.push_back(i);
        } else {
            ASSERT_EQ(line, not_stored(10 + int(i))) << i;
            refused.push_back(i);
        }
    }
    EXPECT_GT(stored.size(), 1000u);
    EXPECT_GT(refused.size(), 500u);
    EXPECT_TRUE(wait_for_log(log_path_, "spool: full (")) << log();
    EXPECT_EQ(count_of(log(), "spool: full ("), 1u) << "the full spool is logged once a minute, not a share";

    // Redis back: the shares refused before are taken at once (straight into Redis while
    // the spool is still full, or behind the drain once it has room), and the drain
    // empties the spool.
    redis_->start();
    // Until its reconnection the server still sees Redis down (and the spool full); the
    // drain starting says it is through.
    const auto until = Clock::now() + 30s;
    while (list_length() == 0 && Clock::now() < until) std::this_thread::sleep_for(10ms);
    std::string lines;
    for (std::size_t k = 0; k < 50; ++k) lines += submit(100000 + int(k), shares[refused[k]], miner);
    client.send(lines);
    for (std::size_t k = 0; k < 50; ++k) EXPECT_EQ(reply(client), accepted(100000 + int(k))) << k;
    wait_for_list(static_cast<long long>(stored.size()) + 50);
    EXPECT_EQ(list_length(), static_cast<long long>(stored.size()) + 50);
    // Drained: the spool takes new shares again.
    redis_->kill_hard();
    lines.clear();
    for (std::size_t k = 50; k < 100; ++k) lines += submit(100000 + int(k), shares[refused[k]], miner);
    client.send(lines);
    for (std::size_t k = 50; k < 100; ++k) EXPECT_EQ(reply(client), accepted(100000 + int(k))) << "spooled again";
    redis_->start();
    wait_for_list(static_cast<long long>(stored.size()) + 100);
    EXPECT_EQ(list_length(), static_cast<long long>(stored.size()) + 100);
}

// The binary's standard error and exit status, run with `args`.
struct BinaryRun {
    int status = -1;
    std::string output;
};

BinaryRun run_binary(const std::vector<std::string>& args) {
    std::string command = SHAREGATE_BINARY;
    for (const auto& arg : args) command += " '" + arg + "'";
    command += " 2>&1 >/dev/null";  // stderr alone: the log (stdout) has its start-up lines
    BinaryRun run;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return run;
    char buffer[4096];
    std::size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, got);
    const int status = ::pclose(pipe);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

// A spool sharegate cannot use stops the start before any miner is served, with one line
// that says why: a directory that cannot be created, and one another sharegate holds.
TEST_F(OutageTest, UnusableSpoolDirectoryStopsTheStartWithOneLine) {
    ASSERT_NO_FATAL_FAILURE(start_server({}));
    const auto file = std::filesystem::temp_directory_path() / ("sharegate-not-a-dir-" + std::to_string(::getpid()));
    { std::ofstream(file) << "x"; }
    // The spool is opened before the port is bound: this port is never listened on.
    const std::string port = std::to_string(sharegate_test::free_tcp_port());
    const std::string redis = "127.0.0.1:" + std::to_string(redis_->port());
    const std::vector<std::string> common = {"--port",         port,  "--bind",     "127.0.0.1", "--redis", redis,
                                             "--pool-address", kPool, "--verifier", "cpu"};
    for (const auto& [dir, why] : {std::pair{(file / "spool").string(), std::string("Not a directory")},
                                   std::pair{server_.spool_dir().string(), std::string("in use by another process")}}) {
        auto args = common;
        args.insert(args.end(), {"--spool-dir", dir});
        const BinaryRun run = run_binary(args);
        EXPECT_EQ(run.status, 1) << dir << ": " << run.output;
        EXPECT_EQ(run.output.rfind("sharegate: spool: ", 0), 0u) << run.output;
        EXPECT_NE(run.output.find(why), std::string::npos) << run.output;
        EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
    }
    std::filesystem::remove(file);
}

}  // namespace
