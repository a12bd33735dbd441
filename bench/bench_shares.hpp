// Synthetic share sets for benchmarks: real digests for random nonces, with a known
// mix of accepted, corrupted and target-missing shares, and the verdict each must get.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sharegate/share_batch.hpp"

namespace sharegate::bench {

struct ShareSet {
    std::vector<ShareBatch> batches;             // the shares, cut into batches of the requested size
    std::vector<std::vector<Verdict>> expected;  // per batch, the reference verdicts
    std::size_t shares = 0;
};

// Hashes every share with the reference Keccak, so building a set of N shares costs
// about N / 3 million seconds; build once, measure many times.
ShareSet make_share_set(std::size_t shares, std::size_t batch_size, std::uint64_t seed);

}  // namespace sharegate::bench
