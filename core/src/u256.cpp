#include "sharegate/u256.hpp"

#include <algorithm>
#include <stdexcept>

namespace sharegate {

U256 U256::pow2(unsigned n) {
    if (n >= 256) throw std::out_of_range("U256::pow2: exponent must be below 256");
    U256 v;
    v.limbs[n / 64] = std::uint64_t{1} << (n % 64);
    return v;
}

U256 U256::max() { return U256{{~0ULL, ~0ULL, ~0ULL, ~0ULL}}; }

std::optional<U256> U256::from_decimal(std::string_view text) {
    if (text.empty()) return std::nullopt;
    U256 v;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        // v = v * 10 + digit, refusing overflow past 2^256 - 1.
        unsigned __int128 carry = static_cast<unsigned>(c - '0');
        for (auto& limb : v.limbs) {
            const unsigned __int128 product = static_cast<unsigned __int128>(limb) * 10 + carry;
            limb = static_cast<std::uint64_t>(product);
            carry = product >> 64;
        }
        if (carry != 0) return std::nullopt;
    }
    return v;
}

std::optional<U256> U256::from_hex32(std::string_view text) {
    const auto bytes = parse_hex32(text);
    if (!bytes) return std::nullopt;
    return from_be_bytes(*bytes);
}

U256 U256::from_be_bytes(const Bytes32& bytes) {
    U256 v;
    for (int limb = 0; limb < 4; ++limb) {
        std::uint64_t word = 0;
        for (int i = 0; i < 8; ++i) word = (word << 8) | bytes[static_cast<std::size_t>((3 - limb) * 8 + i)];
        v.limbs[static_cast<std::size_t>(limb)] = word;
    }
    return v;
}

Bytes32 U256::to_be_bytes() const {
    Bytes32 out;
    for (std::size_t limb = 0; limb < 4; ++limb) {
        for (std::size_t i = 0; i < 8; ++i)
            out[(3 - limb) * 8 + i] = static_cast<std::uint8_t>(limbs[limb] >> (56 - 8 * i));
    }
    return out;
}

U256 U256::divided_by(std::uint64_t divisor, std::uint64_t* remainder) const {
    if (divisor == 0) throw std::domain_error("U256::divided_by: division by zero");
    U256 quotient;
    unsigned __int128 rest = 0;
    for (int i = 3; i >= 0; --i) {
        const unsigned __int128 part = (rest << 64) | limbs[static_cast<std::size_t>(i)];
        quotient.limbs[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(part / divisor);
        rest = part % divisor;
    }
    if (remainder != nullptr) *remainder = static_cast<std::uint64_t>(rest);
    return quotient;
}

std::string U256::to_decimal() const {
    if (is_zero()) return "0";
    std::string digits;
    U256 v = *this;
    while (!v.is_zero()) {
        // Peel 19 decimal digits at a time: 10^19 is the largest power of ten below 2^64.
        constexpr std::uint64_t kChunk = 10000000000000000000ULL;
        std::uint64_t chunk = 0;
        v = v.divided_by(kChunk, &chunk);
        for (int i = 0; i < 19 && (chunk != 0 || !v.is_zero()); ++i) {
            digits.push_back(static_cast<char>('0' + chunk % 10));
            chunk /= 10;
        }
    }
    std::reverse(digits.begin(), digits.end());
    return digits;
}

std::string U256::to_hex() const {
    const Bytes32 bytes = to_be_bytes();
    return sharegate::to_hex(bytes.data(), bytes.size());
}

U256 share_target(unsigned max_target_bits, std::uint64_t difficulty) {
    if (max_target_bits < 1 || max_target_bits > kMaxTargetBitsLimit)
        throw std::out_of_range("share_target: max_target_bits must be in [1, 255]");
    if (difficulty == 0) throw std::domain_error("share_target: difficulty must be at least 1");
    return U256::pow2(max_target_bits).divided_by(difficulty);
}

}  // namespace sharegate
