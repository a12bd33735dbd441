// What the stratum rules (stratum.cpp) read of a request line: the root object's "id",
// "method" and "params" and params' first items, each typed as JSON types it. Two
// scanners fill it: the flat scanner (flat_request_scanner.hpp), which reads the flat
// form every miner sends without simdjson, and simdjson's DOM (dom_request_scanner.hpp)
// for any other JSON. The rules read only this, so a line gets one answer whichever
// scanner read it; the tests and the stratum fuzz target hold the two to the same fields.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sharegate::protocol {

struct JsonValue {
    enum class Type : std::uint8_t { absent, null, boolean, int64, uint64, real, string, array, object };
    Type type = Type::absent;
    // A string's unescaped contents. Points into the line or the scanning thread's
    // simdjson parser: valid until that thread scans its next line.
    std::string_view text;
    std::int64_t int64 = 0;    // Type::int64 (simdjson's type for every integer that fits)
    std::uint64_t uint64 = 0;  // Type::uint64: integers above INT64_MAX only

    bool operator==(const JsonValue&) const = default;
};

// A submit reads five parameters, a subscribe two: nothing reads further.
inline constexpr std::size_t kReadItems = 5;

struct RequestFields {
    bool is_object = false;  // the root is an object (otherwise nothing below is read)
    // The first member of each name (JSON leaves duplicates to the reader; simdjson's
    // lookup, and so the original rules, take the first); absent where there is none.
    JsonValue id, method, params;
    // When params is an array: its first items, and how many of them there are (at most
    // kReadItems: whether a submit has its five is all the rules ask).
    std::array<JsonValue, kReadItems> items{};
    std::size_t item_count = 0;

    bool operator==(const RequestFields&) const = default;
};

}  // namespace sharegate::protocol
