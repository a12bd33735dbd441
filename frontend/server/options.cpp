#include "server/options.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cli/command_line.hpp"
#include "sharegate/backend_list.hpp"

namespace sharegate::server {

namespace {

std::string without_final_newline(std::string text) {
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
}

// The most file descriptors this process may raise its limit to (main.cpp raises it).
std::uint64_t hard_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_max == RLIM_INFINITY)
        return std::numeric_limits<std::uint32_t>::max();
    return limit.rlim_max;
}

// The comma-separated items of a list value, in order, as written (empty ones included,
// so that "a,,b" and "a," are refused by the item's own check).
std::vector<std::string_view> comma_items(std::string_view value) {
    std::vector<std::string_view> items;
    for (;;) {
        const auto comma = value.find(',');
        items.push_back(value.substr(0, comma));
        if (comma == std::string_view::npos) return items;
        value.remove_prefix(comma + 1);
    }
}

// Appends the ranges of one --allow or --proxy value: repeatable on the command line,
// comma-separated in the config file.
void add_ranges(const std::string& option, const std::string& value, std::vector<Cidr>& out) {
    for (std::string_view piece : comma_items(value)) {
        // "a, b" reads naturally in a config file; the ranges themselves stay strict.
        while (!piece.empty() && (piece.front() == ' ' || piece.front() == '\t')) piece.remove_prefix(1);
        while (!piece.empty() && (piece.back() == ' ' || piece.back() == '\t')) piece.remove_suffix(1);
        const std::string item(piece);
        std::string why;
        auto range = Cidr::parse(item, &why);
        if (!range) throw cli::bad_value(option, why + " (got \"" + item + "\")");
        out.push_back(*range);
    }
}

// "600,3600,86400": the ban for each offence, in seconds, none longer than 30 days;
// "off": never ban.
std::vector<std::chrono::seconds> ban_times_value(const std::string& value) {
    std::vector<std::chrono::seconds> times;
    if (value == "off") return times;
    for (const std::string_view piece : comma_items(value)) {
        const std::string item(piece);
        const bool digits = !item.empty() && item.size() <= 8 &&
                            std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
        const long seconds = digits ? std::stol(item) : 0;
        if (!digits || seconds < 1 || seconds > 30L * 86400) {
            throw cli::bad_value("--ban-times",
                                 "expects seconds from 1 to 2592000, comma-separated, or off (got \"" + value + "\")");
        }
        times.emplace_back(seconds);
    }
    if (times.size() > 16) throw cli::bad_value("--ban-times", "takes at most 16 lengths");
    return times;
}

// "127.0.0.1:9193", "[::1]:9193", "localhost:9193": the host (without brackets) and a
// port from 1 to 65535.
std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(const std::string& value) {
    std::string host;
    std::string port;
    if (value.starts_with('[')) {
        const auto close = value.find(']');
        if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':') return std::nullopt;
        host = value.substr(1, close - 1);
        port = value.substr(close + 2);
    } else {
        const auto colon = value.rfind(':');
        if (colon == std::string::npos || value.find(':') != colon) return std::nullopt;
        host = value.substr(0, colon);
        port = value.substr(colon + 1);
    }
    const auto number = cli::parse_integer<std::uint16_t>(port, 1, 65535);
    if (host.empty() || !number) return std::nullopt;
    return std::pair{host, *number};
}

constexpr const char* kDescription =
    "Stratum server for ERC-918 token pools: batches share verification and queues accepted\n"
    "shares in Redis for the pool back-end.";

}  // namespace

