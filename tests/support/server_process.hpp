// The real sharegate binary as a child process, for the end-to-end tests: started on a
// free loopback port against a TestRedisServer, ready once it serves, has subscribed to
// Redis's channels (a PUBLISH sent earlier would be missed) and, when Redis holds a
// challenge, has read it (a getwork getChallengeNumber sent earlier would be answered null).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace sharegate_test {

class ServerProcess {
public:
    // Each server gets a spool directory of its own (a fresh temporary one, kept across
    // restarts of this object's server so that a restart replays what it holds, removed
    // at the end).
    ServerProcess() {
        std::string pattern = (std::filesystem::temp_directory_path() / "sharegate-spool-XXXXXX").string();
        if (::mkdtemp(pattern.data()) != nullptr) spool_dir_ = pattern;
    }
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;
    ~ServerProcess() {
        if (running()) stop();
        std::error_code ignored;
        if (!spool_dir_.empty()) std::filesystem::remove_all(spool_dir_, ignored);
    }

    const std::filesystem::path& spool_dir() const { return spool_dir_; }

    // The child's stdout and stderr are appended to this file from the next start() on
    // (empty: inherited from the test, as by default).
    void set_log_file(std::filesystem::path path) { log_file_ = std::move(path); }

    // Starts `binary` with the tests' usual options and then `extra` (later options win);
    // returns an empty string once it is ready, else why it is not (and then no child is
    // left running). A port taken between choosing it and the server binding it makes
    // the server exit at start-up: that is retried on another free port.
    std::string start(const std::string& binary, TestRedisServer& redis, const std::string& pool,
                      std::vector<std::string> extra = {}) {
        std::string why;
        for (int attempt = 0; attempt < 3; ++attempt) {
            why = start_once(binary, redis, pool, extra);
            if (why.empty() || why.find("exited at start-up") == std::string::npos) return why;
        }
        return why;
    }

    // SIGTERM; returns the exit status, 128 + the signal that ended it, or -1 when it did
    // not exit within 15 s (it is then killed). -2 when there is no child to stop.
    int stop() {
        using namespace std::chrono_literals;
        if (!signal(SIGTERM)) return -2;
        const auto deadline = std::chrono::steady_clock::now() + 15s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto status = reap(WNOHANG)) return *status;
            std::this_thread::sleep_for(10ms);
        }
        signal(SIGKILL);
        reap(0);
        return -1;
    }

    // Sends `sig` to the child, and to nothing else: false when there is no child. As
    // root, kill() with a pid of -1 reaches every process on the machine and 0 the whole
    // process group, so a pid that is not a live child's is never passed on.
    bool signal(int sig) {
        if (pid_ <= 0) return false;
        return ::kill(pid_, sig) == 0;
    }

    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    std::uint16_t port() const { return port_; }
    std::uint16_t getwork_port() const { return getwork_port_; }  // the HTTP JSON-RPC door
    std::uint16_t admin_port() const { return admin_port_; }      // /metrics, /healthz, /readyz

private:
    std::string start_once(const std::string& binary, TestRedisServer& redis, const std::string& pool,
                           const std::vector<std::string>& extra) {
        using namespace std::chrono_literals;
        port_ = free_tcp_port();
        getwork_port_ = free_tcp_port();
        admin_port_ = free_tcp_port();
        std::vector<std::string> args = {binary,
                                         "--port",
                                         std::to_string(port_),
                                         "--getwork-port",
                                         std::to_string(getwork_port_),
                                         "--admin-listen",
                                         "127.0.0.1:" + std::to_string(admin_port_),
                                         "--bind",
                                         "127.0.0.1",
                                         "--redis",
                                         "127.0.0.1:" + std::to_string(redis.port()),
                                         "--pool-address",
                                         pool,
                                         "--verifier",
                                         "cpu",
                                         "--batch-window-us",
                                         "200",
                                         "--threads",
                                         "2",
                                         "--log-level",
                                         "warn",
                                         "--spool-dir",
                                         spool_dir_.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        // Other instances may be subscribed to the same Redis already (multi-instance tests).
        const int subscribed_before = subscribers(redis);
        const pid_t pid = ::fork();
        if (pid < 0) return "fork failed";
        if (pid == 0) {
            if (!log_file_.empty()) {
                const int log = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
                if (log < 0) ::_exit(126);
                ::dup2(log, STDOUT_FILENO);
                ::dup2(log, STDERR_FILENO);
            }
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        pid_ = pid;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        // It subscribes to Redis after it listens, so subscribed also means it serves. The
        // challenge comes on the command connection, which may be later.
        bool subscribed = false;
        while (std::chrono::steady_clock::now() < deadline) {
            if (!subscribed && subscribers(redis) > subscribed_before) {
                subscribed = true;
                if (!holds_challenge(redis)) return {};
            }
            if (subscribed && !waits_for_challenge()) return {};
            if (auto status = reap(WNOHANG))
                return "sharegate exited at start-up (status " + std::to_string(*status) + ")";
            std::this_thread::sleep_for(20ms);
        }
        stop();
        return subscribed ? "sharegate did not read the challenge Redis holds within 10 s"
                          : "sharegate did not subscribe to Redis within 10 s";
    }

    // Whether Redis holds a challengeNumber the server can read (a JSON string of 0x and 64
    // hex digits, or those digits bare).
    static bool holds_challenge(TestRedisServer& redis) {
        std::string value = redis.command({"GET", "challengeNumber"});
        if (value.size() == 68 && value.front() == '"' && value.back() == '"') value = value.substr(1, 66);
        if (value.size() != 66 || value.compare(0, 2, "0x") != 0) return false;
        return std::all_of(value.begin() + 2, value.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
    }

    // True while the admin endpoint's /readyz says the server knows no challenge yet; false
    // once it says anything else, or when there is no admin endpoint to ask.
    bool waits_for_challenge() const {
        HttpClient admin(admin_port_);
        if (!admin.connected() || !admin.send("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return false;
        const auto response = admin.read_response(std::chrono::milliseconds(2000));
        return response && response->body.find("no challenge known yet") != std::string::npos;
    }

    // Connections subscribed to both challengeNumber and varDiff (the fewer of the two counts).
    static int subscribers(TestRedisServer& redis) {
        const std::string reply = redis.command({"PUBSUB", "NUMSUB", "challengeNumber", "varDiff"});
        // "challengeNumber\nN\nvarDiff\nM"
        const auto first = reply.find('\n');
        const auto second = reply.find('\n', first + 1);
        const auto last = reply.rfind('\n');
        if (first == std::string::npos || second == std::string::npos || last == second) return -1;
        return std::min(std::atoi(reply.substr(first + 1, second - first - 1).c_str()),
                        std::atoi(reply.substr(last + 1).c_str()));
    }

    // Collects the child's exit status once it has ended (options 0: wait for it); the
    // status as stop() reports it, or nullopt while it runs.
    std::optional<int> reap(int options) {
        if (pid_ <= 0) return std::nullopt;
        int status = 0;
        pid_t got;
        while ((got = ::waitpid(pid_, &status, options)) < 0 && errno == EINTR) {
        }
        if (got != pid_) return std::nullopt;
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::uint16_t getwork_port_ = 0;
    std::uint16_t admin_port_ = 0;
    std::filesystem::path spool_dir_;
    std::filesystem::path log_file_;
};

}  // namespace sharegate_test
