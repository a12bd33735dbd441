// sharegate-proxy as a whole: the parts of the data flow wired together and run.
//   rigs --HTTP--> GetworkListener --body--> ProxyCalls --share--> Upstream --stratum--> pool
//                                    <--answers from WorkState, refreshed by every mining.notify
// It owns the io_context and its threads, the farm's counters, the admin endpoint
// (/healthz; /readyz: ready when the pool is subscribed and work is known, else 503 with
// why; /metrics: the proxy's families, each rig's counts and the process's own), the
// periodic statistics line, and the graceful stop on SIGINT/SIGTERM: no new connection,
// every request already read answered (a share the pool has not judged is answered false,
// never true), then exit.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/farm_stats.hpp"
#include "proxy/getwork_listener.hpp"
#include "proxy/proxy_calls.hpp"
#include "proxy/proxy_options.hpp"
#include "proxy/upstream.hpp"
#include "proxy/work.hpp"
#include "server/admin_endpoint.hpp"
#include "server/asio.hpp"

namespace sharegate::proxy {

class Proxy {
public:
    explicit Proxy(ProxyOptions options);
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Serves until SIGINT or SIGTERM; returns the exit status: 0 after a clean stop, 1 when
    // a port cannot be listened on, 2 when --listen's host is not an IP address.
    int run();

    struct Readiness {
        bool ready = false;
        std::vector<std::string> reasons;  // empty when ready
    };
    Readiness readiness() const;  // thread-safe
    std::string metrics_page() const;

private:
    void count_refusal(server::HttpRefusal refusal);
    bool start_admin();
    void schedule_stats();
    void log_stats();
    void shutdown();

    const ProxyOptions options_;
    std::atomic<bool> stopping_{false};
    // First: the parts below hold handlers on it, and are destroyed before it.
    boost::asio::io_context io_;
    WorkState work_;
    FarmStats farm_;
    Upstream upstream_;
    ProxyCalls calls_;
    GetworkListener listener_;
    std::unique_ptr<server::AdminEndpoint> admin_;
    boost::asio::steady_timer stats_timer_;
    // HTTP requests refused by the transport, by server::HttpRefusal (its five values).
    std::array<std::atomic<std::uint64_t>, 5> http_refused_{};
};

}  // namespace sharegate::proxy
