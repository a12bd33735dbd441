#include "server/request_dispatch.hpp"

namespace sharegate::server {

using protocol::ReplyStyle;
using protocol::Request;
using protocol::StratumError;
namespace errors = protocol::errors;

ReplyStyle reply_style(ReplyStyleOption option, bool subscribed, bool has_client_id) {
    switch (option) {
        case ReplyStyleOption::legacy: return ReplyStyle::legacy;
        case ReplyStyleOption::jsonrpc2: return ReplyStyle::jsonrpc2;
        case ReplyStyleOption::automatic: break;
    }
    // Only v2.2+ sends a client id, and it wants JSON-RPC 2.0. Without one the miner is
    // v2.1.17 or older (legacy) or v2.1.18-2.1.21 (JSON-RPC 2.0), whose requests are
    // byte for byte alike: both lines, and each keeps the one it can read.
    return subscribed && has_client_id ? ReplyStyle::jsonrpc2 : ReplyStyle::both;
}

namespace {

void refuse(Decision& decision, StratumError error, ReplyStyle style, bool result_null, bool close_after = false) {
    decision.action = Decision::Action::reply;
    decision.error = error;
    decision.close_after = close_after;
    decision.reply = protocol::reply_error(decision.request.id, error, style, result_null);
}

}  // namespace

Decision decide(protocol::StratumParser& parser, std::string_view line, const ConnectionState& state) {
    // One object returned from every path, so that it is constructed in place, never copied.
    Decision decision{};
    if (line.empty()) return decision;
    decision.request = parser.parse(line);
    const Request& request = decision.request;
    const ReplyStyle style = reply_style(state.reply_style, state.subscribed, state.has_client_id);
    switch (request.kind) {
        case Request::Kind::subscribe:
            decision.action = Decision::Action::subscribe;
            // In the shape this subscribe asks for: its client id picks the generation.
            decision.reply = protocol::reply_true(
                request.id, reply_style(state.reply_style, true, request.subscribe.client_id.has_value()));
            break;
        case Request::Kind::submit:
            // A submit before a subscribe is refused before its parameters are looked at.
            if (!state.subscribed) {
                refuse(decision, errors::kNotSubscribed, style, true);
            } else {
                decision.action = Decision::Action::check_submit;
            }
            break;
        case Request::Kind::bad_subscribe:
            // Answered, then closed once the answer is written (as the original does).
            refuse(decision, request.error, style, false, true);
            break;
        case Request::Kind::bad_submit:
            if (!state.subscribed) {
                refuse(decision, errors::kNotSubscribed, style, true);
            } else {
                refuse(decision, request.error, style, false);
            }
            break;
        case Request::Kind::unknown_method:
            refuse(decision, request.error.code ? request.error : errors::kUnknownMethod, style, true);
            break;
        case Request::Kind::not_json: decision.action = Decision::Action::close_not_json; break;
    }
    return decision;
}

void append_submit_reply(std::string& out, std::string_view id, const std::optional<StratumError>& error,
                         ReplyStyle style) {
    if (error) return protocol::append_reply_error(out, id, *error, style);
    // No MVis-tokenminer acts on an accepted share's reply (it counts the share when it
    // sends it), so under `both` the one line in the original's shape is enough: the
    // second line would only add a log entry per share to one generation or the other.
    protocol::append_reply_true(out, id, style == ReplyStyle::both ? ReplyStyle::legacy : style);
}

std::string submit_reply(std::string_view id, const std::optional<StratumError>& error, ReplyStyle style) {
    std::string out;
    append_submit_reply(out, id, error, style);
    return out;
}

}  // namespace sharegate::server
