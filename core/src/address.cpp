#include "sharegate/address.hpp"

#include "sharegate/keccak.hpp"

namespace sharegate {

namespace {

bool is_lower_hex_letter(char c) { return c >= 'a' && c <= 'f'; }
bool is_upper_hex_letter(char c) { return c >= 'A' && c <= 'F'; }

// EIP-55: a letter is upper case iff the matching nibble of keccak256(lower-case hex) is >= 8.
std::string checksum_digits(const std::string& lower_digits) {
    const Bytes32 hash = keccak256(lower_digits);
    std::string out = lower_digits;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const unsigned nibble = (i % 2 == 0) ? hash[i / 2] >> 4 : hash[i / 2] & 0xf;
        if (nibble >= 8 && is_lower_hex_letter(out[i])) out[i] = static_cast<char>(out[i] - 'a' + 'A');
    }
    return out;
}

}  // namespace

std::string_view to_string(AddressError error) {
    switch (error) {
        case AddressError::wrong_length: return "address must be 40 hex digits";
        case AddressError::not_hex: return "address is not hexadecimal";
        case AddressError::bad_checksum: return "address has a wrong EIP-55 checksum";
    }
    return "unknown address error";
}

Parsed<Address, AddressError> Address::parse(std::string_view text) { return parse_checked(text, true); }

Parsed<Address, AddressError> Address::parse_any_case(std::string_view text) { return parse_checked(text, false); }

Parsed<Address, AddressError> Address::parse_checked(std::string_view text, bool require_checksum) {
    std::string_view digits = text;
    if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits.remove_prefix(2);
    if (digits.size() != 40) return AddressError::wrong_length;
    Bytes20 bytes;
    if (!parse_hex_digits(digits, bytes.data(), bytes.size())) return AddressError::not_hex;

    const Address address(bytes);
    if (!require_checksum) return address;

    bool has_lower = false;
    bool has_upper = false;
    for (char c : digits) {
        has_lower |= is_lower_hex_letter(c);
        has_upper |= is_upper_hex_letter(c);
    }
    if (has_lower && has_upper && address.checksummed().substr(2) != digits) return AddressError::bad_checksum;
    return address;
}

std::string Address::normalized() const { return to_hex(bytes_.data(), bytes_.size()); }

std::string Address::checksummed() const { return "0x" + checksum_digits(normalized().substr(2)); }

}  // namespace sharegate
