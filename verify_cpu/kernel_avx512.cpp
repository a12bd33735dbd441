// AVX-512 kernel: eight shares per __m512i, one share per 64-bit element.
// vpternlogq makes every theta parity step (three inputs) and every chi lane one
// instruction, and vprolq makes every rotation one.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels.hpp"
#include "sharegate/keccak.hpp"

// Everything from here on is compiled for AVX-512 F/VL/BW, whatever the file's flags,
// so that one binary runs on any x86-64 and only calls this kernel where the CPU has
// it. The headers above, which keccak_unrolled.hpp needs, are included first so that
// their inline code stays generic.
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

struct Batch512 {
    Keccak::FirstRound first;
    __m512i pool_tail;
    __m512i pad_first;
    __m512i byte_swap;
};

// Message lanes 6..10 of shares i..i+7; `active` has one bit per share present.
[[gnu::always_inline]] inline void load_varying_lanes(const Batch512& batch512, const BatchView& batch, std::size_t i,
                                                      __mmask8 active, __m512i (&varying)[5]) {
    // The nonce starts at byte 52, half-way into lane 6: lane 6 + k takes the high half
    // of nonce word k - 1 and the low half of word k. Swapping the halves of each word
    // turns that into a 32-bit blend.
    constexpr __mmask16 kHighHalves = 0xaaaa;
    __m512i swapped[4];
    keccak_detail::unrolled<4>([&](auto k) {
        const __m512i nonce = _mm512_maskz_loadu_epi64(active, batch.nonce_words[k] + i);
        swapped[k] = _mm512_mask_shuffle_epi32(nonce, 0xffff, nonce, _MM_PERM_CDAB);
    });
    varying[0] = _mm512_mask_blend_epi32(kHighHalves, batch512.pool_tail, swapped[0]);
    keccak_detail::unrolled<3>(
        [&](auto k) { varying[k + 1] = _mm512_mask_blend_epi32(kHighHalves, swapped[k], swapped[k + 1]); });
    varying[4] = _mm512_mask_blend_epi32(kHighHalves, swapped[3], batch512.pad_first);
}

// Compares the computed digests of shares i..i+7 with the claimed ones and their
// targets, and writes the verdicts of the active shares.
[[gnu::always_inline]] inline void judge(const Batch512& batch512, const BatchView& batch, std::size_t i,
                                         __mmask8 active, const __m512i (&out)[4], Verdict* verdicts) {
    __m512i digest[4];
    keccak_detail::unrolled<4>(
        [&](auto k) { digest[k] = _mm512_maskz_loadu_epi64(active, batch.digest_limbs[k] + i); });
    // Limb k of share j's target is table[4 * index[j] + k]: one gather per limb.
    const __m256i limb_offsets = _mm256_slli_epi32(_mm256_maskz_loadu_epi32(active, batch.target_index + i), 2);
    __m512i target[4];
    keccak_detail::unrolled<4>([&](auto k) {
        target[k] =
            _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), active, limb_offsets, batch.target_table + k, 8);
    });
    // Digest limb 3 - k is output lane k byte-swapped.
    __mmask8 equal = active;
    keccak_detail::unrolled<4>([&](auto k) {
        equal = _mm512_mask_cmpeq_epi64_mask(equal, _mm512_shuffle_epi8(out[k], batch512.byte_swap), digest[3 - k]);
    });
    // The target test reads the claimed limbs: they only matter where they equal the
    // computed ones. below = lexicographic unsigned digest < target, from limb 0 up.
    __mmask8 below = _mm512_cmplt_epu64_mask(digest[0], target[0]);
    keccak_detail::unrolled<3>([&](auto j) {
        constexpr std::size_t k = j + 1;
        below =
            _mm512_cmplt_epu64_mask(digest[k], target[k]) | _mm512_mask_cmpeq_epu64_mask(below, digest[k], target[k]);
    });
    static_assert(static_cast<int>(Verdict::accepted) == 0 && static_cast<int>(Verdict::invalid_digest) == 1 &&
                  static_cast<int>(Verdict::target_not_met) == 2);
    __m128i codes = _mm_set1_epi8(static_cast<char>(Verdict::target_not_met));
    codes = _mm_mask_mov_epi8(codes, below, _mm_setzero_si128());
    codes = _mm_mask_mov_epi8(codes, static_cast<__mmask16>(~equal & 0xff), _mm_set1_epi8(1));
    _mm_mask_storeu_epi8(verdicts + i, active, codes);
}

// Checks up to eight shares starting at i.
[[gnu::always_inline]] inline void verify8(const Batch512& batch512, const BatchView& batch, std::size_t i,
                                           __mmask8 active, Verdict* verdicts) {
    __m512i varying[5];
    load_varying_lanes(batch512, batch, i, active, varying);
    __m512i out[4];
    Keccak::digest_lanes(batch512.first, varying, out);
    judge(batch512, batch, i, active, out, verdicts);
}

}  // namespace

SHAREGATE_KERNEL_INLINE_ALL void verify_avx512(const BatchView& batch, std::size_t begin, std::size_t end,
                                               Verdict* verdicts) {
    if (begin >= end) return;
    const keccak_detail::BatchConstants constants = Keccak::batch_constants(batch.challenge, batch.pool);
    Batch512 batch512;
    batch512.first = Keccak::prepare(constants);
    batch512.pool_tail = _mm512_set1_epi64(static_cast<long long>(constants.pool_tail));
    batch512.pad_first = _mm512_set1_epi64(static_cast<long long>(keccak_detail::BatchConstants::kPadFirstBitInLane10));
    // Reverses the bytes of each 64-bit element (vpshufb indexes within 128-bit lanes).
    batch512.byte_swap = _mm512_set_epi8(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                         15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6,
                                         7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    std::size_t i = begin;
    for (; i + 8 <= end; i += 8) verify8(batch512, batch, i, kAllLanes, verdicts);
    if (i < end) verify8(batch512, batch, i, static_cast<__mmask8>((1u << (end - i)) - 1), verdicts);
}

}  // namespace sharegate::cpu

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
