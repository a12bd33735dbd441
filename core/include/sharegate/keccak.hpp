// Portable reference Keccak-256 (Ethereum padding 0x01 ... 0x80, not NIST SHA3).
// Every fast kernel is checked against this one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "sharegate/bytes.hpp"

namespace sharegate {

inline constexpr std::size_t kKeccak256Rate = 136;

// The 24 iota constants, shared by every implementation.
extern const std::uint64_t kKeccakRoundConstants[24];

// One Keccak-f[1600] permutation; lane (x, y) is state[x + 5*y].
void keccak_f1600(std::uint64_t state[25]);

Bytes32 keccak256(std::span<const std::uint8_t> message);
Bytes32 keccak256(std::string_view message);

// digest = keccak256(challenge ‖ pool ‖ nonce), the ERC-918 mint proof.
Bytes32 share_digest(const Bytes32& challenge, const Bytes20& pool, const Bytes32& nonce);

}  // namespace sharegate
