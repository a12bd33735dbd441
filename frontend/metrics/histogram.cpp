#include "metrics/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace sharegate::metrics {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the histogram's cells must not take a lock");

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
      // The buckets, the +Inf bucket and the sum, in whole cache lines.
      lines_per_stripe_((bounds_.size() + 2 + 7) / 8),
      lines_(std::make_unique<Line[]>(kStripes * lines_per_stripe_)) {}

void Histogram::observe(double value) noexcept {
    if (std::isnan(value)) return;
    // The first bound >= value: Prometheus buckets are "less than or equal" (le).
    const auto bucket =
        static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    const std::size_t stripe = this_thread_stripe();
    cell(stripe, bucket).fetch_add(1, std::memory_order_relaxed);
    std::atomic<std::uint64_t>& sum = cell(stripe, bounds_.size() + 1);
    std::uint64_t old_bits = sum.load(std::memory_order_relaxed);
    while (!sum.compare_exchange_weak(old_bits, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old_bits) + value),
                                      std::memory_order_relaxed)) {
    }
}

HistogramSnapshot Histogram::snapshot() const {
    HistogramSnapshot out;
    out.upper_bounds = bounds_;
    out.cumulative_counts.reserve(bounds_.size() + 1);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        for (std::size_t stripe = 0; stripe < kStripes; ++stripe)
            total += cell(stripe, i).load(std::memory_order_relaxed);
        out.cumulative_counts.push_back(total);
    }
    out.count = total;
    for (std::size_t stripe = 0; stripe < kStripes; ++stripe) {
        out.sum += std::bit_cast<double>(cell(stripe, bounds_.size() + 1).load(std::memory_order_relaxed));
    }
    return out;
}

std::vector<double> latency_bounds() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> batch_size_bounds() { return {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536}; }

}  // namespace sharegate::metrics
