// Fixed-size byte strings and strict hex parsing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sharegate {

using Bytes32 = std::array<std::uint8_t, 32>;
using Bytes20 = std::array<std::uint8_t, 20>;

// Why a hex field was refused; the wire layer turns these into protocol errors.
enum class HexError {
    missing_prefix,  // "0x" required but absent
    wrong_length,    // not exactly the expected number of digits
    not_hex,         // a character outside [0-9a-fA-F]
};

std::string_view to_string(HexError error);

// The outcome of a parse: a value, or the reason there is none.
template <typename T, typename E>
class Parsed {
public:
    Parsed(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Parsed(E error) : error_(error) {}             // NOLINT(google-explicit-constructor)

    explicit operator bool() const { return value_.has_value(); }
    const T& value() const { return *value_; }
    const T& operator*() const { return *value_; }
    const T* operator->() const { return &*value_; }
    E error() const { return error_; }

private:
    std::optional<T> value_;
    E error_{};
};

// Eight bytes as a little-endian word: the order Keccak absorbs and emits lanes in.
inline std::uint64_t load_le64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

inline void store_le64(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Parses exactly "0x" followed by 64 hex digits of either case.
Parsed<Bytes32, HexError> parse_hex32(std::string_view text);

// Parses exactly 2*N hex digits (no prefix) into out; returns false on any other input.
bool parse_hex_digits(std::string_view digits, std::uint8_t* out, std::size_t n);

// "0x" + lower-case hex.
std::string to_hex(const std::uint8_t* data, std::size_t n);
// The same appended to `out`: a caller building a longer text allocates once, not per field.
void append_hex(std::string& out, const std::uint8_t* data, std::size_t n);
inline std::string to_hex(const Bytes32& b) { return to_hex(b.data(), b.size()); }

}  // namespace sharegate
