// AVX-512 mining kernel: eight nonces per __m512i, one per 64-bit element.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "miner.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/keccak.hpp"

// Everything from here on is compiled for AVX-512 F/VL/BW, whatever the file's flags
// (see kernel_avx512.cpp); the headers above stay generic.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512bw"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw")
#endif

#include "keccak_ops_avx512.hpp"
#include "keccak_unrolled.hpp"

namespace sharegate::cpu {
namespace {

using Keccak = keccak_detail::ShareKeccak<Avx512Ops>;

// Out of line so that the hot loop keeps its registers: it runs about once per
// 2^64 / target[3] hashes.
[[gnu::noinline]] std::size_t record_group(const MiningJob& job, std::uint64_t counter, __mmask8 mask,
                                           const __m512i (&out)[4], std::vector<Found>& found) {
    alignas(64) std::uint64_t lanes[4][8];
    for (std::size_t k = 0; k < 4; ++k) _mm512_store_si512(lanes[k], out[k]);
    return mining_detail::record_group(job, counter, mask, &lanes[0][0], 8, found);
}

}  // namespace

SHAREGATE_KERNEL_INLINE_ALL std::size_t mine_avx512(const MiningJob& job, std::uint64_t first_counter,
                                                    std::size_t count, std::vector<Found>& out) {
    const keccak_detail::BatchConstants constants = Keccak::batch_constants(job.challenge.data(), job.pool.data());
    const Keccak::FirstRound first = Keccak::prepare(constants);
    const std::uint64_t n0 = load_le64(job.nonce_prefix.data());
    const std::uint64_t n1 = load_le64(job.nonce_prefix.data() + 8);
    const std::uint64_t n2 = load_le64(job.nonce_prefix.data() + 16);
    // Lanes 6..8 hold only the pool's tail and the prefix; the counter is in 9 and 10,
    // so with a zero counter lane 9 is the prefix's tail, to be or-ed with it.
    std::uint64_t prefix_lanes[5];
    keccak_detail::nonce_lanes(constants, n0, n1, n2, 0, prefix_lanes);
    const __m512i fixed[3] = {
        _mm512_set1_epi64(static_cast<long long>(prefix_lanes[0])),
        _mm512_set1_epi64(static_cast<long long>(prefix_lanes[1])),
        _mm512_set1_epi64(static_cast<long long>(prefix_lanes[2])),
    };
    const __m512i prefix_tail = _mm512_set1_epi64(static_cast<long long>(prefix_lanes[3]));
    const __m512i pad_first =
        _mm512_set1_epi64(static_cast<long long>(keccak_detail::BatchConstants::kPadFirstBitInLane10));
    // Reverses the bytes of each 64-bit element (vpshufb indexes within 128-bit lanes).
    const __m512i byte_swap = _mm512_set_epi8(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                              13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2,
                                              3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    // The filter passes digests whose top 64 bits are <= the target's.
    const __m512i top_limit = _mm512_set1_epi64(static_cast<long long>(job.target.limbs[3]));
    const __m512i offsets = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    std::size_t found = 0;
    for (std::size_t i = 0; i < count; i += 8) {
        const std::uint64_t counter = first_counter + i;
        const __m512i counters = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(counter)), offsets);
        // The nonce's last word, as Keccak reads it (little-endian). The shifts below
        // use the full-mask merge form for GCC bug 105593 (see Avx512Ops::rotl).
        const __m512i word = _mm512_shuffle_epi8(counters, byte_swap);
        const __m512i varying[5] = {
            fixed[0],
            fixed[1],
            fixed[2],
            _mm512_or_si512(prefix_tail, _mm512_mask_slli_epi64(word, kAllLanes, word, 32)),
            _mm512_or_si512(_mm512_mask_srli_epi64(word, kAllLanes, word, 32), pad_first),
        };
        __m512i lanes[4];
        Keccak::digest_lanes(first, varying, lanes);
        __mmask8 mask = _mm512_cmple_epu64_mask(_mm512_shuffle_epi8(lanes[0], byte_swap), top_limit);
        if (count - i < 8) mask &= static_cast<__mmask8>((1u << (count - i)) - 1);
        if (mask != 0) found += record_group(job, counter, mask, lanes, out);
    }
    return found;
}

}  // namespace sharegate::cpu

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
