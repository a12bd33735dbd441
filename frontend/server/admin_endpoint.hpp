// The admin HTTP endpoint: /metrics, /healthz and /readyz for Prometheus and the
// orchestrator, on a port of its own (loopback by default). The routing is a plain
// function of method and target that never sees a socket (route_admin, with the pages
// the server provides); AdminEndpoint is the transport: an acceptor, a cap on open
// connections, and for each connection a deadline per request, small size limits and
// keep-alive. It must never be a way to hurt the stratum server: it holds at most
// max_connections descriptors, cuts slow clients, refuses bodies, and a page that throws
// costs a 500, never the process.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/asio.hpp"

namespace sharegate::server {

// The Content-Type of the Prometheus text exposition format.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kPlainTextContentType = "text/plain; charset=utf-8";

struct AdminResponse {
    unsigned status = 200;
    std::string content_type;  // empty: route_admin fills in its path's default
    std::string body;
    std::string allow;  // non-empty: an Allow header (405)
};

// What a request gets, from its method ("GET") and target ("/metrics?x=1") as sent.
// Called on the connection's strand; may be called from several connections at once.
using AdminRoutes = std::function<AdminResponse(std::string_view method, std::string_view target)>;

// The three pages the server serves. An empty function: its path answers 404.
struct AdminPages {
    std::function<AdminResponse()> metrics;  // content type defaults to kMetricsContentType
    std::function<AdminResponse()> healthz;  // content type defaults to kPlainTextContentType
    std::function<AdminResponse()> readyz;   // likewise
};

// GET and HEAD of /metrics, /healthz, /readyz (the query string is ignored): the page's
// answer. HEAD is routed as GET; the endpoint leaves the body out. Another method on one
// of these paths: 405 with "Allow: GET, HEAD". Any other path: 404.
AdminResponse route_admin(std::string_view method, std::string_view target, const AdminPages& pages);

class AdminEndpoint {
public:
    struct Limits {
        // From the moment a connection waits for a request until the request is whole; and
        // for each response's write. A silent or slow client (slowloris) is closed then.
        std::chrono::milliseconds request_timeout{10000};
        std::size_t max_header_bytes = 8 * 1024;  // larger: 431, then close
        // Admin connections open at once; more are closed as soon as they are accepted.
        std::size_t max_connections = 64;
    };

    // The endpoint's handlers run on strands of `io`; `routes` is called on them.
    AdminEndpoint(boost::asio::io_context& io, AdminRoutes routes);
    AdminEndpoint(boost::asio::io_context& io, AdminRoutes routes, Limits limits);
    ~AdminEndpoint();  // stop()

    AdminEndpoint(const AdminEndpoint&) = delete;
    AdminEndpoint& operator=(const AdminEndpoint&) = delete;

    // Binds `host` (an IP address literal: "127.0.0.1", "::1", "0.0.0.0") and `port` (0: an
    // ephemeral port, see port()) and starts accepting. Returns "" or the reason it cannot,
    // in one line ("cannot listen on 127.0.0.1:9193: Address already in use"); the caller
    // refuses to start then. Call once, before stop().
    std::string listen(const std::string& host, std::uint16_t port);

    // The port bound by listen(); 0 before.
    std::uint16_t port() const;

    // Thread-safe, idempotent: closes the acceptor and every open admin connection (a
    // response being written is cut). Returns at once; the closing happens on the strands.
    void stop();

    // Admin connections open now (accepted and not yet closed). Thread-safe; for tests.
    std::size_t open_connections() const;

private:
    struct Shared;     // what the connections share with the endpoint: routes, limits, acceptor, the open set
    class Connection;  // one admin connection

    std::shared_ptr<Shared> shared_;
};

}  // namespace sharegate::server
