#include "protocol/dom_request_scanner.hpp"

#include <simdjson.h>

#include <cstring>

#include "protocol/json_text.hpp"
#include "protocol/padded_line.hpp"

namespace sharegate::protocol {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Whether text (digits with an optional leading '-', no leading zeros) is an integer
// simdjson can hold: int64 when negative, uint64 otherwise.
bool integer_in_range(std::string_view text) {
    const bool negative = text.front() == '-';
    if (negative) text.remove_prefix(1);
    const std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
    if (text.size() != limit.size()) return text.size() < limit.size();
    return text <= limit;
}

// simdjson's DOM refuses a whole document over one number it cannot represent (an
// integer beyond 64 bits, 1e400), though the line is valid JSON: a difficulty of 2^64
// must be answered as a bad share, not treated as garbage that closes the connection.
// Every field reads any non-integer number the same way (an unusable id, a bad
// difficulty), so such numbers are overwritten in place by "0.5" padded with spaces,
// which keeps the text valid JSON of the same length. Returns whether any was found.
bool neutralise_unrepresentable_numbers(char* data, std::size_t size) {
    bool changed = false;
    bool in_string = false;
    for (std::size_t i = 0; i < size; ++i) {
        const char c = data[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
            continue;
        }
        if (c != '-' && (c < '0' || c > '9')) continue;
        std::size_t end = i;
        while (end < size && ((data[end] >= '0' && data[end] <= '9') || data[end] == '-' || data[end] == '+' ||
                              data[end] == '.' || data[end] == 'e' || data[end] == 'E')) {
            ++end;
        }
        const std::string_view token(data + i, end - i);
        bool integer = false;
        // A malformed token is left alone, so the retry still fails on it.
        if (is_json_number(token, &integer) && !(integer && integer_in_range(token))) {
            // Any valid non-integer token has at least three characters ("1.5", "1e5"),
            // and an out-of-range integer at least nineteen.
            std::memset(data + i, ' ', token.size());
            std::memcpy(data + i, "0.5", 3);
            changed = true;
        }
        i = end - 1;
    }
    return changed;
}

JsonValue value_of(element value) {
    JsonValue out;
    switch (value.type()) {
        case element_type::ARRAY: out.type = JsonValue::Type::array; break;
        case element_type::OBJECT: out.type = JsonValue::Type::object; break;
        case element_type::INT64:
            out.type = JsonValue::Type::int64;
            out.int64 = int64_t(value);
            break;
        case element_type::UINT64:
            out.type = JsonValue::Type::uint64;
            out.uint64 = uint64_t(value);
            break;
        case element_type::DOUBLE: out.type = JsonValue::Type::real; break;
        case element_type::STRING:
            out.type = JsonValue::Type::string;
            out.text = std::string_view(value);
            break;
        case element_type::BOOL: out.type = JsonValue::Type::boolean; break;
        case element_type::NULL_VALUE: out.type = JsonValue::Type::null; break;
    }
    return out;
}

// One a thread: scan_dom_request is not re-entered on a thread.
struct ThreadScratch {
    simdjson::dom::parser parser;
    PaddedLine line;
};

ThreadScratch& thread_scratch() {
    thread_local ThreadScratch scratch;
    return scratch;
}

}  // namespace

bool scan_dom_request(std::string_view line, RequestFields& out) {
    ThreadScratch& scratch = thread_scratch();
    scratch.line.copy(line);
    char* const text = scratch.line.data();

    element root;
    // simdjson validates UTF-8 over the whole input, so a line that is not UTF-8 fails here too.
    simdjson::error_code error = scratch.parser.parse(text, line.size(), false).get(root);
    if (error == simdjson::NUMBER_ERROR && neutralise_unrepresentable_numbers(text, line.size())) {
        error = scratch.parser.parse(text, line.size(), false).get(root);
    }
    if (error != simdjson::SUCCESS) return false;

    out = RequestFields{};
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) return true;
    out.is_object = true;
    element value;
    if (object["id"].get(value) == simdjson::SUCCESS) out.id = value_of(value);
    if (object["method"].get(value) == simdjson::SUCCESS) out.method = value_of(value);
    if (object["params"].get(value) == simdjson::SUCCESS) {
        out.params = value_of(value);
        if (out.params.type == JsonValue::Type::array) {
            for (element item : simdjson::dom::array(value)) {
                if (out.item_count == kReadItems) break;
                out.items[out.item_count++] = value_of(item);
            }
        }
    }
    return true;
}

}  // namespace sharegate::protocol
