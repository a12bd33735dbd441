// Portable kernel: one share at a time in 64-bit integers. It is the fallback for any
// x86-64 (and any other target), and the yardstick the SIMD kernels are measured by.
#include <cstddef>
#include <cstdint>

#include "keccak_ops_scalar.hpp"
#include "keccak_unrolled.hpp"
#include "kernels.hpp"

namespace sharegate::cpu {
namespace {

using Keccak = keccak_detail::ShareKeccak<ScalarOps>;

std::uint64_t byte_swap(std::uint64_t value) {
    value = ((value & 0x00ff00ff00ff00ffULL) << 8) | ((value >> 8) & 0x00ff00ff00ff00ffULL);
    value = ((value & 0x0000ffff0000ffffULL) << 16) | ((value >> 16) & 0x0000ffff0000ffffULL);
    return (value << 32) | (value >> 32);
}

}  // namespace

SHAREGATE_KERNEL_INLINE_ALL void verify_scalar(const BatchView& batch, std::size_t begin, std::size_t end,
                                               Verdict* verdicts) {
    if (begin >= end) return;
    const keccak_detail::BatchConstants constants = Keccak::batch_constants(batch.challenge, batch.pool);
    const Keccak::FirstRound first = Keccak::prepare(constants);
    for (std::size_t i = begin; i < end; ++i) {
        const std::uint64_t n0 = batch.nonce_words[0][i];
        const std::uint64_t n1 = batch.nonce_words[1][i];
        const std::uint64_t n2 = batch.nonce_words[2][i];
        const std::uint64_t n3 = batch.nonce_words[3][i];
        std::uint64_t varying[5];
        keccak_detail::nonce_lanes(constants, n0, n1, n2, n3, varying);
        std::uint64_t out[4];
        Keccak::digest_lanes(first, varying, out);

        // Digest limb 3 (most significant) is the first 8 bytes, i.e. lane 0 byte-swapped.
        const std::uint64_t d0 = batch.digest_limbs[0][i];
        const std::uint64_t d1 = batch.digest_limbs[1][i];
        const std::uint64_t d2 = batch.digest_limbs[2][i];
        const std::uint64_t d3 = batch.digest_limbs[3][i];
        const bool equal = ((byte_swap(out[0]) ^ d3) | (byte_swap(out[1]) ^ d2) | (byte_swap(out[2]) ^ d1) |
                            (byte_swap(out[3]) ^ d0)) == 0;
        // When the digest is right the claimed limbs are the computed ones, so the target
        // test can read them directly.
        const std::uint64_t* target = batch.target_table + 4 * std::size_t{batch.target_index[i]};
        const std::uint64_t t0 = target[0];
        const std::uint64_t t1 = target[1];
        const std::uint64_t t2 = target[2];
        const std::uint64_t t3 = target[3];
        const bool below = d3 != t3 ? d3 < t3 : d2 != t2 ? d2 < t2 : d1 != t1 ? d1 < t1 : d0 < t0;
        verdicts[i] = !equal ? Verdict::invalid_digest : below ? Verdict::accepted : Verdict::target_not_met;
    }
}

}  // namespace sharegate::cpu
