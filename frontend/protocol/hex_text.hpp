// A 32-byte hex field's text as the miner sent it ("0x" or "0X" and 64 digits in its own
// letter case): the queued share JSON carries it verbatim (docs/protocol.md, "hex strings
// as received"). Held inline rather than in a std::string, which would allocate: every
// submit carries three, and most are refused and dropped within microseconds.
#pragma once

#include <algorithm>
#include <cstddef>
#include <ostream>
#include <string_view>

#include "sharegate/bytes.hpp"

namespace sharegate::protocol {

class Hex32Text {
public:
    static constexpr std::size_t kSize = 66;  // what parse_hex32 accepts, and only that

    // Longer text is cut to kSize: only ever given what parse_hex32 accepted.
    void assign(std::string_view text) {
        size_ = static_cast<unsigned char>(std::min(text.size(), kSize));
        std::copy_n(text.data(), size_, chars_);
    }

    std::string_view view() const { return {chars_, size_}; }
    operator std::string_view() const { return view(); }

    friend bool operator==(const Hex32Text& a, const Hex32Text& b) { return a.view() == b.view(); }
    friend bool operator==(const Hex32Text& a, std::string_view b) { return a.view() == b; }
    friend std::ostream& operator<<(std::ostream& out, const Hex32Text& text) { return out << text.view(); }

private:
    char chars_[kSize];
    unsigned char size_ = 0;
};

// A 32-byte hex field as both doors read it: the value (parse_hex32) and the text as
// received. False, and nothing written, when the text does not parse.
inline bool parse_hex32_field(std::string_view text, Bytes32& out, Hex32Text& text_out) {
    const auto parsed = parse_hex32(text);
    if (!parsed) return false;
    out = *parsed;
    text_out.assign(text);
    return true;
}

}  // namespace sharegate::protocol
