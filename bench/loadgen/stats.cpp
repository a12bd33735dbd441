#include "stats.hpp"

#include <sys/resource.h>

#include <cstdio>

namespace sharegate::loadgen {

namespace {

using ull = unsigned long long;

void print_latency(std::string& out, const char* name, const LatencySummary& h) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "\"%s\":{\"count\":%llu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu}", name,
                  static_cast<ull>(h.count()), static_cast<ull>(h.percentile(50)), static_cast<ull>(h.percentile(90)),
                  static_cast<ull>(h.percentile(99)), static_cast<ull>(h.percentile(99.9)), static_cast<ull>(h.max()));
    out += buf;
}

double per_second(std::uint64_t n, double elapsed_s) { return elapsed_s > 0 ? static_cast<double>(n) / elapsed_s : 0; }

}  // namespace

Snapshot take_snapshot(const std::vector<const ThreadStats*>& stats) {
    Snapshot s;
    auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    for (const ThreadStats* t : stats) {
        const Counters& c = t->c;
        s.sent += get(c.sent);
        s.answered += get(c.answered);
        s.accepted += get(c.accepted);
        s.mismatches += get(c.mismatches);
        s.disconnects += get(c.disconnects);
        s.errors += get(c.errors);
        s.garbage_closes += get(c.garbage_closes);
        s.reconnects += get(c.reconnects);
        s.lost += get(c.lost);
        s.corpus_exhausted += get(c.corpus_exhausted);
        s.connect_failures += get(c.connect_failures);
        s.refused += get(c.refused);
        s.server_busy += get(c.server_busy);
        s.rate_limited += get(c.rate_limited);
        s.honest_disconnects += get(t->honest_disconnects);
        s.honest_answered += get(t->honest_answered);
        s.honest_accepted += get(t->honest_accepted);
        s.honest_rejected += get(t->honest_rejected);
        for (int code = 1; code < 32; ++code) {
            if (auto n = get(c.by_code[static_cast<std::size_t>(code)])) {
                s.codes[code] += n;
                s.rejected += n;
            }
        }
        for (std::size_t k = 0; k < kKinds; ++k) {
            s.kind_sent[k] += get(c.kind_sent[k]);
            s.kind_answered[k] += get(c.kind_answered[k]);
            s.kind_mismatched[k] += get(c.kind_mismatched[k]);
        }
        s.latency.merge(t->latency);
        s.honest_latency.merge(t->honest_latency);
    }
    return s;
}

std::string progress_line(int second, const Snapshot& s, std::uint64_t answered_delta, std::uint64_t window_max_us,
                          const std::uint64_t* honest_window_max_us) {
    char buf[512];
    int n = std::snprintf(buf, sizeof buf,
                          "[%3ds] answered %llu/s  accepted %llu  rejected %llu  p99 %llu us  max %llu us", second,
                          static_cast<ull>(answered_delta), static_cast<ull>(s.accepted), static_cast<ull>(s.rejected),
                          static_cast<ull>(s.latency.percentile(99)), static_cast<ull>(window_max_us));
    std::string line(buf, static_cast<std::size_t>(std::max(0, n)));
    if (honest_window_max_us) {
        std::snprintf(buf, sizeof buf, "  honest max %llu us", static_cast<ull>(*honest_window_max_us));
        line += buf;
    }
    std::snprintf(buf, sizeof buf, "  mismatches %llu  disconnects %llu\n", static_cast<ull>(s.mismatches),
                  static_cast<ull>(s.disconnects));
    line += buf;
    return line;
}

