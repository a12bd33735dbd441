#include "protocol/stratum.hpp"

#include <simdjson.h>

#include <cstring>
#include <string>
#include <vector>

#include "protocol/json_text.hpp"
#include "protocol/padded_line.hpp"
#include "sharegate/decimal.hpp"

namespace sharegate::protocol {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr std::string_view kNull = "null";

// The id echoes back to the client, so only forms a miner can match on survive;
// floats would be re-printed differently, and objects, arrays and booleans are not ids.
std::string serialise_id(simdjson::simdjson_result<element> id) {
    element value;
    if (id.get(value) != simdjson::SUCCESS) return std::string(kNull);
    switch (value.type()) {
        case element_type::INT64: return std::to_string(int64_t(value));
        case element_type::UINT64: return std::to_string(uint64_t(value));
        case element_type::STRING: {
            std::string out;
            append_json_string(out, std::string_view(value));
            return out;
        }
        default: return std::string(kNull);
    }
}

std::optional<std::string_view> as_string(element value) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
    return text;
}

// A positive integer that fits in 64 bits: a JSON integer, or a string of decimal
// digits (some clients quote it) read by the one decimal rule (sharegate/decimal.hpp).
// simdjson types any number with a fraction or an exponent as a double, which is
// refused even when its value is integral: unlike Redis, a miner is not trusted.
std::optional<std::uint64_t> parse_difficulty(element value) {
    switch (value.type()) {
        case element_type::INT64: {
            const int64_t v = int64_t(value);
            if (v <= 0) return std::nullopt;
            return static_cast<std::uint64_t>(v);
        }
        case element_type::UINT64: return uint64_t(value);  // above INT64_MAX, so positive
        case element_type::STRING: return parse_positive_u64(std::string_view(value));
        default: return std::nullopt;
    }
}

// A 32-byte hex field: the parsed value and the text as received.
bool parse_hex_field(element value, Bytes32& out, Hex32Text& text_out) {
    const auto text = as_string(value);
    if (!text) return false;
    const auto parsed = parse_hex32(*text);
    if (!parsed) return false;
    out = *parsed;
    text_out.assign(*text);
    return true;
}

bool parse_address(element value, Address& out) {
    const auto text = as_string(value);
    if (!text) return false;
    const auto parsed = Address::parse(*text);
    if (!parsed) return false;
    out = *parsed;
    return true;
}

void parse_subscribe(object root, Request& request) {
    array params;
    element first;
    if (root["params"].get_array().get(params) != simdjson::SUCCESS || params.at(0).get(first) != simdjson::SUCCESS ||
        !parse_address(first, request.subscribe.miner)) {
        request.kind = Request::Kind::bad_subscribe;
        request.error = errors::kInvalidAccount;
        return;
    }
    element second;
    if (params.at(1).get(second) == simdjson::SUCCESS) {
        // Anything but a string is treated as absent, so the connection keeps the legacy shape.
        if (const auto client_id = as_string(second)) request.subscribe.client_id.emplace(*client_id);
    }
    request.kind = Request::Kind::subscribe;
}

// Order of checks: the shape first (params an array of at least five, none of the five
// null: the first row of the protocol's table), then each field in wire order: nonce,
// miner, digest, difficulty, challenge. The first failure answers.
void parse_submit(object root, Request& request) {
    request.kind = Request::Kind::bad_submit;
    request.error = errors::kInvalidShareParameters;

    array params;
    if (root["params"].get_array().get(params) != simdjson::SUCCESS) return;
    element fields[5];
    for (std::size_t i = 0; i < 5; ++i) {
        if (params.at(i).get(fields[i]) != simdjson::SUCCESS || fields[i].is_null()) return;
    }

    SubmitRequest& submit = request.submit;
    if (!parse_hex_field(fields[0], submit.nonce, submit.nonce_text)) return;
    if (!parse_address(fields[1], submit.miner)) {
        request.error = errors::kInvalidAccount;
        return;
    }
    Bytes32 digest{};
    if (!parse_hex_field(fields[2], digest, submit.digest_text)) return;
    submit.digest = U256::from_be_bytes(digest);
    const auto difficulty = parse_difficulty(fields[3]);
    if (!difficulty) return;
    submit.difficulty = *difficulty;
    if (!parse_hex_field(fields[4], submit.challenge, submit.challenge_text)) return;

    request.kind = Request::Kind::submit;
    request.error = errors::kNone;
}

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

}  // namespace

