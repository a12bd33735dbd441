// Every backend this machine can make, held to the reference computed here with the
// portable Keccak and U256 comparison.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend_cases.hpp"
#include "sharegate/self_test.hpp"
#include "sharegate/verifier.hpp"
#include "test_util.hpp"

namespace sharegate_test {
namespace {

using sharegate::make_verifier;
using sharegate::Verifier;
using sharegate::VerifierOptions;

// Options that make a CPU backend split even small batches across threads.
constexpr VerifierOptions kSplitting{.threads = 4, .min_shares_per_thread = 1};
constexpr VerifierOptions kSplittingThree{.threads = 3, .min_shares_per_thread = 64};

// Around every SIMD width (4, 8) and piece alignment (64), and a few larger ones.
constexpr std::size_t kRaggedSizes[] = {0,  1,  2,  3,  4,  5,  6,  7,   8,   9,   15,  16,  17,  23,
                                        24, 25, 31, 33, 63, 64, 65, 127, 128, 129, 200, 257, 1000};

// Distinct shares repeat with a prime period, so that no piece boundary (multiples of
// 64) lines up with a repetition, and the reference hash runs 40009 times, not a million.
const ReferenceBatch& huge_batch() {
    static const ReferenceBatch batch = make_mixed_batch(1000003, 0xb16b00b5, 40009);
    return batch;
}

class BackendTest : public ::testing::TestWithParam<std::string> {
protected:
    // Leaves out empty after failing the test or skipping it. Only a backend this machine
    // or build genuinely lacks is skipped, with the factory's reason: one that is there but
    // broken (a kernel that does not build, a wrong self-test answer) fails, as does a
    // backend that must exist here.
    void make(const VerifierOptions& options, std::unique_ptr<Verifier>& out) {
        auto result = make_verifier(GetParam(), options);
        if (!result) {
            if (must_be_available(GetParam())) {
                ADD_FAILURE() << GetParam() << " must be available here: " << result.error;
                return;
            }
            if (result.refusal != sharegate::Refusal::unavailable) {
                ADD_FAILURE() << GetParam() << " is there but was refused as " << sharegate::to_string(result.refusal)
                              << ": " << result.error;
                return;
            }
            GTEST_SKIP() << "unavailable: " << result.error;
        }
        out = std::move(result.verifier);
    }
};

TEST_P(BackendTest, KnownAnswerBatch) {
    for (const auto& options : {VerifierOptions{}, kSplitting}) {
        std::unique_ptr<Verifier> verifier;
        make(options, verifier);
        if (!verifier) return;
        auto kat = sharegate::known_answer_batch();
        EXPECT_EQ(verify_and_describe(*verifier, ReferenceBatch{std::move(kat.batch), std::move(kat.expected)}), "");
    }
}

TEST_P(BackendTest, RaggedBatchSizes) {
    for (const auto& options : {VerifierOptions{}, kSplitting, kSplittingThree}) {
        std::unique_ptr<Verifier> verifier;
        make(options, verifier);
        if (!verifier) return;
        for (std::size_t n : kRaggedSizes) {
            EXPECT_EQ(verify_and_describe(*verifier, make_mixed_batch(n, 1000 + n)), "")
                << n << " shares, " << options.threads << " threads";
        }
    }
}

TEST_P(BackendTest, MixedRandomBatches) {
    std::unique_ptr<Verifier> verifier;
    make({}, verifier);
    if (!verifier) return;
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        EXPECT_EQ(verify_and_describe(*verifier, make_mixed_batch(20011, seed)), "") << "seed " << seed;
    }
}

TEST_P(BackendTest, HugeBatchSplitAcrossThreads) {
    // Pieces of about 250000 shares, rounded by the backend; the last is not a multiple of 8.
    std::unique_ptr<Verifier> verifier;
    make(VerifierOptions{.threads = 4, .min_shares_per_thread = 1000}, verifier);
    if (!verifier) return;
    const ReferenceBatch& reference = huge_batch();
    // Exactly as many slots as shares, so that a sanitizer sees any write past the end.
    std::vector<Verdict> got(reference.batch.size(), kNoVerdict);
    verifier->verify(reference.batch, got);
    EXPECT_EQ(describe_mismatches(reference.batch, reference.expected, got), "");
}

TEST_P(BackendTest, SameVerifierAcrossBatchesAndHeaders) {
    std::unique_ptr<Verifier> verifier;
    make(kSplitting, verifier);
    if (!verifier) return;
    ShareBatch reused;
    for (std::uint64_t seed = 0; seed < 12; ++seed) {
        const ReferenceBatch fresh = make_mixed_batch(1 + seed * 37, 5000 + seed);
        EXPECT_EQ(verify_and_describe(*verifier, fresh), "") << "seed " << seed;
        // The same shares again through one ShareBatch that is reset each time.
        reused.reset(fresh.batch.challenge(), fresh.batch.pool());
        for (std::size_t i = 0; i < fresh.batch.size(); ++i) {
            reused.add(fresh.batch.nonce(i), fresh.batch.claimed_digest(i), fresh.batch.target(i));
        }
        EXPECT_EQ(verify_and_describe(*verifier, ReferenceBatch{reused, fresh.expected}), "")
            << "reused batch, seed " << seed;
    }
}

TEST_P(BackendTest, EveryHeaderAndNonceByteIsHashed) {
    std::unique_ptr<Verifier> verifier;
    make({}, verifier);
    if (!verifier) return;
    Rng rng(77);
    const Bytes32 challenge = rng.bytes<32>();
    const Bytes20 pool = rng.bytes<20>();
    std::vector<Bytes32> nonces;
    std::vector<U256> digests;
    for (int i = 0; i < 9; ++i) {
        nonces.push_back(rng.bytes<32>());
        digests.push_back(true_digest(challenge, pool, nonces.back()));
    }
    // Correct shares under a header with one bit changed: every one must be refused.
    auto check_header = [&](const Bytes32& c, const Bytes20& p, const std::string& what) {
        ReferenceBatch reference{ShareBatch(c, Address(p)), {}};
        for (std::size_t i = 0; i < nonces.size(); ++i) {
            reference.batch.add(nonces[i], digests[i], U256::max());
            reference.expected.push_back(reference_verdict(true_digest(c, p, nonces[i]), digests[i], U256::max()));
        }
        EXPECT_EQ(verify_and_describe(*verifier, reference), "") << what;
    };
    check_header(challenge, pool, "unchanged header");
    for (std::size_t j = 0; j < 32; ++j) {
        Bytes32 c = challenge;
        c[j] ^= static_cast<std::uint8_t>(1u << (j % 8));
        check_header(c, pool, "challenge byte " + std::to_string(j));
    }
    for (std::size_t j = 0; j < 20; ++j) {
        Bytes20 p = pool;
        p[j] ^= static_cast<std::uint8_t>(0x80u >> (j % 8));
        check_header(challenge, p, "pool byte " + std::to_string(j));
    }
    // And one flipped bit in each nonce byte, the claimed digest left as it was.
    ReferenceBatch reference{ShareBatch(challenge, Address(pool)), {}};
    for (std::size_t j = 0; j < 32; ++j) {
        for (unsigned bit : {0u, 7u}) {
            Bytes32 nonce = nonces[j % nonces.size()];
            nonce[j] ^= static_cast<std::uint8_t>(1u << bit);
            const U256& claimed = digests[j % nonces.size()];
            reference.batch.add(nonce, claimed, U256::max());
            reference.expected.push_back(reference_verdict(true_digest(challenge, pool, nonce), claimed, U256::max()));
        }
    }
    EXPECT_EQ(verify_and_describe(*verifier, reference), "") << "nonce bit flips";
}

// Verifier::verify's own check, the same for every backend.
TEST_P(BackendTest, RefusesAVerdictSpanShorterThanTheBatch) {
    std::unique_ptr<Verifier> verifier;
    make(kSplitting, verifier);
    if (!verifier) return;
    const ReferenceBatch reference = make_mixed_batch(100, 99);
    std::vector<Verdict> got(reference.batch.size() + 1, kNoVerdict);
    EXPECT_THROW(verifier->verify(reference.batch, std::span(got).first(reference.batch.size() - 1)),
                 std::invalid_argument);
    for (const Verdict verdict : got) EXPECT_EQ(verdict, kNoVerdict);
    // The refusal leaves the backend working.
    EXPECT_EQ(verify_and_describe(*verifier, reference), "");
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest, ::testing::ValuesIn(every_verifier_name()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return test_name_of(info.param); });

// The generated batches must actually contain every kind of share the backends are held to.
TEST(MixedBatchTest, CoversEveryVerdictAndTheCloseCalls) {
    const ReferenceBatch reference = make_mixed_batch(20011, 1);
    std::map<Verdict, std::size_t> counts;
    std::size_t digest_equals_target = 0;
    std::size_t target_one_above = 0;
    for (std::size_t i = 0; i < reference.batch.size(); ++i) {
        ++counts[reference.expected[i]];
        const U256 claimed = reference.batch.claimed_digest(i);
        const U256 target = reference.batch.target(i);
        digest_equals_target += claimed == target;
        target_one_above += add_u64(claimed, 1) == target;
    }
    EXPECT_GT(counts[Verdict::accepted], 2000u);
    EXPECT_GT(counts[Verdict::invalid_digest], 2000u);
    EXPECT_GT(counts[Verdict::target_not_met], 2000u);
    EXPECT_GT(digest_equals_target, 1000u);
    EXPECT_GT(target_one_above, 1000u);
}

}  // namespace
}  // namespace sharegate_test
