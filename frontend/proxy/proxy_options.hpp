// sharegate-proxy's settings: the command line and an optional `name = value` config file
// (the command line wins), on the option library every sharegate binary shares
// (cli/command_line.hpp), validated up front so that a bad value stops the start with one
// line and exit status 2, as the server's do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/log_format.hpp"
#include "sharegate/address.hpp"

namespace sharegate::proxy {

struct ProxyOptions {
    // The getwork (HTTP JSON-RPC) port the rigs poll: the farm's LAN by default.
    std::string listen_host = "0.0.0.0";
    std::uint16_t listen_port = 8586;
    // The pool's stratum port (sharegate's --port, or the original tokenpool's).
    std::string pool_host;
    std::uint16_t pool_port = 0;
    // The farm's payout address: the upstream connection subscribes as it.
    Address account;
    // The admin HTTP endpoint (/metrics, /healthz, /readyz); loopback by default, like the
    // server's, on the port after the server's (9193) so that both fit on one host.
    bool admin_enabled = true;
    std::string admin_host = "127.0.0.1";
    std::uint16_t admin_port = 9194;
    unsigned threads = 2;  // I/O threads: a farm's polls are light work
    // Rig connections open at once; more are closed at accept. A rig holds one keep-alive
    // connection (MVis-tokenminer) or a few (0xbitcoin-miner opens one per call).
    std::size_t max_connections = 1024;
    // The HTTP limits, named and bounded as the server's getwork door's.
    std::size_t getwork_max_body_bytes = 64 * 1024;
    std::size_t getwork_max_batch = 100;
    unsigned getwork_request_timeout_s = 10;
    unsigned getwork_idle_timeout_s = 120;
    bool allow_custom_vardiff = false;  // allowingCustomVardiff's answer: the pool's setting
    // A connect, a subscribe or a share the pool leaves unanswered this long: the
    // connection is taken for dead (its waiting shares answered false) and made again.
    unsigned pool_reply_timeout_s = 30;
    // Reconnection backoff: the first retry after reconnect_min_ms, doubling up to this.
    unsigned reconnect_min_ms = 500;
    unsigned reconnect_max_s = 30;
    std::string log_level = "info";
    server::LogFormat log_format = server::LogFormat::text;
    unsigned stats_interval_s = 60;
};

struct ProxyParseResult {
    enum class Action { run, exit_ok, error };
    Action action = Action::run;
    std::string message;  // --help/--version text for exit_ok, the one-line reason for error
    ProxyOptions options;
};

ProxyParseResult parse_proxy_options(int argc, const char* const* argv);

// "HOST:PORT", "[IPV6]:PORT": the host without brackets and a port from 1 to 65535.
// Shared with the tests; false for anything else.
bool parse_host_port(const std::string& text, std::string& host, std::uint16_t& port);

}  // namespace sharegate::proxy