std::string report_json(const Options& opt, const Snapshot& s, double elapsed_s, bool complete,
                        double first_disconnect_s, const CpuWindow& window) {
    std::string out = "{";
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "\"duration_s\":%.3f,\"connections\":%d,\"mode\":\"%s\",\"count\":%llu,\"complete\":%s,"
                  "\"sent\":%llu,\"answered\":%llu,\"answered_per_second\":%.0f,\"accepted\":%llu,",
                  elapsed_s, opt.connections, opt.rate > 0 ? "open" : "closed", static_cast<ull>(opt.count),
                  complete ? "true" : "false", static_cast<ull>(s.sent), static_cast<ull>(s.answered),
                  per_second(s.answered, elapsed_s), static_cast<ull>(s.accepted));
    out += buf;
    out += "\"rejected_by_code\":{";
    bool first = true;
    for (auto [code, n] : s.codes) {
        out += first ? "\"" : ",\"";
        out += code == 31 ? std::string("other") : std::to_string(code);
        out += "\":";
        out += std::to_string(n);
        first = false;
    }
    out += "},\"by_kind\":{";
    first = true;
    for (std::size_t k = 0; k < kKinds; ++k) {
        if (s.kind_sent[k] == 0 && opt.mix[k] <= 0) continue;
        std::snprintf(buf, sizeof buf, "%s\"%s\":{\"sent\":%llu,\"answered\":%llu,\"mismatches\":%llu}",
                      first ? "" : ",", kKindNames[k].data(), static_cast<ull>(s.kind_sent[k]),
                      static_cast<ull>(s.kind_answered[k]), static_cast<ull>(s.kind_mismatched[k]));
        out += buf;
        first = false;
    }
    out += "},";
    print_latency(out, "latency_us", s.latency);
    if (opt.honest) {
        out += ",";
        print_latency(out, "honest_latency_us", s.honest_latency);
        std::snprintf(buf, sizeof buf,
                      ",\"honest_answered\":%llu,\"honest_accepted\":%llu,\"honest_rejected\":%llu,"
                      "\"honest_disconnects\":%llu",
                      static_cast<ull>(s.honest_answered), static_cast<ull>(s.honest_accepted),
                      static_cast<ull>(s.honest_rejected), static_cast<ull>(s.honest_disconnects));
        out += buf;
    }
    // The generator's own CPU time: near duration_s x threads means it, not the server, was the limit.
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    std::snprintf(buf, sizeof buf,
                  ",\"mismatches\":%llu,\"disconnects\":%llu,\"garbage_closes\":%llu,\"reconnects\":%llu,"
                  "\"lost_in_flight\":%llu,\"corpus_exhausted\":%llu,\"errors\":%llu,\"loadgen_cpu_s\":%.2f,"
                  "\"threads\":%u,",
                  static_cast<ull>(s.mismatches), static_cast<ull>(s.disconnects), static_cast<ull>(s.garbage_closes),
                  static_cast<ull>(s.reconnects), static_cast<ull>(s.lost), static_cast<ull>(s.corpus_exhausted),
                  static_cast<ull>(s.errors), cpu, opt.threads);
    out += buf;
    // CPU seconds over the measured window, and per answered submit in microseconds (the
    // figure docs/performance.md compares): the server's, Redis's, the generator's own.
    for (auto [name, seconds] : {std::pair{"server", window.server_s}, std::pair{"redis", window.redis_s},
                                 std::pair{"loadgen", window.loadgen_s}}) {
        if (seconds < 0) continue;
        std::snprintf(buf, sizeof buf, "\"%s_window_cpu_s\":%.3f,\"%s_cpu_us_per_answered\":%.4f,", name, seconds, name,
                      s.answered ? seconds * 1e6 / static_cast<double>(s.answered) : 0.0);
        out += buf;
    }
    // What the server's defenses did to this run.
    std::snprintf(buf, sizeof buf,
                  "\"connect_failures\":%llu,\"refused\":%llu,\"server_busy\":%llu,\"rate_limited\":%llu,"
                  "\"first_disconnect_s\":",
                  static_cast<ull>(s.connect_failures), static_cast<ull>(s.refused), static_cast<ull>(s.server_busy),
                  static_cast<ull>(s.rate_limited));
    out += buf;
    if (first_disconnect_s < 0) {
        out += "null}";
    } else {
        std::snprintf(buf, sizeof buf, "%.4f}", first_disconnect_s);
        out += buf;
    }
    return out;
}

std::string summary_text(const Options& opt, const Snapshot& s, double elapsed_s) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "summary: %.1f s, %llu answered (%.0f/s), accepted %llu, latency us p50 %llu p99 %llu p99.9 %llu "
                  "max %llu\n",
                  elapsed_s, static_cast<ull>(s.answered), per_second(s.answered, elapsed_s),
                  static_cast<ull>(s.accepted), static_cast<ull>(s.latency.percentile(50)),
                  static_cast<ull>(s.latency.percentile(99)), static_cast<ull>(s.latency.percentile(99.9)),
                  static_cast<ull>(s.latency.max()));
    std::string text = buf;
    if (opt.honest) {
        std::snprintf(buf, sizeof buf,
                      "honest miner: %llu answered (%llu accepted), latency us p50 %llu p99 %llu max %llu\n",
                      static_cast<ull>(s.honest_answered), static_cast<ull>(s.honest_accepted),
                      static_cast<ull>(s.honest_latency.percentile(50)),
                      static_cast<ull>(s.honest_latency.percentile(99)), static_cast<ull>(s.honest_latency.max()));
        text += buf;
    }
    return text;
}

}  // namespace sharegate::loadgen
