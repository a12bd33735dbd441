#include "server/options.hpp"

#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <vector>

namespace sharegate::server {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

template <typename T>
std::optional<T> parse_uint(std::string_view text, T min, T max) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
    return value;
}

// Each option's setter returns an empty string, or why the value was refused.
using Setter = std::function<std::string(Options&, std::string_view)>;

template <typename T>
Setter uint_setter(T Options::*field, T min, T max) {
    return [=](Options& o, std::string_view v) -> std::string {
        auto parsed = parse_uint<T>(v, min, max);
        if (!parsed) return "expects an integer from " + std::to_string(min) + " to " + std::to_string(max);
        o.*field = *parsed;
        return {};
    };
}

Setter choice_setter(std::string Options::*field, std::vector<std::string> choices) {
    return [=](Options& o, std::string_view v) -> std::string {
        for (const auto& c : choices) {
            if (v == c) {
                o.*field = c;
                return {};
            }
        }
        std::string list;
        for (const auto& c : choices) list += (list.empty() ? "" : "|") + c;
        return "expects one of " + list;
    };
}

const std::map<std::string, Setter, std::less<>>& setters() {
    static const std::map<std::string, Setter, std::less<>> table = {
        {"port", uint_setter<std::uint16_t>(&Options::port, 1, 65535)},
        {"bind",
         [](Options& o, std::string_view v) -> std::string {
             if (v.empty()) return "expects an address";
             o.bind = std::string(v);
             return {};
         }},
        {"redis",
         [](Options& o, std::string_view v) -> std::string {
             auto endpoint = redis::Endpoint::parse(v);
             if (!endpoint) return "expects HOST:PORT";
             o.redis = *endpoint;
             return {};
         }},
        {"pool-address",
         [](Options& o, std::string_view v) -> std::string {
             auto parsed = Address::parse(v);
             if (!parsed) {
                 // Mixed case must be the EIP-55 checksum: a typo would send the pool's rewards nowhere.
                 return "is not a valid Ethereum address: " + std::string(to_string(parsed.error())) +
                        " (40 hex digits, all one case or EIP-55 checksummed)";
             }
             o.pool = *parsed;
             return {};
         }},
        {"min-share-difficulty",
         uint_setter<std::uint64_t>(&Options::min_share_difficulty, 1, std::numeric_limits<std::uint64_t>::max())},
        {"max-target-bits", uint_setter<unsigned>(&Options::max_target_bits, 1, kMaxTargetBitsLimit)},
        {"verifier",
         choice_setter(&Options::verifier, {"cpu", "cpu-scalar", "cpu-avx2", "cpu-avx512", "cuda", "opencl", "auto"})},
        {"threads", uint_setter<unsigned>(&Options::threads, 1, 1024)},
        {"verifier-threads", uint_setter<unsigned>(&Options::verifier_threads, 1, 1024)},
        {"opencl-platform", uint_setter<int>(&Options::opencl_platform, 0, 1023)},
        {"opencl-device", uint_setter<int>(&Options::opencl_device, 0, 1023)},
        {"batch-size", uint_setter<std::size_t>(&Options::batch_size, 1, 1 << 24)},
        {"batch-window-us",
         [](Options& o, std::string_view v) -> std::string {
             auto parsed = parse_uint<std::uint64_t>(v, 0, 10'000'000);
             if (!parsed) return "expects an integer from 0 to 10000000";
             o.batch_window = std::chrono::microseconds(*parsed);
             return {};
         }},
        {"reply-style",
         [](Options& o, std::string_view v) -> std::string {
             if (v == "auto")
                 o.reply_style = ReplyStyleOption::automatic;
             else if (v == "legacy")
                 o.reply_style = ReplyStyleOption::legacy;
             else if (v == "jsonrpc2")
                 o.reply_style = ReplyStyleOption::jsonrpc2;
             else
                 return "expects one of auto|legacy|jsonrpc2";
             return {};
         }},
        {"max-line-bytes", uint_setter<std::size_t>(&Options::max_line_bytes, 64, 1 << 24)},
        {"log-level", choice_setter(&Options::log_level, {"trace", "debug", "info", "warn", "error"})},
        {"stats-interval-s", uint_setter<unsigned>(&Options::stats_interval_s, 1, 86400)},
        {"renotify-max-s", uint_setter<unsigned>(&Options::renotify_max_s, 2, 3600)},
        {"idle-timeout-s", uint_setter<unsigned>(&Options::idle_timeout_s, 1, 86400)},
    };
    return table;
}

