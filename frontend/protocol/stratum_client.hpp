// The miner's side of the stratum dialect (docs/protocol.md section 2): the requests a
// miner writes, and a parser for the lines a pool sends back. The load generator and the
// end-to-end tests both speak to the server through it, so neither builds requests or
// reads replies by hand.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sharegate/address.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::protocol {

// ---- requests ----
//
// Written as MVis-tokenminer writes them (jsoncpp's FastWriter: keys in sorted order, no
// spaces), one line ending in '\n'. Text fields are JSON-escaped; hex and addresses need
// no escaping, so they go out exactly as given, whatever their case or length (a test may
// send a malformed nonce on purpose).

// {"id":1,"method":"mining.subscribe","params":["<miner>"]}, or with ,"<client id>" as
// the second parameter (MVis-tokenminer 2.2+ sends one, and gets the JSON-RPC 2.0 shape).
std::string subscribe_request(std::uint64_t id, std::string_view miner,
                              std::optional<std::string_view> client_id = std::nullopt);

// {"id":4,"method":"mining.submit","params":["<nonce>","<miner>","<digest>",<difficulty>,"<challenge>"]}
// `difficulty` is the parameter's JSON text, written as is: a miner sends an integer
// ("872"); a test may send "1e30" or "\"872\"".
std::string submit_request(std::uint64_t id, std::string_view nonce, std::string_view miner, std::string_view digest,
                           std::string_view difficulty, std::string_view challenge);
std::string submit_request(std::uint64_t id, std::string_view nonce, std::string_view miner, std::string_view digest,
                           std::uint64_t difficulty, std::string_view challenge);

// The same submit appended to `out`: a client that batches submits into one write reuses
// one buffer instead of building a string per submit.
void append_submit_request(std::string& out, std::uint64_t id, std::string_view nonce, std::string_view miner,
                           std::string_view digest, std::string_view difficulty, std::string_view challenge);

// ---- what the server sends ----

// Legacy (MVis-tokenminer up to 2.1.17, the original pool): "result" and "error" both
// present. JSON-RPC 2.0 (2.1.18 on): one of them only.
enum class ReplyShape : std::uint8_t { legacy, jsonrpc2 };

enum class ReplyResult : std::uint8_t { absent, is_true, is_false, is_null };

// A reply to a request. The views point into the parser and stay valid until its next parse.
struct ServerReply {
    std::string_view id;  // the id as JSON text: 4, "abc" (with its quotes), null
    ReplyShape shape = ReplyShape::legacy;
    ReplyResult result = ReplyResult::absent;
    bool has_error = false;  // "error" is [code,"message"]; false when absent or null
    int error_code = 0;
    std::string_view error_message;

    bool accepted() const { return result == ReplyResult::is_true; }
    bool is_error(int code, std::string_view message) const {
        return has_error && error_code == code && error_message == message;
    }
};

// {"method":"mining.notify","params":[challenge, target, difficulty, poolAddress]}
struct ServerNotify {
    Bytes32 challenge{};
    std::string_view challenge_text;  // as received; valid until the parser's next parse
    U256 target;
    std::uint64_t difficulty = 0;  // positive
    Address pool;
};

struct ServerMessage {
    enum class Kind : std::uint8_t {
        reply,
        notify,
        // Not JSON, not an object, another method, a member of the wrong type, a missing
        // or unusable parameter, a number too large for its field: nothing to act on.
        unparseable,
    };
    Kind kind = Kind::unparseable;
    ServerReply reply;    // when kind == reply
    ServerNotify notify;  // when kind == notify
};

// Reads one line (without its '\n') from the server. Reuses its simdjson parser's
// buffers, so a connection's steady state allocates nothing per line: one per
// connection, not shared between threads.
class StratumClientParser {
public:
    StratumClientParser();
    ~StratumClientParser();
    StratumClientParser(StratumClientParser&&) noexcept;
    StratumClientParser& operator=(StratumClientParser&&) noexcept;

    ServerMessage parse(std::string_view line);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sharegate::protocol
