// sharegate-loadgen: drives a stratum server with a mix of share workloads from one
// process, checks every reply against what the workload expects, and measures reply
// latency, so that "an honest miner's p99 during a flood" is a number rather than an
// impression. See bench/run-flood.sh for the usual run and --help for the options.
//
// The parts: options (the command line), workload (what each kind sends and expects),
// connection (the stratum connections and their io threads), stats (counting, the
// progress line and the JSON report); this file wires them together.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

// After the standard headers: this Boost.Asio needs <utility> seen first.
#include <boost/asio.hpp>

#include "connection.hpp"
#include "cpu_time.hpp"
#include "options.hpp"
#include "stats.hpp"
#include "util.hpp"
#include "workload.hpp"

namespace {

using namespace sharegate::loadgen;
namespace asio = boost::asio;
using asio::ip::tcp;

std::string resp(std::initializer_list<std::string_view> args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (auto a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out += a;
        out += "\r\n";
    }
    return out;
}

// Pipelined HSETs; each reply is one line (":0" / ":1"), so counting CRLFs is enough.
void seed_redis(const std::string& where, const std::vector<std::string>& miners, std::uint64_t var_diff) {
    auto [host, port] = split_host_port("--redis", where);
    asio::io_context io;
    tcp::socket sock(io);
    asio::connect(sock, tcp::resolver(io).resolve(host, port));
    std::string value =
        "{\"shareCredits\":0,\"tokenBalance\":0,\"tokensAwarded\":0,\"varDiff\":" + std::to_string(var_diff) +
        ",\"validSubmittedSolutionsCount\":0}";
    std::string req;
    for (const auto& m : miners) req += resp({"HSET", "miner_data", m, value});
    asio::write(sock, asio::buffer(req));
    std::size_t lines = 0;
    std::string reply;
    char buf[4096];
    while (lines < miners.size()) {
        std::size_t n = sock.read_some(asio::buffer(buf));
        for (std::size_t i = 0; i < n; ++i) {
            if (buf[i] == '-') throw std::runtime_error("redis refused HSET");
            if (buf[i] == '\n') ++lines;
        }
    }
}

// Thousands of connections need as many descriptors; the soft limit is often 1024.
void raise_fd_limit(int connections) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    auto want = static_cast<rlim_t>(connections) + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = std::min(want, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        std::fprintf(stderr, "warning: only %llu file descriptors allowed for %d connections\n",
                     static_cast<unsigned long long>(rl.rlim_cur), connections);
}

int run(int argc, char** argv) {
    Shared shared;
    shared.opt = parse_args(argc, argv);
    const Options& opt = shared.opt;
    raise_fd_limit(opt.connections);
    if (!opt.corpus.empty()) shared.corpus = load_corpus(opt.corpus);

    {
        asio::io_context io;
        shared.endpoint = *tcp::resolver(io).resolve(opt.host, opt.port).begin();
    }
    // A source of the other address family could never connect: a usage error, not a run.
    for (auto [option, text, address] : {std::tuple{"--source", &opt.source, &shared.source},
                                         std::tuple{"--honest-source", &opt.honest_source, &shared.honest_source}}) {
        if (text->empty()) continue;
        *address = asio::ip::make_address(*text);
        if ((*address)->is_v4() != shared.endpoint.address().is_v4())
            throw UsageError(std::string(option) + " " + *text + " and --target " + opt.host +
                             " are of different address families");
    }

    // Each connection gets its own slice of the corpus so that no share is sent twice
    // (except as a deliberate duplicate); the honest miner gets the whole corpus when
    // no flood connection wants valid shares, else an equal slice.
    std::vector<std::vector<const Share*>> slices(static_cast<std::size_t>(opt.connections));
    std::vector<const Share*> honest_slice;
    bool flood_valid = opt.mix[0] > 0 || opt.mix[4] > 0;
    bool honest_replays = opt.honest && !opt.honest_mine;
    std::size_t parts = static_cast<std::size_t>(opt.connections) + (honest_replays ? 1 : 0);
    for (std::size_t i = 0; i < shared.corpus.size(); ++i) {
        if (honest_replays && !flood_valid) {
            honest_slice.push_back(&shared.corpus[i]);
        } else if (i % parts < static_cast<std::size_t>(opt.connections)) {
            slices[i % parts].push_back(&shared.corpus[i]);
        } else {
            honest_slice.push_back(&shared.corpus[i]);
        }
    }
    std::vector<std::unique_ptr<Worker>> workers;
    for (unsigned t = 0; t < opt.threads; ++t) workers.push_back(std::make_unique<Worker>(shared));
    std::vector<const ThreadStats*> stats;
    for (auto& w : workers) stats.push_back(&w->stats());
    std::vector<std::string> miners;
    auto n = static_cast<std::uint64_t>(opt.connections);
    for (int i = 0; i < opt.connections; ++i) {
        // --count split evenly up front, so that which connection sends what is fixed
        // (and a mix's counts exact) whatever the timing.
        auto idx = static_cast<std::uint64_t>(i);
        std::uint64_t quota =
            opt.count ? opt.count / n + (idx < opt.count % n ? 1 : 0) : std::numeric_limits<std::uint64_t>::max();
        // With an honest miner and threads to spare, it has the first thread to itself:
        // its latency is then the server's, not its wait behind the flood's replies here.
        const unsigned flood_threads = opt.honest && opt.threads > 1 ? opt.threads - 1 : opt.threads;
        const unsigned first_flood_thread = opt.threads - flood_threads;
        miners.push_back(workers[first_flood_thread + static_cast<unsigned>(i) % flood_threads]->add(
            i, false, std::move(slices[static_cast<std::size_t>(i)]), quota));
    }
    if (opt.honest) {
        miners.push_back(workers[0]->add(0, true, honest_slice, std::numeric_limits<std::uint64_t>::max()));
    }
    if (opt.seed_redis) seed_redis(opt.redis, miners, opt.corpus_difficulty);

    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
    int everyone = opt.connections + (opt.honest ? 1 : 0);
    auto setup_start = Clock::now();
    while (shared.subscribed.load() < everyone && Clock::now() - setup_start < std::chrono::seconds(30)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!opt.quiet || shared.subscribed.load() < everyone)
        std::fprintf(stderr, "%d/%d connections subscribed in %.2f s\n", shared.subscribed.load(), everyone,
                     std::chrono::duration<double>(Clock::now() - setup_start).count());
    // CPU time is read at both ends of the measured window (set-up excluded).
    auto cpu_now = [&opt] {
        return CpuWindow{opt.server_pid ? process_cpu_seconds(opt.server_pid) : -1,
                         opt.redis_pid ? process_cpu_seconds(opt.redis_pid) : -1, own_cpu_seconds()};
    };
    const CpuWindow cpu_start = cpu_now();
    shared.start_ns = now_ns();
    shared.measuring = true;

    std::uint64_t prev = 0;
    auto begin = Clock::now();
    auto deadline = begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.duration_s));
    auto next_report = begin + std::chrono::seconds(1);
    for (int second = 1;;) {
        // Every connection done (its share of --count answered, or its slice spent): no
        // need to wait out the clock.
        if (shared.finished.load() >= opt.connections) break;
        auto now = Clock::now();
        if (now >= deadline) break;
        std::this_thread::sleep_until(std::min({deadline, next_report, now + std::chrono::milliseconds(5)}));
        if (Clock::now() < next_report) continue;
        next_report += std::chrono::seconds(1);
        std::uint64_t window_max = 0, honest_max = 0;
        for (auto& w : workers) {
            window_max = std::max(window_max, w->stats().c.window_max_us.exchange(0));
            honest_max = std::max(honest_max, w->stats().c.window_honest_max_us.exchange(0));
        }
        Snapshot s = take_snapshot(stats);
        if (!opt.quiet) {
            std::fputs(
                progress_line(second, s, s.answered - prev, window_max, opt.honest ? &honest_max : nullptr).c_str(),
                stderr);
        }
        prev = s.answered;
        ++second;
    }
    shared.stopping = true;
    double elapsed = static_cast<double>(now_ns() - shared.start_ns) * 1e-9;
    const CpuWindow cpu_end = cpu_now();
    auto spent = [](double start, double end) { return start < 0 || end < 0 ? -1 : end - start; };
    const CpuWindow cpu{spent(cpu_start.server_s, cpu_end.server_s), spent(cpu_start.redis_s, cpu_end.redis_s),
                        spent(cpu_start.loadgen_s, cpu_end.loadgen_s)};
    for (auto& w : workers) w->io().stop();
    for (auto& t : threads) t.join();

    Snapshot s = take_snapshot(stats);
    bool complete = opt.count == 0 || s.answered >= opt.count;
    const std::int64_t cut_ns = shared.first_disconnect_ns.load();
    const double first_disconnect_s = cut_ns > 0 ? static_cast<double>(cut_ns - shared.start_ns) * 1e-9 : -1;
    std::string json = report_json(opt, s, elapsed, complete, first_disconnect_s, cpu);
    if (!opt.quiet) {
        std::fputs(summary_text(opt, s, elapsed).c_str(), stderr);
        if (!opt.json) std::fprintf(stderr, "full: %s\n", json.c_str());
    }
    if (opt.json) std::printf("%s\n", json.c_str());
    if (!complete) {
        std::fprintf(stderr, "sharegate-loadgen: %llu of --count %llu answered\n",
                     static_cast<unsigned long long>(s.answered), static_cast<unsigned long long>(opt.count));
    }
    return complete ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "sharegate-loadgen: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sharegate-loadgen: %s\n", e.what());
        return 1;
    }
}
