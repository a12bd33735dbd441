#include "metrics/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace sharegate::metrics {

static_assert(std::atomic<double>::is_always_lock_free, "the histogram's sum must not take a lock");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the histogram's buckets must not take a lock");

namespace {

std::vector<double> checked(std::vector<double> bounds) {
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (!std::isfinite(bounds[i])) {
            throw std::invalid_argument("histogram bound " + std::to_string(i) + " is not finite (+Inf is implicit)");
        }
        if (i > 0 && !(bounds[i - 1] < bounds[i])) {
            throw std::invalid_argument("histogram bounds must be strictly ascending (bound " + std::to_string(i) +
                                        ")");
        }
    }
    return bounds;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(checked(std::move(upper_bounds))),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) noexcept {
    if (std::isnan(value)) return;
    // The first bound >= value: Prometheus buckets are "less than or equal" (le).
    const auto bucket =
        static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
    HistogramSnapshot out;
    out.upper_bounds = bounds_;
    out.cumulative_counts.reserve(bounds_.size() + 1);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        total += buckets_[i].load(std::memory_order_relaxed);
        out.cumulative_counts.push_back(total);
    }
    out.count = total;
    out.sum = sum_.load(std::memory_order_relaxed);
    return out;
}

std::vector<double> latency_bounds() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> batch_size_bounds() { return {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536}; }

}  // namespace sharegate::metrics
