// sharegate-mine: mines real valid shares on the CPU, so that benchmarks and tests
// have corpora for any challenge, pool address and difficulty without an external
// miner. Writes one JSON object a line, the format of tests/vectors/valid_d1.jsonl.
//
//   sharegate-mine [--challenge 0x<64 hex>] [--pool 0x<address>] [--difficulty D]
//                  [--max-target-bits N] [--count N] [--threads T] [--output FILE]
//                  [--seed S] [--kernel auto|scalar|avx2|avx512] [--quiet]
//   sharegate-mine --benchmark SECONDS [--kernel K] [--threads T]
//
// Depends only on the core and the CPU kernels, so it builds wherever they do.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/command_line.hpp"
#include "kernel_list.hpp"
#include "miner.hpp"
#include "sharegate/address.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/seed_share.hpp"
#include "sharegate/u256.hpp"

namespace {

using namespace sharegate;
using Clock = std::chrono::steady_clock;

// --kernel's help: the one kernel list, without the list's final newline.
std::string kernel_list_help() {
    std::string text = cpu::kernel_help("  ");
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
}

// The seed conversation's challenge and pool address, as in tests/vectors.
constexpr std::string_view kDefaultChallenge = seed::kChallenge;
constexpr std::string_view kDefaultPool = seed::kPool;

// Counters a thread takes at a time: small enough that a stop (count reached, Ctrl-C,
// benchmark over) waits a few milliseconds at most, large enough that the shared
// counter is not contended.
constexpr std::uint64_t kChunk = 1u << 15;

// Follows "Usage: sharegate-mine " in --help.
constexpr const char* kSynopsis =
    "[--challenge 0x<64 hex>] [--pool 0x<address>] [--difficulty D]\n"
    "                      [--max-target-bits N] [--count N] [--threads T] [--output FILE]\n"
    "                      [--seed S] [--kernel auto|scalar|avx2|avx512] [--quiet]\n"
    "       sharegate-mine --benchmark SECONDS [--kernel K] [--threads T]";

constexpr const char* kDescription =
    "Mines valid shares on the CPU and writes one JSON object a line, the format of\n"
    "tests/vectors/valid_d1.jsonl.";

struct Options {
    Bytes32 challenge{};
    Address pool;
    std::uint64_t difficulty = 1;
    unsigned max_target_bits = 234;
    std::uint64_t count = 100;
    unsigned threads = 0;
    std::string output;  // empty: stdout
    std::optional<std::uint64_t> seed;
    std::optional<cpu::MiningKernel> kernel;  // empty: the best this CPU has
    bool quiet = false;
    double benchmark_seconds = 0;  // > 0: benchmark mode
};

// --help and --version print and exit 0; a bad option prints one line and exits 2.
Options parse_options(int argc, char** argv) {
    Options options;
    options.challenge = *parse_hex32(kDefaultChallenge);
    options.pool = *Address::parse(kDefaultPool);

    cli::CommandLine command_line("sharegate-mine", kSynopsis, kDescription);
    CLI::App& app = command_line.app();
    app.add_option_function<std::string>(
           "--challenge",
           [&](const std::string& value) {
               const auto parsed = parse_hex32(value);
               if (!parsed)
                   throw cli::bad_value("--challenge",
                                        "expects 0x and 64 hex digits: " + std::string(to_string(parsed.error())));
               options.challenge = *parsed;
           },
           "the challenge number (default: the seed conversation's, as in tests/vectors)")
        ->type_name("0x<64 hex>");
    app.add_option_function<std::string>(
           "--pool",
           [&](const std::string& value) {
               const auto parsed = Address::parse(value);
               if (!parsed)
                   throw cli::bad_value("--pool", "is not an address: " + std::string(to_string(parsed.error())));
               options.pool = *parsed;
           },
           "the pool's address, one case or EIP-55 checksummed (default: the seed conversation's)")
        ->type_name("0x<address>");
    app.add_option("--difficulty", options.difficulty, "share difficulty (default 1)")
        ->type_name("D")
        ->check(cli::integer_in<std::uint64_t>(1));
    app.add_option("--max-target-bits", options.max_target_bits, "target(d) = 2^N / d, 1..255 (default 234)")
        ->type_name("N")
        ->check(cli::integer_in<unsigned>(1, kMaxTargetBitsLimit));
    app.add_option("--count", options.count, "shares to mine (default 100)")
        ->type_name("N")
        ->check(cli::integer_in<std::uint64_t>(1));
    app.add_option("--threads", options.threads, "mining threads (default: one per hardware thread)")
        ->type_name("T")
        ->check(cli::integer_in<unsigned>(1, 4096));
    app.add_option_function<std::string>(
           "--output",
           [&](const std::string& value) {
               if (value.empty()) throw cli::bad_value("--output", "needs a file name");
               options.output = value;
           },
           "write the shares here (default: standard output)")
        ->type_name("FILE");
    app.add_option_function<std::uint64_t>(
           "--seed", [&](std::uint64_t seed) { options.seed = seed; },
           "nonce randomness, for a repeatable run with one thread (default: a fresh one)")
        ->type_name("S")
        ->check(cli::integer_in<std::uint64_t>(0));
    app.add_option_function<std::string>(
           "--kernel",
           [&](const std::string& value) {
               if (value == "auto") return;
               options.kernel = cpu::parse_mining_kernel(value);
               if (!options.kernel)
                   throw cli::bad_value("--kernel", "expects auto or one of " + cli::join(cpu::kernel_names(), ", "));
               if (!cpu::mining_kernel_available(*options.kernel))
                   throw cli::bad_value("--kernel", value + ": this CPU lacks it");
           },
           "the hashing kernel (default auto: the best this CPU has), one of:\n" + kernel_list_help())
        ->type_name("K");
    app.add_option_function<std::string>(
           "--benchmark",
           [&](const std::string& text) {
               char* end = nullptr;
               errno = 0;
               const double seconds = std::strtod(text.c_str(), &end);
               if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !(seconds > 0) ||
                   seconds > 86400) {
                   throw cli::bad_value("--benchmark",
                                        "expects a number of seconds in (0, 86400] (got \"" + text + "\")");
               }
               options.benchmark_seconds = seconds;
           },
           "hash for this long against a target nothing meets, and print the rate")
        ->type_name("SECONDS");
    app.add_flag("-q,--quiet", options.quiet, "no progress line on stderr");
    app.callback([&] {
        if (options.benchmark_seconds == 0 && share_target(options.max_target_bits, options.difficulty).is_zero()) {
            throw cli::Refusal("--difficulty " + std::to_string(options.difficulty) + " exceeds 2^" +
                               std::to_string(options.max_target_bits) + ": no digest is below a zero target");
        }
    });

