#include "sharegate/bytes.hpp"

#include <array>

namespace sharegate {

namespace {

// Every submit carries three 32-byte hex fields, so this is on the hot path of every
// share: a table lookup a character and one check a field (a bad digit sets bit 4 of
// its entry) instead of three range tests and a branch a character.
constexpr std::uint8_t kNotHex = 0x10;
constexpr std::array<std::uint8_t, 256> kHexValue = [] {
    std::array<std::uint8_t, 256> table{};
    for (auto& entry : table) entry = kNotHex;
    for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) table[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'a' + 10);
    for (int c = 'A'; c <= 'F'; ++c) table[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'A' + 10);
    return table;
}();

}  // namespace

std::string_view to_string(HexError error) {
    switch (error) {
        case HexError::missing_prefix: return "missing 0x prefix";
        case HexError::wrong_length: return "wrong length";
        case HexError::not_hex: return "not hexadecimal";
    }
    return "unknown hex error";
}

bool parse_hex_digits(std::string_view digits, std::uint8_t* out, std::size_t n) {
    if (digits.size() != 2 * n) return false;
    std::uint8_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t hi = kHexValue[static_cast<unsigned char>(digits[2 * i])];
        const std::uint8_t lo = kHexValue[static_cast<unsigned char>(digits[2 * i + 1])];
        bad |= hi | lo;
        out[i] = static_cast<std::uint8_t>(hi << 4 | (lo & 0x0f));
    }
    // `out` may hold garbage for a refused text: callers use it only on success.
    return (bad & kNotHex) == 0;
}

Parsed<Bytes32, HexError> parse_hex32(std::string_view text) {
    if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return HexError::missing_prefix;
    const std::string_view digits = text.substr(2);
    if (digits.size() != 64) return HexError::wrong_length;
    Bytes32 out;
    if (!parse_hex_digits(digits, out.data(), out.size())) return HexError::not_hex;
    return out;
}

std::string to_hex(const std::uint8_t* data, std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out = "0x";
    out.reserve(2 + 2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 0xf]);
    }
    return out;
}

}  // namespace sharegate
