// Fuzz target (c): the core's parsers of wire text (core/include/sharegate/): strict
// 32-byte hex, hex digits, U256 decimal and hex, Ethereum addresses with EIP-55. Each
// accepted value must print back to the text it came from (modulo case and leading
// zeros) and parse again to itself; each refusal must carry the reason the text shows;
// and parsers that read the same text must agree.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "sharegate/address.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace {

using namespace sharegate;

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_lower_letter(char c) { return c >= 'a' && c <= 'f'; }
bool is_upper_letter(char c) { return c >= 'A' && c <= 'F'; }

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string upper_digits(std::string_view hex_with_prefix) {
    std::string out(hex_with_prefix);
    for (std::size_t i = 2; i < out.size(); ++i) {
        if (is_lower_letter(out[i])) out[i] = static_cast<char>(out[i] - 'a' + 'A');
    }
    return out;
}

bool has_prefix(std::string_view text) {
    return text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
}

void hex32(std::string_view text) {
    const auto parsed = parse_hex32(text);
    const auto number = U256::from_hex32(text);
    SHAREGATE_FUZZ_CHECK(parsed.operator bool() == number.has_value());
    if (!parsed) {
        if (!has_prefix(text)) {
            SHAREGATE_FUZZ_CHECK(parsed.error() == HexError::missing_prefix);
        } else if (text.size() != 66) {
            SHAREGATE_FUZZ_CHECK(parsed.error() == HexError::wrong_length);
        } else {
            SHAREGATE_FUZZ_CHECK(parsed.error() == HexError::not_hex);
            SHAREGATE_FUZZ_CHECK(!std::all_of(text.begin() + 2, text.end(), is_hex_digit));
        }
        return;
    }
    const std::string hex = to_hex(*parsed);
    SHAREGATE_FUZZ_CHECK(hex == lower(text));
    SHAREGATE_FUZZ_CHECK(parse_hex32(hex) && *parse_hex32(hex) == *parsed);
    SHAREGATE_FUZZ_CHECK(*number == U256::from_be_bytes(*parsed));
    SHAREGATE_FUZZ_CHECK(number->to_be_bytes() == *parsed);
    SHAREGATE_FUZZ_CHECK(number->to_hex() == hex);
    SHAREGATE_FUZZ_CHECK(U256::from_decimal(number->to_decimal()) == number);
}

void hex_digits(std::string_view text) {
    std::array<std::uint8_t, 64> out{};
    const std::size_t n = std::min(text.size() / 2, out.size());
    const bool ok = parse_hex_digits(text, out.data(), n);
    const bool expected = text.size() == 2 * n && std::all_of(text.begin(), text.end(), is_hex_digit);
    SHAREGATE_FUZZ_CHECK(ok == expected);
    if (ok) SHAREGATE_FUZZ_CHECK(to_hex(out.data(), n) == "0x" + lower(text));
}

void decimal(std::string_view text) {
    const auto parsed = U256::from_decimal(text);
    const bool digits =
        !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
        SHAREGATE_FUZZ_CHECK(!parsed);
        return;
    }
    const std::size_t first = text.find_first_not_of('0');
    const std::string_view significant = first == std::string_view::npos ? std::string_view("0") : text.substr(first);
    // 2^256 - 1 has 78 digits.
    static const std::string kMax = U256::max().to_decimal();
    const bool fits = significant.size() < kMax.size() || (significant.size() == kMax.size() && significant <= kMax);
    SHAREGATE_FUZZ_CHECK(parsed.has_value() == fits);
    if (!parsed) return;
    SHAREGATE_FUZZ_CHECK(parsed->to_decimal() == significant);
    SHAREGATE_FUZZ_CHECK(U256::from_hex32(parsed->to_hex()) == parsed);
    // Division by a small number and back: q * d + r, computed in decimal-free limbs.
    const std::uint64_t divisor = 1 + (parsed->limbs[0] % 1000003);
    std::uint64_t remainder = 0;
    const U256 quotient = parsed->divided_by(divisor, &remainder);
    SHAREGATE_FUZZ_CHECK(remainder < divisor);
    U256 back;
    unsigned __int128 carry = remainder;
    for (std::size_t i = 0; i < 4; ++i) {
        const unsigned __int128 product = static_cast<unsigned __int128>(quotient.limbs[i]) * divisor + carry;
        back.limbs[i] = static_cast<std::uint64_t>(product);
        carry = product >> 64;
    }
    SHAREGATE_FUZZ_CHECK(carry == 0 && back == *parsed);
}

void address(std::string_view text) {
    const auto parsed = Address::parse(text);
    const std::string_view digits = has_prefix(text) ? text.substr(2) : text;
    if (!parsed) {
        if (digits.size() != 40) {
            SHAREGATE_FUZZ_CHECK(parsed.error() == AddressError::wrong_length);
        } else if (!std::all_of(digits.begin(), digits.end(), is_hex_digit)) {
            SHAREGATE_FUZZ_CHECK(parsed.error() == AddressError::not_hex);
        } else {
            // Only a wrong checksum is left: mixed case, and the same digits in one case pass.
            SHAREGATE_FUZZ_CHECK(parsed.error() == AddressError::bad_checksum);
            SHAREGATE_FUZZ_CHECK(std::any_of(digits.begin(), digits.end(), is_lower_letter) &&
                                 std::any_of(digits.begin(), digits.end(), is_upper_letter));
            SHAREGATE_FUZZ_CHECK(Address::parse(lower(digits)));
        }
        return;
    }
    const std::string normalized = parsed->normalized();
    const std::string checksummed = parsed->checksummed();
    SHAREGATE_FUZZ_CHECK(normalized == "0x" + lower(digits));
    SHAREGATE_FUZZ_CHECK(lower(checksummed) == normalized);
    for (const std::string& form : {normalized, checksummed, upper_digits(normalized), normalized.substr(2)}) {
        const auto again = Address::parse(form);
        SHAREGATE_FUZZ_CHECK(again && *again == *parsed);
    }
    // Mixed case is accepted only as the checksum itself.
    const bool mixed = std::any_of(digits.begin(), digits.end(), is_lower_letter) &&
                       std::any_of(digits.begin(), digits.end(), is_upper_letter);
    if (mixed) SHAREGATE_FUZZ_CHECK(digits == std::string_view(checksummed).substr(2));
    // The same 20 bytes as the hex parser reads them.
    Bytes20 bytes{};
    SHAREGATE_FUZZ_CHECK(parse_hex_digits(digits, bytes.data(), bytes.size()) && bytes == parsed->bytes());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    hex32(text);
    hex_digits(text);
    decimal(text);
    address(text);
    return 0;
}
