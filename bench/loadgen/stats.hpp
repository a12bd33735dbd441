// What the load generator counts and measures, and how it reports it: a progress line
// once a second and JSON at the end.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cpu_time.hpp"
#include "options.hpp"
#include "workload.hpp"

namespace sharegate::loadgen {

// ---- latency ----

// Log-linear histogram of microseconds: exact below 1024, then 64 sub-buckets per power
// of two (under 1.6 % error), which is plenty for p99.9 and costs one array bump. One io
// thread writes it while the progress printer reads it, hence relaxed atomics.
class Histogram {
public:
    static constexpr int kSub = 64;
    static constexpr std::size_t kBuckets = 1024 + 54 * kSub;

    void add(std::uint64_t us) {
        buckets_[index(us)].fetch_add(1, std::memory_order_relaxed);
        count_.fetch_add(1, std::memory_order_relaxed);
        if (us > max_.load(std::memory_order_relaxed)) max_.store(us, std::memory_order_relaxed);  // one writer
    }
    std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
    std::uint64_t max() const { return max_.load(std::memory_order_relaxed); }

    static std::uint64_t upper(std::size_t i) {
        if (i < 1024) return i;
        std::size_t exp = (i - 1024) / kSub + 10, sub = (i - 1024) % kSub;
        return ((std::uint64_t{kSub} + sub + 1) << (exp - 6)) - 1;
    }

private:
    static std::size_t index(std::uint64_t v) {
        if (v < 1024) return v;
        int exp = 63 - __builtin_clzll(v);  // >= 10
        auto sub = static_cast<std::size_t>((v >> (exp - 6)) & (kSub - 1));
        return 1024 + static_cast<std::size_t>(exp - 10) * kSub + sub;
    }
    std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
    std::atomic<std::uint64_t> count_{0}, max_{0};
};

// Several threads' histograms added up, for percentiles.
class LatencySummary {
public:
    void merge(const Histogram& h) {
        for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += h.bucket(i);
        count_ += h.count();
        max_ = std::max(max_, h.max());
    }
    std::uint64_t count() const { return count_; }
    std::uint64_t max() const { return max_; }
    std::uint64_t percentile(double p) const {
        if (count_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
        rank = std::max<std::uint64_t>(rank, 1);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= rank) return std::min(Histogram::upper(i), max_);
        }
        return max_;
    }

private:
    std::array<std::uint64_t, Histogram::kBuckets> buckets_{};
    std::uint64_t count_ = 0, max_ = 0;
};

// Counters read by the progress printer while the threads write them, hence atomics;
// relaxed is enough because only totals are wanted.
struct Counters {
    std::atomic<std::uint64_t> sent{0}, answered{0}, accepted{0}, mismatches{0}, disconnects{0}, errors{0};
    std::atomic<std::uint64_t> garbage_closes{0}, reconnects{0}, lost{0}, corpus_exhausted{0};
    // Closes that are not disconnects: a connect that failed, and a connection the server
    // closed before answering its subscribe (refused at accept by a ban or a cap).
    std::atomic<std::uint64_t> connect_failures{0}, refused{0};
    // Flood submits the server declined to judge: [20,"Server busy"] (load shedding, a full
    // duplicate filter) and [20,"Rate limit exceeded"]; also counted under rejected_by_code.
    std::atomic<std::uint64_t> server_busy{0}, rate_limited{0};
    std::array<std::atomic<std::uint64_t>, 32> by_code{};  // 0 unused; unknown codes land in 31
    std::array<std::atomic<std::uint64_t>, kKinds> kind_sent{}, kind_answered{}, kind_mismatched{};
    // Worst latency since the progress printer last took it, to show when a stall happened.
    std::atomic<std::uint64_t> window_max_us{0}, window_honest_max_us{0};
};

struct ThreadStats {
    Counters c;
    Histogram latency;
    Histogram honest_latency;
    std::atomic<std::uint64_t> honest_answered{0}, honest_accepted{0}, honest_rejected{0};
    std::atomic<std::uint64_t> honest_disconnects{0};  // any close of the honest miner's connection
};

inline void bump(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) { a.fetch_add(n, std::memory_order_relaxed); }
inline void raise(std::atomic<std::uint64_t>& a, std::uint64_t v) {
    if (v > a.load(std::memory_order_relaxed)) a.store(v, std::memory_order_relaxed);  // only its thread writes
}

// Every thread's counters added up at one moment.
struct Snapshot {
    std::uint64_t sent = 0, answered = 0, accepted = 0, rejected = 0, mismatches = 0, disconnects = 0, errors = 0;
    std::uint64_t garbage_closes = 0, reconnects = 0, lost = 0, corpus_exhausted = 0;
    std::uint64_t connect_failures = 0, refused = 0, server_busy = 0, rate_limited = 0;
    std::uint64_t honest_answered = 0, honest_accepted = 0, honest_rejected = 0, honest_disconnects = 0;
    std::map<int, std::uint64_t> codes;  // stratum error code (31: any other) -> replies
    std::array<std::uint64_t, kKinds> kind_sent{}, kind_answered{}, kind_mismatched{};
    LatencySummary latency, honest_latency;
};

Snapshot take_snapshot(const std::vector<const ThreadStats*>& stats);

// The once-a-second line: `answered_delta` answers in the last second, `window_max_us`
// the worst latency in it (and the honest miner's, when there is one).
std::string progress_line(int second, const Snapshot& s, std::uint64_t answered_delta, std::uint64_t window_max_us,
                          const std::uint64_t* honest_window_max_us);

// `first_disconnect_s`: seconds from the start of the measurement until the server first
// closed a served flood connection; negative when it never did.
std::string report_json(const Options& opt, const Snapshot& s, double elapsed_s, bool complete,
                        double first_disconnect_s, const CpuWindow& cpu);

// Two lines for a person reading stderr.
std::string summary_text(const Options& opt, const Snapshot& s, double elapsed_s);

}  // namespace sharegate::loadgen
