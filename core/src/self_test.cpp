#include "sharegate/self_test.hpp"

#include <stdexcept>
#include <string>

#include "sharegate/keccak.hpp"
#include "sharegate/seed_share.hpp"
#include "sharegate/verifier.hpp"

namespace sharegate {

namespace {

// The seed's share (protocol.md section 1) and the first mined shares of
// tests/vectors/valid_d1.jsonl, all for the seed's challenge and pool address.
constexpr const char* kChallenge = seed::kChallenge;
constexpr const char* kPool = seed::kPool;
constexpr unsigned kMaxTargetBits = 234;

struct RealShare {
    const char* nonce;
    const char* digest;
    std::uint64_t difficulty;
};

constexpr RealShare kRealShares[] = {
    {seed::kNonce, seed::kDigest, seed::kDifficulty},
    {"0xd4dfc873fc8693540ea4b4f8b951c6c315fd4b96897848c200000000001a171a",
     "0x0000033f70caf9bcfa108aeb841b4cac208bb8c2a80df22ca19af1cdf15bb9ad", 1},
    {"0xd4dfc873fc8693540ea4b4f8b951c6c315fd4b96897848c2000000000040f44a",
     "0x000000007586ee6dc8d36e056736b22a8865818db1e36a1a33a11993acf30bb6", 1},
    {"0xd4dfc873fc8693540ea4b4f8b951c6c315fd4b96897848c200000000005b8ec2",
     "0x00000047bd3b794adff1bee046e0be226a4020ae6ef48edf9ffb7bd9979af8ec", 1},
};

U256 plus(U256 v, std::uint64_t amount) {
    for (auto& limb : v.limbs) {
        const std::uint64_t before = limb;
        limb += amount;
        if (limb >= before) break;
        amount = 1;
    }
    return v;
}

U256 minus_one(U256 v) {
    for (auto& limb : v.limbs) {
        if (limb-- != 0) break;
    }
    return v;
}

// The reference implementation must itself be right before it judges anyone.
void check_reference_keccak() {
    const auto empty = keccak256(std::string_view{});
    const auto abc = keccak256(std::string_view{"abc"});
    if (to_hex(empty) != "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470" ||
        to_hex(abc) != "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
        throw std::logic_error("reference Keccak-256 disagrees with its known answers");
}

}  // namespace

KnownAnswerBatch known_answer_batch() {
    check_reference_keccak();
    const Bytes32 challenge = *parse_hex32(kChallenge);
    const Address pool = *Address::parse(kPool);
    KnownAnswerBatch kat{ShareBatch(challenge, pool), {}};
    auto add = [&](const Bytes32& nonce, const U256& digest, const U256& target, Verdict expected) {
        kat.batch.add(nonce, digest, target);
        kat.expected.push_back(expected);
    };

    for (const auto& share : kRealShares) {
        const Bytes32 nonce = *parse_hex32(share.nonce);
        const U256 digest = *U256::from_hex32(share.digest);
        if (U256::from_be_bytes(share_digest(challenge, pool.bytes(), nonce)) != digest)
            throw std::logic_error("reference Keccak-256 disagrees with a known share");
        add(nonce, digest, share_target(kMaxTargetBits, share.difficulty), Verdict::accepted);
        add(nonce, digest, digest, Verdict::target_not_met);     // digest == target
        add(nonce, digest, plus(digest, 1), Verdict::accepted);  // one above
        add(nonce, digest, minus_one(digest), Verdict::target_not_met);
        add(nonce, digest, share_target(kMaxTargetBits, ~0ULL), Verdict::target_not_met);
        U256 wrong = digest;
        wrong.limbs[0] ^= 1;  // a single flipped bit in each limb must be caught
        add(nonce, wrong, U256::max(), Verdict::invalid_digest);
        wrong = digest;
        wrong.limbs[3] ^= 1ULL << 40;
        add(nonce, wrong, U256::max(), Verdict::invalid_digest);
    }
    // Deterministic pseudo-random shares, enough for two full AVX-512 groups and a tail.
    std::uint64_t state = 0x9e3779b97f4a7c15ULL;
    auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    for (int i = 0; i < 23; ++i) {
        Bytes32 nonce;
        for (auto& byte : nonce) byte = static_cast<std::uint8_t>(next());
        const U256 digest = U256::from_be_bytes(share_digest(challenge, pool.bytes(), nonce));
        switch (i % 4) {
            case 0:
                add(nonce, digest, share_target(255, 1),
                    digest < share_target(255, 1) ? Verdict::accepted : Verdict::target_not_met);
                break;
            case 1: add(nonce, digest, plus(digest, 1), Verdict::accepted); break;
            case 2: add(nonce, digest, digest, Verdict::target_not_met); break;
            default: {
                U256 wrong = digest;
                wrong.limbs[static_cast<std::size_t>(i % 3) + 1] ^= next() | 1;
                add(nonce, wrong, U256::max(), Verdict::invalid_digest);
            }
        }
    }
    return kat;
}

VerifierResult self_tested(std::unique_ptr<Verifier> verifier) {
    if (!verifier) return VerifierResult::failed("self-test: no verifier to test");
    if (std::string failure = run_self_test(*verifier); !failure.empty()) return VerifierResult::failed(failure);
    return VerifierResult::made(std::move(verifier));
}

std::string run_self_test(Verifier& verifier) {
    try {
        const KnownAnswerBatch kat = known_answer_batch();
        // The whole batch, then every prefix up to two AVX-512 groups and a half: a
        // kernel that mishandles one tail length must not pass.
        std::vector<std::size_t> lengths{kat.batch.size()};
        for (std::size_t n = 1; n <= 20 && n < kat.batch.size(); ++n) lengths.push_back(n);
        for (const std::size_t n : lengths) {
            const ShareBatch prefix = n == kat.batch.size() ? ShareBatch() : kat.batch.prefix(n);
            const ShareBatch& batch = n == kat.batch.size() ? kat.batch : prefix;
            std::vector<Verdict> got(n, static_cast<Verdict>(0xff));
            verifier.verify(batch, got);
            for (std::size_t i = 0; i < n; ++i) {
                if (got[i] != kat.expected[i]) {
                    return std::string(verifier.name()) + ": self-test failed on known answer " + std::to_string(i) +
                           " of a batch of " + std::to_string(n) + " (expected " + to_string(kat.expected[i]) +
                           ", got " + (static_cast<unsigned>(got[i]) <= 2 ? to_string(got[i]) : "no verdict") + ")";
                }
            }
        }
        return {};
    } catch (const std::exception& e) {
        return std::string(verifier.name()) + ": self-test failed: " + e.what();
    }
}

}  // namespace sharegate