namespace {

// One a thread (see StratumParser): parse() is not re-entered on a thread, and nothing it
// returns points into these buffers.
struct ThreadScratch {
    simdjson::dom::parser parser;
    PaddedLine line;
};

ThreadScratch& thread_scratch() {
    thread_local ThreadScratch scratch;
    return scratch;
}

}  // namespace

Request StratumParser::parse(std::string_view line) {
    Request request;
    request.id = std::string(kNull);

    ThreadScratch& scratch = thread_scratch();
    scratch.line.copy(line);
    char* const text = scratch.line.data();

    element root;
    // simdjson validates UTF-8 over the whole input, so a line that is not UTF-8 fails here too.
    simdjson::error_code error = scratch.parser.parse(text, line.size(), false).get(root);
    if (error == simdjson::NUMBER_ERROR && neutralise_unrepresentable_numbers(text, line.size())) {
        error = scratch.parser.parse(text, line.size(), false).get(root);
    }
    if (error != simdjson::SUCCESS) {
        request.kind = Request::Kind::not_json;
        return request;
    }

    object object_root;
    std::string_view method;
    if (root.get_object().get(object_root) != simdjson::SUCCESS ||
        object_root["method"].get_string().get(method) != simdjson::SUCCESS) {
        request.kind = Request::Kind::unknown_method;
        request.error = errors::kUnknownMethod;
        return request;
    }

    request.id = serialise_id(object_root["id"]);
    request.method.assign(method);
    if (method == "mining.subscribe") {
        parse_subscribe(object_root, request);
    } else if (method == "mining.submit") {
        parse_submit(object_root, request);
    } else {
        request.kind = Request::Kind::unknown_method;
        request.error = errors::kUnknownMethod;
    }
    return request;
}

namespace {

void append_id(std::string& out, std::string_view id) {
    out += R"({"id":)";
    out += id.empty() ? kNull : id;
}

}  // namespace

std::string reply_true(std::string_view id, ReplyStyle style) {
    if (style == ReplyStyle::both) return reply_true(id, ReplyStyle::legacy) + reply_true(id, ReplyStyle::jsonrpc2);
    std::string out;
    out.reserve(id.size() + 48);  // one allocation, not one per time the text outgrows the last
    append_id(out, id);
    out += style == ReplyStyle::legacy ? R"(,"result":true,"error":null})" : R"(,"result":true})";
    out.push_back('\n');
    return out;
}

std::string reply_error(std::string_view id, StratumError error, ReplyStyle style, bool result_null) {
    if (style == ReplyStyle::both) {
        return reply_error(id, error, ReplyStyle::legacy, result_null) +
               reply_error(id, error, ReplyStyle::jsonrpc2, result_null);
    }
    std::string out;
    // One allocation: built by appending, it would grow (and copy) twice on the way.
    out.reserve(id.size() + error.message.size() + 64);
    append_id(out, id);
    if (style == ReplyStyle::legacy) out += result_null ? R"(,"result":null)" : R"(,"result":false)";
    out += R"(,"error":[)";
    out += std::to_string(error.code);
    out.push_back(',');
    append_json_string(out, error.message);
    out += "]}\n";
    return out;
}

std::string notify(const Bytes32& challenge, const U256& target, std::uint64_t difficulty, const Address& pool) {
    std::string out = R"({"method":"mining.notify","params":[")";
    out += to_hex(challenge);
    out += R"(",")";
    out += target.to_decimal();
    out += R"(",)";
    out += std::to_string(difficulty);
    out += R"(,")";
    out += pool.checksummed();
    out += "\"]}\n";
    return out;
}

std::string queued_share_json(std::uint64_t block, const SubmitRequest& share) {
    std::string out = R"({"block":)";
    out += std::to_string(block);
    out += R"(,"nonce":)";
    append_json_string(out, share.nonce_text);
    out += R"(,"minerEthAddress":)";
    append_json_string(out, share.miner.normalized());
    out += R"(,"challengeNumber":)";
    append_json_string(out, share.challenge_text);
    out += R"(,"digest":)";
    append_json_string(out, share.digest_text);
    out += R"(,"difficulty":)";
    out += std::to_string(share.difficulty);
    if (share.custom_vardiff) out += *share.custom_vardiff ? R"(,"customVardiff":true)" : R"(,"customVardiff":false)";
    out.push_back('}');
    return out;
}

}  // namespace sharegate::protocol
