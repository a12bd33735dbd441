// The connection defenses end to end (docs/operations.md): the real sharegate binary, a
// private redis-server and real loopback sockets. 127.0.0.0/8 is all loopback, so
// 127.0.0.2, 127.0.0.3, ... are distinct peers to the server. Every wait is for a
// condition with a deadline; nothing passes or fails on timing alone.
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

namespace {

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

std::string d1_submit(int id, const VectorShare& share) {
    return sharegate::protocol::submit_request(static_cast<std::uint64_t>(id), share.nonce, kMinerD1, share.digest, "1",
                                               kChallenge);
}

// A request every connection answers, subscribed or not, without changing anything.
std::string unknown_method(int id) {
    return R"({"id":)" + std::to_string(id) + R"(,"method":"mining.unknown","params":[]})";
}

std::size_t count_of(const std::string& text, const std::string& what) {
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
        extra.insert(extra.begin(), {"--reply-style", "legacy", "--log-level", "info", "--stats-interval-s", "1"});
        std::fflush(stdout);
        const int saved = ::dup(STDOUT_FILENO);
        const int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_GE(saved, 0);
        ASSERT_GE(log, 0);
        ::dup2(log, STDOUT_FILENO);
        const std::string started = server_.start(SHAREGATE_BINARY, *redis_, kPool, std::move(extra));
        ::dup2(saved, STDOUT_FILENO);
        ::close(saved);
        ::close(log);
        ASSERT_EQ(started, "");
        port_ = server_.port();
    }

    std::string log() const {
        std::ifstream in(log_path_);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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

// The default cap of 256 per address: the 257th connection from 127.0.0.2 is closed at
// accept; another address is untouched; an allow-listed one is not capped at all.
TEST_F(DefenseTest, PerAddressCapAtItsDefault) {
    start_server({"--allow", "127.0.0.4/32"});
    std::vector<std::unique_ptr<LineClient>> capped;
    for (int i = 0; i < 256; ++i) capped.push_back(connect("127.0.0.2"));
    subscribe_all(capped, kMiner);

    auto over = connect("127.0.0.2");
    expect_refused(*over, "connection 257 from 127.0.0.2");
    auto again = connect("127.0.0.2");
    expect_refused(*again, "connection 258 from 127.0.0.2");
    expect_served(*capped.front(), 7, "the first of the 256");
    expect_served(*capped.back(), 8, "the last of the 256");

    auto other = connect("127.0.0.3");
    expect_served(*other, 9, "127.0.0.3");

    std::vector<std::unique_ptr<LineClient>> allowed;
    for (int i = 0; i < 300; ++i) allowed.push_back(connect("127.0.0.4"));
    subscribe_all(allowed, kMiner);

    const std::string stats = stats_line_with("refused at accept: address cap 2, total cap 0");
    EXPECT_NE(stats.find("refused at accept: address cap 2, total cap 0"), std::string::npos) << stats;
    EXPECT_EQ(count_of(log(), "refusing connections from 127.0.0.2: 256 open (cap 256)"), 1u) << log();
    EXPECT_EQ(count_of(log(), "refusing connections from"), 1u) << log();
}

// --max-connections 50: the 51st is closed at accept, whichever address it comes from.
TEST_F(DefenseTest, TotalCap) {
    start_server({"--max-connections", "50", "--allow", "127.0.0.9/32"});
    std::vector<std::unique_ptr<LineClient>> clients;
    for (int i = 0; i < 50; ++i) clients.push_back(connect("127.0.0.5" + std::to_string(i % 4)));
    subscribe_all(clients, kMiner);

    auto fresh_address = connect("127.0.0.60");
    expect_refused(*fresh_address, "connection 51 from a new address");
    auto allow_listed = connect("127.0.0.9");
    expect_refused(*allow_listed, "connection 52 from an allow-listed address");
    expect_served(*clients.front(), 7, "the first of the 50");

    const std::string stats = stats_line_with("refused at accept: address cap 0, total cap 2");
    EXPECT_NE(stats.find("refused at accept: address cap 0, total cap 2"), std::string::npos) << stats;
    EXPECT_EQ(count_of(log(), "refusing connections: 50 open in all (cap 50"), 1u) << log();
}

// 5 000 connections that never say a word are all closed at the deadline, while an
// honest miner beside them has every share answered.
TEST_F(DefenseTest, SilentConnectionsClosedAtTheSubscribeDeadline) {
    constexpr int kSilent = 5000;
    if (file_limit() < kSilent + 300) GTEST_SKIP() << "needs a file limit of " << kSilent + 300;
    start_server({"--subscribe-timeout-s", "2"});
    const auto d1 = load_d1();
    ASSERT_EQ(d1.size(), 200u);

    LineClient miner(port_);
    miner.send(subscribe_request(1, kMinerD1));
    ASSERT_EQ(miner.read_message(), accepted(1));
    ASSERT_TRUE(miner.read_message().is_notify());

    // Submits in rounds while the silent connections arrive and are closed.
    std::size_t next_share = 0;
    const auto submit_round = [&](std::size_t count) {
        std::string lines;
        const std::size_t first = next_share;
        for (; next_share < d1.size() && next_share < first + count; ++next_share)
            lines += d1_submit(100 + static_cast<int>(next_share), d1[next_share]);
        miner.send(lines);
        for (std::size_t i = first; i < next_share; ++i)
            EXPECT_EQ(miner.read_message(), accepted(100 + static_cast<int>(i))) << "share " << i;
    };

    std::vector<std::unique_ptr<LineClient>> silent;
    silent.reserve(kSilent);
    for (int i = 0; i < kSilent; ++i) {
        // 127.0.0.10 .. 127.0.0.40: about 160 each, under the per-address cap.
        silent.push_back(connect("127.0.0." + std::to_string(10 + i % 31)));
        if (i % 1000 == 999) submit_round(25);
    }
    for (int i = 0; i < kSilent; ++i) {
        ASSERT_TRUE(silent[static_cast<std::size_t>(i)]->closed_by_server(15000ms)) << "silent connection " << i;
    }
    submit_round(d1.size());
    EXPECT_EQ(next_share, d1.size());

    const std::string stats = stats_line_with("no subscribe 5000;");
    EXPECT_NE(stats.find("no subscribe 5000; refused at accept: address cap 0, total cap 0"), std::string::npos)
        << stats;
}

// A connection that subscribes in time is not closed by the deadline; one that talks
// but never subscribes is.
TEST_F(DefenseTest, SubscribedConnectionOutlivesTheDeadline) {
    start_server({"--subscribe-timeout-s", "1"});
    LineClient subscriber(port_);
    subscriber.send(subscribe_request(1, kMiner));
    ASSERT_EQ(subscriber.read_message(), accepted(1));
    ASSERT_TRUE(subscriber.read_message().is_notify());

    // Accepted after the subscriber was: its deadline comes later than the subscriber's.
    LineClient talker(port_);
    expect_served(talker, 5, "a connection before its deadline");
    EXPECT_TRUE(talker.closed_by_server(10000ms)) << "a connection without a subscribe was not closed";

    expect_served(subscriber, 6, "the subscribed connection, past its deadline");
    const std::string stats = stats_line_with("no subscribe 1;");
    EXPECT_NE(stats.find("no subscribe 1;"), std::string::npos) << stats;
}

}  // namespace
