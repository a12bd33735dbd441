// HAProxy as a child process, for the multi-instance end-to-end tests: in front of
// sharegate instances the way deploy/haproxy/haproxy.cfg puts it (stratum and getwork in
// TCP mode, leastconn, send-proxy-v2, health checks on each instance's /readyz), on free
// loopback ports, with short check intervals so that a test sees an instance go down or
// come up within a second. Its configuration and log live in a private temporary
// directory; it is stopped (SIGTERM to its own pid, then SIGKILL) and reaped at the end.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace sharegate_test {

class HaproxyProcess {
public:
    // One sharegate instance as HAProxy sees it: its stratum and getwork ports, and the
    // admin port its health checks ask /readyz on.
    struct Instance {
        std::string name;
        std::uint16_t stratum_port = 0;
        std::uint16_t getwork_port = 0;
        std::uint16_t admin_port = 0;
    };

    // The haproxy executable, or an empty path when it is not installed (Debian puts it
    // in /usr/sbin, which a test's PATH may lack).
    static std::filesystem::path binary() {
        std::vector<std::filesystem::path> candidates = {"/usr/sbin/haproxy", "/usr/local/sbin/haproxy"};
        if (const char* path = std::getenv("PATH")) {
            std::stringstream dirs(path);
            for (std::string dir; std::getline(dirs, dir, ':');)
                if (!dir.empty()) candidates.push_back(std::filesystem::path(dir) / "haproxy");
        }
        for (const auto& candidate : candidates)
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        return {};
    }

    HaproxyProcess() {
        std::string pattern = (std::filesystem::temp_directory_path() / "sharegate-haproxy-XXXXXX").string();
        if (::mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
    }
    HaproxyProcess(const HaproxyProcess&) = delete;
    HaproxyProcess& operator=(const HaproxyProcess&) = delete;
    ~HaproxyProcess() {
        stop();
        std::error_code ignored;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    }

    // Starts HAProxy in front of `instances`; an empty string once its stats page answers,
    // else why not (and then no child is left running). A port taken between choosing it
    // and HAProxy binding it is retried on others.
    std::string start(const std::vector<Instance>& instances) {
        if (dir_.empty()) return "no temporary directory for HAProxy";
        const std::filesystem::path haproxy = binary();
        if (haproxy.empty()) return "haproxy is not installed";
        std::string why;
        for (int attempt = 0; attempt < 3; ++attempt) {
            why = start_once(haproxy, instances);
            if (why.empty()) return why;
        }
        return why;
    }

    // SIGTERM (HAProxy's immediate stop) and reaped; SIGKILL after 10 s. Nothing when no
    // child runs.
    void stop() {
        using namespace std::chrono_literals;
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (reap(WNOHANG)) return;
            std::this_thread::sleep_for(10ms);
        }
        ::kill(pid_, SIGKILL);
        reap(0);
    }

    bool running() const { return pid_ > 0; }
    std::uint16_t stratum_port() const { return stratum_port_; }
    std::uint16_t getwork_port() const { return getwork_port_; }
    std::uint16_t stats_port() const { return stats_port_; }
    const std::filesystem::path& config_path() const { return config_; }

    // What HAProxy printed (its warnings and alerts), for failure messages.
    std::string log() const {
        std::ifstream in(log_);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }

    // The status HAProxy's stats page gives a server of the stratum backend ("UP", "DOWN",
    // "UP 1/2", "no check", ...); nullopt when the page did not answer or lacks it.
    std::optional<std::string> stratum_server_status(const std::string& server) const {
        return server_field("sharegate_stratum", server, "status");
    }

