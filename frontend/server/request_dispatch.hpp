// What each stratum request becomes, decided without a socket, a Server or Redis. The
// session carries these decisions out (a well-formed submit goes on to pool::ShareIntake);
// the fuzz target (tests/fuzz/stratum_fuzz.cpp) calls the same functions with a fake
// pool, so both follow one copy of the rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/stratum.hpp"
#include "server/options.hpp"

namespace sharegate::server {

// The reply shape of a connection: forced by the operator, or under "auto" the newer
// miner's shape once a subscribe carried its client id, and both shapes before that
// (protocol.md section 2).
protocol::ReplyStyle reply_style(ReplyStyleOption option, bool subscribed, bool has_client_id);

// What of a connection the answer to its next request depends on.
struct ConnectionState {
    ReplyStyleOption reply_style = ReplyStyleOption::automatic;
    bool subscribed = false;
    bool has_client_id = false;  // the last successful subscribe carried a client id
};

struct Decision {
    enum class Action {
        none,            // a bare newline is no request: nothing to answer
        reply,           // a refusal: send `reply`; close once it is written when close_after
        subscribe,       // a valid subscribe: record the miner, send `reply`, look up its varDiff
        check_submit,    // a well-formed submit of a subscribed miner: to pool::ShareIntake
        close_not_json,  // close without an answer, as the original does
    };
    Action action = Action::none;
    protocol::Request request;
    std::string reply;                                       // for reply and subscribe: one line ending in '\n'
    protocol::StratumError error = protocol::errors::kNone;  // for reply: the refusal, to count
    bool close_after = false;                                // for reply: only a bad subscribe
};

// Parses one framed line (without its '\n') and decides what it asks of the connection.
Decision decide(protocol::StratumParser& parser, std::string_view line, const ConnectionState& state);

// The answer to a checked submit: true (one line, the legacy one under `both`), or the
// refusal with "result":false.
std::string submit_reply(std::string_view id, const std::optional<protocol::StratumError>& error,
                         protocol::ReplyStyle style);
// The same, appended to `out` (a connection's next write).
void append_submit_reply(std::string& out, std::string_view id, const std::optional<protocol::StratumError>& error,
                         protocol::ReplyStyle style);

}  // namespace sharegate::server
