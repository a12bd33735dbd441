// pool::DuplicateFilter on its own: what it records, what it forgets, and the bound it
// never exceeds.
#include "pool/duplicate_filter.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <utility>

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

// peek answers what first_sighting would, and records nothing.
TEST(DuplicateFilter, PeekRecordsNothing) {
    DuplicateFilter filter(2);
    EXPECT_EQ(filter.peek(kChallenge, nonce(1)), Sighting::first);
    EXPECT_EQ(filter.peek(kChallenge, nonce(1)), Sighting::first);
    EXPECT_EQ(filter.size(), 0u);
    filter.first_sighting(kChallenge, nonce(1));
    EXPECT_EQ(filter.peek(kChallenge, nonce(1)), Sighting::duplicate);
    EXPECT_EQ(filter.peek(kOtherChallenge, nonce(1)), Sighting::first);
    filter.first_sighting(kChallenge, nonce(2));
    // At the bound: a new pair would not be recorded, one held is still a duplicate.
    EXPECT_EQ(filter.peek(kChallenge, nonce(3)), Sighting::full);
    EXPECT_EQ(filter.peek(kChallenge, nonce(2)), Sighting::duplicate);
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

// Records and forgets in random order, checked against a plain set: what the table holds
// after each step is what the set holds. Erasing from an open-addressing table moves
// entries back into the hole; a wrong move loses a recorded share (a later resend would
// be "first" again) or leaves a forgotten one (a later honest share "duplicate").
TEST(DuplicateFilter, AgreesWithAPlainSetUnderRandomRecordAndForget) {
    DuplicateFilter filter(1u << 20);
    std::set<std::pair<std::uint32_t, std::uint32_t>> model;
    std::mt19937 random(12345);
    for (int step = 0; step < 200000; ++step) {
        // A small key space, so that the same keys come back, collide and are forgotten.
        const std::uint32_t c = random() % 2, n = random() % 5000;
        const Bytes32& challenge = c == 0 ? kChallenge : kOtherChallenge;
        if (random() % 3 == 0) {
            filter.forget(challenge, nonce(n));
            model.erase({c, n});
        } else {
            const bool fresh = model.insert({c, n}).second;
            ASSERT_EQ(filter.first_sighting(challenge, nonce(n)), fresh ? Sighting::first : Sighting::duplicate)
                << "step " << step;
        }
        ASSERT_EQ(filter.size(), model.size()) << "step " << step;
    }
    for (std::uint32_t c = 0; c < 2; ++c)
        for (std::uint32_t n = 0; n < 5000; ++n) {
            const bool held = model.count({c, n}) > 0;
            ASSERT_EQ(filter.first_sighting(c == 0 ? kChallenge : kOtherChallenge, nonce(n)),
                      held ? Sighting::duplicate : Sighting::first)
                << c << " " << n;
        }
}

}  // namespace