    // Waits (up to the deadline) until the stratum backend's `server` has a status that
    // starts with `status` ("UP", "DOWN"); true when it did.
    bool wait_for_status(const std::string& server, const std::string& status,
                         std::chrono::milliseconds deadline = std::chrono::milliseconds(15000)) const {
        const auto until = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            const auto now = stratum_server_status(server);
            if (now && now->rfind(status, 0) == 0) return true;
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    // The configuration for `instances` on the given ports: deploy/haproxy/haproxy.cfg's
    // shape (its comments say why each line is there), with the checks every 200 ms,
    // down after 2 failures and up after 1 success, and no global section of a system
    // service (chroot, user, daemon, syslog).
    static std::string config(const std::vector<Instance>& instances, std::uint16_t stratum_port,
                              std::uint16_t getwork_port, std::uint16_t stats_port) {
        const auto backend = [&](const std::string& name, bool stratum) {
            std::string text = "backend " + name +
                               "\n"
                               "    mode tcp\n"
                               "    balance leastconn\n"
                               "    option httpchk GET /readyz\n"
                               "    http-check expect status 200\n"
                               // The instances refuse a PROXY header from any peer but
                               // 127.0.0.1 (their --proxy): connect from exactly there.
                               "    source 127.0.0.1\n"
                               "    default-server check inter 200ms fall 2 rise 1 on-marked-down shutdown-sessions "
                               "send-proxy-v2\n";
            for (const Instance& instance : instances) {
                text += "    server " + instance.name +
                        " 127.0.0.1:" + std::to_string(stratum ? instance.stratum_port : instance.getwork_port) +
                        " port " + std::to_string(instance.admin_port) + "\n";
            }
            return text;
        };
        return "global\n"
               "    maxconn 4096\n"
               "\n"
               "defaults\n"
               "    mode tcp\n"
               "    retries 3\n"
               "    option redispatch\n"
               "    timeout connect 2s\n"
               "    timeout client 30m\n"
               "    timeout server 30m\n"
               "    timeout tunnel 1h\n"
               "    timeout client-fin 30s\n"
               "    timeout server-fin 30s\n"
               "    timeout check 2s\n"
               "\n"
               "frontend stratum\n"
               "    bind 127.0.0.1:" +
               std::to_string(stratum_port) +
               "\n"
               "    mode tcp\n"
               "    default_backend sharegate_stratum\n"
               "\n" +
               backend("sharegate_stratum", true) +
               "\n"
               "frontend getwork\n"
               "    bind 127.0.0.1:" +
               std::to_string(getwork_port) +
               "\n"
               "    mode tcp\n"
               "    default_backend sharegate_getwork\n"
               "\n" +
               backend("sharegate_getwork", false) +
               "\n"
               "frontend stats\n"
               "    bind 127.0.0.1:" +
               std::to_string(stats_port) +
               "\n"
               "    mode http\n"
               "    timeout client 30s\n"
               "    stats enable\n"
               "    stats uri /stats\n";
    }

private:
    std::string start_once(const std::filesystem::path& haproxy, const std::vector<Instance>& instances) {
        using namespace std::chrono_literals;
        stratum_port_ = free_tcp_port();
        getwork_port_ = free_tcp_port();
        stats_port_ = free_tcp_port();
        config_ = dir_ / "haproxy.cfg";
        log_ = dir_ / "haproxy.log";
        {
            std::ofstream out(config_, std::ios::trunc);
            out << config(instances, stratum_port_, getwork_port_, stats_port_);
            if (!out) return "cannot write " + config_.string();
        }
        // Built before fork: the child of a threaded process should only exec.
        std::vector<std::string> args = {haproxy.string(), "-f", config_.string(), "-db"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) return "fork failed";
        if (pid == 0) {
            const int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (log < 0) ::_exit(126);
            const int null = ::open("/dev/null", O_RDONLY);
            if (null >= 0) ::dup2(null, STDIN_FILENO);
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
            // The test's own sockets (miners' connections) stay the test's: a copy held
            // here would keep a connection open after the test closed it.
            ::syscall(SYS_close_range, 3U, ~0U, 0U);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        pid_ = pid;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (stats_page()) return {};
            if (auto status = reap(WNOHANG))
                return "haproxy exited at start-up (status " + std::to_string(*status) + "): " + log();
            std::this_thread::sleep_for(20ms);
        }
        stop();
        return "haproxy's stats page did not answer within 10 s: " + log();
    }

    // The stats page as CSV (HTTP/1.0: HAProxy answers and closes), or nullopt.
    std::optional<std::string> stats_page() const {
        if (stats_port_ == 0) return std::nullopt;
        HttpClient client(stats_port_);
        if (!client.connected() || !client.send("GET /stats;csv HTTP/1.0\r\n\r\n")) return std::nullopt;
        if (!client.closed_by_server(std::chrono::milliseconds(5000))) return std::nullopt;
        const std::string& response = client.unread();
        if (response.rfind("HTTP/1.", 0) != 0 || response.find(" 200 ") == std::string::npos) return std::nullopt;
        const auto body = response.find("\r\n\r\n");
        if (body == std::string::npos) return std::nullopt;
        return response.substr(body + 4);
    }

    // One field of one proxy's server from the CSV: its header line "# pxname,svname,..."
    // names the columns.
    std::optional<std::string> server_field(const std::string& proxy, const std::string& server,
                                            const std::string& field) const {
        const auto page = stats_page();
        if (!page) return std::nullopt;
        std::stringstream lines(*page);
        std::string line;
        std::vector<std::string> columns;
        while (std::getline(lines, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            std::vector<std::string> cells;
            std::stringstream split(line.rfind("# ", 0) == 0 ? line.substr(2) : line);
            for (std::string cell; std::getline(split, cell, ',');) cells.push_back(cell);
            if (line.rfind("# ", 0) == 0) {
                columns = std::move(cells);
                continue;
            }
            if (cells.size() < 2 || cells[0] != proxy || cells[1] != server) continue;
            for (std::size_t i = 0; i < columns.size() && i < cells.size(); ++i)
                if (columns[i] == field) return cells[i];
        }
        return std::nullopt;
    }

    // The child's exit status once it has ended (options 0: wait for it), or nullopt.
    std::optional<int> reap(int options) {
        if (pid_ <= 0) return std::nullopt;
        int status = 0;
        pid_t got;
        while ((got = ::waitpid(pid_, &status, options)) < 0 && errno == EINTR) {
        }
        if (got < 0) {
            // Not our child any more (reaped elsewhere): never signal that pid again.
            pid_ = -1;
            return -1;
        }
        if (got != pid_) return std::nullopt;
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    pid_t pid_ = -1;
    std::filesystem::path dir_, config_, log_;
    std::uint16_t stratum_port_ = 0, getwork_port_ = 0, stats_port_ = 0;
};

}  // namespace sharegate_test