std::string apply(Options& options, std::string_view name, std::string_view value, bool& pool_set) {
    const auto& table = setters();
    auto it = table.find(name);
    if (it == table.end()) return "unknown option --" + std::string(name);
    if (std::string why = it->second(options, value); !why.empty())
        return "--" + std::string(name) + " " + why + " (got \"" + std::string(value) + "\")";
    if (name == "pool-address") pool_set = true;
    return {};
}

ParseResult fail(std::string message) {
    ParseResult r;
    r.action = ParseResult::Action::error;
    r.message = std::move(message);
    return r;
}

// Reads `name = value` lines; '#' starts a comment.
std::string read_config(const std::string& path, std::vector<std::pair<std::string, std::string>>& out) {
    std::ifstream in(path);
    if (!in) return "cannot read config file " + path;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        std::string_view view = line;
        if (auto hash = view.find('#'); hash != std::string_view::npos) view = view.substr(0, hash);
        view = trim(view);
        if (view.empty()) continue;
        auto eq = view.find('=');
        if (eq == std::string_view::npos) return path + ":" + std::to_string(number) + ": expected `name = value`";
        out.emplace_back(std::string(trim(view.substr(0, eq))), std::string(trim(view.substr(eq + 1))));
    }
    return {};
}

}  // namespace

std::string usage() {
    return R"(Usage: sharegate --pool-address ADDRESS [options]

Stratum server for ERC-918 token pools: batches share verification and queues accepted
shares in Redis for the pool back-end.

  --pool-address ADDR        the pool's minting address (required; EIP-55 or one case)
  --port N                   stratum port (9192)
  --bind ADDR                address to listen on (0.0.0.0)
  --redis HOST:PORT          Redis of the pool back-end (127.0.0.1:6379)
  --min-share-difficulty N   the pool's minimum share difficulty (1)
  --max-target-bits N        target(d) = 2^N / d, 1..255 (234)
  --verifier NAME            cpu|cpu-scalar|cpu-avx2|cpu-avx512|cuda|opencl|auto (auto)
  --threads N                I/O threads (one per hardware thread)
  --verifier-threads N       CPU verifier threads (verifier default)
  --opencl-platform N        OpenCL platform index (default: the first with a GPU)
  --opencl-device N          OpenCL device index on that platform (default: first GPU, else first)
  --batch-size N             verify when this many shares wait (4096)
  --batch-window-us N        or when the oldest waited this long (500)
  --reply-style STYLE        auto|legacy|jsonrpc2 (auto)
  --max-line-bytes N         longest line (complete or not) before the connection is closed (10240)
  --log-level LEVEL          trace|debug|info|warn|error (info)
  --stats-interval-s N       seconds between statistics lines (10)
  --renotify-max-s N         work is sent again between N/2 and N s after the last (60)
  --idle-timeout-s N         drop a miner with no share for this long, checked at its notify (600)
  --config FILE              `name = value` lines with the options above; the command line wins
  --help, --version
)";
}

ParseResult parse_options(int argc, const char* const* argv) {
    // name/value pairs from the command line, in order.
    std::vector<std::pair<std::string, std::string>> cli;
    std::optional<std::string> config_path;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") return {ParseResult::Action::exit_ok, usage(), {}};
        if (arg == "--version") return {ParseResult::Action::exit_ok, "sharegate " SHAREGATE_VERSION "\n", {}};
        if (arg.substr(0, 2) != "--") return fail("unexpected argument \"" + std::string(arg) + "\" (see --help)");
        arg.remove_prefix(2);
        std::string name, value;
        if (auto eq = arg.find('='); eq != std::string_view::npos) {
            name = std::string(arg.substr(0, eq));
            value = std::string(arg.substr(eq + 1));
        } else {
            name = std::string(arg);
            if (i + 1 >= argc) return fail("--" + name + " needs a value");
            value = argv[++i];
        }
        if (name == "config") {
            config_path = value;
            continue;
        }
        cli.emplace_back(std::move(name), std::move(value));
    }

    ParseResult result;
    Options& options = result.options;
    options.threads = std::max(1u, std::thread::hardware_concurrency());
    bool pool_set = false;
    if (config_path) {
        std::vector<std::pair<std::string, std::string>> from_file;
        if (std::string why = read_config(*config_path, from_file); !why.empty()) return fail(why);
        for (const auto& [name, value] : from_file) {
            if (name == "config") return fail(*config_path + ": config files do not nest");
            if (std::string why = apply(options, name, value, pool_set); !why.empty())
                return fail(*config_path + ": " + why);
        }
    }
    for (const auto& [name, value] : cli) {
        if (std::string why = apply(options, name, value, pool_set); !why.empty()) return fail(why);
    }
    if (!pool_set) return fail("--pool-address is required (the pool's minting address)");
    return result;
}

}  // namespace sharegate::server
