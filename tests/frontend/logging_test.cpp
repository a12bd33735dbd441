// The server's log as an operator reads it, end to end (the real binary, a private
// redis-server, its stdout and stderr in a file): --log-format json writes nothing but
// JSON objects; a rejected share is a debug line, never an info one; a Redis outage is one
// "lost" line and one "restored" line however many reconnects it took; a bad
// --log-format stops the start with one line and exit status 2.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "protocol/stratum_client.hpp"
#include "support/line_client.hpp"
#include "support/pool_state.hpp"
#include "support/redis_server.hpp"
#include "support/seed_share.hpp"
#include "support/server_process.hpp"

namespace {

using sharegate::protocol::subscribe_request;
using sharegate_test::accepted;
using sharegate_test::LineClient;
using sharegate_test::ServerLine;
using sharegate_test::TestRedisServer;
using namespace std::chrono_literals;

namespace seed = sharegate_test::seed;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t count = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
    return count;
}

class LoggingTest : public ::testing::Test {
protected:
    void SetUp() override {
        redis_ = std::make_unique<TestRedisServer>();
        sharegate_test::write_pool_state(*redis_);
        log_path_ = std::filesystem::temp_directory_path() /
                    ("sharegate-logging-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log");
        std::filesystem::remove(log_path_);
        server_.set_log_file(log_path_);
    }

    void TearDown() override {
        if (server_.running()) {
            EXPECT_EQ(server_.stop(), 0);
        }
        std::filesystem::remove(log_path_);
    }

    void start(std::vector<std::string> extra) {
        extra.insert(extra.begin(), {"--reply-style", "legacy"});
        ASSERT_EQ(server_.start(SHAREGATE_BINARY, *redis_, seed::kPool, std::move(extra)), "") << log();
    }

    std::string log() const {
        std::ifstream in(log_path_);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }

    // Polls the log (the server flushes each line) until `done` holds; generous, to avoid
    // hanging, not to time anything.
    template <typename Condition>
    bool wait_for_log(Condition done, std::chrono::seconds limit = 60s) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done(log())) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(50ms);
        }
        return true;
    }

    // Subscribes the seed miner, then submits the seed share (accepted) and the same share
    // again (refused as a duplicate), reading each answer.
    void one_accepted_one_rejected() {
        LineClient client(server_.port());
        client.send(subscribe_request(1, seed::kMiner));
        EXPECT_EQ(client.read_message(), accepted(1));
        const ServerLine notify = client.read_message();
        ASSERT_TRUE(notify.is_notify()) << notify.text;
        const std::string share =
            sharegate::protocol::submit_request(4, seed::kNonce, seed::kMiner, seed::kDigest, "872", seed::kChallenge);
        client.send(share);
        EXPECT_EQ(client.read_message(), accepted(4));
        client.send(
            sharegate::protocol::submit_request(5, seed::kNonce, seed::kMiner, seed::kDigest, "872", seed::kChallenge));
        const ServerLine refusal = client.read_message();
        ASSERT_EQ(refusal.kind, ServerLine::Kind::reply) << refusal.text;
        EXPECT_TRUE(refusal.has_error) << refusal.text;
    }

    std::unique_ptr<TestRedisServer> redis_;
    sharegate_test::ServerProcess server_;
    std::filesystem::path log_path_;
};

TEST_F(LoggingTest, JsonFormatWritesOnlyJsonObjects) {
    // At debug, so that the per-share lines are in the output too.
    ASSERT_NO_FATAL_FAILURE(start({"--log-format", "json", "--log-level", "debug"}));
    ASSERT_NO_FATAL_FAILURE(one_accepted_one_rejected());
    // A line that is not JSON, with a byte that is not UTF-8: closed (and logged at debug).
    {
        LineClient junk(server_.port());
        junk.send("\xFF\xFE not json \"\\\n");
        EXPECT_TRUE(junk.closed_by_server());
    }
    ASSERT_EQ(server_.stop(), 0);

    const std::vector<std::string> lines = lines_of(log());
    ASSERT_FALSE(lines.empty());
    simdjson::dom::parser parser;
    bool summary = false, rejected = false, stopped = false;
    for (const std::string& line : lines) {
        simdjson::dom::object object;
        ASSERT_EQ(parser.parse(simdjson::padded_string(line)).get(object), simdjson::SUCCESS)
            << "not a JSON object: " << line;
        std::string_view ts, level, logger, msg;
        ASSERT_EQ(object["ts"].get(ts), simdjson::SUCCESS) << line;
        ASSERT_EQ(object["level"].get(level), simdjson::SUCCESS) << line;
        ASSERT_EQ(object["logger"].get(logger), simdjson::SUCCESS) << line;
        ASSERT_EQ(object["msg"].get(msg), simdjson::SUCCESS) << line;
        // 2026-11-30T22:10:01.123Z
        EXPECT_EQ(ts.size(), 24u) << line;
        EXPECT_EQ(ts.substr(ts.size() - 1), "Z") << line;
        EXPECT_EQ(ts.substr(10, 1), "T") << line;
        EXPECT_EQ(logger, "sharegate") << line;
        if (msg.starts_with("sharegate ") && msg.find(" started: verifier cpu") != std::string_view::npos) {
            EXPECT_EQ(level, "info") << line;
            summary = true;
        }
        if (msg.find("rejected id 5") != std::string_view::npos) {
            EXPECT_EQ(level, "debug") << line;
            rejected = true;
        }
        if (msg == "stopped") stopped = true;
    }
    EXPECT_TRUE(summary) << "no start-up summary naming the verifier:\n" << log();
    EXPECT_TRUE(rejected) << "no debug line for the rejected share:\n" << log();
    EXPECT_TRUE(stopped) << log();
}

