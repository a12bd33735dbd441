// The two pieces of JSON text handling both wire dialects share (stratum.cpp, getwork.cpp):
// writing a string with the escaping JSON requires, and checking a number token against
// JSON's grammar (simdjson either does not check a number it is not asked to convert, or
// refuses a whole document over one it cannot represent, such as an integer past 64 bits).
#pragma once

#include <string>
#include <string_view>

namespace sharegate::protocol {

// Appends `text` as a JSON string: quotes, and escapes for the quote, the backslash and
// control characters (the texts are the pool's own, or simdjson-validated UTF-8).
void append_json_string(std::string& out, std::string_view text);

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? exactly; `integer` (when given) is set to
// whether the token has neither fraction nor exponent.
bool is_json_number(std::string_view token, bool* integer = nullptr);

}  // namespace sharegate::protocol
