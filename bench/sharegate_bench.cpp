// sharegate-bench: how many shares a second each verification backend checks.
//
//   sharegate-bench --backend=NAME|all [--shares N] [--batch B] [--threads T]
//                   [--runs R] [--check] [--json]
//   sharegate-bench --sweep [--backend=NAME|all] [--sweep-max N] [--runs R] [--check] [--json]
//
// Each run verifies the same N shares in batches of B; the median run is reported,
// so one noisy run on a shared machine does not move the number. --sweep measures
// each backend at batch sizes from 1024 up: the end-to-end rate (host batch in,
// verdicts back), the kernel-only rate where the backend has a device, and the
// round-trip latency of a 4096-share batch, the server's default.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_shares.hpp"
#include "cli/command_line.hpp"
#include "sharegate/backend_list.hpp"
#include "sharegate/verifier.hpp"

namespace {

using namespace sharegate;

struct Options {
    std::string backend = "all";
    std::size_t shares = 1u << 21;
    std::size_t batch = 1u << 16;
    unsigned threads = 0;  // 0: one per hardware thread
    unsigned runs = 7;
    bool check = false;
    bool json = false;
    bool sweep = false;
    std::size_t sweep_max = std::size_t{1} << 24;
    int opencl_platform = -1;
    int opencl_device = -1;
};

struct Result {
    std::string backend;
    std::string description;
    unsigned threads = 0;
    double median = 0, min = 0, max = 0;  // shares per second
    std::size_t mismatches = 0;
};

// --backend's help: the one backend list's names and descriptions, and "all".
std::string backend_option_help() {
    return "a verifier, or all (default all):\n" + verifier_help("  ") + "  all  every backend in turn";
}

constexpr const char* kDescription =
    "How many shares a second each verification backend checks: the median of --runs runs,\n"
    "each verifying the same --shares shares in batches of --batch.";

// --help and --version print and exit 0; a bad option prints one line and exits 2.
Options parse_options(int argc, char** argv) {
    Options options;
    cli::CommandLine command_line("sharegate-bench",
                                  "[--backend=NAME|all] [--shares N] [--batch B] [--threads T] [--runs R] "
                                  "[--check] [--json]\n"
                                  "       sharegate-bench --sweep [--backend=NAME|all] [--sweep-max N] [--runs R] "
                                  "[--check] [--json]",
                                  kDescription);
    CLI::App& app = command_line.app();
    app.add_option("--backend", options.backend, backend_option_help())->type_name("NAME|all");
    app.add_option("--shares", options.shares, "shares verified per run (default 2097152)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1));
    app.add_option("--batch", options.batch, "shares per verify() call (default 65536)")
        ->type_name("B")
        ->check(cli::integer_in<std::size_t>(1));
    app.add_option("--threads", options.threads, "CPU worker threads (default: one per hardware thread)")
        ->type_name("T")
        ->check(cli::integer_in<unsigned>(1));
    app.add_option("--runs", options.runs, "timed runs; the median is reported (default 7)")
        ->type_name("R")
        ->check(cli::integer_in<unsigned>(1));
    app.add_flag("--check", options.check, "compare every verdict with the reference; exit 1 on any difference");
    app.add_flag("--json", options.json, "print JSON: an object for one backend, an array for all");
    app.add_flag("--sweep", options.sweep,
                 "batch sizes 1024, 4096, 16384, ... up to --sweep-max: end-to-end and kernel-only rates, "
                 "and a 4096-share batch's latency");
    app.add_option("--sweep-max", options.sweep_max, "the largest batch of --sweep (default 16777216)")
        ->type_name("N")
        ->check(cli::integer_in<std::size_t>(1024));
    // Indexes past any real machine's are clamped rather than refused; the backend then
    // refuses the device that is not there.
    const auto device_index = [](int& index) {
        return [&index](unsigned long long value) { index = static_cast<int>(std::min(value, 1ULL << 20)); };
    };
    app.add_option_function<unsigned long long>("--opencl-platform", device_index(options.opencl_platform),
                                                "OpenCL platform index (default: the first with a GPU)")
        ->type_name("P")
        ->check(cli::integer_in<unsigned long long>(0));
    app.add_option_function<unsigned long long>("--opencl-device", device_index(options.opencl_device),
                                                "OpenCL device index on that platform (default: first GPU)")
        ->type_name("D")
        ->check(cli::integer_in<unsigned long long>(0));

    const cli::Outcome outcome = command_line.parse(argc, argv);
    if (outcome.action != cli::Outcome::Action::run) std::exit(command_line.report(outcome));
    return options;
}

std::string cpu_model() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    }
    return "unknown CPU";
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out;
}

