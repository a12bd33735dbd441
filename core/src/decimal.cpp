#include "sharegate/decimal.hpp"

#include <cmath>
#include <limits>

namespace sharegate {

std::optional<std::uint64_t> parse_decimal_u64(std::string_view text) {
    if (text.empty()) return std::nullopt;
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (kMax - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

std::optional<std::uint64_t> parse_positive_u64(std::string_view text) {
    const auto value = parse_decimal_u64(text);
    if (!value || *value == 0) return std::nullopt;
    return value;
}

std::optional<std::uint64_t> positive_u64_from_integral_double(double value) {
    // 2^64 is exactly representable as a double; anything at or above it does not fit.
    // Written so that NaN fails the first comparison.
    constexpr double kTwoTo64 = 18446744073709551616.0;
    if (!(value >= 1.0) || value >= kTwoTo64 || std::floor(value) != value) return std::nullopt;
    return static_cast<std::uint64_t>(value);
}

}  // namespace sharegate
