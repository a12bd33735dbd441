// 256-bit unsigned integers: just what share checks need.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sharegate/bytes.hpp"

namespace sharegate {

struct U256 {
    // limbs[0] is the least significant 64 bits.
    std::array<std::uint64_t, 4> limbs{};

    static constexpr U256 from_u64(std::uint64_t v) { return U256{{v, 0, 0, 0}}; }
    static U256 pow2(unsigned n);  // n < 256
    static U256 max();

    // Decimal digits only, no sign, no leading "+"; at most 2^256-1. Leading zeros allowed.
    static std::optional<U256> from_decimal(std::string_view text);
    // Exactly "0x" + 64 hex digits, like the wire's 32-byte values.
    static std::optional<U256> from_hex32(std::string_view text);
    // A 32-byte big-endian value (how digests and targets are written on the wire).
    static U256 from_be_bytes(const Bytes32& bytes);

    Bytes32 to_be_bytes() const;
    std::string to_decimal() const;
    std::string to_hex() const;  // "0x" + 64 lower-case digits

    // Floor division by a non-zero 64-bit value.
    U256 divided_by(std::uint64_t divisor, std::uint64_t* remainder = nullptr) const;

    bool is_zero() const { return (limbs[0] | limbs[1] | limbs[2] | limbs[3]) == 0; }

    friend constexpr std::strong_ordering operator<=>(const U256& a, const U256& b) {
        for (int i = 3; i >= 0; --i) {
            if (a.limbs[i] != b.limbs[i]) return a.limbs[i] <=> b.limbs[i];
        }
        return std::strong_ordering::equal;
    }
    friend constexpr bool operator==(const U256& a, const U256& b) = default;
};

// Largest max_target_bits accepted: 2^N must fit in 256 bits.
inline constexpr unsigned kMaxTargetBitsLimit = 255;

// target(d) = floor(2^max_target_bits / d); the share meets it when digest < target.
// Requires 1 <= max_target_bits <= 255 and difficulty >= 1.
U256 share_target(unsigned max_target_bits, std::uint64_t difficulty);

}  // namespace sharegate