// One backend under measurement, with its verdict buffers and the rates of its runs.
struct Contender {
    std::unique_ptr<Verifier> verifier;
    unsigned threads = 1;
    std::vector<std::vector<Verdict>> verdicts;
    std::vector<double> rates;

    double run_once(const bench::ShareSet& set) {
        const auto start = std::chrono::steady_clock::now();
        for (std::size_t b = 0; b < set.batches.size(); ++b) verifier->verify(set.batches[b], verdicts[b]);
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        return static_cast<double>(set.shares) / elapsed.count();
    }
};

// Runs the contenders round-robin, run r of each before run r + 1 of any, so that a
// noisy spell on a shared machine hits them all alike and their ratios stay fair.
std::vector<Result> measure(std::vector<Contender>& contenders, const bench::ShareSet& set, const Options& options) {
    for (auto& c : contenders) {
        for (const auto& batch : set.batches) c.verdicts.emplace_back(batch.size());
        c.run_once(set);  // warm-up: page faults, caches, clocks, device start-up
    }
    for (unsigned r = 0; r < options.runs; ++r) {
        for (auto& c : contenders) c.rates.push_back(c.run_once(set));
    }
    std::vector<Result> results;
    for (auto& c : contenders) {
        auto& rates = c.rates;
        std::sort(rates.begin(), rates.end());
        Result result{std::string(c.verifier->name()),
                      c.verifier->description(),
                      c.threads,
                      rates[rates.size() / 2],
                      rates.front(),
                      rates.back(),
                      0};
        if (rates.size() % 2 == 0) result.median = (rates[rates.size() / 2 - 1] + rates[rates.size() / 2]) / 2;
        if (options.check) {
            for (std::size_t b = 0; b < set.batches.size(); ++b) {
                for (std::size_t i = 0; i < c.verdicts[b].size(); ++i)
                    result.mismatches += c.verdicts[b][i] != set.expected[b][i];
            }
        }
        results.push_back(result);
    }
    return results;
}

std::string to_json(const Result& r, const Options& o) {
    std::ostringstream out;
    out.precision(15);
    out << "{\"backend\":\"" << r.backend << "\",\"description\":\"" << json_escape(r.description)
        << "\",\"threads\":" << r.threads << ",\"shares\":" << o.shares << ",\"batch\":" << o.batch
        << ",\"runs\":" << o.runs << ",\"shares_per_second\":" << r.median
        << ",\"shares_per_second_per_thread\":" << r.median / r.threads << ",\"min_shares_per_second\":" << r.min
        << ",\"max_shares_per_second\":" << r.max << ",\"checked\":" << (o.check ? "true" : "false")
        << ",\"mismatches\":" << r.mismatches << ",\"cpu\":\"" << json_escape(cpu_model()) << "\"}";
    return out.str();
}

// One batch size of a sweep.
struct SweepPoint {
    std::size_t batch = 0;
    double end_to_end = 0;              // shares per second, median call
    std::optional<double> kernel_only;  // shares per second, median launch
    double median_us = 0, p99_us = 0;   // round trip of one verify() call
    std::size_t calls = 0;
    std::size_t mismatches = 0;
};

