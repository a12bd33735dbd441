// Portable mining kernel: one nonce at a time in 64-bit integers.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "keccak_ops_scalar.hpp"
#include "keccak_unrolled.hpp"
#include "miner.hpp"
#include "sharegate/bytes.hpp"

namespace sharegate::cpu {
namespace {

using Keccak = keccak_detail::ShareKeccak<ScalarOps>;

}  // namespace

SHAREGATE_KERNEL_INLINE_ALL std::size_t mine_scalar(const MiningJob& job, std::uint64_t first_counter,
                                                    std::size_t count, std::vector<Found>& out) {
    const keccak_detail::BatchConstants constants = Keccak::batch_constants(job.challenge.data(), job.pool.data());
    const Keccak::FirstRound first = Keccak::prepare(constants);
    const std::uint64_t n0 = load_le64(job.nonce_prefix.data());
    const std::uint64_t n1 = load_le64(job.nonce_prefix.data() + 8);
    const std::uint64_t n2 = load_le64(job.nonce_prefix.data() + 16);
    // The digest's top 64 bits against the target's: a cheap filter that lets through
    // every share below the target (and a few more, for record_candidate to drop).
    const std::uint64_t top_limit = job.target.limbs[3];
    std::size_t found = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t counter = first_counter + i;
        // The counter is the nonce's last 8 bytes, big-endian; Keccak reads lanes
        // little-endian.
        std::uint64_t varying[5];
        keccak_detail::nonce_lanes(constants, n0, n1, n2, __builtin_bswap64(counter), varying);
        std::uint64_t lanes[4];
        Keccak::digest_lanes(first, varying, lanes);
        if (__builtin_bswap64(lanes[0]) <= top_limit && mining_detail::record_candidate(job, counter, lanes, out)) {
            ++found;
        }
    }
    return found;
}

}  // namespace sharegate::cpu
