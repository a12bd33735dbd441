// AVX2 mining kernel: four nonces per __m256i, one per 64-bit element.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "miner.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/keccak.hpp"

// Everything from here on is compiled for AVX2, whatever the file's flags (see
// kernel_avx2.cpp); the headers above stay generic.
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

// Out of line so that the hot loop keeps its registers: it runs about once per
// 2^64 / target[3] hashes.
[[gnu::noinline]] std::size_t record_group(const MiningJob& job, std::uint64_t counter, unsigned mask,
                                           const __m256i (&out)[4], std::vector<Found>& found) {
    alignas(32) std::uint64_t lanes[4][4];
    for (std::size_t k = 0; k < 4; ++k) _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[k]), out[k]);
    return mining_detail::record_group(job, counter, mask, &lanes[0][0], 4, found);
}

}  // namespace

SHAREGATE_KERNEL_INLINE_ALL std::size_t mine_avx2(const MiningJob& job, std::uint64_t first_counter, std::size_t count,
                                                  std::vector<Found>& out) {
    const keccak_detail::BatchConstants constants = Keccak::batch_constants(job.challenge.data(), job.pool.data());
    const Keccak::FirstRound first = Keccak::prepare(constants);
    const std::uint64_t n0 = load_le64(job.nonce_prefix.data());
    const std::uint64_t n1 = load_le64(job.nonce_prefix.data() + 8);
    const std::uint64_t n2 = load_le64(job.nonce_prefix.data() + 16);
    // Lanes 6..8 hold only the pool's tail and the prefix; the counter is in 9 and 10,
    // so with a zero counter lane 9 is the prefix's tail, to be or-ed with it.
    std::uint64_t prefix_lanes[5];
    keccak_detail::nonce_lanes(constants, n0, n1, n2, 0, prefix_lanes);
    const __m256i fixed[3] = {
        _mm256_set1_epi64x(static_cast<long long>(prefix_lanes[0])),
        _mm256_set1_epi64x(static_cast<long long>(prefix_lanes[1])),
        _mm256_set1_epi64x(static_cast<long long>(prefix_lanes[2])),
    };
    const __m256i prefix_tail = _mm256_set1_epi64x(static_cast<long long>(prefix_lanes[3]));
    const __m256i pad_first =
        _mm256_set1_epi64x(static_cast<long long>(keccak_detail::BatchConstants::kPadFirstBitInLane10));
    const __m256i byte_swap = _mm256_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2,
                                               1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
    const __m256i sign_bit = _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ULL));
    // AVX2 only compares signed 64-bit integers: flipping the sign bits gives the
    // unsigned order. The filter passes digests whose top 64 bits are <= the target's.
    const __m256i top_limit =
        _mm256_xor_si256(_mm256_set1_epi64x(static_cast<long long>(job.target.limbs[3])), sign_bit);
    const __m256i offsets = _mm256_setr_epi64x(0, 1, 2, 3);
    std::size_t found = 0;
    for (std::size_t i = 0; i < count; i += 4) {
        const std::uint64_t counter = first_counter + i;
        const __m256i counters = _mm256_add_epi64(_mm256_set1_epi64x(static_cast<long long>(counter)), offsets);
        // The nonce's last word, as Keccak reads it (little-endian).
        const __m256i word = _mm256_shuffle_epi8(counters, byte_swap);
        const __m256i varying[5] = {
            fixed[0],
            fixed[1],
            fixed[2],
            _mm256_or_si256(prefix_tail, _mm256_slli_epi64(word, 32)),
            _mm256_or_si256(_mm256_srli_epi64(word, 32), pad_first),
        };
        __m256i lanes[4];
        Keccak::digest_lanes(first, varying, lanes);
        const __m256i top = _mm256_xor_si256(_mm256_shuffle_epi8(lanes[0], byte_swap), sign_bit);
        const auto above =
            static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(top, top_limit))));
        unsigned mask = ~above & 0xfu;
        if (count - i < 4) mask &= (1u << (count - i)) - 1;
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
