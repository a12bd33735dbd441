// The real sharegate binary as a child process, for the end-to-end tests: started on a
// free loopback port against a TestRedisServer, ready once it serves and has subscribed
// to Redis's channels (a PUBLISH sent earlier would be missed).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.hpp"

namespace sharegate_test {

class ServerProcess {
public:
    ServerProcess() = default;
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;
    ~ServerProcess() {
        if (running()) stop();
    }

    // Starts `binary` with the tests' usual options and then `extra` (later options win);
    // returns an empty string once it is ready, else why it is not.
    std::string start(const std::string& binary, TestRedisServer& redis, const std::string& pool,
                      std::vector<std::string> extra = {}) {
        using namespace std::chrono_literals;
        port_ = free_tcp_port();
        std::vector<std::string> args = {binary,
                                         "--port",
                                         std::to_string(port_),
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
                                         "warn"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ < 0) return "fork failed";
        if (pid_ == 0) {
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            // It subscribes to Redis after it listens, so this also means it serves.
            if (redis.command({"PUBSUB", "NUMSUB", "challengeNumber", "varDiff"}) == "challengeNumber\n1\nvarDiff\n1")
                return {};
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return "sharegate exited at start-up";
            }
            std::this_thread::sleep_for(20ms);
        }
        return "sharegate did not subscribe to Redis within 10 s";
    }

    // SIGTERM; returns the exit status, 128 + the signal that ended it, or -1 when it did
    // not exit within 15 s (it is then killed).
    int stop() {
        using namespace std::chrono_literals;
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + 15s;
        int status = 0;
        while (std::chrono::steady_clock::now() < deadline) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(10ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
    }

    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    std::uint16_t port() const { return port_; }

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace sharegate_test
