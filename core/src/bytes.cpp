#include "sharegate/bytes.hpp"

#include <array>

#if defined(__SSE2__)
#include <emmintrin.h>  // the compiler's, not a library: core/ stays standard-library only
#endif

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

// The table loop, one byte at a time. (GCC 12 "vectorizes" it into a gather through the
// stack that is slower than plain code; the SSE2 path below is used where it exists.)
bool parse_hex_digits_scalar(const char* digits, std::uint8_t* out, std::size_t n) {
    std::uint8_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t hi = kHexValue[static_cast<unsigned char>(digits[2 * i])];
        const std::uint8_t lo = kHexValue[static_cast<unsigned char>(digits[2 * i + 1])];
        bad |= hi | lo;
        out[i] = static_cast<std::uint8_t>(hi << 4 | (lo & 0x0f));
    }
    return (bad & kNotHex) == 0;
}

#if defined(__SSE2__)
// 16 hex digits into 8 bytes, all lanes at once: a digit is c - '0' < 10, a letter
// (c | 0x20) - 'a' < 6 (unsigned compares done as signed ones after a bias of 0x80).
// Returns false if any of the 16 is neither.
bool parse16(const char* digits, std::uint8_t* out) {
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(digits));
    const __m128i bias = _mm_set1_epi8(static_cast<char>(0x80));
    const __m128i digit = _mm_sub_epi8(c, _mm_set1_epi8('0'));
    const __m128i is_digit = _mm_cmplt_epi8(_mm_xor_si128(digit, bias), _mm_set1_epi8(static_cast<char>(0x80 + 10)));
    const __m128i letter = _mm_sub_epi8(_mm_or_si128(c, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
    const __m128i is_letter = _mm_cmplt_epi8(_mm_xor_si128(letter, bias), _mm_set1_epi8(static_cast<char>(0x80 + 6)));
    if (_mm_movemask_epi8(_mm_or_si128(is_digit, is_letter)) != 0xffff) return false;
    const __m128i value =
        _mm_or_si128(_mm_and_si128(is_digit, digit), _mm_and_si128(is_letter, _mm_add_epi8(letter, _mm_set1_epi8(10))));
    // Each 16-bit lane holds (first digit, second digit) as (low byte, high byte).
    const __m128i high = _mm_slli_epi16(_mm_and_si128(value, _mm_set1_epi16(0x00ff)), 4);
    const __m128i low = _mm_srli_epi16(value, 8);
    const __m128i bytes = _mm_packus_epi16(_mm_or_si128(high, low), _mm_setzero_si128());
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), bytes);
    return true;
}
#endif

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
    // `out` may hold garbage for a refused text: callers use it only on success.
    std::size_t done = 0;
#if defined(__SSE2__)
    for (; done + 8 <= n; done += 8) {
        if (!parse16(digits.data() + 2 * done, out + done)) return false;
    }
#endif
    return parse_hex_digits_scalar(digits.data() + 2 * done, out + done, n - done);
}

Parsed<Bytes32, HexError> parse_hex32(std::string_view text) {
    if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return HexError::missing_prefix;
    const std::string_view digits = text.substr(2);
    if (digits.size() != 64) return HexError::wrong_length;
    Bytes32 out;
    if (!parse_hex_digits(digits, out.data(), out.size())) return HexError::not_hex;
    return out;
}

void append_hex(std::string& out, const std::uint8_t* data, std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    out.reserve(out.size() + 2 + 2 * n);
    out += "0x";
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 0xf]);
    }
}

std::string to_hex(const std::uint8_t* data, std::size_t n) {
    std::string out;
    append_hex(out, data, n);
    return out;
}

}  // namespace sharegate
