#include "protocol/stratum.hpp"

#include <charconv>
#include <optional>
#include <string>

#include "protocol/dom_request_scanner.hpp"
#include "protocol/flat_request_scanner.hpp"
#include "protocol/json_text.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/decimal.hpp"

namespace sharegate::protocol {

namespace {

using Type = JsonValue::Type;

constexpr std::string_view kNull = "null";

// The id echoes back to the client, so only forms a miner can match on survive;
// floats would be re-printed differently, and objects, arrays and booleans are not ids.
std::string serialise_id(const JsonValue& id) {
    switch (id.type) {
        case Type::int64: return std::to_string(id.int64);
        case Type::uint64: return std::to_string(id.uint64);
        case Type::string: {
            std::string out;
            append_json_string(out, id.text);
            return out;
        }
        default: return std::string(kNull);
    }
}

// A positive integer that fits in 64 bits: a JSON integer, or a string of decimal
// digits (some clients quote it) read by the one decimal rule (sharegate/decimal.hpp).
// JSON types any number with a fraction or an exponent as real, which is refused even
// when its value is integral: unlike Redis, a miner is not trusted.
std::optional<std::uint64_t> parse_difficulty(const JsonValue& value) {
    switch (value.type) {
        case Type::int64:
            if (value.int64 <= 0) return std::nullopt;
            return static_cast<std::uint64_t>(value.int64);
        case Type::uint64: return value.uint64;  // above INT64_MAX, so positive
        case Type::string: return parse_positive_u64(value.text);
        default: return std::nullopt;
    }
}

// A 32-byte hex field: the parsed value and the text as received.
bool parse_hex_field(const JsonValue& value, Bytes32& out, Hex32Text& text_out) {
    return value.type == Type::string && parse_hex32_field(value.text, out, text_out);
}

bool parse_address(StratumParser& parser, const JsonValue& value, Address& out) {
    return value.type == Type::string && parser.parse_address(value.text, out);
}

void parse_subscribe(StratumParser& parser, const RequestFields& fields, Request& request) {
    if (fields.params.type != Type::array || fields.item_count < 1 ||
        !parse_address(parser, fields.items[0], request.subscribe.miner)) {
        request.kind = Request::Kind::bad_subscribe;
        request.error = errors::kInvalidAccount;
        return;
    }
    // Anything but a string is treated as absent, so the connection keeps the legacy shape.
    if (fields.item_count >= 2 && fields.items[1].type == Type::string) {
        request.subscribe.client_id.emplace(fields.items[1].text);
    }
    request.kind = Request::Kind::subscribe;
}

// Order of checks: the shape first (params an array of at least five, none of the five
// null: the first row of the protocol's table), then each field in wire order: nonce,
// miner, digest, difficulty, challenge. The first failure answers.
void parse_submit(StratumParser& parser, const RequestFields& fields, Request& request) {
    request.kind = Request::Kind::bad_submit;
    request.error = errors::kInvalidShareParameters;

    if (fields.params.type != Type::array || fields.item_count < 5) return;
    for (std::size_t i = 0; i < 5; ++i) {
        if (fields.items[i].type == Type::null) return;
    }

    SubmitRequest& submit = request.submit;
    if (!parse_hex_field(fields.items[0], submit.nonce, submit.nonce_text)) return;
    if (!parse_address(parser, fields.items[1], submit.miner)) {
        request.error = errors::kInvalidAccount;
        return;
    }
    Bytes32 digest{};
    if (!parse_hex_field(fields.items[2], digest, submit.digest_text)) return;
    submit.digest = U256::from_be_bytes(digest);
    const auto difficulty = parse_difficulty(fields.items[3]);
    if (!difficulty) return;
    submit.difficulty = *difficulty;
    if (!parse_hex_field(fields.items[4], submit.challenge, submit.challenge_text)) return;

    request.kind = Request::Kind::submit;
    request.error = errors::kNone;
}

}  // namespace

bool StratumParser::parse_address(std::string_view text, Address& out) {
    const std::string_view last(last_address_text_.data(), last_address_size_);
    if (last_address_size_ != 0 && text == last) {
        out = last_address_;
        return true;
    }
    const auto parsed = Address::parse(text);
    if (!parsed) return false;
    out = *parsed;
    if (text.size() <= last_address_text_.size()) {  // always: a longer text is refused above
        text.copy(last_address_text_.data(), text.size());
        last_address_size_ = text.size();
        last_address_ = out;
    }
    return true;
}

Request StratumParser::parse(std::string_view line) {
    Request request;
    request.id = std::string(kNull);

    // The flat form first (nearly every line a miner sends); simdjson for the rest, whose
    // strings stay valid until this thread's next scan: everything below copies them.
    RequestFields fields;
    if (!scan_flat_request(line, fields) && !scan_dom_request(line, fields)) {
        request.kind = Request::Kind::not_json;
        return request;
    }

    if (!fields.is_object || fields.method.type != Type::string) {
        request.kind = Request::Kind::unknown_method;
        request.error = errors::kUnknownMethod;
        return request;
    }

    const std::string_view method = fields.method.text;
    request.id = serialise_id(fields.id);
    request.method.assign(method);
    if (method == "mining.subscribe") {
        parse_subscribe(*this, fields, request);
    } else if (method == "mining.submit") {
        parse_submit(*this, fields, request);
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

void append_reply_true(std::string& out, std::string_view id, ReplyStyle style) {
    if (style == ReplyStyle::both) {
        append_reply_true(out, id, ReplyStyle::legacy);
        return append_reply_true(out, id, ReplyStyle::jsonrpc2);
    }
    append_id(out, id);
    out += style == ReplyStyle::legacy ? R"(,"result":true,"error":null})" : R"(,"result":true})";
    out.push_back('\n');
}

void append_reply_error(std::string& out, std::string_view id, StratumError error, ReplyStyle style, bool result_null) {
    if (style == ReplyStyle::both) {
        append_reply_error(out, id, error, ReplyStyle::legacy, result_null);
        return append_reply_error(out, id, error, ReplyStyle::jsonrpc2, result_null);
    }
    append_id(out, id);
    if (style == ReplyStyle::legacy) out += result_null ? R"(,"result":null)" : R"(,"result":false)";
    out += R"(,"error":[)";
    char code[16];
    const auto [end, ec] = std::to_chars(code, code + sizeof code, error.code);
    out.append(code, end);
    out.push_back(',');
    append_json_string(out, error.message);
    out += "]}\n";
}

std::string reply_true(std::string_view id, ReplyStyle style) {
    std::string out;
    out.reserve(2 * (id.size() + 48));  // one allocation, not one per time the text outgrows the last
    append_reply_true(out, id, style);
    return out;
}

std::string reply_error(std::string_view id, StratumError error, ReplyStyle style, bool result_null) {
    std::string out;
    out.reserve(2 * (id.size() + error.message.size() + 64));  // one allocation (both styles: two lines)
    append_reply_error(out, id, error, style, result_null);
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
    std::string out;
    // One allocation a share: the longest record (three 66-digit hex texts, as parse_hex32
    // accepts them, two 20-digit numbers, customVardiff) is under 420 characters.
    out.reserve(420);
    out += R"({"block":)";
    char number[24];
    out.append(number, std::to_chars(number, number + sizeof number, block).ptr);
    out += R"(,"nonce":)";
    append_json_string(out, share.nonce_text);
    // The normalized address is "0x" and hex digits, which JSON takes unescaped.
    out += R"(,"minerEthAddress":")";
    append_hex(out, share.miner.bytes().data(), share.miner.bytes().size());
    out.push_back('"');
    out += R"(,"challengeNumber":)";
    append_json_string(out, share.challenge_text);
    out += R"(,"digest":)";
    append_json_string(out, share.digest_text);
    out += R"(,"difficulty":)";
    out.append(number, std::to_chars(number, number + sizeof number, share.difficulty).ptr);
    if (share.custom_vardiff) out += *share.custom_vardiff ? R"(,"customVardiff":true)" : R"(,"customVardiff":false)";
    out.push_back('}');
    return out;
}

}  // namespace sharegate::protocol
