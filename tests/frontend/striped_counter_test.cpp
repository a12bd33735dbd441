// sharegate/striped_counter.hpp: every thread's adds are in the total, whichever stripes
// the threads were dealt, and a thread keeps its stripe.
#include "sharegate/striped_counter.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace sharegate_test {
namespace {

using sharegate::kThreadStripes;
using sharegate::StripedCounter;
using sharegate::this_thread_stripe;

TEST(StripedCounter, StartsAtZeroAndSumsOneThreadsAdds) {
    StripedCounter counter;
    EXPECT_EQ(counter.load(), 0u);
    counter.fetch_add(3);
    counter.fetch_add(4, std::memory_order_relaxed);
    EXPECT_EQ(counter.load(std::memory_order_relaxed), 7u);
}

TEST(StripedCounter, AThreadKeepsItsStripe) {
    const std::size_t mine = this_thread_stripe();
    EXPECT_LT(mine, kThreadStripes);
    EXPECT_EQ(this_thread_stripe(), mine);
}

// More threads than stripes, so that some share one: every add is counted, and reads
// while they add never see more than has been added.
TEST(StripedCounter, EveryThreadsAddsAreCounted) {
    StripedCounter counter;
    constexpr std::uint64_t kThreads = 3 * kThreadStripes;
    constexpr std::uint64_t kAdds = 20000;
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < kThreads; ++t) {
        threads.emplace_back([&counter] {
            for (std::uint64_t i = 0; i < kAdds; ++i) counter.fetch_add(1, std::memory_order_relaxed);
        });
    }
    for (int i = 0; i < 100; ++i) EXPECT_LE(counter.load(std::memory_order_relaxed), kThreads * kAdds);
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(counter.load(), kThreads * kAdds);
}

}  // namespace
}  // namespace sharegate_test
