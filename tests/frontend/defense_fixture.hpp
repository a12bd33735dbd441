// The fixture of the defenses' end-to-end tests (defense_test.cpp, abuse_test.cpp): a
// private redis-server holding the pool's state, the real sharegate binary with its log in
// a file the test reads, and loopback clients from chosen source addresses.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "protocol/stratum_client.hpp"
#include "support/d1_shares.hpp"
#include "support/line_client.hpp"
#include "support/pool_state.hpp"
#include "support/redis_server.hpp"
#include "support/seed_share.hpp"
#include "support/server_process.hpp"

namespace sharegate_defense_test {

using sharegate::protocol::subscribe_request;
using sharegate_test::accepted;
using sharegate_test::LineClient;
using sharegate_test::load_d1;
using sharegate_test::ServerLine;
using sharegate_test::TestRedisServer;
using sharegate_test::VectorShare;
using namespace std::chrono_literals;

constexpr const char* kChallenge = sharegate_test::seed::kChallenge;
constexpr const char* kPool = sharegate_test::seed::kPool;
constexpr const char* kMiner = sharegate_test::seed::kMiner;
constexpr const char* kMinerD1 = sharegate_test::kMinerD1;

inline std::string d1_submit(int id, const VectorShare& share) {
    return sharegate::protocol::submit_request(static_cast<std::uint64_t>(id), share.nonce, kMinerD1, share.digest, "1",
                                               kChallenge);
}

// A request every connection answers, subscribed or not, without changing anything.
inline std::string unknown_method(int id) {
    return R"({"id":)" + std::to_string(id) + R"(,"method":"mining.unknown","params":[]})";
}

inline std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

class DefenseTest : public ::testing::Test {
protected:
    // The test holds thousands of sockets itself; the server (its child) inherits this.
    static void SetUpTestSuite() {
        rlimit limit{};
        if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
            limit.rlim_cur = limit.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &limit);
        }
    }

    static std::uint64_t file_limit() {
        rlimit limit{};
        return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 0;
    }

    void SetUp() override {
        redis_ = std::make_unique<TestRedisServer>();
        sharegate_test::write_pool_state(*redis_);
        log_path_ = std::filesystem::temp_directory_path() /
                    ("sharegate-defense-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log");
    }

    void TearDown() override {
        if (server_.running()) {
            EXPECT_EQ(server_.stop(), 0);
        }
        std::filesystem::remove(log_path_);
    }

    // The server's log (its stdout) goes to a file the test reads; a statistics line a second.
    void start_server(std::vector<std::string> extra) {
        ASSERT_NO_FATAL_FAILURE(start_instance(server_, log_path_, std::move(extra)));
        port_ = server_.port();
    }

    // Another instance on the same Redis (two-instance tests), or the first.
    void start_instance(sharegate_test::ServerProcess& server, const std::filesystem::path& log_path,
                        std::vector<std::string> extra) {
        extra.insert(extra.begin(), {"--reply-style", "legacy", "--log-level", "info", "--stats-interval-s", "1"});
        std::fflush(stdout);
        const int saved = ::dup(STDOUT_FILENO);
        const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_GE(saved, 0);
        ASSERT_GE(log, 0);
        ::dup2(log, STDOUT_FILENO);
        const std::string started = server.start(SHAREGATE_BINARY, *redis_, kPool, std::move(extra));
        ::dup2(saved, STDOUT_FILENO);
        ::close(saved);
        ::close(log);
        ASSERT_EQ(started, "");
    }

    std::string log() const { return read_log(log_path_); }

    static std::string read_log(const std::filesystem::path& path) {
        std::ifstream in(path);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }

    // Waits (up to the deadline) until `text` holds `what`; true when it did.
    bool wait_for_log(const std::filesystem::path& path, const std::string& what,
                      std::chrono::milliseconds deadline = 10000ms) const {
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (read_log(path).find(what) == std::string::npos) {
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }

    // The latest statistics line once it holds `part`, else (after the deadline) the latest one.
    std::string stats_line_with(const std::string& part, std::chrono::seconds deadline = 15s) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        std::string line;
        for (;;) {
            const std::string text = log();
            if (const auto at = text.rfind("stats: "); at != std::string::npos)
                line = text.substr(at, text.find('\n', at) - at);
            if (line.find(part) != std::string::npos || std::chrono::steady_clock::now() > until) return line;
            std::this_thread::sleep_for(50ms);
        }
    }

    std::unique_ptr<LineClient> connect(const std::string& source) {
        auto client = std::make_unique<LineClient>(port_, source);
        EXPECT_TRUE(client->connected()) << "from " << source;
        return client;
    }

    // Subscribes each (one pipelined round) and checks the reply and the first work: each
    // was admitted and has a Session.
    void subscribe_all(std::vector<std::unique_ptr<LineClient>>& clients, const std::string& miner) {
        for (auto& client : clients) client->send(subscribe_request(1, miner));
        for (std::size_t i = 0; i < clients.size(); ++i) {
            ASSERT_EQ(clients[i]->read_message(), accepted(1)) << "connection " << i;
            const ServerLine notify = clients[i]->read_message();
            ASSERT_TRUE(notify.is_notify()) << "connection " << i << ": " << notify.text;
        }
    }

    // Closed at accept: end of stream, promptly, without a byte.
    static void expect_refused(LineClient& client, const std::string& what) {
        const auto line = client.read_line(5000ms);
        EXPECT_EQ(line, std::nullopt) << what << " was sent: " << line.value_or("");
        EXPECT_TRUE(client.closed_by_server(1ms)) << what << " was not closed within 5 s";
    }

    // Still served: an answer to a request.
    static void expect_served(LineClient& client, int id, const std::string& what) {
        client.send(unknown_method(id) + "\n");
        const ServerLine reply = client.read_message();
        EXPECT_EQ(reply.kind, ServerLine::Kind::reply) << what << ": " << reply.text;
        EXPECT_EQ(reply.id, std::to_string(id)) << what << ": " << reply.text;
    }

    std::unique_ptr<TestRedisServer> redis_;
    sharegate_test::ServerProcess server_;
    std::uint16_t port_ = 0;
    std::filesystem::path log_path_;
};

}  // namespace sharegate_defense_test
