// PoolState (pool/pool_state.hpp): what it returns, and that a challenge read while
// another thread changes it is always one whole challenge, never a mix of two.
#include "pool/pool_state.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

namespace {

using sharegate::Bytes32;
using sharegate::pool::PoolState;

Bytes32 filled(std::uint8_t byte) {
    Bytes32 out;
    out.fill(byte);
    return out;
}

TEST(PoolStateTest, NoChallengeUntilOneIsSet) {
    PoolState state;
    EXPECT_FALSE(state.challenge().has_value());
    EXPECT_TRUE(state.set_challenge(filled(1)));
    EXPECT_EQ(state.challenge(), filled(1));
}

TEST(PoolStateTest, TheSameChallengeAgainChangesNothing) {
    PoolState state;
    EXPECT_TRUE(state.set_challenge(filled(1)));
    EXPECT_FALSE(state.set_challenge(filled(1)));
    EXPECT_TRUE(state.set_challenge(filled(2)));
    EXPECT_EQ(state.challenge(), filled(2));
    Bytes32 one_byte_apart = filled(2);
    one_byte_apart[31] = 3;
    EXPECT_TRUE(state.set_challenge(one_byte_apart));
    EXPECT_EQ(state.challenge(), one_byte_apart);
}

// Readers take no lock (a sequence lock): every read must still be one of the challenges
// written, whole. Each challenge here is one byte repeated, so a torn read shows as two
// different bytes.
TEST(PoolStateTest, ReadersNeverSeeHalfOfAChange) {
    PoolState state;
    state.set_challenge(filled(0));
    std::atomic<bool> done{false};
    std::atomic<long> torn{0};
    std::atomic<long> reads{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 3; ++r) {
        readers.emplace_back([&] {
            while (!done.load(std::memory_order_relaxed)) {
                const std::optional<Bytes32> seen = state.challenge();
                reads.fetch_add(1, std::memory_order_relaxed);
                if (!seen) {
                    torn.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                for (std::uint8_t byte : *seen) {
                    if (byte != (*seen)[0]) {
                        torn.fetch_add(1, std::memory_order_relaxed);
                        break;
                    }
                }
            }
        });
    }
    // Changes go on until the readers have read plenty meanwhile, however the threads ran.
    int written = 0;
    while (reads.load(std::memory_order_relaxed) < 500000) {
        ++written;
        state.set_challenge(filled(static_cast<std::uint8_t>(written % 251)));
    }
    done = true;
    for (auto& reader : readers) reader.join();
    EXPECT_EQ(torn.load(), 0);
    EXPECT_EQ(state.challenge(), filled(static_cast<std::uint8_t>(written % 251)));
}

}  // namespace
