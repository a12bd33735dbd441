// The getwork JSON-RPC layer (getwork.hpp): one HTTP body read with simdjson's On Demand
// API in a single validating walk, then each request's members turned into a Call.
//
// On Demand rather than the DOM that stratum.cpp uses, for two reasons: a numeric id is
// echoed byte for byte ("1.50" stays "1.50"), which needs the raw token, and a number no
// 64-bit type holds (a difficulty of 2^64, an id of 1e400) is valid JSON that only that
// one value refuses, with no in-place rewrite of the text. On Demand validates only what
// is read, so the walk reads every value of the body, ignored members included: a body
// is either valid JSON throughout or a parse error, never half-served.
#include "protocol/getwork.hpp"

#include <simdjson.h>

#include <array>
#include <string>
#include <utility>

#include "protocol/json_text.hpp"
#include "protocol/padded_line.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/decimal.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::protocol::getwork {

std::string_view to_string(Method method) {
    switch (method) {
        case Method::ping: return "ping";
        case Method::getPoolProtocolVersion: return "getPoolProtocolVersion";
        case Method::getPoolEthAddress: return "getPoolEthAddress";
        case Method::getChallengeNumber: return "getChallengeNumber";
        case Method::getMinimumShareDifficulty: return "getMinimumShareDifficulty";
        case Method::getMinimumShareTarget: return "getMinimumShareTarget";
        case Method::allowingCustomVardiff: return "allowingCustomVardiff";
        case Method::submitShare: return "submitShare";
    }
    return "unknown";
}

namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

constexpr std::string_view kNull = "null";

// submitShare reads six parameters (SoliditySHA3Miner's seventh, an address, and any
// later ones are validated as JSON and otherwise ignored).
constexpr std::size_t kCapturedParams = 6;
constexpr std::size_t kSubmitParams = 5;

// ---------------------------------------------------------------------------------------
// Reading the JSON.

enum class Kind : std::uint8_t { absent, null, boolean, number, string, object, array };

// One value as read. The views point into the padded copy of the body (raw tokens) or the
// parser's string buffer (unescaped strings): valid until the next parse, so everything a
// Call keeps is copied out before parse returns.
struct Value {
    Kind kind = Kind::absent;
    std::string_view text;  // string: unescaped; number: the raw token
    std::string_view raw;   // string or number: the token as received, quotes included
    bool boolean = false;
};

// The members of one request object that JSON-RPC gives a meaning to.
struct Members {
    Value jsonrpc, id, method, params;
    std::array<Value, kCapturedParams> param_values;
    std::size_t param_count = 0;
    bool duplicate = false;  // one of the four members appears twice
};

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_json_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_json_space(text.back())) text.remove_suffix(1);
    return text;
}

error_code read_value(ondemand::value& value, int depth, Value& out);

error_code walk_object(ondemand::object& object, int depth) {
    for (auto field_result : object) {
        ondemand::field field;
        SIMDJSON_TRY(std::move(field_result).get(field));
        std::string_view key;  // unescaped only to validate its escapes
        SIMDJSON_TRY(field.unescaped_key().get(key));
        Value ignored;
        SIMDJSON_TRY(read_value(field.value(), depth + 1, ignored));
    }
    return SUCCESS;
}

// Every element is read; the first kCapturedParams are kept in `captured` when given.
error_code walk_array(ondemand::array& array, int depth, Value* captured = nullptr, std::size_t* count = nullptr) {
    std::size_t n = 0;
    for (auto element_result : array) {
        ondemand::value element;
        SIMDJSON_TRY(element_result.get(element));
        Value value;
        SIMDJSON_TRY(read_value(element, depth + 1, value));
        if (captured && n < kCapturedParams) captured[n] = value;
        ++n;
    }
    if (count) *count = n;
    return SUCCESS;
}