ParseResult parse_options(int argc, const char* const* argv) {
    ParseResult result;
    Options& o = result.options;
    o.threads = std::max(1u, std::thread::hardware_concurrency());
    bool pool_set = false;

    cli::CommandLine command_line("sharegate", "--pool-address ADDRESS [options]", kDescription);
    CLI::App& app = command_line.app();
    app.add_option_function<std::string>(
           "--pool-address",
           [&](const std::string& value) {
               auto parsed = Address::parse(value);
               if (!parsed) {
                   // Mixed case must be the EIP-55 checksum: a typo would send the pool's rewards nowhere.
                   throw cli::bad_value("--pool-address",
                                        "is not a valid Ethereum address: " + std::string(to_string(parsed.error())) +
                                            " (40 hex digits, all one case or EIP-55 checksummed) (got \"" + value +
                                            "\")");
               }
               o.pool = *parsed;
               pool_set = true;
           },
           "the pool's minting address (required; EIP-55 or one case)")
        ->type_name("ADDR");
    app.add_option("--port", o.port, "stratum port (9192)")
        ->type_name("N")
        ->check(cli::integer_in<std::uint16_t>(1, 65535));
    app.add_option_function<std::string>(
           "--bind",
           [&](const std::string& value) {
               if (value.empty()) throw cli::bad_value("--bind", "expects an address");
               o.bind = value;
           },
           "address to listen on (0.0.0.0)")
        ->type_name("ADDR");
    app.add_option_function<std::string>(
           "--redis",
           [&](const std::string& value) {
               auto endpoint = redis::Endpoint::parse(value);
               if (!endpoint) throw cli::bad_value("--redis", "expects HOST:PORT (got \"" + value + "\")");
               endpoint->claim_ttl = o.redis.claim_ttl;  // whichever option comes first
               o.redis = *endpoint;
           },
           "Redis of the pool back-end (127.0.0.1:6379)")
        ->type_name("HOST:PORT");
    app.add_option_function<unsigned>(
           "--claim-ttl-s", [&](unsigned seconds) { o.redis.claim_ttl = std::chrono::seconds(seconds); },
           "how long an accepted share's claim key lives in Redis, the pool-wide duplicate filter of all "
           "instances on that Redis; longer than any challenge lasts (21600: 6 hours)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(60, 30 * 24 * 3600));
    app.add_option("--min-share-difficulty", o.min_share_difficulty, "the pool's minimum share difficulty (1)")
        ->type_name("N")
        ->check(cli::integer_in<std::uint64_t>(1));
    app.add_option("--max-target-bits", o.max_target_bits, "target(d) = 2^N / d, 1..255 (234)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, kMaxTargetBitsLimit));
    // The names, their check and their help all come from the one backend list.
    app.add_option("--verifier", o.verifier,
                   without_final_newline("the verification backend (auto), one of:\n" + verifier_help("  ")))
        ->type_name("NAME")
        ->check(cli::one_of(verifier_names()));
    app.add_option("--threads", o.threads, "I/O threads (one per hardware thread)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 1024));
    app.add_option("--verifier-threads", o.verifier_threads, "CPU verifier threads (verifier default)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 1024));
    app.add_option("--opencl-platform", o.opencl_platform, "OpenCL platform index (default: the first with a GPU)")
        ->type_name("N")
        ->check(cli::integer_in<int>(0, 1023));
    app.add_option("--opencl-device", o.opencl_device,
                   "OpenCL device index on that platform (default: first GPU, else first)")
        ->type_name("N")
        ->check(cli::integer_in<int>(0, 1023));
    app.add_option_function<std::string>(
           "--verify-on",
           [&](const std::string& value) {
               if (value == "auto")
                   o.verify_on = Options::VerifyOn::automatic;
               else if (value == "io")
                   o.verify_on = Options::VerifyOn::io;
               else
                   o.verify_on = Options::VerifyOn::batcher;
           },
           "auto|io|batcher: verify on the I/O threads, each read's submits together, or in batches "
           "on a thread of its own (--batch-size, --batch-window-us); io takes a CPU verifier only; auto: io for "
           "a CPU verifier, batcher for a GPU (auto)")
        ->type_name("WHERE")
        ->check(cli::one_of({"auto", "io", "batcher"}));
    app.add_option("--batch-size", o.batch_size, "with the batcher: verify when this many shares wait (4096)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1, 1 << 24));
    app.add_option_function<std::uint64_t>(
           "--batch-window-us", [&](std::uint64_t us) { o.batch_window = std::chrono::microseconds(us); },
           "with the batcher: or when the oldest waited this long (500)")
        ->type_name("N")
        ->check(cli::integer_in<std::uint64_t>(0, 10'000'000));
    app.add_option_function<std::string>(
           "--reply-style",
           [&](const std::string& value) {
               if (value == "auto")
                   o.reply_style = ReplyStyleOption::automatic;
               else if (value == "legacy")
                   o.reply_style = ReplyStyleOption::legacy;
               else
                   o.reply_style = ReplyStyleOption::jsonrpc2;
           },
           "auto|legacy|jsonrpc2 (auto)")
        ->type_name("STYLE")
        ->check(cli::one_of({"auto", "legacy", "jsonrpc2"}));
    app.add_option("--max-line-bytes", o.max_line_bytes,
                   "longest line (complete or not) before the connection is closed (10240)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(64, 1 << 24));
    app.add_option("--max-connections-per-address", o.max_connections_per_address,
                   "connections one address may hold open; more are closed at accept (256)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1, 1'000'000));
    app.add_option("--max-connections", o.max_connections,
                   "connections held open in all; more are closed at accept (0: the file limit less " +
                       std::to_string(kReservedFds) + ")")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(0, static_cast<std::size_t>(hard_file_limit())));
    app.add_option_function<std::string>(
           "--allow", [&](const std::string& value) { add_ranges("--allow", value, o.allow); },
           "CIDR range never capped per address, rate-limited or banned (repeatable; a,b in the config file)")
        ->type_name("CIDR")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option_function<std::string>(
           "--proxy", [&](const std::string& value) { add_ranges("--proxy", value, o.proxies); },
           "CIDR range of load balancers whose connections start with a PROXY header (v1 or v2); their "
           "miners' addresses are the ones capped and banned (repeatable; none by default)")
        ->type_name("CIDR")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--subscribe-timeout-s", o.subscribe_timeout_s,
                   "close a connection with no valid mining.subscribe after this long (10)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 3600));
    app.add_option("--max-submits-per-s", o.max_submits_per_s,
                   "a connection's submits a second before \"Rate limit exceeded\" (100; 0: no limit)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(0, 1'000'000));
    app.add_option("--submit-burst", o.submit_burst, "submits a connection may send at once above that rate (200)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 1'000'000));
    app.add_option_function<unsigned>(
           "--ban-window-s", [&](unsigned s) { o.bans.window = std::chrono::seconds(s); },
           "conduct is judged over this many seconds (60)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(6, 86400));
    app.add_option("--ban-min-shares", o.bans.min_shares,
                   "shares in the window before their invalid share can ban (50)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1, 1'000'000));
    app.add_option("--ban-invalid-percent", o.bans.invalid_percent,
                   "ban an address when this percentage of its shares in the window is invalid (50)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 100));
    app.add_option("--ban-junk-lines", o.bans.junk_lines,
                   "ban an address after this many lines in the window that are not JSON or too long (5)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1, 1'000'000));
    app.add_option_function<std::string>(
           "--ban-times", [&](const std::string& value) { o.bans.ban_times = ban_times_value(value); },
           "ban lengths in seconds for a first, second, ... offence, the last repeating; off: never ban "
           "(600,3600,86400)")
        ->type_name("S,S,...");
    app.add_option_function<unsigned>(
           "--ban-grace-s", [&](unsigned s) { o.bans.grace = std::chrono::seconds(s); },
           "after a challenge change, invalid shares do not count for this long (5)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(0, 3600));
    app.add_option("--max-tracked-addresses", o.bans.max_addresses,
                   "addresses whose conduct is recorded, and bans held, at most (65536)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(16, 10'000'000));
    app.add_option("--max-queued-shares", o.max_queued_shares,
                   "with the batcher: shares waiting for the verifier at most; under pressure new ones are "
                   "\"Server busy\", worst record first (16384)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(16, std::size_t{1} << 24));
    app.add_option_function<std::string>(
           "--spool-dir",
           [&](const std::string& value) {
               if (value.empty()) throw cli::bad_value("--spool-dir", "expects a directory, or off");
               o.spool_dir = value == "off" ? std::string() : value;
           },
           "where accepted shares wait, durably, while Redis is slow or down; off: no spool, shares wait for "
           "Redis (/var/lib/sharegate/spool)")
        ->type_name("DIR");
    app.add_option("--spool-max-bytes", o.spool_max_bytes,
                   "the spool's size bound; past it new shares are \"Share could not be stored\" (1073741824)")
        ->type_name("N")
        ->check(cli::integer_in<std::uint64_t>(std::uint64_t{1} << 20, std::uint64_t{1} << 50));
    app.add_option_function<std::string>(
           "--spool-fsync", [&](const std::string& value) { o.spool_fsync = value == "group"; },
           "group: fdatasync each group of spooled shares before answering them; none: leave it to the OS (group)")
        ->type_name("POLICY")
        ->check(cli::one_of({"group", "none"}));
    app.add_option_function<unsigned>(
           "--redis-bound-ms", [&](unsigned ms) { o.redis_bound = std::chrono::milliseconds(ms); },
           "a share Redis has not taken within this long goes to the spool (250)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 60000));
    app.add_option("--getwork-port", o.getwork_port,
                   "port of the HTTP JSON-RPC (getwork) door; 0: no getwork door (8586)")
        ->type_name("N")
        ->check(cli::integer_in<std::uint16_t>(0, 65535));
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
                   "close a getwork keep-alive connection idle this long (120)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 86400));
    app.add_option_function<std::string>(
           "--allow-custom-vardiff", [&](const std::string& value) { o.allow_custom_vardiff = value == "true"; },
           "what getwork's allowingCustomVardiff answers: the pool's setting (false)")
        ->type_name("true|false")
        ->check(cli::one_of({"true", "false"}));
    app.add_option_function<std::string>(
           "--admin-listen",
           [&](const std::string& value) {
               if (value == "off") {
                   o.admin_enabled = false;
                   return;
               }
               auto endpoint = parse_listen_address(value);
               if (!endpoint)
                   throw cli::bad_value("--admin-listen",
                                        "expects HOST:PORT, [IPV6]:PORT or off (got \"" + value + "\")");
               o.admin_enabled = true;
               o.admin_host = endpoint->first;
               o.admin_port = endpoint->second;
           },
           "the admin HTTP endpoint (/metrics, /healthz, /readyz); off: none (127.0.0.1:9193)")
        ->type_name("HOST:PORT");
    app.add_option("--log-level", o.log_level, "trace|debug|info|warn|error (info)")
        ->type_name("LEVEL")
        ->check(cli::one_of({"trace", "debug", "info", "warn", "error"}));
    app.add_option_function<std::string>(
           "--log-format",
           [&](const std::string& value) { o.log_format = value == "json" ? LogFormat::json : LogFormat::text; },
           "text: spdlog's lines; json: one JSON object a line (ts, level, logger, msg) for log shippers (text)")
        ->type_name("FORMAT")
        ->check(cli::one_of({"text", "json"}));
    app.add_option("--stats-interval-s", o.stats_interval_s, "seconds between statistics lines (10)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 86400));
    app.add_option("--renotify-max-s", o.renotify_max_s, "work is sent again between N/2 and N s after the last (60)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(2, 3600));
    app.add_option("--idle-timeout-s", o.idle_timeout_s,
                   "drop a miner with no share for this long, checked at its notify (600)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 86400));
    app.add_option("--max-shares-per-challenge", o.max_shares_per_challenge,
                   "shares held for the duplicate check per challenge (accepted, or being stored); past it a new "
                   "share is refused as \"Server busy\" until the challenge changes (262144)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1024, std::size_t{1} << 26));
    app.callback([&] {
        o.bans.allow = o.allow;
        if (!pool_set) throw cli::Refusal("--pool-address is required (the pool's minting address)");
        if (o.getwork_port != 0 && o.getwork_port == o.port)
            throw cli::Refusal("--getwork-port must differ from --port (both are " + std::to_string(o.port) + ")");
        if (o.admin_enabled && (o.admin_port == o.port || o.admin_port == o.getwork_port))
            throw cli::Refusal("--admin-listen's port must differ from --port and --getwork-port (" +
                               std::to_string(o.admin_port) + ")");
        // A device verifier serves one caller at a time: the I/O threads may not share it.
        if (o.verify_on == Options::VerifyOn::io && o.verifier != "auto" && !o.verifier.starts_with("cpu"))
            throw cli::Refusal("--verify-on io needs a CPU verifier (" + o.verifier +
                               " serves one caller at a time): use --verify-on auto or batcher");
    });

    cli::Outcome outcome = command_line.parse(argc, argv);
    result.message = std::move(outcome.message);
    switch (outcome.action) {
        case cli::Outcome::Action::run: result.action = ParseResult::Action::run; break;
        case cli::Outcome::Action::exit_ok: result.action = ParseResult::Action::exit_ok; break;
        case cli::Outcome::Action::error: result.action = ParseResult::Action::error; break;
    }
    return result;
}

}  // namespace sharegate::server
