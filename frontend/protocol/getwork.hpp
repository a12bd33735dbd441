// The legacy HTTP JSON-RPC 2.0 "getwork" dialect of ERC-918 pools (docs/protocol.md
// section 3) as pure functions: one HTTP body parsed into the calls it holds, each with
// its id, method and typed parameters or the error it gets, and the compact JSON texts of
// the answers. No sockets and no pool state here: the HTTP server runs the calls (a
// submitShare answers only after verification) and assembles the body with join_responses.
//
// The rules are the ones that serve every real getwork client (protocol.md's client
// table): MVis-tokenminer posts a batch array with numeric ids, 0xbitcoin-miner one
// request with a UUID id and `params: []`, SoliditySHA3Miner omits `params` and
// `jsonrpc` and sends seven string parameters, COSMiC sends the difficulty as a float,
// nabiki batches with string ids and a numeric 6th parameter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/stratum.hpp"
#include "sharegate/address.hpp"

namespace sharegate::protocol::getwork {

// The server's default --max-batch: MVis-tokenminer, the largest batcher, sends 4.
inline constexpr std::size_t kDefaultMaxBatch = 100;
// Nesting beyond this is refused as a parse error without reading further: a request
// needs 3 levels (batch, request, params), and a bound keeps the validating walk's
// recursion (and its stack) small whatever a client sends.
inline constexpr int kMaxDepth = 64;

inline constexpr std::string_view kPong = "pong";
inline constexpr std::string_view kProtocolVersion = "1.02";

// The methods of the original, named as on the wire.
enum class Method : std::uint8_t {
    ping,
    getPoolProtocolVersion,
    getPoolEthAddress,
    getChallengeNumber,
    getMinimumShareDifficulty,
    getMinimumShareTarget,
    allowingCustomVardiff,
    submitShare,
};

std::string_view to_string(Method method);

// A JSON-RPC 2.0 error object (section 5.1 of the spec).
struct RpcError {
    int code;
    std::string_view message;
};

namespace rpc_errors {
inline constexpr RpcError kParseError{-32700, "Parse error"};
inline constexpr RpcError kInvalidRequest{-32600, "Invalid Request"};
inline constexpr RpcError kBatchTooLarge{-32600, "Invalid Request: batch too large"};
inline constexpr RpcError kMethodNotFound{-32601, "Method not found"};
inline constexpr RpcError kInvalidParams{-32602, "Invalid params"};
}  // namespace rpc_errors

// Why a whole body got one answer and ran nothing (for counters and logs).
enum class BodyError : std::uint8_t {
    none,
    not_json,         // not JSON, not UTF-8, or empty: -32700
    too_deep,         // nesting beyond kMaxDepth: -32700
    not_a_request,    // JSON that is neither an object nor an array, or `[]`: -32600
    batch_too_large,  // more than max_batch elements: -32600, no call run
};

// One element of the body: a request to run, or an element that only gets an error.
struct Call {
    // Its slot among the body's answers: the position in the batch (0 for a single request).
    std::size_t index = 0;
    // No "id" member: the call runs but is never answered (JSON-RPC 2.0 section 4.1).
    // Invalid requests are never notifications: their id could not be told (section 5).
    bool notification = false;
    // The id to echo, as raw JSON text exactly as received ("7", "1.50", "\"cosmic\""),
    // or "null" (id null, absent, or unusable).
    std::string id = "null";
    // Set: the element is answered with this error (unless a notification) and nothing runs.
    std::optional<RpcError> error;
    Method method = Method::ping;  // meaningful when !error

    // getMinimumShareDifficulty / getMinimumShareTarget: the miner named by params[0].
    // Missing or invalid is not an error: the original answers the pool minimum.
    std::optional<Address> miner;

    // submitShare with at least five parameters: the share, filled as the stratum parser
    // fills it (nonce/digest/challenge texts as received), and custom_vardiff always set.
    // refusal.code != 0: a value was malformed; not a JSON-RPC error, the answer is
    // `false` and the refusal is counted (errors::kInvalidShareParameters or
    // errors::kInvalidAccount, as the stratum door counts them).
    SubmitRequest submit{};  // {}: SubmitRequest's Bytes32 members have no initializer of their own
    StratumError refusal = errors::kNone;
};

struct Body {
    BodyError error = BodyError::none;
    // Set when error != none: the whole answer, one error object with id null.
    std::string response;
    // The body was an array: the answers form an array (join_responses).
    bool batch = false;
    // Every element in order, calls[i].index == i; empty when error != none.
    std::vector<Call> calls;
};

// Reuses its buffers (a padded copy of the body, simdjson's parser); one per connection or
// thread, not shared.
class Parser {
public:
    Parser();
    ~Parser();
    Parser(Parser&&) noexcept;
    Parser& operator=(Parser&&) noexcept;

    // The calls of one HTTP body. Pure: the same text always gives the same Body.
    Body parse(std::string_view body, std::size_t max_batch = kDefaultMaxBatch);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Answers, each compact JSON without a newline: {"jsonrpc":"2.0","id":<id>,"result":…}.
// `id` is Call::id (raw JSON text); an empty id is written as null.
std::string result_string(std::string_view id, std::string_view value);  // "pong", "1.02", addresses, challenge, target
std::string result_number(std::string_view id, std::uint64_t value);     // difficulty: a JSON number (COSMiC needs one)
std::string result_bool(std::string_view id, bool value);                // submitShare, allowingCustomVardiff
std::string result_null(std::string_view id);                            // getChallengeNumber before any challenge
// {"jsonrpc":"2.0","id":<id>,"error":{"code":-32601,"message":"Method not found"}}
std::string error_response(std::string_view id, RpcError error);

// The answer a call gets without running: its error, unless it is a notification.
std::optional<std::string> immediate_response(const Call& call);

// The HTTP body from the calls' answers (slot i for calls[i]; nullopt where a call gets
// none). A batch: "[" + the answers joined by "," + "]"; a single request: its answer.
// nullopt when there is nothing to send (all notifications): the HTTP layer sends 204.
std::optional<std::string> join_responses(bool batch, std::span<const std::optional<std::string>> responses);

}  // namespace sharegate::protocol::getwork
