// pool::DuplicateFilter on its own: what it records, what it forgets, and the bound it
// never exceeds.
#include "pool/duplicate_filter.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>

namespace {

using sharegate::Bytes32;
using sharegate::pool::DuplicateFilter;
using Sighting = DuplicateFilter::Sighting;

Bytes32 nonce(std::uint32_t n) {
    Bytes32 b{};
    for (std::size_t i = 0; i < 4; ++i) b[28 + i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
    return b;
}

const Bytes32 kChallenge = nonce(0xc0ffee);
const Bytes32 kOtherChallenge = nonce(0xbeef);

TEST(DuplicateFilter, RecordsOnceThenCallsItADuplicate) {
    DuplicateFilter filter(16);
    EXPECT_EQ(filter.first_sighting(kChallenge, nonce(1)), Sighting::first);
    EXPECT_EQ(filter.first_sighting(kChallenge, nonce(1)), Sighting::duplicate);
    // The pair is the key: the same nonce under another challenge is another share.
    EXPECT_EQ(filter.first_sighting(kOtherChallenge, nonce(1)), Sighting::first);
    EXPECT_EQ(filter.size(), 2u);
}

TEST(DuplicateFilter, ForgottenIsFirstAgain) {
    DuplicateFilter filter(16);
    filter.first_sighting(kChallenge, nonce(1));
    filter.forget(kChallenge, nonce(1));
    EXPECT_EQ(filter.size(), 0u);
    EXPECT_EQ(filter.first_sighting(kChallenge, nonce(1)), Sighting::first);
    filter.forget(kChallenge, nonce(2));  // never recorded: nothing happens
    EXPECT_EQ(filter.size(), 1u);
}

// A flood of fresh nonces never takes it past its bound; what it holds stays a duplicate
// (never evicted), and nothing new gets in until room is made.
TEST(DuplicateFilter, TheBoundHolds) {
    constexpr std::size_t kBound = 1000;
    DuplicateFilter filter(kBound);
    EXPECT_EQ(filter.max_entries(), kBound);
    std::size_t first = 0, full = 0;
    for (std::uint32_t n = 0; n < 5 * kBound; ++n) {
        const Sighting s = filter.first_sighting(kChallenge, nonce(n));
        first += s == Sighting::first;
        full += s == Sighting::full;
        ASSERT_LE(filter.size(), kBound);
    }
    EXPECT_EQ(first, kBound);
    EXPECT_EQ(full, 4 * kBound);
    EXPECT_EQ(filter.size(), kBound);
    for (std::uint32_t n = 0; n < kBound; ++n)
        EXPECT_EQ(filter.first_sighting(kChallenge, nonce(n)), Sighting::duplicate);
    EXPECT_EQ(filter.first_sighting(kChallenge, nonce(kBound)), Sighting::full);

    filter.forget(kChallenge, nonce(7));
    EXPECT_EQ(filter.first_sighting(kChallenge, nonce(kBound)), Sighting::first);
    EXPECT_EQ(filter.first_sighting(kChallenge, nonce(7)), Sighting::full);
    EXPECT_EQ(filter.size(), kBound);
}

TEST(DuplicateFilter, ClearEmptiesItAndTheBoundStartsAfresh) {
    DuplicateFilter filter(4);
    for (std::uint32_t n = 0; n < 4; ++n) filter.first_sighting(kChallenge, nonce(n));
    EXPECT_EQ(filter.first_sighting(kChallenge, nonce(4)), Sighting::full);
    filter.clear();
    EXPECT_EQ(filter.size(), 0u);
    for (std::uint32_t n = 0; n < 4; ++n) EXPECT_EQ(filter.first_sighting(kOtherChallenge, nonce(n)), Sighting::first);
    EXPECT_EQ(filter.first_sighting(kOtherChallenge, nonce(4)), Sighting::full);
}

}  // namespace