    const cli::Outcome outcome = command_line.parse(argc, argv);
    if (outcome.action != cli::Outcome::Action::run) std::exit(command_line.report(outcome));
    return options;
}

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::array<std::uint8_t, 24> nonce_prefix(std::optional<std::uint64_t> seed) {
    std::uint64_t state = 0;
    if (seed) {
        state = *seed;
    } else {
        std::random_device device;
        state = (std::uint64_t{device()} << 32) ^ device() ^
                static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
    }
    std::array<std::uint8_t, 24> prefix{};
    for (std::size_t k = 0; k < 3; ++k) store_le64(prefix.data() + 8 * k, splitmix64(state));
    return prefix;
}

double to_double(const U256& value) {
    double result = 0;
    for (int k = 3; k >= 0; --k) result = result * 18446744073709551616.0 + static_cast<double>(value.limbs[k]);
    return result;
}

std::string rate_text(double per_second) {
    char text[32];
    if (per_second >= 1e9) {
        std::snprintf(text, sizeof text, "%.2f GH/s", per_second / 1e9);
    } else if (per_second >= 1e6) {
        std::snprintf(text, sizeof text, "%.2f MH/s", per_second / 1e6);
    } else {
        std::snprintf(text, sizeof text, "%.0f H/s", per_second);
    }
    return text;
}

