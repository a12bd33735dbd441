#include "options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string_view>
#include <tuple>

#include "util.hpp"

namespace sharegate::loadgen {

std::pair<std::string, std::string> split_host_port(const std::string& option, const std::string& s) {
    auto c = s.rfind(':');
    int port = 0;
    if (c == std::string::npos || c == 0 ||
        std::from_chars(s.data() + c + 1, s.data() + s.size(), port).ptr != s.data() + s.size() || port < 1 ||
        port > 65535)
        throw UsageError(option + " expects HOST:PORT (got \"" + s + "\")");
    return {s.substr(0, c), s.substr(c + 1)};
}

namespace {

void usage() {
    std::fprintf(stdout,
                 "usage: sharegate-loadgen --target HOST:PORT [options]\n"
                 "  --connections N        connections, each its own miner (1..20000, default 64)\n"
                 "  --workload SPEC        NAME[=PCT][,NAME=PCT...]; names: valid invalid-digest stale garbage\n"
                 "                         duplicate (default invalid-digest); a mix is exact, not sampled\n"
                 "  --rate R               open loop: R submits/s over all connections\n"
                 "  --depth D              closed loop: D submits in flight per connection (default 32)\n"
                 "  --count N              stop once N submits (over all connections) are answered\n"
                 "  --duration S           seconds to run (default 10; with --count, a time limit, default 120)\n"
                 "  --threads N            io threads (default 1)\n"
                 "  --corpus FILE          valid shares, one JSON object a line (tests/vectors/valid_d1.jsonl);\n"
                 "                         each connection replays its own slice, and stops when it is spent\n"
                 "  --cycle                replay a spent slice again (the repeats are expected as duplicates)\n"
                 "  --corpus-difficulty D  difficulty the corpus shares are submitted at (default 1)\n"
                 "  --redis HOST:PORT      the server's Redis, for --seed-redis\n"
                 "  --seed-redis           set every miner's varDiff to the corpus difficulty first\n"
                 "                         (--seed-redis HOST:PORT: the same with --redis HOST:PORT)\n"
                 "  --honest-miner         one more connection submitting the corpus at --honest-rate\n"
                 "  --honest-rate R        its submits/s (default 200)\n"
                 "  --honest-mine          the honest miner mines fresh shares instead of replaying the corpus\n"
                 "                         (needs the server's --max-target-bits raised, e.g. 250)\n"
                 "  --seed N               nonce randomness (default: a fresh one each run)\n"
                 "  --quiet                no progress line on stderr once a second\n"
                 "  --json                 print the result as JSON on stdout\n"
                 "exit status: 0 done, 1 a --count not reached or a run-time failure, 2 a bad option\n");
}

template <typename T>
T parse_int(const std::string& option, const std::string& v, T min, T max) {
    T value{};
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size() || value < min || value > max)
        throw UsageError(option + " expects an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                         " (got \"" + v + "\")");
    return value;
}

double parse_real(const std::string& option, const std::string& v, double min) {
    char* end = nullptr;
    double value = v.empty() ? std::nan("") : std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(value) || value < min)
        throw UsageError(option + " expects a number of at least " + std::to_string(min) + " (got \"" + v + "\")");
    return value;
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
            throw UsageError("--workload: unknown workload \"" + name +
                             "\" (valid, invalid-digest, stale, garbage, duplicate)");
        double pct = eq == std::string::npos ? 100 : parse_real("--workload " + name + "=", item.substr(eq + 1), 0);
        mix[static_cast<std::size_t>(it - kKindNames.begin())] += pct;
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    double total = 0;
    for (double w : mix) total += w;
    if (total <= 0) throw UsageError("--workload: the percentages add up to 0");
    return mix;
}

}  // namespace

Options parse_args(int argc, char** argv) {
    Options o;
    o.seed = std::random_device{}() ^ static_cast<std::uint64_t>(now_ns());
    auto need = [&](int& i) -> std::string {
        if (i + 1 >= argc) throw UsageError(std::string(argv[i]) + " expects a value");
        return argv[++i];
    };
    bool target_set = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            usage();
            std::exit(0);
        }
        if (a == "--target") {
            std::tie(o.host, o.port) = split_host_port(a, need(i));
            target_set = true;
        } else if (a == "--connections") {
            o.connections = parse_int(a, need(i), 1, 20000);
        } else if (a == "--workload") {
            o.mix = parse_workload(need(i));
        } else if (a == "--rate") {
            o.rate = parse_real(a, need(i), 0);
        } else if (a == "--depth") {
            o.depth = parse_int(a, need(i), 1, 1 << 20);
        } else if (a == "--count") {
            o.count = parse_int<std::uint64_t>(a, need(i), 1, std::uint64_t{1} << 62);
        } else if (a == "--duration") {
            o.duration_s = parse_real(a, need(i), 0);
            o.duration_set = true;
        } else if (a == "--threads") {
            o.threads = parse_int(a, need(i), 1u, 256u);
        } else if (a == "--corpus") {
            o.corpus = need(i);
        } else if (a == "--corpus-difficulty") {
            o.corpus_difficulty = parse_int<std::uint64_t>(a, need(i), 1, std::numeric_limits<std::uint64_t>::max());
        } else if (a == "--cycle") {
            o.cycle = true;
        } else if (a == "--redis") {
            split_host_port(a, need(i));
            o.redis = argv[i];
        } else if (a == "--seed-redis") {
            o.seed_redis = true;
            // The first form took the endpoint as its value; it still works.
            if (i + 1 < argc && std::string_view(argv[i + 1]).substr(0, 1) != "-") {
                split_host_port(a, argv[i + 1]);
                o.redis = argv[++i];
            }
        } else if (a == "--honest-miner") {
            o.honest = true;
        } else if (a == "--honest-mine") {
            o.honest = o.honest_mine = true;
        } else if (a == "--honest-rate") {
            o.honest_rate = parse_real(a, need(i), 0);
        } else if (a == "--seed") {
            o.seed = parse_int<std::uint64_t>(a, need(i), 0, std::numeric_limits<std::uint64_t>::max());
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--quiet") {
            o.quiet = true;
        } else {
            throw UsageError("unknown option " + a + " (see --help)");
        }
    }
    if (!target_set) throw UsageError("--target HOST:PORT is required");
    if (o.seed_redis && o.redis.empty()) throw UsageError("--seed-redis needs --redis HOST:PORT");
    if (o.count > 0 && !o.duration_set) o.duration_s = 120;
    bool wants_corpus = o.mix[0] > 0 || o.mix[4] > 0 || (o.honest && !o.honest_mine);
    if (wants_corpus && o.corpus.empty()) throw UsageError("valid, duplicate and --honest-miner need --corpus FILE");
    return o;
}

}  // namespace sharegate::loadgen
