// The JSON text handling both wire dialects (stratum.cpp, getwork.cpp) and the JSON log
// lines (server/log_format.cpp) share:
// writing a string with the escaping JSON requires, and checking a number token against
// JSON's grammar (simdjson either does not check a number it is not asked to convert, or
// refuses a whole document over one it cannot represent, such as an integer past 64 bits).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sharegate::protocol {

// What append_json_string does with bytes that are not well-formed UTF-8 (a stray
// continuation byte, an overlong form, a surrogate, past U+10FFFF, a sequence cut short).
enum class InvalidUtf8 {
    pass_through,  // copied: the texts are the pool's own, or simdjson-validated UTF-8
    replace,       // each such byte becomes U+FFFD, so that the string is valid JSON whatever the bytes (logs)
};

// Appends `text` as a JSON string: quotes, and escapes for the quote, the backslash and
// control characters.
void append_json_string(std::string& out, std::string_view text, InvalidUtf8 invalid = InvalidUtf8::pass_through);

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? exactly; `integer` (when given) is set to
// whether the token has neither fraction nor exponent.
bool is_json_number(std::string_view token, bool* integer = nullptr);

}  // namespace sharegate::protocol