std::string duration_text(double seconds) {
    if (!(seconds < 1e9)) return "?";
    const auto whole = static_cast<std::uint64_t>(seconds + 0.5);
    char text[48];
    if (whole >= 3600) {
        std::snprintf(text, sizeof text, "%lluh%02llum", static_cast<unsigned long long>(whole / 3600),
                      static_cast<unsigned long long>(whole / 60 % 60));
    } else if (whole >= 60) {
        std::snprintf(text, sizeof text, "%llum%02llus", static_cast<unsigned long long>(whole / 60),
                      static_cast<unsigned long long>(whole % 60));
    } else {
        std::snprintf(text, sizeof text, "%llus", static_cast<unsigned long long>(whole));
    }
    return text;
}

// Set by SIGINT; lock-free, so the handler may store to it.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_sigint(int) { g_interrupted.store(true); }

// What the workers share. Shares are written as they are found, so that an interrupted
// run keeps every share already mined.
struct Run {
    cpu::MineFn mine = nullptr;
    cpu::MiningJob job;
    std::uint64_t wanted = 0;  // 0: benchmark, write nothing
    std::atomic<std::uint64_t> next_counter{0};
    std::atomic<std::uint64_t> hashes{0};
    std::atomic<bool> stop{false};

    std::mutex output_mutex;
    std::FILE* output = nullptr;
    std::string challenge_hex;
    std::string pool_text;
    std::atomic<std::uint64_t> written{0};
    bool write_failed = false;
};

void write_share(Run& run, const cpu::Found& share) {
    // The field order and hex forms of valid_d1.jsonl: lower-case challenge, nonce and
    // digest, the pool address checksummed.
    std::string line;
    line.reserve(260);
    line += "{\"challenge\":\"";
    line += run.challenge_hex;
    line += "\",\"pool\":\"";
    line += run.pool_text;
    line += "\",\"nonce\":\"";
    line += to_hex(share.nonce);
    line += "\",\"digest\":\"";
    line += to_hex(share.digest);
    line += "\"}\n";
    if (std::fwrite(line.data(), 1, line.size(), run.output) != line.size()) run.write_failed = true;
}

void work(Run& run) {
    std::vector<cpu::Found> found;
    while (!run.stop.load(std::memory_order_relaxed)) {
        const std::uint64_t first = run.next_counter.fetch_add(kChunk, std::memory_order_relaxed);
        found.clear();
        run.mine(run.job, first, kChunk, found);
        run.hashes.fetch_add(kChunk, std::memory_order_relaxed);
        if (found.empty() || run.wanted == 0) continue;
        const std::lock_guard lock(run.output_mutex);
        for (const cpu::Found& share : found) {
            const std::uint64_t written = run.written.load(std::memory_order_relaxed);
            if (written >= run.wanted) break;
            write_share(run, share);
            run.written.store(written + 1, std::memory_order_relaxed);
        }
        if (run.written.load(std::memory_order_relaxed) >= run.wanted || run.write_failed) run.stop.store(true);
    }
}

