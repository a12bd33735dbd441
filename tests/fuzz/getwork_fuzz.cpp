// Fuzz target: the getwork JSON-RPC layer (frontend/protocol/getwork.hpp), fed one HTTP
// body, then every answer built from the calls it holds. Invariants, whatever the bytes:
// - deterministic and pure: a reused parser and a fresh one give the same Body;
// - a whole-body error runs nothing and is one error object with id null and its code;
// - otherwise calls[i].index == i, a single request holds one call, a batch at most
//   max_batch; a smaller max_batch gives the same calls or batch_too_large, nothing else;
// - every id is "null" or a token found verbatim in the body (echoed byte for byte);
// - an error call carries -32600 (never a notification), -32601 or -32602; a submitShare
//   always sets custom_vardiff, and one without refusal holds well-formed hex texts that
//   read back as its fields and a positive difficulty;
// - validity agrees with simdjson's DOM parser, except where the DOM refuses a number's
//   size or a depth, or the batch limit answered first;
// - every answer, and their join, is valid JSON (when the DOM can hold its numbers).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "protocol/getwork.hpp"
#include "sharegate/bytes.hpp"

namespace {

namespace getwork = sharegate::protocol::getwork;
using getwork::Body;
using getwork::BodyError;
using getwork::Call;
using getwork::Method;

constexpr std::size_t kSmallBatch = 2;

bool same_call(const Call& a, const Call& b) {
    const auto same_error = a.error.has_value() == b.error.has_value() &&
                            (!a.error || (a.error->code == b.error->code && a.error->message == b.error->message));
    return a.index == b.index && a.notification == b.notification && a.id == b.id && same_error &&
           a.method == b.method && a.miner == b.miner && a.submit.nonce == b.submit.nonce &&
           a.submit.miner == b.submit.miner && a.submit.digest == b.submit.digest &&
           a.submit.difficulty == b.submit.difficulty && a.submit.challenge == b.submit.challenge &&
           a.submit.nonce_text == b.submit.nonce_text && a.submit.digest_text == b.submit.digest_text &&
           a.submit.challenge_text == b.submit.challenge_text && a.submit.custom_vardiff == b.submit.custom_vardiff &&
           a.refusal.code == b.refusal.code && a.refusal.kind == b.refusal.kind;
}

bool same_body(const Body& a, const Body& b) {
    if (a.error != b.error || a.response != b.response || a.batch != b.batch || a.calls.size() != b.calls.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.calls.size(); ++i) {
        if (!same_call(a.calls[i], b.calls[i])) return false;
    }
    return true;
}

// A well-formed hex text as SubmitRequest keeps it: "0x" and 64 hex digits of either case.
void check_hex_text(std::string_view text, const sharegate::Bytes32& value) {
    const auto parsed = sharegate::parse_hex32(text);
    SHAREGATE_FUZZ_CHECK(parsed && *parsed == value);
}

void check_call(std::string_view data, const Call& call) {
    SHAREGATE_FUZZ_CHECK(!call.id.empty());
    if (call.id != "null") SHAREGATE_FUZZ_CHECK(data.find(call.id) != std::string_view::npos);
    if (call.error) {
        const int code = call.error->code;
        SHAREGATE_FUZZ_CHECK(code == -32600 || code == -32601 || code == -32602);
        if (code == -32600) SHAREGATE_FUZZ_CHECK(!call.notification);
        SHAREGATE_FUZZ_CHECK(!call.miner);
        return;
    }
    if (call.notification) SHAREGATE_FUZZ_CHECK(call.id == "null");
    if (call.method != Method::getMinimumShareDifficulty && call.method != Method::getMinimumShareTarget) {
        SHAREGATE_FUZZ_CHECK(!call.miner);
    }
    if (call.method != Method::submitShare) {
        SHAREGATE_FUZZ_CHECK(!call.submit.custom_vardiff && call.refusal.code == 0);
        return;
    }
    SHAREGATE_FUZZ_CHECK(call.submit.custom_vardiff.has_value());
    if (call.refusal.code != 0) {
        SHAREGATE_FUZZ_CHECK(call.refusal.code == 20);
        SHAREGATE_FUZZ_CHECK(call.refusal.kind == sharegate::protocol::ErrorKind::invalid_parameters ||
                             call.refusal.kind == sharegate::protocol::ErrorKind::invalid_account);
        return;
    }
    check_hex_text(call.submit.nonce_text, call.submit.nonce);
    check_hex_text(call.submit.challenge_text, call.submit.challenge);
    const auto digest = sharegate::parse_hex32(call.submit.digest_text);
    SHAREGATE_FUZZ_CHECK(digest && sharegate::U256::from_be_bytes(*digest) == call.submit.digest);
    SHAREGATE_FUZZ_CHECK(call.submit.difficulty > 0);
}

// Valid JSON as the DOM reads it; a number it cannot hold (an echoed id of 1e400) is
// not held against the text.
void check_json(simdjson::dom::parser& dom, const std::string& text) {
    const auto error = dom.parse(simdjson::padded_string(text)).error();
    SHAREGATE_FUZZ_CHECK(error == simdjson::SUCCESS || error == simdjson::NUMBER_ERROR);
}

// Every answer the server could give: errors as they are, and for each method a result of
// the type it answers with.
void check_answers(simdjson::dom::parser& dom, const Body& body) {
    std::vector<std::optional<std::string>> responses;
    std::size_t answered = 0;
    for (const Call& call : body.calls) {
        std::optional<std::string> response = getwork::immediate_response(call);
        if (!call.error && !call.notification) {
            switch (call.method) {
                case Method::ping: response = getwork::result_string(call.id, getwork::kPong); break;
                case Method::getPoolProtocolVersion:
                    response = getwork::result_string(call.id, getwork::kProtocolVersion);
                    break;
                case Method::getPoolEthAddress:
                    response = getwork::result_string(call.id, "0x1b7bfB694eE51913c347971c7090a74AEFbd41f6");
                    break;
                case Method::getChallengeNumber: response = getwork::result_null(call.id); break;
                case Method::getMinimumShareDifficulty: response = getwork::result_number(call.id, 1000); break;
                case Method::getMinimumShareTarget: response = getwork::result_string(call.id, "123456789"); break;
                case Method::allowingCustomVardiff: response = getwork::result_bool(call.id, false); break;
                case Method::submitShare: response = getwork::result_bool(call.id, call.refusal.code == 0); break;
            }
        }
        if (response) {
            ++answered;
            SHAREGATE_FUZZ_CHECK(response->starts_with(R"({"jsonrpc":"2.0","id":)" + call.id + ","));
            SHAREGATE_FUZZ_CHECK(response->find('\n') == std::string::npos);
            check_json(dom, *response);
        }
        responses.push_back(std::move(response));
    }
    const auto joined = getwork::join_responses(body.batch, responses);
    SHAREGATE_FUZZ_CHECK(joined.has_value() == (answered > 0));
    if (!joined) return;
    if (body.batch) SHAREGATE_FUZZ_CHECK(joined->front() == '[' && joined->back() == ']');
    if (!body.batch) SHAREGATE_FUZZ_CHECK(*joined == *responses.front());
    check_json(dom, *joined);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    static getwork::Parser reused;
    static simdjson::dom::parser dom;
    const std::string_view data(reinterpret_cast<const char*>(bytes), size);

    const Body body = reused.parse(data);
    getwork::Parser fresh;
    SHAREGATE_FUZZ_CHECK(same_body(body, fresh.parse(data)));

    if (body.error != BodyError::none) {
        SHAREGATE_FUZZ_CHECK(body.calls.empty() && !body.batch);
        const auto rpc = body.error == BodyError::not_json || body.error == BodyError::too_deep
                             ? getwork::rpc_errors::kParseError
                         : body.error == BodyError::batch_too_large ? getwork::rpc_errors::kBatchTooLarge
                                                                    : getwork::rpc_errors::kInvalidRequest;
        SHAREGATE_FUZZ_CHECK(body.response == getwork::error_response("null", rpc));
    } else {
        SHAREGATE_FUZZ_CHECK(!body.calls.empty() && body.response.empty());
        SHAREGATE_FUZZ_CHECK(body.batch || body.calls.size() == 1);
        SHAREGATE_FUZZ_CHECK(body.calls.size() <= getwork::kDefaultMaxBatch);
        for (std::size_t i = 0; i < body.calls.size(); ++i) {
            SHAREGATE_FUZZ_CHECK(body.calls[i].index == i);
            check_call(data, body.calls[i]);
        }
        check_answers(dom, body);
    }

    // A smaller batch limit changes nothing but the answer to a larger batch.
    const Body small = fresh.parse(data, kSmallBatch);
    if (body.error == BodyError::none && body.batch && body.calls.size() > kSmallBatch) {
        SHAREGATE_FUZZ_CHECK(small.error == BodyError::batch_too_large);
    } else if (body.error == BodyError::batch_too_large) {
        SHAREGATE_FUZZ_CHECK(small.error == BodyError::batch_too_large);
    } else {
        // An over-long batch may hold a fault the bigger limit reached and the smaller did not.
        SHAREGATE_FUZZ_CHECK(same_body(body, small) || small.error == BodyError::batch_too_large);
    }

    // Validity agrees with the DOM parser (a full validator).
    const auto dom_error = dom.parse(simdjson::padded_string(data)).error();
    if (dom_error == simdjson::SUCCESS) {
        SHAREGATE_FUZZ_CHECK(body.error != BodyError::not_json);
    } else if (dom_error != simdjson::NUMBER_ERROR && dom_error != simdjson::DEPTH_ERROR) {
        SHAREGATE_FUZZ_CHECK(body.error == BodyError::not_json || body.error == BodyError::too_deep ||
                             body.error == BodyError::batch_too_large);
    }
    return 0;
}
