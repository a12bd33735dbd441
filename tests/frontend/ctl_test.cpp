// sharegate-ctl run as an operator runs it, against a private redis-server: a ban is
// written and published as the store writes it (docs/protocol.md section 4, "Bans"),
// listed, lifted once (exit 0) and not twice (exit 1); bad usage exits 2 with one line.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "redis/redis_store.hpp"
#include "redis/value_codec.hpp"
#include "support/redis_server.hpp"

extern char** environ;

namespace sharegate::redis {
namespace {

using namespace std::chrono_literals;
using sharegate_test::TestRedisServer;

constexpr auto kPatience = 20s;

struct Finished {
    int status = -1;  // the exit status; -1 when it did not exit normally
    std::string out, err;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs sharegate-ctl with `args` to its end, stdout and stderr in files of their own.
Finished run_ctl(const std::vector<std::string>& args) {
    static int runs = 0;
    const auto dir = std::filesystem::temp_directory_path();
    const std::string stem = "sharegate-ctl-" + std::to_string(::getpid()) + "-" + std::to_string(++runs);
    const std::string out_path = (dir / (stem + ".out")).string();
    const std::string err_path = (dir / (stem + ".err")).string();
    std::vector<std::string> argv_text = {SHAREGATE_CTL_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, argv_text[0].c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    Finished result;
    if (spawned != 0) {
        result.err = "posix_spawn failed";
        return result;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_file(out_path);
    result.err = read_file(err_path);
    std::filesystem::remove(out_path);
    std::filesystem::remove(err_path);
    return result;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::vector<std::string> fields_of(const std::string& line) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string field; std::getline(in, field, '\t');) fields.push_back(field);
    return fields;
}

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The ban messages an instance would hear.
class Listener {
public:
    explicit Listener(const TestRedisServer& server) {
        Endpoint endpoint;
        endpoint.port = server.port();
        Events events;
        events.on_ban = [this](const BanRecord& ban) {
            std::lock_guard lock(mutex_);
            heard_.push_back(ban);
            changed_.notify_all();
        };
        store_ = std::make_unique<RedisStore>(endpoint, std::move(events));
        store_->start();
    }

    // The first n messages, once that many have arrived (fewer after kPatience).
    std::vector<BanRecord> first(std::size_t n) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, kPatience, [&] { return heard_.size() >= n; });
        return {heard_.begin(), heard_.begin() + static_cast<std::ptrdiff_t>(std::min(n, heard_.size()))};
    }

    Counters counters() const { return store_->counters(); }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<BanRecord> heard_;
    std::unique_ptr<RedisStore> store_;
};

class SharegateCtl : public ::testing::Test {
protected:
    std::vector<std::string> with_redis(std::vector<std::string> args) {
        args.insert(args.begin(), {"--redis", "127.0.0.1:" + std::to_string(redis_.port())});
        return args;
    }

    Finished ctl(const std::vector<std::string>& args) { return run_ctl(with_redis(args)); }

    void wait_listening() {
        const auto deadline = std::chrono::steady_clock::now() + kPatience;
        while (redis_.command({"PUBSUB", "NUMSUB", kBanChannel}) != std::string(kBanChannel) + "\n1" &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(5ms);
        }
        ASSERT_EQ(redis_.command({"PUBSUB", "NUMSUB", kBanChannel}), std::string(kBanChannel) + "\n1");
    }

