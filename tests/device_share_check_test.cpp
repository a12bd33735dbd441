// The GPU backends' per-share check (core/include/sharegate/device/share_check.h),
// compiled here as host C++ and held to the reference: a wrong round, rotation or
// lane offset in the device source fails on every machine, not only on one with a GPU.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sharegate/device/share_check.h"
#include "sharegate/self_test.hpp"
#include "test_util.hpp"

namespace sharegate_test {
namespace {

std::vector<Verdict> check_with_device_source(const ShareBatch& batch) {
    const sharegate::BatchView view = batch.view();
    const sg_batch_header header = sg_make_batch_header(view.challenge, view.pool);
    std::vector<Verdict> verdicts(view.size, kNoVerdict);
    for (std::size_t i = 0; i < view.size; ++i) {
        const sg_u64* target = view.target_table + 4 * std::size_t{view.target_index[i]};
        verdicts[i] = static_cast<Verdict>(sg_check_share(
            header, view.nonce_words[0][i], view.nonce_words[1][i], view.nonce_words[2][i], view.nonce_words[3][i],
            view.digest_limbs[0][i], view.digest_limbs[1][i], view.digest_limbs[2][i], view.digest_limbs[3][i],
            target[0], target[1], target[2], target[3]));
    }
    return verdicts;
}

TEST(DeviceShareCheckTest, VerdictCodesAreTheVerdictEnum) {
    EXPECT_EQ(SG_ACCEPTED, static_cast<int>(Verdict::accepted));
    EXPECT_EQ(SG_INVALID_DIGEST, static_cast<int>(Verdict::invalid_digest));
    EXPECT_EQ(SG_TARGET_NOT_MET, static_cast<int>(Verdict::target_not_met));
}

TEST(DeviceShareCheckTest, KnownAnswerBatch) {
    const auto kat = sharegate::known_answer_batch();
    const auto got = check_with_device_source(kat.batch);
    EXPECT_EQ(describe_mismatches(kat.batch, kat.expected, got), "");
}

TEST(DeviceShareCheckTest, MixedRandomBatches) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        const ReferenceBatch reference = make_mixed_batch(5003, 700 + seed);
        EXPECT_EQ(describe_mismatches(reference.batch, reference.expected, check_with_device_source(reference.batch)),
                  "")
            << "seed " << seed;
    }
}

TEST(DeviceShareCheckTest, HeaderFoldsEveryChallengeAndPoolByte) {
    Rng rng(4);
    const Bytes32 challenge = rng.bytes<32>();
    const Bytes20 pool = rng.bytes<20>();
    const Bytes32 nonce = rng.bytes<32>();
    const U256 digest = true_digest(challenge, pool, nonce);
    auto verdict_under = [&](const Bytes32& c, const Bytes20& p) {
        ShareBatch batch(c, Address(p));
        batch.add(nonce, digest, U256::max());
        return check_with_device_source(batch)[0];
    };
    EXPECT_EQ(verdict_under(challenge, pool), Verdict::accepted);
    for (std::size_t j = 0; j < 32; ++j) {
        Bytes32 c = challenge;
        c[j] ^= 0x10;
        EXPECT_EQ(verdict_under(c, pool), Verdict::invalid_digest) << "challenge byte " << j;
    }
    for (std::size_t j = 0; j < 20; ++j) {
        Bytes20 p = pool;
        p[j] ^= 0x01;
        EXPECT_EQ(verdict_under(challenge, p), Verdict::invalid_digest) << "pool byte " << j;
    }
}

}  // namespace
}  // namespace sharegate_test
