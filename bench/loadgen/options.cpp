#include "options.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <string_view>
#include <tuple>
#include <utility>

// After the standard headers: this Boost.Asio needs <utility> seen first.
#include <boost/asio/ip/address.hpp>

#include "cli/command_line.hpp"
#include "util.hpp"

namespace sharegate::loadgen {

namespace {

std::optional<std::pair<std::string, std::string>> parse_host_port(const std::string& s) {
    auto c = s.rfind(':');
    if (c == std::string::npos || c == 0 || !cli::parse_integer<int>(std::string_view(s).substr(c + 1), 1, 65535))
        return std::nullopt;
    return std::pair{s.substr(0, c), s.substr(c + 1)};
}

std::pair<std::string, std::string> host_port_value(const std::string& option, const std::string& s) {
    auto parsed = parse_host_port(s);
    if (!parsed) throw cli::bad_value(option, "expects HOST:PORT (got \"" + s + "\")");
    return *parsed;
}

std::array<double, kKinds> parse_workload(const std::string& spec) {
    std::array<double, kKinds> mix{};
    std::size_t pos = 0;
    for (;;) {
        auto comma = spec.find(',', pos);
        std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        auto eq = item.find('=');
        std::string name = item.substr(0, eq);
        auto it = std::find(kKindNames.begin(), kKindNames.end(), name);
        if (it == kKindNames.end())
            throw cli::bad_value(
                "--workload",
                "unknown workload \"" + name + "\" (valid, invalid-digest, stale, garbage, duplicate, target-miss)");
        double pct = 100;
        if (eq != std::string::npos) {
            std::string text = item.substr(eq + 1);
            if (std::string why = cli::number_at_least(0)(text); !why.empty())
                throw cli::bad_value("--workload", name + "= " + why);
            pct = std::strtod(text.c_str(), nullptr);
        }
        mix[static_cast<std::size_t>(it - kKindNames.begin())] += pct;
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    double total = 0;
    for (double w : mix) total += w;
    if (total <= 0) throw cli::bad_value("--workload", "the percentages add up to 0");
    return mix;
}

// An IP address as text, checked now so that a typo is a usage error, not a run of
// connections that all fail to bind.
std::string address_value(const std::string& option, const std::string& s) {
    boost::system::error_code error;
    boost::asio::ip::make_address(s, error);
    if (error) throw cli::bad_value(option, "expects an IP address such as 127.0.0.2 (got \"" + s + "\")");
    return s;
}

constexpr const char* kDescription =
    "Drives a stratum server with a mix of share workloads, checks every reply against what\n"
    "the workload expects and measures reply latency.\n"
    "Exit status: 0 done, 1 a --count not reached or a run-time failure, 2 a bad option.";

}  // namespace

std::pair<std::string, std::string> split_host_port(const std::string& option, const std::string& s) {
    auto parsed = parse_host_port(s);
    if (!parsed) throw UsageError(option + " expects HOST:PORT (got \"" + s + "\")");
    return *parsed;
}

Options parse_args(int argc, char** argv) {
    Options o;
    o.seed = std::random_device{}() ^ static_cast<std::uint64_t>(now_ns());
    bool target_set = false;

    cli::CommandLine command_line("sharegate-loadgen", "--target HOST:PORT [options]", kDescription);
    CLI::App& app = command_line.app();
    app.add_option_function<std::string>(
           "--target",
           [&](const std::string& value) {
               std::tie(o.host, o.port) = host_port_value("--target", value);
               target_set = true;
           },
           "the stratum server (required)")
        ->type_name("HOST:PORT");
    app.add_option("--connections", o.connections, "connections, each its own miner (1..20000, default 64)")
        ->type_name("N")
        ->check(cli::integer_in<int>(1, 20000));
    app.add_option_function<std::string>(
           "--workload", [&](const std::string& spec) { o.mix = parse_workload(spec); },
           "NAME[=PCT][,NAME=PCT...]; names: valid invalid-digest stale garbage duplicate target-miss "
           "(a right digest that misses its target) (default invalid-digest); a mix is exact, not sampled")
        ->type_name("SPEC");
    app.add_option("--rate", o.rate, "open loop: R submits/s over all connections")
        ->type_name("R")
        ->check(cli::number_at_least(0));
    app.add_option("--depth", o.depth, "closed loop: D submits in flight per connection (default 32)")
        ->type_name("D")
        ->check(cli::integer_in<int>(1, 1 << 20));
    app.add_option("--count", o.count, "stop once N submits (over all connections) are answered")
        ->type_name("N")
        ->check(cli::integer_in<std::uint64_t>(1, std::uint64_t{1} << 62));
    app.add_option_function<double>(
           "--duration",
           [&](double seconds) {
               o.duration_s = seconds;
               o.duration_set = true;
           },
           "seconds to run (default 10; with --count, a time limit, default 120)")
        ->type_name("S")
        ->check(cli::number_at_least(0));
    app.add_option("--threads", o.threads,
                   "io threads (default 1); with an honest miner and 2 or more, it has the first to itself")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, 256));
    app.add_option("--corpus", o.corpus,
                   "valid shares, one JSON object a line (tests/vectors/valid_d1.jsonl); each connection "
                   "replays its own slice, and stops when it is spent")
        ->type_name("FILE");
    app.add_flag("--cycle", o.cycle, "replay a spent slice again (the repeats are expected as duplicates)");
    app.add_option("--corpus-difficulty", o.corpus_difficulty,
                   "difficulty the corpus shares are submitted at (default 1)")
        ->type_name("D")
        ->check(cli::integer_in<std::uint64_t>(1));
    app.add_option_function<std::string>(
           "--redis",
           [&](const std::string& value) {
               host_port_value("--redis", value);
               o.redis = value;
           },
           "the server's Redis, for --seed-redis")
        ->type_name("HOST:PORT");
    // The first form took the endpoint as its value; it still works.
    app.add_option_function<std::string>(
           "--seed-redis",
           [&](const std::string& value) {
               o.seed_redis = true;
               if (value.empty() || value == "true") return;  // no value given (or a bare line in --config)
               host_port_value("--seed-redis", value);
               o.redis = value;
           },
           "set every miner's varDiff to the corpus difficulty first "
           "(--seed-redis HOST:PORT: the same with --redis HOST:PORT)")
        ->expected(0, 1)
        ->type_name("[HOST:PORT]");
    app.add_flag("--honest-miner", o.honest, "one more connection submitting the corpus at --honest-rate");
    app.add_option("--honest-rate", o.honest_rate, "its submits/s (default 200)")
        ->type_name("R")
        ->check(cli::number_at_least(0));
    app.add_flag_callback(
        "--honest-mine", [&] { o.honest = o.honest_mine = true; },
        "the honest miner mines fresh shares instead of replaying the corpus "
        "(needs the server's --max-target-bits raised, e.g. 250)");
    app.add_option_function<std::string>(
           "--source", [&](const std::string& value) { o.source = address_value("--source", value); },
           "bind every connection to this local address first (127.0.0.2 etc. are distinct peers on "
           "loopback)")
        ->type_name("ADDRESS");
    app.add_option_function<std::string>(
           "--honest-source",
           [&](const std::string& value) { o.honest_source = address_value("--honest-source", value); },
           "the honest miner's local address instead of --source's")
        ->type_name("ADDRESS");
    app.add_option("--seed", o.seed, "nonce randomness (default: a fresh one each run)")
        ->type_name("N")
        ->check(cli::integer_in<std::uint64_t>(0));
    app.add_option("--server-pid", o.server_pid,
                   "report this process's CPU time over the measured window and per answered submit")
        ->type_name("PID")
        ->check(cli::integer_in<int>(1));
    app.add_option("--redis-pid", o.redis_pid, "the same for the Redis server")
        ->type_name("PID")
        ->check(cli::integer_in<int>(1));
    app.add_flag("--quiet", o.quiet, "no progress line on stderr once a second");
    app.add_flag("--json", o.json, "print the result as JSON on stdout");
    app.callback([&] {
        if (!target_set) throw cli::Refusal("--target HOST:PORT is required");
        if (o.seed_redis && o.redis.empty()) throw cli::Refusal("--seed-redis needs --redis HOST:PORT");
        bool wants_corpus = o.mix[0] > 0 || o.mix[4] > 0 || (o.honest && !o.honest_mine);
        if (wants_corpus && o.corpus.empty())
            throw cli::Refusal("valid, duplicate and --honest-miner need --corpus FILE");
    });

    const cli::Outcome outcome = command_line.parse(argc, argv);
    if (outcome.action == cli::Outcome::Action::exit_ok) std::exit(command_line.report(outcome));
    if (outcome.action == cli::Outcome::Action::error) throw UsageError(outcome.message);
    if (o.count > 0 && !o.duration_set) o.duration_s = 120;
    if (o.honest_source.empty()) o.honest_source = o.source;
    return o;
}

}  // namespace sharegate::loadgen
