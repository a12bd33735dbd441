// A private redis-server for tests: real Redis on a free loopback port, no persistence
// unless asked for, so tests exercise exactly what the pool's back-end would see.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sharegate_test {

inline std::uint16_t free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("free_tcp_port: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("free_tcp_port: bind failed");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

class TestRedisServer {
public:
    // append_only: every write is in an append-only file (fsync always) in a private
    // directory, so a server killed with kill_hard() and start()ed again holds every
    // write it acknowledged.
    enum class Persistence { none, append_only };

    explicit TestRedisServer(Persistence persistence = Persistence::none) : port_(free_tcp_port()) {
        if (persistence == Persistence::append_only) {
            const char* tmp = std::getenv("TMPDIR");
            std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/redis-aof-XXXXXX";
            if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("TestRedisServer: mkdtemp failed");
            dir_ = pattern;
        }
        // Another process may take the free port before redis-server binds it: try a few.
        for (int attempt = 0;; ++attempt) {
            try {
                start();
                return;
            } catch (const std::runtime_error&) {
                if (attempt == 2) throw;
                port_ = free_tcp_port();
            }
        }
    }
    ~TestRedisServer() {
        stop();
        if (!dir_.empty()) {
            std::error_code ignored;
            std::filesystem::remove_all(dir_, ignored);
        }
    }
    TestRedisServer(const TestRedisServer&) = delete;
    TestRedisServer& operator=(const TestRedisServer&) = delete;

    std::uint16_t port() const { return port_; }

    void stop() { end(SIGTERM); }
    // SIGKILL: no shutdown, no last save; start() brings it back on the same port.
    void kill_hard() { end(SIGKILL); }

    void start() {
        if (pid_ > 0) return;
        const std::string port = std::to_string(port_);
        // Built before fork: the child of a threaded process should only exec.
        const bool aof = !dir_.empty();
        const char* argv[] = {"redis-server",
                              "--port",
                              port.c_str(),
                              "--bind",
                              "127.0.0.1",
                              "--save",
                              "",
                              "--appendonly",
                              aof ? "yes" : "no",
                              "--daemonize",
                              "no",
                              "--appendfsync",
                              "always",
                              "--dir",
                              aof ? dir_.c_str() : ".",
                              nullptr};
        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("TestRedisServer: fork failed");
        if (pid == 0) {
            const int null = ::open("/dev/null", O_RDWR);
            if (null >= 0) {
                ::dup2(null, STDIN_FILENO);
                ::dup2(null, STDOUT_FILENO);
                ::dup2(null, STDERR_FILENO);
            }
            ::execvp("redis-server", const_cast<char* const*>(argv));
            ::_exit(127);
        }
        pid_ = pid;
        // Generous: a loaded 2-core machine running tests in parallel (and Redis reloading
        // an append-only file) can take seconds; a Redis that does not start fails anyway.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("TestRedisServer: redis-server exited (not on PATH, or port taken)");
            }
            if (ping()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        stop();
        throw std::runtime_error("TestRedisServer: redis-server did not answer PING within 20 s");
    }

    std::string command(const std::vector<std::string>& args) {
        redisContext* c = connect();
        if (c == nullptr) return "ERR:cannot connect";
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        auto* reply =
            static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
        std::string text = reply ? to_text(reply) : "ERR:" + std::string(c->errstr);
        if (reply) freeReplyObject(reply);
        redisFree(c);
        return text;
    }

private:
    void end(int signal) {
        if (pid_ <= 0) return;
        ::kill(pid_, signal);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

    redisContext* connect() const {
        timeval tv{1, 0};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
        if (c == nullptr) return nullptr;
        if (c->err != 0) {
            redisFree(c);
            return nullptr;
        }
        redisSetTimeout(c, tv);
        return c;
    }

    bool ping() const {
        redisContext* c = connect();
        if (c == nullptr) return false;
        auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
        const bool ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS && std::string(reply->str) == "PONG";
        if (reply) freeReplyObject(reply);
        redisFree(c);
        return ok;
    }

    static std::string to_text(const redisReply* r) {
        switch (r->type) {
            case REDIS_REPLY_STRING:
            case REDIS_REPLY_STATUS: return std::string(r->str, r->len);
            case REDIS_REPLY_INTEGER: return std::to_string(r->integer);
            case REDIS_REPLY_NIL: return "(nil)";
            case REDIS_REPLY_ERROR: return "ERR:" + std::string(r->str, r->len);
            case REDIS_REPLY_ARRAY: {
                std::string out;
                for (std::size_t i = 0; i < r->elements; ++i) {
                    if (i != 0) out += '\n';
                    out += to_text(r->element[i]);
                }
                return out;
            }
            default: return "?";
        }
    }

    std::uint16_t port_;
    pid_t pid_ = -1;
    std::string dir_;  // the append-only file's directory; empty: no persistence
};

}  // namespace sharegate_test
