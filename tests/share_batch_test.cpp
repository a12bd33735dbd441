#include "sharegate/share_batch.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace sharegate_test {
namespace {

struct Share {
    Bytes32 nonce;
    U256 digest;
    U256 target;
};

std::vector<Share> random_shares(std::size_t n, std::uint64_t seed) {
    Rng rng(seed);
    std::vector<Share> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back({rng.bytes<32>(), rng.u256(), rng.u256()});
    return out;
}

// Bytes 8k..8k+7 of the nonce read little-endian, spelled out byte by byte.
std::uint64_t nonce_word(const Bytes32& nonce, std::size_t k) {
    std::uint64_t word = 0;
    for (std::size_t j = 0; j < 8; ++j) word |= static_cast<std::uint64_t>(nonce[8 * k + j]) << (8 * j);
    return word;
}

bool aligned_64(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }

void expect_batch_holds(const ShareBatch& batch, const Bytes32& challenge, const Address& pool,
                        const std::vector<Share>& shares) {
    ASSERT_EQ(batch.size(), shares.size());
    EXPECT_EQ(batch.empty(), shares.empty());
    EXPECT_EQ(batch.challenge(), challenge);
    EXPECT_EQ(batch.pool(), pool);
    for (std::size_t i = 0; i < shares.size(); ++i) {
        EXPECT_EQ(batch.nonce(i), shares[i].nonce) << i;
        EXPECT_EQ(batch.claimed_digest(i), shares[i].digest) << i;
        EXPECT_EQ(batch.target(i), shares[i].target) << i;
    }

    const sharegate::BatchView view = batch.view();
    ASSERT_EQ(view.size, shares.size());
    ASSERT_NE(view.challenge, nullptr);
    ASSERT_NE(view.pool, nullptr);
    for (std::size_t j = 0; j < 32; ++j) EXPECT_EQ(view.challenge[j], challenge[j]) << "challenge byte " << j;
    for (std::size_t j = 0; j < 20; ++j) EXPECT_EQ(view.pool[j], pool.bytes()[j]) << "pool byte " << j;
    if (shares.empty()) return;
    for (std::size_t k = 0; k < 4; ++k) {
        // SIMD kernels load 8 shares' limb k with one aligned load.
        EXPECT_TRUE(aligned_64(view.nonce_words[k])) << "nonce_words[" << k << "]";
        EXPECT_TRUE(aligned_64(view.digest_limbs[k])) << "digest_limbs[" << k << "]";
        for (std::size_t i = 0; i < shares.size(); ++i) {
            EXPECT_EQ(view.nonce_words[k][i], nonce_word(shares[i].nonce, k)) << "share " << i << " word " << k;
            EXPECT_EQ(view.digest_limbs[k][i], shares[i].digest.limbs[k]) << "share " << i << " limb " << k;
        }
    }
    EXPECT_TRUE(aligned_64(view.target_index));
    EXPECT_EQ(view.target_count, batch.target_count());
    for (std::size_t i = 0; i < shares.size(); ++i) {
        ASSERT_LT(view.target_index[i], view.target_count) << "share " << i;
        for (std::size_t k = 0; k < 4; ++k) {
            EXPECT_EQ(view.target_table[4 * std::size_t{view.target_index[i]} + k], shares[i].target.limbs[k])
                << "share " << i << " limb " << k;
        }
    }
}

TEST(ShareBatchTest, EqualTargetsShareOneTableEntry) {
    Rng rng(34);
    ShareBatch batch(rng.bytes<32>(), Address(rng.bytes<20>()));
    const U256 targets[3] = {rng.u256(), rng.u256(), rng.u256()};
    // Interleaved, so that the entry is found by lookup, not only as the previous one.
    for (std::size_t i = 0; i < 30; ++i) batch.add(rng.bytes<32>(), rng.u256(), targets[(i * 7) % 3]);
    EXPECT_EQ(batch.target_count(), 3u);
    for (std::size_t i = 0; i < 30; ++i) EXPECT_EQ(batch.target(i), targets[(i * 7) % 3]) << i;
    batch.clear();
    EXPECT_EQ(batch.target_count(), 0u);
    batch.add(rng.bytes<32>(), rng.u256(), targets[1]);
    EXPECT_EQ(batch.target_count(), 1u);
    EXPECT_EQ(batch.target(0), targets[1]);
}

// Past the few targets looked up along the table, a map takes over: every target, old or
// new, still finds its one entry, and after clear() the look along the table is back.
TEST(ShareBatchTest, ManyTargetsStillShareOneEntryEach) {
    Rng rng(35);
    ShareBatch batch(rng.bytes<32>(), Address(rng.bytes<20>()));
    std::vector<U256> targets;
    for (int i = 0; i < 40; ++i) targets.push_back(rng.u256());
    const auto pick = [&](std::size_t i) { return targets[(i * 17) % targets.size()]; };
    for (std::size_t round = 0; round < 2; ++round) {
        for (std::size_t i = 0; i < 200; ++i) batch.add(rng.bytes<32>(), rng.u256(), pick(i));
        EXPECT_EQ(batch.target_count(), targets.size());
        for (std::size_t i = 0; i < 200; ++i) EXPECT_EQ(batch.target(i), pick(i)) << i;
        batch.clear();
    }
}

TEST(ShareBatchTest, StartsEmpty) {
    const ShareBatch batch;
    EXPECT_EQ(batch.size(), 0u);
    EXPECT_TRUE(batch.empty());
    EXPECT_EQ(batch.view().size, 0u);
}

TEST(ShareBatchTest, AddReturnsConsecutiveIndices) {
    Rng rng(31);
    ShareBatch batch(rng.bytes<32>(), Address(rng.bytes<20>()));
    for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(batch.add(rng.bytes<32>(), rng.u256(), rng.u256()), i);
    EXPECT_EQ(batch.size(), 20u);
}

TEST(ShareBatchTest, RoundTripsEveryField) {
    Rng rng(32);
    const Bytes32 challenge = rng.bytes<32>();
    const Address pool(rng.bytes<20>());
    const auto shares = random_shares(37, 33);
    ShareBatch batch(challenge, pool);
    for (const auto& share : shares) batch.add(share.nonce, share.digest, share.target);
    expect_batch_holds(batch, challenge, pool, shares);
}

TEST(ShareBatchTest, ViewLayoutWithRecognisableBytes) {
    // Nonce byte j is j, so word k must be bytes 8k..8k+7 with byte 8k lowest.
    Bytes32 nonce;
    for (std::size_t j = 0; j < 32; ++j) nonce[j] = static_cast<std::uint8_t>(j);
    ShareBatch batch;
    batch.add(nonce, U256{{10, 11, 12, 13}}, U256{{20, 21, 22, 23}});
    const auto view = batch.view();
    EXPECT_EQ(view.nonce_words[0][0], 0x0706050403020100ULL);
    EXPECT_EQ(view.nonce_words[1][0], 0x0f0e0d0c0b0a0908ULL);
    EXPECT_EQ(view.nonce_words[3][0], 0x1f1e1d1c1b1a1918ULL);
    for (std::size_t k = 0; k < 4; ++k) {
        EXPECT_EQ(view.digest_limbs[k][0], 10 + k);
        EXPECT_EQ(view.target_table[4 * view.target_index[0] + k], 20 + k);
    }
}

TEST(ShareBatchTest, ViewAfterGrowthStillMatches) {
    // Enough adds to reallocate several times: the view must be taken afresh and be right.
    Rng rng(34);
    const Bytes32 challenge = rng.bytes<32>();
    const Address pool(rng.bytes<20>());
    const auto shares = random_shares(1025, 35);
    ShareBatch batch(challenge, pool);
    for (const auto& share : shares) batch.add(share.nonce, share.digest, share.target);
    expect_batch_holds(batch, challenge, pool, shares);
}

TEST(ShareBatchTest, ClearKeepsHeaderAndAcceptsNewShares) {
    Rng rng(36);
    const Bytes32 challenge = rng.bytes<32>();
    const Address pool(rng.bytes<20>());
    ShareBatch batch(challenge, pool);
    for (const auto& share : random_shares(50, 37)) batch.add(share.nonce, share.digest, share.target);
    batch.clear();
    expect_batch_holds(batch, challenge, pool, {});
    const auto shares = random_shares(9, 38);
    for (const auto& share : shares) batch.add(share.nonce, share.digest, share.target);
    expect_batch_holds(batch, challenge, pool, shares);
}

TEST(ShareBatchTest, ResetChangesHeaderAndEmpties) {
    Rng rng(39);
    ShareBatch batch(rng.bytes<32>(), Address(rng.bytes<20>()));
    for (const auto& share : random_shares(70, 40)) batch.add(share.nonce, share.digest, share.target);
    const Bytes32 challenge = rng.bytes<32>();
    const Address pool(rng.bytes<20>());
    batch.reset(challenge, pool);
    expect_batch_holds(batch, challenge, pool, {});
    const auto shares = random_shares(17, 41);
    batch.reserve(1000);
    for (const auto& share : shares) batch.add(share.nonce, share.digest, share.target);
    expect_batch_holds(batch, challenge, pool, shares);
}

TEST(ShareBatchTest, CopiesAreIndependent) {
    Rng rng(42);
    const Bytes32 challenge = rng.bytes<32>();
    const Address pool(rng.bytes<20>());
    auto shares = random_shares(12, 43);
    ShareBatch original(challenge, pool);
    for (const auto& share : shares) original.add(share.nonce, share.digest, share.target);
    const ShareBatch copy = original;
    original.clear();
    expect_batch_holds(copy, challenge, pool, shares);
}

TEST(VerdictTest, EveryVerdictHasItsOwnName) {
    std::set<std::string> names;
    for (Verdict v : {Verdict::accepted, Verdict::invalid_digest, Verdict::target_not_met}) {
        names.insert(sharegate::to_string(v));
    }
    EXPECT_EQ(names.size(), 3u);
}

}  // namespace
}  // namespace sharegate_test