TEST_F(LoggingTest, RejectedShareIsNoInfoLine) {
    ASSERT_NO_FATAL_FAILURE(start({"--log-level", "info"}));
    ASSERT_NO_FATAL_FAILURE(one_accepted_one_rejected());
    ASSERT_EQ(server_.stop(), 0);
    const std::string text = log();
    EXPECT_NE(text.find(" started: verifier cpu"), std::string::npos) << text;
    // (The statistics and totals lines say "rejected" too: the share's own line is what must not be there.)
    EXPECT_EQ(text.find("rejected id"), std::string::npos) << text;
    // The exit totals still count it.
    EXPECT_NE(text.find("totals since start: accepted 1, rejected 1"), std::string::npos) << text;
}

TEST_F(LoggingTest, RejectedShareIsADebugLine) {
    ASSERT_NO_FATAL_FAILURE(start({"--log-level", "debug"}));
    ASSERT_NO_FATAL_FAILURE(one_accepted_one_rejected());
    ASSERT_EQ(server_.stop(), 0);
    const std::string text = log();
    const auto at = text.find("rejected id 5");
    ASSERT_NE(at, std::string::npos) << text;
    const auto line_start = text.rfind('\n', at);
    const std::string line = text.substr(line_start + 1, text.find('\n', at) - line_start - 1);
    EXPECT_NE(line.find("[debug]"), std::string::npos) << line;
}

TEST_F(LoggingTest, RedisOutageIsOneLostAndOneRestoredLine) {
    ASSERT_NO_FATAL_FAILURE(start({"--log-level", "info", "--stats-interval-s", "1"}));
    ASSERT_TRUE(wait_for_log([](const std::string& t) { return t.find("redis: connected") != std::string::npos; }))
        << log();
    redis_->kill_hard();
    ASSERT_TRUE(wait_for_log([](const std::string& t) {
        return t.find("redis: connection lost") != std::string::npos;
    })) << log();
    // Several reconnect attempts fail while it is down: two statistics lines after the loss.
    ASSERT_TRUE(wait_for_log([](const std::string& t) {
        const auto lost = t.find("redis: connection lost");
        return count_of(t.substr(lost), "stats: ") >= 2;
    })) << log();
    redis_->start();
    ASSERT_TRUE(wait_for_log([](const std::string& t) {
        return t.find("redis: connection restored") != std::string::npos;
    })) << log();
    // And a while after it is back, nothing more about the connection.
    ASSERT_TRUE(wait_for_log([](const std::string& t) {
        const auto restored = t.find("redis: connection restored");
        return count_of(t.substr(restored), "stats: ") >= 2;
    })) << log();
    ASSERT_EQ(server_.stop(), 0);
    const std::string text = log();
    EXPECT_EQ(count_of(text, "redis: connected"), 1u) << text;
    EXPECT_EQ(count_of(text, "redis: connection lost"), 1u) << text;
    EXPECT_EQ(count_of(text, "redis: connection restored"), 1u) << text;
    const auto lost_line = text.substr(text.rfind('\n', text.find("redis: connection lost")) + 1);
    EXPECT_TRUE(lost_line.find("[warning]") < lost_line.find('\n')) << lost_line;
}

TEST(LogFormatOption, UnknownFormatIsOneLineAndExitStatus2) {
    const std::string command =
        std::string(SHAREGATE_BINARY) + " --pool-address " + seed::kPool + " --log-format xml 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[512];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
    const int status = ::pclose(pipe);
    ASSERT_TRUE(WIFEXITED(status)) << output;
    EXPECT_EQ(WEXITSTATUS(status), 2) << output;
    EXPECT_EQ(count_of(output, "\n"), 1u) << output;
    EXPECT_NE(output.find("--log-format"), std::string::npos) << output;
}

}  // namespace
