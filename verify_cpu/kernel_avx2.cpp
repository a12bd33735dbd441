// AVX2 kernel: four shares per __m256i, one share per 64-bit element.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels.hpp"
#include "sharegate/keccak.hpp"

// Everything from here on is compiled for AVX2, whatever the file's flags, so that
// one binary runs on any x86-64 and only calls this kernel where the CPU has it. The
// headers above, which keccak_unrolled.hpp needs, are included first so that their
// inline code stays generic.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

#include "keccak_ops_avx2.hpp"
#include "keccak_unrolled.hpp"

namespace sharegate::cpu {
namespace {

using Keccak = keccak_detail::ShareKeccak<Avx2Ops>;

struct Batch256 {
    Keccak::FirstRound first;
    __m256i pool_tail;
    __m256i pad_first;
    __m256i byte_swap;
    __m256i sign_bit;
};

// Bit k of each mask is share k of the group.
[[gnu::always_inline]] inline void store_verdicts(unsigned equal, unsigned below, std::size_t count,
                                                  Verdict* verdicts) {
    for (std::size_t k = 0; k < count; ++k) {
        const bool share_equal = (equal >> k) & 1;
        const bool share_below = (below >> k) & 1;
        verdicts[k] = !share_equal  ? Verdict::invalid_digest
                      : share_below ? Verdict::accepted
                                    : Verdict::target_not_met;
    }
}

template <bool kFull>
[[gnu::always_inline]] inline void verify4(const Batch256& batch256, const BatchView& batch, std::size_t i,
                                           std::size_t count, Verdict* verdicts) {
    // Ragged end: vpmaskmovq does not touch (or fault on) the elements masked off.
    const __m256i present =
        _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(count)), _mm256_setr_epi64x(0, 1, 2, 3));
    auto load = [&](const std::uint64_t* limbs) {
        const auto* address = reinterpret_cast<const long long*>(limbs + i);
        if constexpr (kFull) {
            return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(address));
        } else {
            return _mm256_maskload_epi64(address, present);
        }
    };
    __m256i nonce[4];
    keccak_detail::unrolled<4>([&](auto k) { nonce[k] = load(batch.nonce_words[k]); });
    // The nonce starts at byte 52, half-way into lane 6: lane 6 + k takes the high half
    // of nonce word k - 1 and the low half of word k. Swapping the halves of each word
    // turns that into a 32-bit blend.
    constexpr int kHighHalves = 0xaa;
    __m256i swapped[4];
    keccak_detail::unrolled<4>([&](auto k) { swapped[k] = _mm256_shuffle_epi32(nonce[k], 0xb1); });
    const __m256i varying[5] = {
        _mm256_blend_epi32(batch256.pool_tail, swapped[0], kHighHalves),
        _mm256_blend_epi32(swapped[0], swapped[1], kHighHalves),
        _mm256_blend_epi32(swapped[1], swapped[2], kHighHalves),
        _mm256_blend_epi32(swapped[2], swapped[3], kHighHalves),
        _mm256_blend_epi32(swapped[3], batch256.pad_first, kHighHalves),
    };
    __m256i out[4];
    Keccak::digest_lanes(batch256.first, varying, out);

    // Loaded only now, so that they do not take registers during the permutation.
    __m256i digest[4];
    keccak_detail::unrolled<4>([&](auto k) { digest[k] = load(batch.digest_limbs[k]); });
    // Limb k of share j's target is table[4 * index[j] + k]: one gather per limb.
    const auto* index_address = reinterpret_cast<const int*>(batch.target_index + i);
    const __m128i limb_offsets = _mm_slli_epi32(
        kFull ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(index_address))
              : _mm_maskload_epi32(index_address, _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(count)),
                                                                  _mm_setr_epi32(0, 1, 2, 3))),
        2);
    __m256i target[4];
    keccak_detail::unrolled<4>([&](auto k) {
        const auto* base = reinterpret_cast<const long long*>(batch.target_table + k);
        if constexpr (kFull) {
            target[k] = _mm256_i32gather_epi64(base, limb_offsets, 8);
        } else {
            target[k] = _mm256_mask_i32gather_epi64(_mm256_setzero_si256(), base, limb_offsets, present, 8);
        }
    });
    // Digest limb 3 - k is output lane k byte-swapped.
    __m256i difference = _mm256_setzero_si256();
    keccak_detail::unrolled<4>([&](auto k) {
        difference = _mm256_or_si256(difference,
                                     _mm256_xor_si256(_mm256_shuffle_epi8(out[k], batch256.byte_swap), digest[3 - k]));
    });
    const __m256i equal = _mm256_cmpeq_epi64(difference, _mm256_setzero_si256());
    // AVX2 only compares signed 64-bit integers: flipping the sign bits makes that the
    // unsigned order. below = lexicographic digest < target, from limb 0 up; it reads
    // the claimed limbs, which only matter where they equal the computed ones.
    __m256i below = _mm256_setzero_si256();
    keccak_detail::unrolled<4>([&](auto k) {
        const __m256i d = _mm256_xor_si256(digest[k], batch256.sign_bit);
        const __m256i t = _mm256_xor_si256(target[k], batch256.sign_bit);
        below = _mm256_or_si256(_mm256_cmpgt_epi64(t, d), _mm256_and_si256(_mm256_cmpeq_epi64(t, d), below));
    });
    const auto equal_mask = static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(equal)));
    const auto below_mask = static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(below)));
    store_verdicts(equal_mask, below_mask, count, verdicts + i);
}

}  // namespace

SHAREGATE_KERNEL_INLINE_ALL void verify_avx2(const BatchView& batch, std::size_t begin, std::size_t end,
                                             Verdict* verdicts) {
    if (begin >= end) return;
    const keccak_detail::BatchConstants constants = Keccak::batch_constants(batch.challenge, batch.pool);
    Batch256 batch256;
    batch256.first = Keccak::prepare(constants);
    batch256.pool_tail = _mm256_set1_epi64x(static_cast<long long>(constants.pool_tail));
    batch256.pad_first =
        _mm256_set1_epi64x(static_cast<long long>(keccak_detail::BatchConstants::kPadFirstBitInLane10));
    // Reverses the bytes of each 64-bit element (vpshufb indexes within 128-bit lanes).
    batch256.byte_swap = _mm256_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
                                          15, 14, 13, 12, 11, 10, 9, 8);
    batch256.sign_bit = _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ULL));
    std::size_t i = begin;
    for (; i + 4 <= end; i += 4) verify4<true>(batch256, batch, i, 4, verdicts);
    if (i < end) verify4<false>(batch256, batch, i, end - i, verdicts);
}

}  // namespace sharegate::cpu

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
