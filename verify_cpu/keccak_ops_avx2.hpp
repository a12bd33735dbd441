// The AVX2 lane operations for ShareKeccak, shared by the AVX2 verify and mining
// kernels. Include it only after the file's AVX2 target pragma.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace sharegate::cpu {
// Anonymous on purpose, in a header: each including file gets its own copy with
// internal linkage, compiled for that file's instruction set, so the linker can never
// hand one file's instantiation to another (see keccak_unrolled.hpp).
namespace {  // NOLINT(google-build-namespaces, cert-dcl59-cpp)

struct Avx2Ops {
    using Lane = __m256i;
    static constexpr bool kLaneComplementing = false;
    static constexpr bool kFuseTheta = false;
    static Lane broadcast(std::uint64_t value) { return _mm256_set1_epi64x(static_cast<long long>(value)); }
    static Lane xor2(Lane a, Lane b) { return _mm256_xor_si256(a, b); }
    static Lane xor3(Lane a, Lane b, Lane c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
    static Lane chi(Lane a, Lane b, Lane c) { return _mm256_xor_si256(a, _mm256_andnot_si256(b, c)); }
    template <unsigned N>
    static Lane rotl(Lane a) {
        if constexpr (N == 0) {
            return a;
        } else if constexpr (N == 8) {
            // Whole-byte rotations are one shuffle instead of two shifts and an OR.
            return _mm256_shuffle_epi8(a, _mm256_setr_epi8(7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14, 7, 0,
                                                           1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14));
        } else if constexpr (N == 56) {
            return _mm256_shuffle_epi8(a, _mm256_setr_epi8(1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8, 1, 2,
                                                           3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8));
        } else if constexpr (N == 1) {
            // a + a runs on more ports than a shift.
            return _mm256_or_si256(_mm256_add_epi64(a, a), _mm256_srli_epi64(a, 63));
        } else {
            return _mm256_or_si256(_mm256_slli_epi64(a, N), _mm256_srli_epi64(a, 64 - N));
        }
    }
};
}  // namespace
}  // namespace sharegate::cpu
