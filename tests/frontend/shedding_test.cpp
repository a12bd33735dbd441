// The per-connection submit rate limit and load shedding's order of refusal, alone.
#include <gtest/gtest.h>

#include "pool/load_shedding.hpp"
#include "server/token_bucket.hpp"

namespace sharegate {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, BurstThenRate) {
    const auto t0 = server::TokenBucket::Clock::time_point(1000s);
    server::TokenBucket bucket(100, 200, t0);
    int taken = 0;
    while (bucket.take(t0)) ++taken;
    EXPECT_EQ(taken, 200);
    EXPECT_FALSE(bucket.take(t0 + 5ms));  // half a token
    EXPECT_TRUE(bucket.take(t0 + 10ms));  // one token a 10 ms
    EXPECT_FALSE(bucket.take(t0 + 10ms));
    // A second refills 100, not more than the burst however long the pause.
    taken = 0;
    while (bucket.take(t0 + 1010ms)) ++taken;
    EXPECT_EQ(taken, 100);
    taken = 0;
    while (bucket.take(t0 + 1h)) ++taken;
    EXPECT_EQ(taken, 200);
}

TEST(TokenBucket, RateZeroIsNoLimit) {
    const auto t0 = server::TokenBucket::Clock::time_point(1000s);
    server::TokenBucket bucket(0, 1, t0);
    for (int i = 0; i < 100000; ++i) ASSERT_TRUE(bucket.take(t0));
}

TEST(TokenBucket, ClockGoingBackDoesNotRefill) {
    const auto t0 = server::TokenBucket::Clock::time_point(1000s);
    server::TokenBucket bucket(1, 1, t0);
    EXPECT_TRUE(bucket.take(t0));
    EXPECT_FALSE(bucket.take(t0 - 10s));
    EXPECT_FALSE(bucket.take(t0 + 500ms));
    EXPECT_TRUE(bucket.take(t0 + 1s));
}

pool::Standing standing(std::size_t in_flight, double invalid) { return pool::Standing{in_flight, 8, invalid}; }

TEST(LoadShedding, WorstRecordIsRefusedFirst) {
    pool::LoadShedding shedding(1000);
    const auto honest = standing(1, 0.0);   // waits for each answer, all valid
    const auto flooder = standing(8, 1.0);  // every slot used, all invalid
    const auto busy = standing(8, 0.0);     // valid but pipelining hard
    for (std::size_t queued : {0u, 100u, 499u}) {
        EXPECT_FALSE(shedding.refuse(queued, flooder)) << queued;
        EXPECT_FALSE(shedding.refuse(queued, honest)) << queued;
    }
    EXPECT_TRUE(shedding.refuse(500, flooder));
    EXPECT_FALSE(shedding.refuse(500, busy));
    EXPECT_TRUE(shedding.refuse(750, busy));
    EXPECT_FALSE(shedding.refuse(960, honest));
    EXPECT_TRUE(shedding.refuse(969, honest));
    // At the bound, everyone: the queue never grows past it.
    EXPECT_TRUE(shedding.refuse(1000, standing(0, 0.0)));
    EXPECT_TRUE(shedding.refuse(5000, standing(0, 0.0)));
    EXPECT_FALSE(shedding.refuse(999, standing(0, 0.0)));
}

TEST(LoadShedding, BadnessAddsInvalidShareAndSlotsUsed) {
    EXPECT_DOUBLE_EQ(pool::LoadShedding::badness(standing(0, 0.0)), 0.0);
    EXPECT_DOUBLE_EQ(pool::LoadShedding::badness(standing(4, 0.0)), 0.5);
    EXPECT_DOUBLE_EQ(pool::LoadShedding::badness(standing(4, 0.25)), 0.75);
    EXPECT_DOUBLE_EQ(pool::LoadShedding::badness(standing(100, 7.0)), 2.0);  // clamped
    EXPECT_TRUE(pool::LoadShedding(1000).relieved(249));
    EXPECT_FALSE(pool::LoadShedding(1000).relieved(250));
}

}  // namespace
}  // namespace sharegate
