// The portable lane operations for ShareKeccak, shared by the scalar verify and mining
// kernels.
#pragma once

#include <cstdint>

namespace sharegate::cpu {
// Anonymous on purpose, in a header: each including file gets its own copy with
// internal linkage, compiled for that file's instruction set, so the linker can never
// hand one file's instantiation to another (see keccak_unrolled.hpp).
namespace {  // NOLINT(google-build-namespaces, cert-dcl59-cpp)

struct ScalarOps {
    using Lane = std::uint64_t;
    static constexpr bool kLaneComplementing = true;
    static constexpr bool kFuseTheta = false;
    static Lane broadcast(std::uint64_t value) { return value; }
    static Lane xor2(Lane a, Lane b) { return a ^ b; }
    static Lane xor3(Lane a, Lane b, Lane c) { return a ^ b ^ c; }
    static Lane chi(Lane a, Lane b, Lane c) { return a ^ (~b & c); }
    template <unsigned N>
    static Lane rotl(Lane a) {
        if constexpr (N == 0) {
            return a;
        } else {
            return (a << N) | (a >> (64 - N));
        }
    }
};
}  // namespace
}  // namespace sharegate::cpu