    TestRedisServer redis_;
};

TEST_F(SharegateCtl, NoBansIsSaidSo) {
    const Finished r = ctl({"bans"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "no bans\n");
    EXPECT_EQ(r.err, "");
}

TEST_F(SharegateCtl, BanListLiftAndLiftAgain) {
    Listener listener(redis_);
    wait_listening();

    Finished r = ctl({"ban", "10.0.0.10", "600", "--reason", "flooding"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "banned 10.0.0.10 for 600s (offence 1)\n");
    EXPECT_EQ(r.err, "");
    // The address is written in its canonical form, whatever form it was given in.
    r = ctl({"ban", "2001:DB8:0:0:0:0:0:1", "60"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "banned 2001:db8::1 for 60s (offence 1)\n");
    r = ctl({"ban", "::ffff:10.0.0.2", "60"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "banned 10.0.0.2 for 60s (offence 1)\n");
    // A second ban of a banned address is its next offence.
    r = ctl({"ban", "10.0.0.2", "120"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "banned 10.0.0.2 for 120s (offence 2)\n");

    // In Redis exactly as the store writes it, with its expiry.
    const auto stored = parse_ban(redis_.command({"GET", ban_key("10.0.0.10")}));
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->address, "10.0.0.10");
    EXPECT_EQ(stored->offence, 1u);
    EXPECT_EQ(stored->reason, "flooding");
    EXPECT_TRUE(stored->by.starts_with("sharegate-ctl")) << stored->by;
    EXPECT_GT(stored->until_unix_ms, unix_ms_now());
    EXPECT_LE(stored->until_unix_ms, unix_ms_now() + 600'000);
    const std::int64_t ttl = std::stoll(redis_.command({"PTTL", ban_key("10.0.0.10")}));
    EXPECT_LE(ttl, 600'000);
    EXPECT_GT(ttl, 600'000 - 60'000);

    // And heard by the instances, in order.
    const std::vector<BanRecord> heard = listener.first(4);
    ASSERT_EQ(heard.size(), 4u);
    EXPECT_EQ(heard[0], *stored);
    EXPECT_EQ(heard[1].address, "2001:db8::1");
    EXPECT_EQ(heard[3].address, "10.0.0.2");
    EXPECT_EQ(heard[3].offence, 2u);

    // Listed by address, numerically, IPv4 first.
    r = ctl({"bans"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 3u) << r.out;
    const std::string expected[][4] = {{"10.0.0.2", "offence 2", "banned by an operator", "120"},
                                       {"10.0.0.10", "offence 1", "flooding", "600"},
                                       {"2001:db8::1", "offence 1", "banned by an operator", "60"}};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto fields = fields_of(lines[i]);
        ASSERT_EQ(fields.size(), 5u) << lines[i];
        EXPECT_EQ(fields[0], expected[i][0]);
        // Seconds left: at most the ban's length, and not much less however slow the run.
        ASSERT_TRUE(fields[1].ends_with("s")) << lines[i];
        const long left = std::stol(fields[1]);
        EXPECT_LE(left, std::stol(expected[i][3])) << lines[i];
        EXPECT_GT(left, std::stol(expected[i][3]) - 30) << lines[i];
        EXPECT_EQ(fields[2], expected[i][1]);
        EXPECT_EQ(fields[3], expected[i][2]);
        EXPECT_TRUE(fields[4].starts_with("by sharegate-ctl")) << lines[i];
    }

    r = ctl({"lift", "10.0.0.2"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "lifted the ban on 10.0.0.2\n");
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(redis_.command({"EXISTS", ban_key("10.0.0.2")}), "0");

    r = ctl({"lift", "10.0.0.2"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "sharegate-ctl: no ban on 10.0.0.2\n");

    // Both lifts were published, so an instance drops a copy the key no longer backs.
    const std::vector<BanRecord> all = listener.first(6);
    ASSERT_EQ(all.size(), 6u);
    for (std::size_t i = 4; i < 6; ++i) {
        EXPECT_EQ(all[i].address, "10.0.0.2");
        EXPECT_TRUE(all[i].is_lift());
        EXPECT_EQ(all[i].reason, "lifted");
    }
    EXPECT_EQ(listener.counters().messages_ignored, 0u);

    r = ctl({"bans"});
    EXPECT_EQ(lines_of(r.out).size(), 2u) << r.out;
}

TEST_F(SharegateCtl, BadUsageExitsTwoWithOneLine) {
    const std::vector<std::vector<std::string>> bad = {
        {},
        {"frobnicate"},
        {"bans", "extra"},
        {"lift"},
        {"lift", "10.0.0"},
        {"lift", "10.0.0.1/32"},
        {"lift", "host.example"},
        {"ban", "10.0.0.1"},
        {"ban", "10.0.0.256", "60"},
        {"ban", "10.0.0.1", "0"},
        {"ban", "10.0.0.1", "-5"},
        {"ban", "10.0.0.1", "1.5"},
        {"ban", "10.0.0.1", "ten"},
        {"ban", "10.0.0.1", "315360001"},
        {"ban", "10.0.0.1", "60", "--reason"},
        {"ban", "10.0.0.1", "60", "--bogus"},
        {"--redis", "host:port", "bans"},
        {"--redis", "host:0", "bans"},
        {"--redis", "", "bans"},
        {"--redis"},
    };
    for (const auto& args : bad) {
        std::string shown;
        for (const auto& a : args) shown += " '" + a + "'";
        // Given a working Redis, so that only the usage can be what is refused.
        const Finished r = run_ctl(args.size() > 0 && args[0] == "--redis" ? args : with_redis(args));
        EXPECT_EQ(r.status, 2) << shown << ": " << r.err;
        EXPECT_EQ(r.out, "") << shown;
        EXPECT_TRUE(r.err.starts_with("sharegate-ctl: ")) << shown << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << shown << ": " << r.err;
    }
    // Nothing was written by any of them.
    EXPECT_EQ(redis_.command({"DBSIZE"}), "0");
}

TEST_F(SharegateCtl, UnreachableRedisExitsOneWithOneLine) {
    const std::string nowhere = "127.0.0.1:" + std::to_string(sharegate_test::free_tcp_port());
    for (const std::vector<std::string>& args : {std::vector<std::string>{"--redis", nowhere, "bans"},
                                                 {"--redis", nowhere, "lift", "10.0.0.1"},
                                                 {"ban", "10.0.0.1", "60", "--redis", nowhere}}) {
        const Finished r = run_ctl(args);
        EXPECT_EQ(r.status, 1) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(r.err, "sharegate-ctl: cannot reach Redis at " + nowhere + ": Connection refused\n");
    }
}

TEST_F(SharegateCtl, HelpAndVersion) {
    Finished r = run_ctl({"--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(r.out.starts_with("Usage: sharegate-ctl ")) << r.out;
    for (const char* command : {"bans", "lift", "ban"}) EXPECT_NE(r.out.find(command), std::string::npos) << command;
    r = run_ctl({"--version"});
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(r.out.starts_with("sharegate-ctl ")) << r.out;
}

}  // namespace
}  // namespace sharegate::redis