// Reads and validates one value and everything inside it. `depth` is the nesting of the
// value itself (the root is 1).
error_code read_value(ondemand::value& value, int depth, Value& out) {
    ondemand::json_type type;
    SIMDJSON_TRY(value.type().get(type));
    switch (type) {
        case ondemand::json_type::object: {
            if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
            out.kind = Kind::object;
            ondemand::object object;
            SIMDJSON_TRY(value.get_object().get(object));
            return walk_object(object, depth);
        }
        case ondemand::json_type::array: {
            if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
            out.kind = Kind::array;
            ondemand::array array;
            SIMDJSON_TRY(value.get_array().get(array));
            return walk_array(array, depth);
        }
        case ondemand::json_type::string:
            out.kind = Kind::string;
            out.raw = trim(value.raw_json_token());  // the token runs to the next one: trim
            return value.get_string().get(out.text);
        case ondemand::json_type::number:
            out.kind = Kind::number;
            out.raw = out.text = trim(value.raw_json_token());
            return is_json_number(out.text) ? SUCCESS : simdjson::NUMBER_ERROR;
        case ondemand::json_type::boolean: out.kind = Kind::boolean; return value.get_bool().get(out.boolean);
        case ondemand::json_type::null: {
            out.kind = Kind::null;
            bool is_null = false;
            SIMDJSON_TRY(value.is_null().get(is_null));
            return is_null ? SUCCESS : simdjson::N_ATOM_ERROR;
        }
    }
    return simdjson::TAPE_ERROR;
}

// One pass over a request object's fields: the four JSON-RPC members are kept (params'
// first elements too), every other member is validated and dropped.
error_code read_request(ondemand::object& object, int depth, Members& out) {
    for (auto field_result : object) {
        ondemand::field field;
        SIMDJSON_TRY(std::move(field_result).get(field));
        std::string_view key;
        SIMDJSON_TRY(field.unescaped_key().get(key));
        Value* member = nullptr;
        if (key == "jsonrpc") {
            member = &out.jsonrpc;
        } else if (key == "id") {
            member = &out.id;
        } else if (key == "method") {
            member = &out.method;
        } else if (key == "params") {
            member = &out.params;
        }
        if (member == nullptr) {
            Value ignored;
            SIMDJSON_TRY(read_value(field.value(), depth + 1, ignored));
            continue;
        }
        if (member->kind != Kind::absent) out.duplicate = true;
        *member = Value{};
        if (member == &out.params && !out.duplicate) {
            ondemand::json_type type;
            SIMDJSON_TRY(field.value().type().get(type));
            if (type == ondemand::json_type::array) {
                if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
                out.params.kind = Kind::array;
                ondemand::array array;
                SIMDJSON_TRY(field.value().get_array().get(array));
                SIMDJSON_TRY(walk_array(array, depth + 1, out.param_values.data(), &out.param_count));
                continue;
            }
        }
        SIMDJSON_TRY(read_value(field.value(), depth + 1, *member));
    }
    return SUCCESS;
}

// ---------------------------------------------------------------------------------------
// Numbers a miner sends.

// The exact value of a JSON number's text when it is an integer from 1 to 2^64-1, in any
// of its spellings: "1000", "1000.0", "1e3", "10000e-1". COSMiC sends its difficulty as a
// float, so integral floats are accepted; worked out on the digits rather than through a
// double, so that no spelling rounds into a different integer. Zero, negatives,
// fractions and anything at or above 2^64 are refused.
std::optional<std::uint64_t> integral_number(std::string_view text) {
    if (!is_json_number(text) || text.front() == '-') return std::nullopt;
    const std::size_t exponent_at = text.find_first_of("eE");
    const std::string_view mantissa = text.substr(0, exponent_at);
    long long exponent = 0;
    if (exponent_at != std::string_view::npos) {
        std::string_view e = text.substr(exponent_at + 1);
        const bool negative = e.front() == '-';
        if (e.front() == '-' || e.front() == '+') e.remove_prefix(1);
        while (e.size() > 1 && e.front() == '0') e.remove_prefix(1);
        // Beyond six digits the value is zero, fractional or far above 2^64 anyway.
        if (e.size() > 6) e = "1000000";
        for (const char c : e) exponent = exponent * 10 + (c - '0');
        if (negative) exponent = -exponent;
    }
    std::string digits;
    const std::size_t point = mantissa.find('.');
    digits.append(mantissa.substr(0, point));
    if (point != std::string_view::npos) {
        const std::string_view fraction = mantissa.substr(point + 1);
        digits.append(fraction);
        exponent -= static_cast<long long>(fraction.size());
    }
    const std::size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) return std::nullopt;  // zero
    digits.erase(0, first);
    if (exponent < 0) {
        // Integral only when the digits shifted out are all zeros.
        const auto shift = static_cast<std::size_t>(-exponent);
        if (shift >= digits.size()) return std::nullopt;
        if (digits.find_first_not_of('0', digits.size() - shift) != std::string::npos) return std::nullopt;
        digits.resize(digits.size() - shift);
    } else if (exponent > 0) {
        if (digits.size() + static_cast<std::size_t>(exponent) > 20) return std::nullopt;  // 2^64 has 20 digits
        digits.append(static_cast<std::size_t>(exponent), '0');
    }
    return parse_positive_u64(digits);
}

