// The one rule for a number written as decimal text, and the one rule for a JSON number
// that a lenient writer may have printed as a double. Every parser of an unsigned count
// (a block number, a difficulty, a varDiff, a port) goes through these, so that "what is
// a number" cannot drift between the wire, Redis and the configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sharegate {

// Decimal digits only, 0 .. 2^64-1: no sign, no whitespace, no "0x", no fraction or
// exponent; leading zeros are allowed. A value that does not fit in 64 bits is refused,
// never wrapped. Callers that accept surrounding whitespace or quotes strip them first.
std::optional<std::uint64_t> parse_decimal_u64(std::string_view text);

// parse_decimal_u64, with zero refused too: a difficulty or varDiff of 0 means nothing.
std::optional<std::uint64_t> parse_positive_u64(std::string_view text);

// A double that holds an integer from 1 to 2^64-1 exactly (4000.0, 4e3): that integer.
// Fractions, zero, negatives, NaN, infinities and values at or above 2^64 are refused.
// Only for values a trusted writer produced with a JSON library that prints integral
// doubles; what a miner sends is held to parse_positive_u64 or a JSON integer.
std::optional<std::uint64_t> positive_u64_from_integral_double(double value);

}  // namespace sharegate
