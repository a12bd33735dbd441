#include "sharegate/bytes.hpp"

namespace sharegate {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

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
    for (std::size_t i = 0; i < n; ++i) {
        const int hi = hex_value(digits[2 * i]);
        const int lo = hex_value(digits[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return true;
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
