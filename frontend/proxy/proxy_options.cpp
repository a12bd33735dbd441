#include "proxy/proxy_options.hpp"

#include <utility>

#include "cli/command_line.hpp"

namespace sharegate::proxy {

namespace {

constexpr const char* kDescription =
    "Serves the getwork (HTTP JSON-RPC) interface to a farm's rigs and holds one stratum\n"
    "connection to the pool: new work is known at once, shares are forwarded and answered\n"
    "with the pool's verdict.";

// --listen and --admin-listen: an address to bind, HOST:PORT or [IPV6]:PORT.
void set_listen(const std::string& option, const std::string& value, std::string& host, std::uint16_t& port) {
    if (!parse_host_port(value, host, port))
        throw cli::bad_value(option, "expects HOST:PORT or [IPV6]:PORT (got \"" + value + "\")");
}

}  // namespace

bool parse_host_port(const std::string& text, std::string& host, std::uint16_t& port) {
    std::string h;
    std::string p;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
        h = text.substr(1, close - 1);
        p = text.substr(close + 2);
    } else {
        // One colon only: a bare IPv6 address would be ambiguous.
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon) return false;
        h = text.substr(0, colon);
        p = text.substr(colon + 1);
    }
    const auto number = cli::parse_integer<std::uint16_t>(p, 1, 65535);
    if (h.empty() || !number) return false;
    host = std::move(h);
    port = *number;
    return true;
}

ProxyParseResult parse_proxy_options(int argc, const char* const* argv) {
    ProxyParseResult result;
    ProxyOptions& o = result.options;
    bool pool_set = false;
    bool account_set = false;

    cli::CommandLine command_line("sharegate-proxy", "--pool HOST:PORT --account ADDR [options]", kDescription);
    CLI::App& app = command_line.app();
    app.add_option_function<std::string>(
           "--pool",
           [&](const std::string& value) {
               if (!parse_host_port(value, o.pool_host, o.pool_port))
                   throw cli::bad_value("--pool",
                                        "expects the pool's stratum port as HOST:PORT (got \"" + value + "\")");
               pool_set = true;
           },
           "the pool's stratum port, sharegate's or the original tokenpool's (required)")
        ->type_name("HOST:PORT");
    app.add_option_function<std::string>(
           "--account",
           [&](const std::string& value) {
               auto parsed = Address::parse(value);
               if (!parsed) {
                   // As the server's --pool-address: a typo would send the farm's rewards nowhere.
                   throw cli::bad_value(
                       "--account", "is not a valid Ethereum address: " + std::string(to_string(parsed.error())) +
                                        " (40 hex digits, all one case or EIP-55 checksummed) (got \"" + value + "\")");
               }
               o.account = *parsed;
               account_set = true;
           },
           "the farm's payout address, which the upstream connection subscribes as (required; EIP-55 or one case)")
        ->type_name("ADDR");
    app.add_option_function<std::string>(
           "--listen", [&](const std::string& value) { set_listen("--listen", value, o.listen_host, o.listen_port); },
           "where the rigs' getwork requests are served (0.0.0.0:8586)")
        ->type_name("HOST:PORT");
    app.add_option_function<std::string>(
           "--admin-listen",
           [&](const std::string& value) {
               if (value == "off") {
                   o.admin_enabled = false;
                   return;
               }
               if (!parse_host_port(value, o.admin_host, o.admin_port))
                   throw cli::bad_value("--admin-listen",
                                        "expects HOST:PORT, [IPV6]:PORT or off (got \"" + value + "\")");
               o.admin_enabled = true;
           },
           "the admin HTTP endpoint (/metrics, /healthz, /readyz); off: none (127.0.0.1:9194)")
        ->type_name("HOST:PORT");
    app.add_option("--threads", o.threads, "I/O threads (2)")->type_name("N")->check(cli::integer_in<unsigned>(1, 64));
    app.add_option("--max-connections", o.max_connections,
                   "rig connections held open at once; more are closed at accept (1024)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1, 1'000'000));
    app.add_option("--getwork-max-body-bytes", o.getwork_max_body_bytes,
                   "largest getwork request body; larger ones are answered 413 and closed (65536)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1024, std::size_t{1} << 24));
    app.add_option("--getwork-max-batch", o.getwork_max_batch,
                   "most JSON-RPC calls in one getwork batch; more are refused whole (100)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1, 100000));
    app.add_option("--getwork-request-timeout-s", o.getwork_request_timeout_s,
                   "a getwork request not whole within this long is answered 408 and closed (10)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 3600));
    app.add_option("--getwork-idle-timeout-s", o.getwork_idle_timeout_s,
                   "close a rig's keep-alive connection idle this long (120)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 86400));
    app.add_option_function<std::string>(
           "--allow-custom-vardiff", [&](const std::string& value) { o.allow_custom_vardiff = value == "true"; },
           "what getwork's allowingCustomVardiff answers: the pool's setting (false)")
        ->type_name("true|false")
        ->check(cli::one_of({"true", "false"}));
    app.add_option("--pool-reply-timeout-s", o.pool_reply_timeout_s,
                   "a connect, subscribe or share the pool leaves unanswered this long: the connection is taken for "
                   "dead, its waiting shares are answered false and it is made again (30)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 600));
    app.add_option("--reconnect-min-ms", o.reconnect_min_ms,
                   "first wait before reconnecting to the pool; it doubles at each failure (500)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(10, 600'000));
    app.add_option("--reconnect-max-s", o.reconnect_max_s, "the longest wait between reconnection attempts (30)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 3600));
    app.add_option("--log-level", o.log_level, "trace|debug|info|warn|error (info)")
        ->type_name("LEVEL")
        ->check(cli::one_of({"trace", "debug", "info", "warn", "error"}));
    app.add_option_function<std::string>(
           "--log-format",
           [&](const std::string& value) {
               o.log_format = value == "json" ? server::LogFormat::json : server::LogFormat::text;
           },
           "text: spdlog's lines; json: one JSON object a line (ts, level, logger, msg) for log shippers (text)")
        ->type_name("FORMAT")
        ->check(cli::one_of({"text", "json"}));
    app.add_option("--stats-interval-s", o.stats_interval_s,
                   "seconds between statistics lines (the farm's totals and each rig's) (60)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 86400));
    app.callback([&] {
        if (!pool_set) throw cli::Refusal("--pool is required (the pool's stratum HOST:PORT)");
        if (!account_set) throw cli::Refusal("--account is required (the farm's payout address)");
        if (o.admin_enabled && o.admin_port == o.listen_port)
            throw cli::Refusal("--admin-listen's port must differ from --listen's (" + std::to_string(o.listen_port) +
                               ")");
        if (std::uint64_t{o.reconnect_max_s} * 1000 < o.reconnect_min_ms)
            throw cli::Refusal("--reconnect-max-s must be at least --reconnect-min-ms");
    });

    cli::Outcome outcome = command_line.parse(argc, argv);
    result.message = std::move(outcome.message);
    switch (outcome.action) {
        case cli::Outcome::Action::run: result.action = ProxyParseResult::Action::run; break;
        case cli::Outcome::Action::exit_ok: result.action = ProxyParseResult::Action::exit_ok; break;
        case cli::Outcome::Action::error: result.action = ProxyParseResult::Action::error; break;
    }
    return result;
}

}  // namespace sharegate::proxy
