#include "protocol/json_text.hpp"

namespace sharegate::protocol {

namespace {

// The length of the well-formed UTF-8 sequence at the start of `text` (RFC 3629's table:
// no overlong forms, no surrogates, nothing past U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const auto continuation = [&](std::size_t i, unsigned char low = 0x80, unsigned char high = 0xBF) {
        return i < text.size() && byte(i) >= low && byte(i) <= high;
    };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
    if (lead >= 0xE0 && lead <= 0xEF) {
        const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;   // E0 80..9F would be overlong
        const unsigned char high = lead == 0xED ? 0x9F : 0xBF;  // ED A0..BF are surrogates
        return continuation(1, low, high) && continuation(2) ? 3 : 0;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;   // F0 80..8F would be overlong
        const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;  // F4 90.. is past U+10FFFF
        return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
    }
    return 0;  // 80..C1 (a continuation byte, or an overlong lead) and F5..FF never start one
}

// How many bytes at the start of `text` go out as they are: neither the quote, the
// backslash nor a control character, nor (unless passed through) a byte from 0x80 up.
// Most texts (a share's hex, an error's message) are all such bytes, and go out in one
// append rather than a byte at a time.
std::size_t verbatim_prefix(std::string_view text, InvalidUtf8 invalid) {
    const unsigned char top = invalid == InvalidUtf8::pass_through ? 0xFF : 0x7F;
    std::size_t n = 0;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == '"' || u == '\\' || u > top) break;
        ++n;
    }
    return n;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text, InvalidUtf8 invalid) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    while (!text.empty()) {
        const std::size_t verbatim = verbatim_prefix(text, invalid);
        out.append(text.data(), verbatim);
        text.remove_prefix(verbatim);
        if (text.empty()) break;
        const char c = text.front();
        const auto u = static_cast<unsigned char>(c);
        std::size_t length = 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                // Past the verbatim prefix: another control character, or (replace) a
                // byte from 0x80 up.
                if (u < 0x20) {
                    out += "\\u00";
                    out.push_back(kHex[u >> 4]);
                    out.push_back(kHex[u & 0xF]);
                } else if ((length = utf8_sequence_length(text)) != 0) {
                    out.append(text.substr(0, length));
                } else {
                    // One replacement a bad byte: the next byte may start a good sequence.
                    out += "\\ufffd";
                    length = 1;
                }
        }
        text.remove_prefix(length);
    }
    out.push_back('"');
}

bool is_json_number(std::string_view t, bool* integer) {
    std::size_t i = 0;
    const auto digits = [&] {
        const std::size_t start = i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
        return i > start;
    };
    if (i < t.size() && t[i] == '-') ++i;
    if (i < t.size() && t[i] == '0') {
        ++i;
    } else if (!digits()) {
        return false;
    }
    if (integer) *integer = i == t.size();
    if (i < t.size() && t[i] == '.') {
        ++i;
        if (!digits()) return false;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
        if (!digits()) return false;
    }
    return i == t.size();
}

}  // namespace sharegate::protocol