int run_main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    const cpu::MiningKernel kernel = options.kernel.value_or(cpu::best_mining_kernel());
    const unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());

    Run run;
    run.mine = cpu::mining_function(kernel);
    run.job.challenge = options.challenge;
    run.job.pool = options.pool.bytes();
    run.job.nonce_prefix = nonce_prefix(options.seed);
    const bool benchmark = options.benchmark_seconds > 0;
    // A zero target: nothing is ever found, so the benchmark measures hashing alone.
    run.job.target = benchmark ? U256{} : share_target(options.max_target_bits, options.difficulty);
    run.wanted = benchmark ? 0 : options.count;
    run.challenge_hex = to_hex(options.challenge);
    run.pool_text = options.pool.checksummed();

    if (!benchmark) {
        if (options.output.empty()) {
            run.output = stdout;
        } else {
            run.output = std::fopen(options.output.c_str(), "w");
            if (run.output == nullptr) {
                std::fprintf(stderr, "sharegate-mine: cannot open %s: %s\n", options.output.c_str(),
                             std::strerror(errno));
                return 1;
            }
        }
    }

    std::signal(SIGINT, on_sigint);
    const bool progress = !options.quiet && !benchmark;
    const bool terminal = isatty(STDERR_FILENO) != 0;
    // Expected hashes a share: 2^256 / target.
    const double hashes_per_share =
        benchmark ? 0
                  : 115792089237316195423570985008687907853269984665640564039457584007913129639936.0 /
                        to_double(run.job.target);
    if (!options.quiet && benchmark) {
        std::fprintf(stderr, "sharegate-mine: benchmark, kernel %s, %u thread%s, %g s, nothing can meet the target\n",
                     cpu::to_string(kernel), threads, threads == 1 ? "" : "s", options.benchmark_seconds);
    } else if (!options.quiet) {
        std::fprintf(stderr, "sharegate-mine: kernel %s, %u thread%s, target 2^%u/%llu (about %.3g hashes a share)\n",
                     cpu::to_string(kernel), threads, threads == 1 ? "" : "s", options.max_target_bits,
                     static_cast<unsigned long long>(options.difficulty), hashes_per_share);
    }

    const auto start = Clock::now();
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) workers.emplace_back(work, std::ref(run));

    auto next_report = start + std::chrono::seconds(1);
    while (!run.stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = Clock::now();
        const double elapsed = std::chrono::duration<double>(now - start).count();
        if (g_interrupted.load()) run.stop.store(true);
        if (benchmark && elapsed >= options.benchmark_seconds) run.stop.store(true);
        if (now < next_report) continue;
        next_report += std::chrono::seconds(1);
        if (!benchmark) {
            const std::lock_guard lock(run.output_mutex);
            std::fflush(run.output);
        }
        if (!progress) continue;
        const double rate = static_cast<double>(run.hashes.load()) / elapsed;
        const std::uint64_t written = run.written.load();
        const double eta = static_cast<double>(run.wanted - written) * hashes_per_share / rate;
        std::fprintf(stderr, "%s%s  shares %llu/%llu  elapsed %s  ETA %s%s", terminal ? "\r" : "",
                     rate_text(rate).c_str(), static_cast<unsigned long long>(written),
                     static_cast<unsigned long long>(run.wanted), duration_text(elapsed).c_str(),
                     duration_text(eta).c_str(), terminal ? "\033[K" : "\n");
    }
    for (std::thread& worker : workers) worker.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const std::uint64_t hashes = run.hashes.load();
    if (progress && terminal) std::fputc('\n', stderr);

    if (benchmark) {
        std::printf("kernel %s threads %u seconds %.2f hashes %llu hashes/s %.0f\n", cpu::to_string(kernel), threads,
                    elapsed, static_cast<unsigned long long>(hashes), static_cast<double>(hashes) / elapsed);
        return 0;
    }
    bool failed = run.write_failed || std::fflush(run.output) != 0 || std::ferror(run.output) != 0;
    if (run.output != stdout && std::fclose(run.output) != 0) failed = true;
    if (failed) {
        std::fprintf(stderr, "sharegate-mine: writing %s failed\n",
                     options.output.empty() ? "standard output" : options.output.c_str());
        return 1;
    }
    const std::uint64_t written = run.written.load();
    if (!options.quiet) {
        std::fprintf(stderr, "sharegate-mine: %llu share%s in %s, %llu hashes, %s\n",
                     static_cast<unsigned long long>(written), written == 1 ? "" : "s", duration_text(elapsed).c_str(),
                     static_cast<unsigned long long>(hashes), rate_text(static_cast<double>(hashes) / elapsed).c_str());
    }
    if (written < run.wanted) {
        // Interrupted: what was found is written, but the corpus is short.
        std::fprintf(stderr, "sharegate-mine: interrupted after %llu of %llu shares\n",
                     static_cast<unsigned long long>(written), static_cast<unsigned long long>(run.wanted));
        return 130;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run_main(argc, argv);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "sharegate-mine: %s\n", error.what());
        return 1;
    }
}
