#include "protocol/flat_request_scanner.hpp"

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sharegate::protocol {

namespace {

// Inside a string, the bytes the flat form does not allow, plus the closing quote: a
// backslash (an escape), a control character (invalid JSON) and every byte from 0x80
// (UTF-8, which simdjson validates).
bool ends_flat_text(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte == '"' || byte == '\\' || byte < 0x20 || byte >= 0x80;
}

// The first byte of [at, end) that ends_flat_text, or end. Sixteen bytes a step where
// SSE2 exists: a submit is five strings, three of them 66 characters.
const char* find_text_end(const char* at, const char* end) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - at >= 16) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
        // A signed compare: bytes from 0x80 are negative, so "below 0x20" catches them too.
        const __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)), _mm_cmplt_epi8(bytes, space));
        const int mask = _mm_movemask_epi8(special);
        if (mask != 0) return at + __builtin_ctz(static_cast<unsigned>(mask));
        at += 16;
    }
#endif
    while (at < end && !ends_flat_text(*at)) ++at;
    return at;
}

class FlatScanner {
public:
    explicit FlatScanner(std::string_view line) : at_(line.data()), end_(line.data() + line.size()) {}

    bool request(RequestFields& out) {
        if (!take('{')) return false;
        out.is_object = true;
        if (take('}')) return at_end();
        for (;;) {
            std::string_view key;
            if (next() != '"' || !string(key) || !take(':')) return false;
            // Only the first member of a name counts, as in simdjson's lookup.
            JsonValue* slot = key == "id"       ? &out.id
                              : key == "method" ? &out.method
                              : key == "params" ? &out.params
                                                : nullptr;
            if (slot != nullptr && slot->type != JsonValue::Type::absent) slot = nullptr;
            JsonValue ignored;
            JsonValue& value = slot != nullptr ? *slot : ignored;
            if (next() == '[') {
                if (!array(slot == &out.params ? &out : nullptr)) return false;
                value.type = JsonValue::Type::array;
            } else if (!scalar(value)) {
                return false;
            }
            if (take(',')) continue;
            return take('}') && at_end();
        }
    }

private:
    void skip_space() {
        while (at_ < end_ && (*at_ == ' ' || *at_ == '\t' || *at_ == '\n' || *at_ == '\r')) ++at_;
    }
    // The next byte after whitespace ('\0' at the end), not consumed.
    char next() {
        skip_space();
        return at_ < end_ ? *at_ : '\0';
    }
    bool take(char c) {
        if (next() != c) return false;
        ++at_;
        return true;
    }
    bool at_end() {
        skip_space();
        return at_ == end_;
    }

    // At the opening quote.
    bool string(std::string_view& out) {
        const char* const start = ++at_;
        at_ = find_text_end(start, end_);
        if (at_ == end_ || *at_ != '"') return false;
        out = std::string_view(start, static_cast<std::size_t>(at_ - start));
        ++at_;
        return true;
    }

    bool literal(std::string_view word) {
        if (static_cast<std::size_t>(end_ - at_) < word.size() || std::string_view(at_, word.size()) != word)
            return false;
        at_ += word.size();
        return true;
    }

    // An integer simdjson types as int64 whatever its digits: at most 18 of them. "-0"
    // (whose type simdjson's versions disagree on), a leading zero, a fraction, an
    // exponent or a 19th digit are left to simdjson.
    bool integer(JsonValue& out) {
        const bool negative = *at_ == '-';
        if (negative) ++at_;
        if (at_ == end_ || *at_ < '0' || *at_ > '9') return false;
        std::uint64_t value = 0;
        if (*at_ == '0') {
            if (negative) return false;
            ++at_;
        } else {
            int digits = 0;
            while (at_ < end_ && *at_ >= '0' && *at_ <= '9') {
                if (++digits > 18) return false;
                value = value * 10 + static_cast<std::uint64_t>(*at_ - '0');
                ++at_;
            }
        }
        if (at_ < end_ && ((*at_ >= '0' && *at_ <= '9') || *at_ == '.' || *at_ == 'e' || *at_ == 'E')) return false;
        out.type = JsonValue::Type::int64;
        out.int64 = negative ? -static_cast<std::int64_t>(value) : static_cast<std::int64_t>(value);
        return true;
    }

    bool scalar(JsonValue& out) {
        switch (next()) {
            case '"': out.type = JsonValue::Type::string; return string(out.text);
            case 't': out.type = JsonValue::Type::boolean; return literal("true");
            case 'f': out.type = JsonValue::Type::boolean; return literal("false");
            case 'n': out.type = JsonValue::Type::null; return literal("null");
            case '-':
            case '0':
            case '1':
            case '2':
            case '3':
            case '4':
            case '5':
            case '6':
            case '7':
            case '8':
            case '9': return integer(out);
            default: return false;  // nesting, or not JSON
        }
    }

    // At the '['. Items are scalars only; `keep` (for params) receives the first ones.
    bool array(RequestFields* keep) {
        ++at_;
        if (take(']')) return true;
        for (std::size_t count = 0;; ++count) {
            // Read in place: a copy from a local would load what scalar() has just stored,
            // in other widths, and stall on it (a third of the scan's time, measured).
            const bool kept = keep != nullptr && count < kReadItems;
            JsonValue ignored;
            if (!scalar(kept ? keep->items[count] : ignored)) return false;
            if (kept) keep->item_count = count + 1;
            if (take(',')) continue;
            return take(']');
        }
    }

    const char* at_;
    const char* const end_;
};

}  // namespace

bool scan_flat_request(std::string_view line, RequestFields& out) { return FlatScanner(line).request(out); }

}  // namespace sharegate::protocol
