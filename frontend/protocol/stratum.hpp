// The stratum dialect of ERC-918 pools (docs/protocol.md section 2): parsing one line
// into a typed request, with every malformed form mapped to its protocol error, and
// writing replies in either generation's shape.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/hex_text.hpp"
#include "sharegate/address.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::protocol {

// Every refusal of the protocol's error table, so that callers can count them by kind:
// several share one wire code (20 is five of them).
enum class ErrorKind : std::uint8_t {
    invalid_parameters,
    invalid_account,
    wrong_challenge,
    low_difficulty,
    duplicate,
    invalid_digest,
    target_not_met,
    not_stored,
    not_subscribed,
    unknown_method,
    server_busy,
    rate_limited,
    count,
};

struct StratumError {
    ErrorKind kind;
    int code;  // 0: no error
    std::string_view message;
};

namespace errors {
inline constexpr StratumError kNone{ErrorKind::invalid_parameters, 0, {}};
inline constexpr StratumError kInvalidShareParameters{ErrorKind::invalid_parameters, 20, "Invalid share parameters"};
inline constexpr StratumError kInvalidAccount{ErrorKind::invalid_account, 20, "Invalid ETH account"};
inline constexpr StratumError kInvalidDigest{ErrorKind::invalid_digest, 20, "Invalid digest"};
inline constexpr StratumError kUnknownMethod{ErrorKind::unknown_method, 20, "Unknown stratum method"};
inline constexpr StratumError kWrongChallenge{ErrorKind::wrong_challenge, 21, "Wrong challenge number"};
inline constexpr StratumError kDuplicateShare{ErrorKind::duplicate, 22, "Duplicate share"};
inline constexpr StratumError kLowDifficulty{ErrorKind::low_difficulty, 23, "Low difficulty share"};
inline constexpr StratumError kTargetNotMet{ErrorKind::target_not_met, 23, "Target not met"};
inline constexpr StratumError kNotSubscribed{ErrorKind::not_subscribed, 25, "Not subscribed"};
inline constexpr StratumError kShareNotStored{ErrorKind::not_stored, 20, "Share could not be stored"};
// The duplicate filter holds its bound for this challenge (pool::DuplicateFilter).
inline constexpr StratumError kServerBusy{ErrorKind::server_busy, 20, "Server busy"};
// The connection sent submits faster than its token bucket allows (--max-submits-per-s).
inline constexpr StratumError kRateLimited{ErrorKind::rate_limited, 20, "Rate limit exceeded"};
}  // namespace errors

// MVis-tokenminer up to v2.1.17 wants both "result" and "error" in every reply; from
// v2.1.18 on it discards a reply with both (JSON-RPC 2.0 style). `both` writes the legacy
// line and then the JSON-RPC 2.0 line: each generation acts on the one it finds valid and
// logs and ignores the other (docs/protocol.md section 2).
enum class ReplyStyle { legacy, jsonrpc2, both };

struct SubscribeRequest {
    Address miner;
    std::optional<std::string> client_id;  // only the newer miner sends one
};

struct SubmitRequest {
    Bytes32 nonce{};
    Address miner;
    U256 digest;
    std::uint64_t difficulty = 0;
    Bytes32 challenge{};
    // The hex strings as received, for the queued share JSON ("hex strings as received").
    Hex32Text nonce_text, digest_text, challenge_text;
    // A getwork submitShare's 6th parameter (false when absent); the queued share JSON then
    // carries "customVardiff" after "difficulty", as the original's getwork path writes it.
    // Unset for stratum submits, whose JSON has no such field.
    std::optional<bool> custom_vardiff;
};

struct Request {
    enum class Kind {
        subscribe,       // valid mining.subscribe
        submit,          // mining.submit whose parameters are well-formed (not yet checked against pool state)
        bad_subscribe,   // mining.subscribe with bad params: answer error, then close
        bad_submit,      // mining.submit with bad params: answer error
        unknown_method,  // JSON object with an unknown or missing method, or JSON that is not an object
        not_json,        // not JSON, or not UTF-8: close the connection
    };
    Kind kind = Kind::not_json;
    std::string id;                      // the request's "id" re-serialised as JSON ("null" when absent or unusable)
    std::string method;                  // for logs
    StratumError error = errors::kNone;  // for bad_subscribe / bad_submit / unknown_method
    SubscribeRequest subscribe;
    SubmitRequest submit;
};

// Parses a line into a Request: the flat form miners send by the flat scanner
// (flat_request_scanner.hpp), any other line by simdjson (dom_request_scanner.hpp, with
// its thread's parser), both read by the same rules. Remembers the last miner address it
// read (a connection sends the same one with every submit, and checking an EIP-55 one
// costs a Keccak): one parser a connection, used by one thread at a time.
class StratumParser {
public:
    Request parse(std::string_view line);

    // Address::parse, answered from memory when `text` is the text it last accepted.
    bool parse_address(std::string_view text, Address& out);

private:
    std::array<char, 42> last_address_text_{};  // "0x" and 40 digits at most
    std::size_t last_address_size_ = 0;         // 0: nothing remembered
    Address last_address_;
};

// Replies, each one line ending in '\n' (two lines for ReplyStyle::both).
// Legacy: {"id":4,"result":true,"error":null} / {"id":4,"result":false,"error":[23,"…"]}.
// JSON-RPC 2.0: {"id":4,"result":true} / {"id":4,"error":[23,"…"]}.
// result_on_error: "false" for rejected subscribes and submits, "null" for not-subscribed
// and unknown-method replies (legacy style only; JSON-RPC 2.0 omits result).
std::string reply_true(std::string_view id, ReplyStyle style);
std::string reply_error(std::string_view id, StratumError error, ReplyStyle style, bool result_null = false);
// The same lines appended to `out`: a connection writes them straight into its next write.
void append_reply_true(std::string& out, std::string_view id, ReplyStyle style);
void append_reply_error(std::string& out, std::string_view id, StratumError error, ReplyStyle style,
                        bool result_null = false);
// {"method":"mining.notify","params":["0x<challenge>","<decimal target>",<difficulty>,"<EIP-55 pool>"]}
std::string notify(const Bytes32& challenge, const U256& target, std::uint64_t difficulty, const Address& pool);

// The line LPUSHed to queued_shares_list for an accepted share, byte for byte the
// original's JSON.stringify order and types:
// {"block":N,"nonce":"0x…","minerEthAddress":"0x…","challengeNumber":"0x…","digest":"0x…","difficulty":N}
// and, for a getwork submit (custom_vardiff set), ,"customVardiff":true|false before the }.
std::string queued_share_json(std::uint64_t block, const SubmitRequest& share);

}  // namespace sharegate::protocol
