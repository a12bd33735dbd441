// Ethereum addresses with web3's isAddress rules and EIP-55 checksums.
#pragma once

#include <string>
#include <string_view>

#include "sharegate/bytes.hpp"

namespace sharegate {

enum class AddressError {
    wrong_length,  // not 40 hex digits (after an optional "0x")
    not_hex,       // a character outside [0-9a-fA-F]
    bad_checksum,  // mixed case that is not the EIP-55 checksum
};

std::string_view to_string(AddressError error);

class Address {
public:
    Address() = default;
    explicit Address(const Bytes20& bytes) : bytes_(bytes) {}

    // isAddress: 40 hex digits, optional "0x"; all one case, or mixed case that is
    // exactly the EIP-55 checksum. A wrong checksum is almost always a typo that
    // would send rewards nowhere, so it is refused.
    static Parsed<Address, AddressError> parse(std::string_view text);

    // parse without the EIP-55 check: mixed case is taken whatever it is (a wrong
    // checksum is never bad_checksum). Only for text a trusted writer produced that
    // does not promise checksummed case, where refusing would lose more than it
    // protects: the pool's back-end names miners in Redis this way (docs/protocol.md
    // section 4), and a varDiff update refused over case would leave that miner on a
    // stale difficulty. Everything a miner or an operator types goes through parse.
    static Parsed<Address, AddressError> parse_any_case(std::string_view text);

    const Bytes20& bytes() const { return bytes_; }
    std::string normalized() const;   // "0x" + lower case: the stored form
    std::string checksummed() const;  // EIP-55

    friend bool operator==(const Address&, const Address&) = default;

private:
    static Parsed<Address, AddressError> parse_checked(std::string_view text, bool require_checksum);

    Bytes20 bytes_{};
};

}  // namespace sharegate
