// The real sharegate-proxy binary as a child process, for the end-to-end tests: its
// getwork and admin ports free loopback ports, its output in a log file of its own, ready
// once its /readyz answers 200 (the pool subscribed and work known) or, when asked for
// less, once its admin port answers at all. Only its own pid is ever signalled.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace sharegate_proxy_test {

// One GET on a fresh connection; nullopt when nothing answered.
inline std::optional<sharegate_test::HttpResponse> http_get(std::uint16_t port, const std::string& path) {
    sharegate_test::HttpClient client(port);
    if (!client.connected() || !client.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        return std::nullopt;
    return client.read_response(std::chrono::milliseconds(5000));
}

class ProxyProcess {
public:
    enum class Wait { ready, serving };

    explicit ProxyProcess(std::filesystem::path log_file) : log_file_(std::move(log_file)) {}
    ProxyProcess(const ProxyProcess&) = delete;
    ProxyProcess& operator=(const ProxyProcess&) = delete;
    ~ProxyProcess() {
        if (running()) stop();
    }

    // Starts `binary` against the pool's stratum port with the tests' usual options, then
    // `extra` (later options win). "" once it is ready (Wait::ready: /readyz 200;
    // Wait::serving: the admin port answers), else why not (and no child is left). A port
    // taken between choosing it and the proxy binding it makes the proxy exit at start:
    // that is retried on other free ports.
    std::string start(const std::string& binary, std::uint16_t pool_port, const std::string& account,
                      std::vector<std::string> extra = {}, Wait wait = Wait::ready) {
        std::string why;
        for (int attempt = 0; attempt < 3; ++attempt) {
            why = start_once(binary, pool_port, account, extra, wait);
            if (why.empty() || why.find("exited at start") == std::string::npos) return why;
        }
        return why;
    }

    // SIGTERM; the exit status, 128 + the signal that ended it, or -1 when it did not exit
    // within 20 s (it is then killed). -2 when there is no child.
    int stop() {
        using namespace std::chrono_literals;
        if (!signal(SIGTERM)) return -2;
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto status = reap(WNOHANG)) return *status;
            std::this_thread::sleep_for(10ms);
        }
        signal(SIGKILL);
        reap(0);
        return -1;
    }

    // To the child only: never a pid that is not a live child's (as root, -1 and 0 reach
    // far more than the test's own processes).
    bool signal(int sig) {
        if (pid_ <= 0) return false;
        return ::kill(pid_, sig) == 0;
    }

    bool running() const { return pid_ > 0; }
    std::uint16_t port() const { return port_; }  // getwork
    std::uint16_t admin_port() const { return admin_port_; }
    const std::filesystem::path& log_file() const { return log_file_; }

    std::string log() const {
        std::ifstream in(log_file_);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }

    // Runs `binary` with `args` to its end (for --help and refused options): its exit
    // status, and its stdout and stderr together in `output`.
    static int run_to_end(const std::string& binary, const std::vector<std::string>& args, std::string& output) {
        const auto path =
            std::filesystem::temp_directory_path() / ("sharegate-proxy-run-" + std::to_string(::getpid()) + ".out");
        std::vector<std::string> all = {binary};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all) argv.push_back(a.data());
        argv.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) return -1;
        if (pid == 0) {
            const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (out < 0) ::_exit(126);
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        std::ifstream in(path);
        output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        std::filesystem::remove(path);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

private:
    std::string start_once(const std::string& binary, std::uint16_t pool_port, const std::string& account,
                           const std::vector<std::string>& extra, Wait wait) {
        using namespace std::chrono_literals;
        port_ = sharegate_test::free_tcp_port();
        admin_port_ = sharegate_test::free_tcp_port();
        std::vector<std::string> args = {binary, "--pool", "127.0.0.1:" + std::to_string(pool_port), "--account",
                                         account, "--listen", "127.0.0.1:" + std::to_string(port_), "--admin-listen",
                                         "127.0.0.1:" + std::to_string(admin_port_), "--threads", "2", "--log-level",
                                         "info", "--stats-interval-s", "1",
                                         // Back quickly after a restart of the pool.
                                         "--reconnect-min-ms", "50", "--reconnect-max-s", "1"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) return "fork failed";
        if (pid == 0) {
            const int log = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (log < 0) ::_exit(126);
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        pid_ = pid;
        // Generous: a loaded machine running sanitized builds in parallel.
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto status = reap(WNOHANG))
                return "sharegate-proxy exited at start (status " + std::to_string(*status) + ")";
            if (auto response = http_get(admin_port_, "/readyz")) {
                if (wait == Wait::serving || response->status == 200) return {};
            }
            std::this_thread::sleep_for(20ms);
        }
        stop();
        return wait == Wait::ready ? "sharegate-proxy was not ready within 20 s" : "sharegate-proxy did not serve";
    }

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

    std::filesystem::path log_file_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::uint16_t admin_port_ = 0;
};

}  // namespace sharegate_proxy_test