double percentile(std::vector<double> values, double q) {
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

// The first n shares of `all` as a batch of their own.
ShareBatch prefix(const ShareBatch& all, std::size_t n) { return all.prefix(n); }

SweepPoint measure_point(Verifier& verifier, const ShareBatch& batch, const std::vector<Verdict>& expected,
                         const Options& options) {
    SweepPoint point;
    point.batch = batch.size();
    std::vector<Verdict> verdicts(batch.size());
    verifier.verify(batch, verdicts);  // warm-up: buffers grown, caches and clocks
    // At least `runs` calls and about a quarter second, so that small batches get
    // enough samples for a percentile.
    std::vector<double> seconds;
    const auto begin = std::chrono::steady_clock::now();
    while (seconds.size() < options.runs ||
           (std::chrono::steady_clock::now() - begin < std::chrono::milliseconds(250) && seconds.size() < 20000)) {
        const auto start = std::chrono::steady_clock::now();
        verifier.verify(batch, verdicts);
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    point.calls = seconds.size();
    const double median = percentile(seconds, 0.5);
    point.end_to_end = static_cast<double>(batch.size()) / median;
    point.median_us = median * 1e6;
    point.p99_us = percentile(seconds, 0.99) * 1e6;
    if (auto kernel = verifier.kernel_only_seconds(batch, std::max(options.runs, 5u)); kernel && *kernel > 0)
        point.kernel_only = static_cast<double>(batch.size()) / *kernel;
    if (options.check) {
        for (std::size_t i = 0; i < verdicts.size(); ++i) point.mismatches += verdicts[i] != expected[i];
    }
    return point;
}

int run_sweep(std::vector<Contender>& contenders, const Options& options) {
    std::vector<std::size_t> sizes;
    for (std::size_t n = 1024; n <= options.sweep_max; n *= 4) sizes.push_back(n);
    if (sizes.empty() || sizes.back() != options.sweep_max) sizes.push_back(options.sweep_max);
    std::fprintf(stderr, "sharegate-bench: hashing %zu reference shares...\n", options.sweep_max);
    std::fflush(stderr);
    const bench::ShareSet set = bench::make_share_set(options.sweep_max, options.sweep_max, 20180214);
    const ShareBatch& all = set.batches.front();
    std::vector<ShareBatch> batches;
    for (std::size_t n : sizes) batches.push_back(n == all.size() ? all : prefix(all, n));
    const ShareBatch latency_batch = prefix(all, 4096);

    int exit_code = 0;
    std::string json = "[";
    for (auto& c : contenders) {
        Verifier& verifier = *c.verifier;
        if (!options.json) {
            std::printf("\n%s: %s\n", std::string(verifier.name()).c_str(), verifier.description().c_str());
            std::printf("%10s %20s %20s %12s %12s %8s %10s\n", "batch", "end-to-end shares/s", "kernel-only shares/s",
                        "median us", "p99 us", "calls", options.check ? "mismatches" : "");
        }
        std::vector<SweepPoint> points;
        for (std::size_t k = 0; k < sizes.size(); ++k) {
            const std::vector<Verdict> expected(set.expected.front().begin(),
                                                set.expected.front().begin() + static_cast<std::ptrdiff_t>(sizes[k]));
            points.push_back(measure_point(verifier, batches[k], expected, options));
            const SweepPoint& p = points.back();
            if (p.mismatches != 0) exit_code = 1;
            if (!options.json) {
                std::printf("%10zu %20.0f %20s %12.1f %12.1f %8zu %10s\n", p.batch, p.end_to_end,
                            p.kernel_only ? std::to_string(static_cast<long long>(*p.kernel_only)).c_str() : "-",
                            p.median_us, p.p99_us, p.calls, options.check ? std::to_string(p.mismatches).c_str() : "");
                std::fflush(stdout);
            }
        }
        const std::vector<Verdict> latency_expected(set.expected.front().begin(), set.expected.front().begin() + 4096);
        const SweepPoint latency = measure_point(verifier, latency_batch, latency_expected, options);
        if (latency.mismatches != 0) exit_code = 1;
        if (!options.json) {
            std::printf("4096-share batch round trip: median %.1f us, p99 %.1f us over %zu calls\n", latency.median_us,
                        latency.p99_us, latency.calls);
        }
        std::ostringstream out;
        out.precision(15);
        out << (json.size() > 1 ? ",\n " : "") << "{\"backend\":\"" << verifier.name() << "\",\"description\":\""
            << json_escape(verifier.description()) << "\",\"cpu\":\"" << json_escape(cpu_model())
            << "\",\"checked\":" << (options.check ? "true" : "false") << ",\"points\":[";
        for (std::size_t k = 0; k < points.size(); ++k) {
            const SweepPoint& p = points[k];
            out << (k ? "," : "") << "{\"batch\":" << p.batch << ",\"end_to_end_shares_per_second\":" << p.end_to_end
                << ",\"kernel_only_shares_per_second\":";
            if (p.kernel_only)
                out << *p.kernel_only;
            else
                out << "null";
            out << ",\"median_us\":" << p.median_us << ",\"p99_us\":" << p.p99_us << ",\"calls\":" << p.calls
                << ",\"mismatches\":" << p.mismatches << "}";
        }
        out << "],\"latency_4096\":{\"median_us\":" << latency.median_us << ",\"p99_us\":" << latency.p99_us
            << ",\"calls\":" << latency.calls << ",\"mismatches\":" << latency.mismatches << "}}";
        json += out.str();
    }
    if (options.json) std::cout << json << "]\n";
    if (exit_code != 0) {
        std::fprintf(stderr, "sharegate-bench: verdicts differ from the reference\n");
    }
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    const bool all = options.backend == "all";
    const std::vector<std::string> names = all ? backend_names() : std::vector<std::string>{options.backend};
    const unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());

    if (!options.json && !options.sweep) {
        std::printf("sharegate-bench: %zu shares in batches of %zu, median of %u round-robin runs, %s\n",
                    options.shares, options.batch, options.runs, cpu_model().c_str());
        std::printf("%-12s %7s %18s %18s %18s %10s\n", "backend", "threads", "shares/s", "per thread",
                    "min..max spread", options.check ? "mismatches" : "");
        std::fflush(stdout);  // the skip notes on stderr come after the header
    }

    int exit_code = 0;
    std::vector<Contender> contenders;
    for (const auto& name : names) {
        VerifierOptions verifier_options;
        verifier_options.threads = threads;
        verifier_options.opencl_platform = options.opencl_platform;
        verifier_options.opencl_device = options.opencl_device;
        VerifierResult made = make_verifier(name, verifier_options);
        if (!made) {
            std::fprintf(stderr, "sharegate-bench: skipping %s\n", made.error.c_str());
            // The one backend asked for is not there, or one that is there failed its
            // self-test (so that --check over "all" cannot pass with a broken kernel).
            if (!all || made.refusal == sharegate::Refusal::failed) exit_code = 1;
            continue;
        }
        const bool cpu = made.verifier->name().starts_with("cpu");
        contenders.push_back(Contender{std::move(made.verifier), cpu ? threads : 1, {}, {}});
    }
    if (options.sweep) return std::max(exit_code, run_sweep(contenders, options));
    const bench::ShareSet set = bench::make_share_set(options.shares, options.batch, 20180214);
    const std::vector<Result> results = measure(contenders, set, options);
    bool mismatched = false;
    for (const auto& r : results) {
        if (r.mismatches != 0) mismatched = true;
        if (!options.json) {
            std::printf("%-12s %7u %18.0f %18.0f %17.1f%% %10s\n", r.backend.c_str(), r.threads, r.median,
                        r.median / r.threads, 100.0 * (r.max - r.min) / r.median,
                        options.check ? std::to_string(r.mismatches).c_str() : "");
        }
    }
    if (options.json) {
        if (all) {
            std::cout << "[";
            for (std::size_t i = 0; i < results.size(); ++i)
                std::cout << (i ? ",\n " : "") << to_json(results[i], options);
            std::cout << "]\n";
        } else if (!results.empty()) {
            std::cout << to_json(results.front(), options) << "\n";
        }
    }
    if (mismatched) {
        std::fprintf(stderr, "sharegate-bench: verdicts differ from the reference\n");
        exit_code = 1;
    }
    return exit_code;
}