// A submitShare difficulty: a JSON integer or integral float (COSMiC), or a decimal string
// (SoliditySHA3Miner, nabiki). Strings are read as the stratum door reads them (digits,
// leading zeros allowed), and an integral float in a string ("1000.0") is taken too.
std::optional<std::uint64_t> parse_difficulty(const Value& value) {
    switch (value.kind) {
        case Kind::number: return integral_number(value.text);
        case Kind::string:
            if (const auto digits = parse_positive_u64(value.text)) return digits;
            return integral_number(value.text);
        default: return std::nullopt;
    }
}

bool equals_ignoring_case(std::string_view text, std::string_view lower) {
    if (text.size() != lower.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
        if (c != lower[i]) return false;
    }
    return true;
}

// submitShare's 6th parameter: a boolean (nabiki), "true"/"false" (SoliditySHA3Miner; any
// case, as .NET prints "True"), or a number, zero meaning false (nabiki). Anything else,
// or nothing (MVis-tokenminer, 0xbitcoin-miner, COSMiC send five), is false, as the
// original reads it.
bool parse_custom_vardiff(const Value& value) {
    switch (value.kind) {
        case Kind::boolean: return value.boolean;
        case Kind::string: return equals_ignoring_case(value.text, "true");
        case Kind::number: {
            const std::string_view mantissa = value.text.substr(0, value.text.find_first_of("eE"));
            return mantissa.find_first_not_of("-0.") != std::string_view::npos;
        }
        default: return false;
    }
}

// ---------------------------------------------------------------------------------------
// Turning members into a Call.

std::optional<Address> parse_miner(const Value& value) {
    if (value.kind != Kind::string) return std::nullopt;
    // The stratum door's rule (Address::parse): one case, or mixed case that is the EIP-55
    // checksum; a miner gets the same verdict on an address whichever door it uses.
    const auto parsed = Address::parse(value.text);
    if (!parsed) return std::nullopt;
    return *parsed;
}

bool parse_hex_field(const Value& value, Bytes32& out, Hex32Text& text_out) {
    return value.kind == Kind::string && parse_hex32_field(value.text, out, text_out);
}

// The values in the stratum door's order (nonce, miner, digest, difficulty, challenge);
// the first malformed one names the refusal, as stratum.cpp's parse_submit does.
void parse_submit(const Members& members, Call& call) {
    const auto& p = members.param_values;
    SubmitRequest& submit = call.submit;
    submit.custom_vardiff = members.param_count > kSubmitParams && parse_custom_vardiff(p[kSubmitParams]);
    call.refusal = errors::kInvalidShareParameters;
    if (!parse_hex_field(p[0], submit.nonce, submit.nonce_text)) return;
    const auto miner = parse_miner(p[1]);
    if (!miner) {
        call.refusal = errors::kInvalidAccount;
        return;
    }
    submit.miner = *miner;
    Bytes32 digest{};
    if (!parse_hex_field(p[2], digest, submit.digest_text)) return;
    submit.digest = U256::from_be_bytes(digest);
    const auto difficulty = parse_difficulty(p[3]);
    if (!difficulty) return;
    submit.difficulty = *difficulty;
    if (!parse_hex_field(p[4], submit.challenge, submit.challenge_text)) return;
    call.refusal = errors::kNone;
}

std::optional<Method> find_method(std::string_view name) {
    static constexpr Method kAll[] = {
        Method::ping,
        Method::getPoolProtocolVersion,
        Method::getPoolEthAddress,
        Method::getChallengeNumber,
        Method::getMinimumShareDifficulty,
        Method::getMinimumShareTarget,
        Method::allowingCustomVardiff,
        Method::submitShare,
    };
    for (const Method method : kAll) {
        if (to_string(method) == name) return method;
    }
    return std::nullopt;
}

Call invalid_request(std::size_t index, std::string id = std::string(kNull)) {
    Call call;
    call.index = index;
    call.id = std::move(id);
    call.error = rpc_errors::kInvalidRequest;
    return call;
}

