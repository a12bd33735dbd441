// A histogram that I/O threads can observe into without a lock: fixed upper bounds given
// at construction (+Inf implicit), one relaxed atomic increment of one bucket and one
// atomic add to the sum per observation. The scrape takes a snapshot with cumulative
// buckets, which exposition.hpp turns into a Prometheus histogram. (prometheus-cpp's own
// Histogram takes a mutex on every Observe; sharegate observes per submit on several
// threads, so only prometheus-cpp's data model and text format are used.)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace sharegate::metrics {

struct HistogramSnapshot {
    std::vector<double> upper_bounds;  // the finite bounds, strictly ascending; +Inf is implicit
    // Observations <= each bound, then the +Inf bucket last (== count): upper_bounds.size() + 1 values.
    std::vector<std::uint64_t> cumulative_counts;
    std::uint64_t count = 0;
    double sum = 0.0;
};

class Histogram {
public:
    // Throws std::invalid_argument unless the bounds are finite and strictly ascending
    // (none at all is allowed: then only the +Inf bucket).
    explicit Histogram(std::vector<double> upper_bounds);

    Histogram(const Histogram&) = delete;
    Histogram& operator=(const Histogram&) = delete;

    // Any thread. A NaN is ignored: it belongs in no bucket and would make the sum NaN forever.
    void observe(double value) noexcept;

    // Any thread, while others observe. The count is the buckets' total, so that the +Inf
    // bucket and _count always agree; the sum may lag or lead them by observations in
    // flight (as in every Prometheus client).
    HistogramSnapshot snapshot() const;

    const std::vector<double>& upper_bounds() const { return bounds_; }

private:
    const std::vector<double> bounds_;
    // Per bucket, not cumulative: an observation touches one counter only.
    const std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
    // A double updated with compare-and-swap (std::atomic<double>::fetch_add), not a fixed-
    // point integer: one histogram class serves seconds (1e-4 and up) and share counts (up
    // to 65536 a batch), and no one fixed scale keeps both exact without risking overflow;
    // a double adds integers exactly up to 2^53, and the CAS loop only retries when two
    // threads add to the same histogram at the same instant.
    std::atomic<double> sum_{0.0};
};

// Request and verify latencies, in seconds: 100 us .. 10 s.
std::vector<double> latency_bounds();
// Shares per verified batch: 1 .. 65536 in powers of four.
std::vector<double> batch_size_bounds();

}  // namespace sharegate::metrics
