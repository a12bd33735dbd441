// The AVX-512 lane operations for ShareKeccak, shared by the AVX-512 verify and mining
// kernels. Include it only after the file's AVX-512 target pragma.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace sharegate::cpu {
// Anonymous on purpose, in a header: each including file gets its own copy with
// internal linkage, compiled for that file's instruction set, so the linker can never
// hand one file's instantiation to another (see keccak_unrolled.hpp).
namespace {  // NOLINT(google-build-namespaces, cert-dcl59-cpp)

constexpr __mmask8 kAllLanes = 0xff;

struct Avx512Ops {
    using Lane = __m512i;
    static constexpr bool kLaneComplementing = false;
    static constexpr bool kFuseTheta = true;
    static Lane broadcast(std::uint64_t value) { return _mm512_set1_epi64(static_cast<long long>(value)); }
    static Lane xor2(Lane a, Lane b) { return _mm512_xor_si512(a, b); }
    // Truth tables over (a, b, c) = (0xf0, 0xcc, 0xaa).
    static Lane xor3(Lane a, Lane b, Lane c) { return _mm512_ternarylogic_epi64(a, b, c, 0x96); }
    static Lane chi(Lane a, Lane b, Lane c) { return _mm512_ternarylogic_epi64(a, b, c, 0xd2); }
    template <unsigned N>
    static Lane rotl(Lane a) {
        if constexpr (N == 0) {
            return a;
        } else {
            // The merge form with a full mask is the same vprolq; the plain intrinsic passes an
            // undefined vector that GCC 12 reports as maybe-uninitialised (GCC bug 105593).
            return _mm512_mask_rol_epi64(a, kAllLanes, a, N);
        }
    }
};
}  // namespace
}  // namespace sharegate::cpu