// The checks in order: the request's shape (-32600: duplicated members, an unusable id, a
// wrong "jsonrpc", a method that is not a string), then the method (-32601), then the
// params (-32602). A request whose id was read is answered with that id.
Call make_call(std::size_t index, const Members& members) {
    if (members.duplicate) return invalid_request(index);  // which id or method was meant?
    const Value& id = members.id;
    // Numbers and strings are ids (MVis-tokenminer numbers; jayson UUIDs; "1"; "cosmic");
    // null is allowed by the spec. Objects, arrays and booleans are not.
    const bool id_usable =
        id.kind == Kind::absent || id.kind == Kind::null || id.kind == Kind::number || id.kind == Kind::string;
    if (!id_usable) return invalid_request(index);
    std::string id_text = id.kind == Kind::number || id.kind == Kind::string ? std::string(id.raw) : std::string(kNull);
    // MVis-tokenminer and jayson send "2.0"; SoliditySHA3Miner sends no "jsonrpc": absent
    // is accepted, anything else is not JSON-RPC 2.0.
    const bool version_ok =
        members.jsonrpc.kind == Kind::absent || (members.jsonrpc.kind == Kind::string && members.jsonrpc.text == "2.0");
    if (!version_ok || members.method.kind != Kind::string) return invalid_request(index, std::move(id_text));

    Call call;
    call.index = index;
    call.id = std::move(id_text);
    call.notification = id.kind == Kind::absent;
    const auto method = find_method(members.method.text);
    if (!method) {
        call.error = rpc_errors::kMethodNotFound;
        return call;
    }
    call.method = *method;
    // SoliditySHA3Miner sends no "params"; the others "[]" or positional arrays.
    const Kind params = members.params.kind;
    if (params != Kind::absent && params != Kind::array) {
        call.error = rpc_errors::kInvalidParams;
        return call;
    }
    switch (call.method) {
        case Method::getMinimumShareDifficulty:
        case Method::getMinimumShareTarget:
            if (members.param_count > 0) call.miner = parse_miner(members.param_values[0]);
            break;
        case Method::submitShare:
            if (members.param_count < kSubmitParams) {
                call.error = rpc_errors::kInvalidParams;
                break;
            }
            parse_submit(members, call);
            break;
        default: break;
    }
    return call;
}

// Whether the whole body was read: On Demand stops where the root value ends, so text
// after it ("{} {}", "[1]]") is found only by asking.
bool at_end(ondemand::document& document) { return document.current_location().error() == simdjson::OUT_OF_BOUNDS; }

Body whole_body_error(BodyError error) {
    Body body;
    body.error = error;
    switch (error) {
        case BodyError::not_json:
        case BodyError::too_deep: body.response = error_response(kNull, rpc_errors::kParseError); break;
        case BodyError::batch_too_large: body.response = error_response(kNull, rpc_errors::kBatchTooLarge); break;
        default: body.response = error_response(kNull, rpc_errors::kInvalidRequest); break;
    }
    return body;
}

// A root that is neither object nor array is valid JSON only if it is one whole token
// (On Demand checks a root scalar's trailing content only when converting it). The
// atoms are compared as text: simdjson 3.0's root is_null() refuses "null " though the
// trailing space is valid.
bool valid_root_scalar(ondemand::document& document, ondemand::json_type type, std::string_view text) {
    std::string_view token;
    if (document.raw_json_token().get(token) != SUCCESS) return false;
    token = trim(token);
    if (token != trim(text)) return false;
    switch (type) {
        case ondemand::json_type::string: {
            std::string_view unescaped;  // read only to validate its escapes
            return document.get_string().get(unescaped) == SUCCESS;
        }
        case ondemand::json_type::number: return is_json_number(token);
        case ondemand::json_type::boolean: return token == "true" || token == "false";
        case ondemand::json_type::null: return token == "null";
        default: return false;
    }
}

}  // namespace

struct Parser::Impl {
    ondemand::parser parser;
    PaddedLine body;
};

Parser::Parser() : impl_(std::make_unique<Impl>()) {}
Parser::~Parser() = default;
Parser::Parser(Parser&&) noexcept = default;
Parser& Parser::operator=(Parser&&) noexcept = default;

