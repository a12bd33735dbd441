// The lock-free histogram (frontend/metrics/histogram.hpp): bucket placement at and
// between the bounds, the cumulative snapshot with +Inf, the sum, bad bounds refused, and
// exact totals when four threads observe at once.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "metrics/histogram.hpp"

namespace sharegate_test {
namespace {

using sharegate::metrics::batch_size_bounds;
using sharegate::metrics::Histogram;
using sharegate::metrics::latency_bounds;

TEST(Histogram, EmptyHasZeroBucketsAndTheImplicitInf) {
    Histogram histogram({1, 2});
    const auto snapshot = histogram.snapshot();
    EXPECT_EQ(snapshot.upper_bounds, (std::vector<double>{1, 2}));
    EXPECT_EQ(snapshot.cumulative_counts, (std::vector<std::uint64_t>{0, 0, 0}));
    EXPECT_EQ(snapshot.count, 0u);
    EXPECT_EQ(snapshot.sum, 0.0);
}

TEST(Histogram, BucketsAreCumulativeAndLessOrEqual) {
    Histogram histogram({1, 2, 5});
    for (double value : {0.5, 1.0, 1.5, 2.0, 4.0, 5.0, 5.5, 100.0}) histogram.observe(value);
    const auto snapshot = histogram.snapshot();
    // le=1: 0.5, 1; le=2: + 1.5, 2; le=5: + 4, 5; +Inf: + 5.5, 100.
    EXPECT_EQ(snapshot.cumulative_counts, (std::vector<std::uint64_t>{2, 4, 6, 8}));
    EXPECT_EQ(snapshot.count, 8u);
    EXPECT_DOUBLE_EQ(snapshot.sum, 0.5 + 1 + 1.5 + 2 + 4 + 5 + 5.5 + 100);
}

TEST(Histogram, NegativeValuesFallInTheFirstBucketAndNanIsIgnored) {
    Histogram histogram({0.1});
    histogram.observe(-3);
    histogram.observe(std::numeric_limits<double>::quiet_NaN());
    histogram.observe(std::numeric_limits<double>::infinity());
    const auto snapshot = histogram.snapshot();
    EXPECT_EQ(snapshot.cumulative_counts, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(snapshot.count, 2u);
    EXPECT_TRUE(std::isinf(snapshot.sum));
}

TEST(Histogram, NoBoundsMeansOnlyInf) {
    Histogram histogram({});
    histogram.observe(7);
    const auto snapshot = histogram.snapshot();
    EXPECT_EQ(snapshot.cumulative_counts, (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(snapshot.sum, 7.0);
}

TEST(Histogram, BadBoundsAreRefused) {
    EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
    EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
    EXPECT_THROW(Histogram({1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
    EXPECT_THROW(Histogram({std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
}

TEST(Histogram, StandardBoundSets) {
    EXPECT_EQ(latency_bounds(), (std::vector<double>{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
    EXPECT_EQ(batch_size_bounds(), (std::vector<double>{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536}));
    EXPECT_NO_THROW(Histogram{latency_bounds()});
    EXPECT_NO_THROW(Histogram{batch_size_bounds()});
}

TEST(Histogram, ConcurrentObservationsAreAllCounted) {
    Histogram histogram(batch_size_bounds());
    constexpr int kThreads = 4;
    constexpr int kPerThread = 100000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&histogram, t] {
            // Thread t observes 1, 4, 16 or 64 (each exactly a bound), all integers: the sum is exact.
            const double value = static_cast<double>(1u << (2 * t));
            for (int i = 0; i < kPerThread; ++i) histogram.observe(value);
        });
    }
    // Snapshots while they observe: the count is always the +Inf bucket.
    for (int i = 0; i < 100; ++i) {
        const auto snapshot = histogram.snapshot();
        EXPECT_EQ(snapshot.count, snapshot.cumulative_counts.back());
    }
    for (auto& thread : threads) thread.join();
    const auto snapshot = histogram.snapshot();
    const std::uint64_t n = kPerThread;
    EXPECT_EQ(snapshot.count, kThreads * n);
    EXPECT_EQ(snapshot.cumulative_counts[0], n);      // le=1
    EXPECT_EQ(snapshot.cumulative_counts[1], 2 * n);  // le=4
    EXPECT_EQ(snapshot.cumulative_counts[2], 3 * n);  // le=16
    EXPECT_EQ(snapshot.cumulative_counts[3], 4 * n);  // le=64
    EXPECT_EQ(snapshot.cumulative_counts.back(), 4 * n);
    EXPECT_EQ(snapshot.sum, static_cast<double>(n) * (1 + 4 + 16 + 64));
}

// Each thread adds to a stripe of its own, shared once there are more threads than
// stripes (16): every observation is counted, and the sum is exact, either way.
TEST(Histogram, MoreThreadsThanStripesAreAllCounted) {
    Histogram histogram({10, 100});
    constexpr int kThreads = 40;
    constexpr int kPerThread = 20000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&histogram, t] {
            for (int i = 0; i < kPerThread; ++i) histogram.observe(t % 2 == 0 ? 3.0 : 50.0);
        });
    }
    for (auto& thread : threads) thread.join();
    const auto snapshot = histogram.snapshot();
    const std::uint64_t half = std::uint64_t{kThreads / 2} * kPerThread;
    EXPECT_EQ(snapshot.cumulative_counts, (std::vector<std::uint64_t>{half, 2 * half, 2 * half}));
    EXPECT_EQ(snapshot.count, 2 * half);
    EXPECT_EQ(snapshot.sum, static_cast<double>(half) * (3.0 + 50.0));
}

}  // namespace
}  // namespace sharegate_test
