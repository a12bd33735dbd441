#include "bench_shares.hpp"

#include <algorithm>
#include <random>

#include "sharegate/keccak.hpp"

namespace sharegate::bench {

ShareSet make_share_set(std::size_t shares, std::size_t batch_size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes32 challenge;
    for (auto& b : challenge) b = static_cast<std::uint8_t>(rng());
    Bytes20 pool_bytes;
    for (auto& b : pool_bytes) b = static_cast<std::uint8_t>(rng());
    const Address pool(pool_bytes);
    // A pool-like spread of difficulties; with N = 255 about half the shares meet theirs.
    constexpr unsigned kMaxTargetBits = 255;
    const std::uint64_t difficulties[] = {1, 2, 3, 4000};

    ShareSet set;
    set.shares = shares;
    batch_size = std::max<std::size_t>(batch_size, 1);
    for (std::size_t done = 0; done < shares;) {
        const std::size_t n = std::min(batch_size, shares - done);
        ShareBatch batch(challenge, pool);
        batch.reserve(n);
        std::vector<Verdict> expected;
        expected.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            Bytes32 nonce;
            for (int k = 0; k < 4; ++k) {
                const std::uint64_t word = rng();
                for (int j = 0; j < 8; ++j)
                    nonce[static_cast<std::size_t>(8 * k + j)] = static_cast<std::uint8_t>(word >> (8 * j));
            }
            U256 digest = U256::from_be_bytes(share_digest(challenge, pool_bytes, nonce));
            const U256 target = share_target(kMaxTargetBits, difficulties[rng() % 4]);
            // One share in four carries a corrupted digest, as a flood of junk would.
            const bool corrupt = rng() % 4 == 0;
            if (corrupt) digest.limbs[rng() % 4] ^= 1ULL << (rng() % 64);
            batch.add(nonce, digest, target);
            expected.push_back(corrupt           ? Verdict::invalid_digest
                               : digest < target ? Verdict::accepted
                                                 : Verdict::target_not_met);
        }
        set.batches.push_back(std::move(batch));
        set.expected.push_back(std::move(expected));
        done += n;
    }
    return set;
}

}  // namespace sharegate::bench