Body Parser::parse(std::string_view text, std::size_t max_batch) {
    const std::string_view copy = impl_->body.copy(text);
    ondemand::document document;
    // UTF-8 is validated over the whole input here, and an empty body refused.
    if (impl_->parser.iterate(copy.data(), copy.size(), copy.size() + simdjson::SIMDJSON_PADDING).get(document) !=
        SUCCESS) {
        return whole_body_error(BodyError::not_json);
    }
    ondemand::json_type type;
    if (document.type().get(type) != SUCCESS) return whole_body_error(BodyError::not_json);

    const auto failed = [](error_code error) {
        return whole_body_error(error == simdjson::DEPTH_ERROR ? BodyError::too_deep : BodyError::not_json);
    };
    Body body;
    if (type == ondemand::json_type::object) {
        ondemand::object object;
        Members members;
        if (const error_code error = document.get_object().get(object); error != SUCCESS) return failed(error);
        if (const error_code error = read_request(object, 1, members); error != SUCCESS) return failed(error);
        if (!at_end(document)) return whole_body_error(BodyError::not_json);
        body.calls.push_back(make_call(0, members));
        return body;
    }
    if (type != ondemand::json_type::array) {
        return whole_body_error(valid_root_scalar(document, type, text) ? BodyError::not_a_request
                                                                        : BodyError::not_json);
    }

    body.batch = true;
    ondemand::array array;
    if (const error_code error = document.get_array().get(array); error != SUCCESS) return failed(error);
    for (auto element_result : array) {
        ondemand::value element;
        if (const error_code error = element_result.get(element); error != SUCCESS) return failed(error);
        // Refused at the first element too many, without reading the rest: a flood costs
        // no more than max_batch requests' worth of parsing.
        if (body.calls.size() == max_batch) return whole_body_error(BodyError::batch_too_large);
        const std::size_t index = body.calls.size();
        ondemand::json_type element_type;
        if (const error_code error = element.type().get(element_type); error != SUCCESS) return failed(error);
        if (element_type == ondemand::json_type::object) {
            ondemand::object object;
            Members members;
            if (const error_code error = element.get_object().get(object); error != SUCCESS) return failed(error);
            if (const error_code error = read_request(object, 2, members); error != SUCCESS) return failed(error);
            body.calls.push_back(make_call(index, members));
        } else {
            Value ignored;
            if (const error_code error = read_value(element, 2, ignored); error != SUCCESS) return failed(error);
            body.calls.push_back(invalid_request(index));
        }
    }
    if (!at_end(document)) return whole_body_error(BodyError::not_json);
    if (body.calls.empty()) return whole_body_error(BodyError::not_a_request);
    return body;
}

// ---------------------------------------------------------------------------------------
// Writing answers.

namespace {

std::string envelope(std::string_view id) {
    std::string out = R"({"jsonrpc":"2.0","id":)";
    out += id.empty() ? kNull : id;
    return out;
}

std::string result_raw(std::string_view id, std::string_view json) {
    std::string out = envelope(id);
    out += R"(,"result":)";
    out += json;
    out.push_back('}');
    return out;
}

}  // namespace

std::string result_string(std::string_view id, std::string_view value) {
    std::string json;
    append_json_string(json, value);
    return result_raw(id, json);
}

std::string result_number(std::string_view id, std::uint64_t value) { return result_raw(id, std::to_string(value)); }

std::string result_bool(std::string_view id, bool value) { return result_raw(id, value ? "true" : "false"); }

std::string result_null(std::string_view id) { return result_raw(id, kNull); }

std::string error_response(std::string_view id, RpcError error) {
    std::string out = envelope(id);
    out += R"(,"error":{"code":)";
    out += std::to_string(error.code);
    out += R"(,"message":)";
    append_json_string(out, error.message);
    out += "}}";
    return out;
}

std::optional<std::string> immediate_response(const Call& call) {
    if (!call.error || call.notification) return std::nullopt;
    return error_response(call.id, *call.error);
}

std::optional<std::string> join_responses(bool batch, std::span<const std::optional<std::string>> responses) {
    if (!batch) {
        for (const auto& response : responses) {
            if (response) return *response;
        }
        return std::nullopt;
    }
    std::string out;
    for (const auto& response : responses) {
        if (!response) continue;
        out.push_back(out.empty() ? '[' : ',');
        out += *response;
    }
    if (out.empty()) return std::nullopt;
    out.push_back(']');
    return out;
}

}  // namespace sharegate::protocol::getwork
