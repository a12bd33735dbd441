// Fuzz target (a): the whole path of one connection from bytes to reply text. The input
// is what a client sends; it goes through the server's LineFramer (at the server's
// default line limit), the StratumParser, the session's own decisions
// (server/request_dispatch.hpp: decide, reply_style, submit_reply) and the real share
// path (pool::ShareIntake, with its duplicate filter and counters), against a fake pool:
// a fixed challenge, a varDiff per miner, a verify queue that is the reference Keccak
// where the digest is right and a stand-in decided by the digest otherwise, and a store
// that refuses some shares; both fakes answer at once. The rules themselves are never
// restated here; only invariants that must hold whatever they say are checked:
// - every answer is one line of JSON ending in '\n', an object whose "id" is the
//   request's, in the legacy shape (both "result" and "error") or the JSON-RPC 2.0 one
//   (exactly one), the forced one when the operator forces a shape; or, under "auto"
//   before a client id, the legacy line then the JSON-RPC 2.0 line with the same verdict;
// - a refusal carries the error it names; an accepted share's queue line is JSON;
// - every submit is answered exactly once, and counted exactly once; one refused without
//   verification is stale, low, a duplicate or "server busy" (the duplicate filter full);
// - the connection closes only on a bad subscribe (after its answer), a line that is not
//   JSON, or an unterminated line past the limit, and nothing is handled after;
// - framing does not depend on how the bytes were split into reads;
// - the parser's two scanners read the same fields from every line both accept;
// - no exception escapes (libFuzzer and the replay runner report one as a crash).
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "pool/share_intake.hpp"
#include "protocol/dom_request_scanner.hpp"
#include "protocol/flat_request_scanner.hpp"
#include "protocol/line_framer.hpp"
#include "protocol/stratum.hpp"
#include "server/options.hpp"
#include "server/request_dispatch.hpp"
#include "sharegate/address.hpp"
#include "sharegate/keccak.hpp"
#include "sharegate/seed_share.hpp"
#include "sharegate/u256.hpp"

namespace {

using namespace sharegate;
using protocol::ReplyStyle;
using protocol::Request;
using server::Decision;
using server::ReplyStyleOption;

// The seed conversation's pool (docs/protocol.md section 1), so its real share verifies.
constexpr std::string_view kChallenge = sharegate::seed::kChallenge;
constexpr std::string_view kPool = sharegate::seed::kPool;
// The server reads at most this much per read (Session::do_read).
constexpr std::size_t kReadSize = 4096;

struct Framed {
    std::vector<std::string> lines;
    bool over_limit = false;  // the connection is closed after these lines
};

Framed frame(std::string_view bytes, std::size_t read_size, std::size_t max_line_bytes) {
    Framed out;
    protocol::LineFramer framer(max_line_bytes);
    for (std::size_t at = 0; at < bytes.size(); at += read_size) {
        const bool within = framer.feed(bytes.substr(at, read_size), [&](std::string_view line) {
            SHAREGATE_FUZZ_CHECK(line.find('\n') == std::string_view::npos);
            out.lines.emplace_back(line);
        });
        if (!within) {
            out.over_limit = true;
            break;
        }
    }
    return out;
}

bool has(simdjson::dom::object object, std::string_view key) {
    simdjson::dom::element ignored;
    return object.at_key(key).get(ignored) == simdjson::SUCCESS;
}

// One line the server would write, parsed back.
simdjson::dom::object parse_line(simdjson::dom::parser& json, const std::string& line) {
    SHAREGATE_FUZZ_CHECK(!line.empty() && line.back() == '\n');
    SHAREGATE_FUZZ_CHECK(line.find('\n') == line.size() - 1);
    simdjson::dom::element root;
    SHAREGATE_FUZZ_CHECK(json.parse(line.data(), line.size() - 1).get(root) == simdjson::SUCCESS);
    simdjson::dom::object object;
    SHAREGATE_FUZZ_CHECK(root.get_object().get(object) == simdjson::SUCCESS);
    return object;
}

enum class Shape { any, legacy, jsonrpc2 };

// error: the refusal the answer must carry, or nullopt for "result":true.
void check_reply(simdjson::dom::parser& json, const std::string& reply, const Request& request, ReplyStyleOption option,
                 std::optional<protocol::StratumError> error, Shape shape = Shape::any) {
    SHAREGATE_FUZZ_CHECK(reply.rfind("{\"id\":" + request.id + ",", 0) == 0);
    const simdjson::dom::object object = parse_line(json, reply);
    SHAREGATE_FUZZ_CHECK(has(object, "id"));
    const bool has_result = has(object, "result");
    const bool has_error = has(object, "error");
    const bool legacy = has_result && has_error;
    SHAREGATE_FUZZ_CHECK(legacy || has_result != has_error);
    if (option == ReplyStyleOption::legacy) SHAREGATE_FUZZ_CHECK(legacy);
    if (option == ReplyStyleOption::jsonrpc2) SHAREGATE_FUZZ_CHECK(!legacy);
    if (shape == Shape::legacy) SHAREGATE_FUZZ_CHECK(legacy);
    if (shape == Shape::jsonrpc2) SHAREGATE_FUZZ_CHECK(!legacy);
    if (!error) {
        bool result = false;
        SHAREGATE_FUZZ_CHECK(object["result"].get_bool().get(result) == simdjson::SUCCESS && result);
        if (has_error) SHAREGATE_FUZZ_CHECK(object["error"].is_null());
        return;
    }
    SHAREGATE_FUZZ_CHECK(error->code != 0);
    simdjson::dom::array pair;
    SHAREGATE_FUZZ_CHECK(object["error"].get_array().get(pair) == simdjson::SUCCESS && pair.size() == 2);
    std::int64_t code = 0;
    std::string_view message;
    SHAREGATE_FUZZ_CHECK(pair.at(0).get_int64().get(code) == simdjson::SUCCESS && code == error->code);
    SHAREGATE_FUZZ_CHECK(pair.at(1).get_string().get(message) == simdjson::SUCCESS && message == error->message);
    if (has_result) {
        bool result = true;
        SHAREGATE_FUZZ_CHECK(object["result"].is_null() ||
                             (object["result"].get_bool().get(result) == simdjson::SUCCESS && !result));
    }
}

// An answer is one line or, under "auto" for a connection without a client id, the same
// verdict twice: the legacy line, then the JSON-RPC 2.0 one; an accepted share is always
// one line.
void check_answer(simdjson::dom::parser& json, const std::string& answer, const Request& request,
                  ReplyStyleOption option, bool has_client_id, std::optional<protocol::StratumError> error) {
    const std::size_t first_end = answer.find('\n');
    SHAREGATE_FUZZ_CHECK(first_end != std::string::npos);
    if (first_end + 1 == answer.size()) {
        // One line: forced, a newer miner, or an accepted share.
        if (option == ReplyStyleOption::automatic && !has_client_id)
            SHAREGATE_FUZZ_CHECK(!error && request.kind == Request::Kind::submit);
        return check_reply(json, answer, request, option, error);
    }
    SHAREGATE_FUZZ_CHECK(option == ReplyStyleOption::automatic);
    check_reply(json, answer.substr(0, first_end + 1), request, option, error, Shape::legacy);
    check_reply(json, answer.substr(first_end + 1), request, option, error, Shape::jsonrpc2);
}

// miner_data's varDiff: the seed miner's 872 for even last bytes, 1 for odd ones.
std::uint64_t fake_var_diff(const Address& miner) { return (miner.bytes()[19] & 1) ? 1 : 872; }

// The verifier: the reference check where the claimed digest is the share's hash;
// otherwise a stand-in verdict picked by the digest's low bits, so that every verdict (and
// a verifier that fails) occurs without finding Keccak preimages. Answers at once.
class FakeVerifyQueue final : public pool::VerifyQueue {
public:
    explicit FakeVerifyQueue(const Address& pool) : pool_(pool) {}

    void add(pool::PendingShare&& share) override { share.done(verdict(share)); }
    std::size_t waiting() const override { return 0; }  // answers at once: never behind

private:
    std::optional<Verdict> verdict(const pool::PendingShare& share) const {
        const U256 digest = U256::from_be_bytes(share_digest(share.challenge, pool_.bytes(), share.nonce));
        if (digest == share.digest) return digest < share.target ? Verdict::accepted : Verdict::target_not_met;
        switch (share.digest.limbs[0] & 7) {
            case 0: return std::nullopt;
            case 1: return Verdict::accepted;
            case 2: return Verdict::target_not_met;
            default: return Verdict::invalid_digest;
        }
    }

    Address pool_;
};

// LPUSH queued_shares_list: checks that the line is a JSON object, refuses one share in
// sixteen and finds one in sixteen claimed elsewhere (by the nonce's last hex digit).
// Answers at once.
class FakeStore final : public pool::ShareStore {
public:
    void push(std::string key, std::string queued_share_json, pool::StoreDone done) override {
        SHAREGATE_FUZZ_CHECK(key.starts_with("sharegate:pushed:0x") && key.size() == 17 + 66 + 1 + 66);
        const simdjson::dom::object object = parse_line(json_, queued_share_json + "\n");
        std::string_view nonce;
        SHAREGATE_FUZZ_CHECK(object["nonce"].get_string().get(nonce) == simdjson::SUCCESS && !nonce.empty());
        done(nonce.back() == '0'   ? pool::StoreResult::not_stored
             : nonce.back() == '1' ? pool::StoreResult::duplicate
                                   : pool::StoreResult::stored);
    }

private:
    simdjson::dom::parser json_;
};

// The parser reads the flat form miners send with its own scanner and everything else
// with simdjson's DOM (protocol/request_fields.hpp): wherever the flat scanner accepts a
// line, simdjson must accept it too and read the same fields.
void check_scanners_agree(const std::string& line) {
    protocol::RequestFields flat;
    if (!protocol::scan_flat_request(line, flat)) return;
    protocol::RequestFields dom;
    SHAREGATE_FUZZ_CHECK(protocol::scan_dom_request(line, dom));
    SHAREGATE_FUZZ_CHECK(flat == dom);
}

// One connection: every framed line through the session's decisions, as Session does.
void converse(const Framed& framed, ReplyStyleOption option) {
    const server::Options defaults;
    simdjson::dom::parser json;
    protocol::StratumParser parser;
    const Address pool_address = *Address::parse(kPool);
    pool::PoolState pool_state;
    pool_state.set_challenge(*parse_hex32(kChallenge));
    pool_state.set_block(5600000);
    FakeVerifyQueue verifier(pool_address);
    FakeStore store;
    pool::ShareCounters counters;
    pool::ShareIntake intake(pool_state, verifier, store, counters, defaults.max_target_bits);
    std::uint64_t submits = 0;
    server::ConnectionState state{option, false, false};
    std::uint64_t var_diff = 0;
    bool closed = false;

    for (const std::string& line : framed.lines) {
        SHAREGATE_FUZZ_CHECK(!closed);
        check_scanners_agree(line);
        Decision decision = server::decide(parser, line, state);
        const Request& request = decision.request;
        const ReplyStyle style = server::reply_style(option, state.subscribed, state.has_client_id);
        switch (decision.action) {
            case Decision::Action::none: SHAREGATE_FUZZ_CHECK(line.empty()); break;
            case Decision::Action::close_not_json:
                SHAREGATE_FUZZ_CHECK(request.kind == Request::Kind::not_json);
                closed = true;
                break;
            case Decision::Action::reply:
                SHAREGATE_FUZZ_CHECK(decision.close_after == (request.kind == Request::Kind::bad_subscribe));
                SHAREGATE_FUZZ_CHECK(request.kind != Request::Kind::subscribe &&
                                     request.kind != Request::Kind::not_json);
                check_answer(json, decision.reply, request, option, state.has_client_id, decision.error);
                closed = decision.close_after;
                break;
            case Decision::Action::subscribe: {
                SHAREGATE_FUZZ_CHECK(request.kind == Request::Kind::subscribe);
                check_answer(json, decision.reply, request, option, request.subscribe.client_id.has_value(),
                             std::nullopt);
                state.subscribed = true;
                state.has_client_id = request.subscribe.client_id.has_value();
                var_diff = std::max(fake_var_diff(request.subscribe.miner), defaults.min_share_difficulty);
                // The work that follows a subscribe.
                const std::string work = protocol::notify(
                    *pool_state.challenge(), share_target(defaults.max_target_bits, var_diff), var_diff, pool_address);
                parse_line(json, work);
                break;
            }
            case Decision::Action::check_submit: {
                SHAREGATE_FUZZ_CHECK(request.kind == Request::Kind::submit && state.subscribed);
                const protocol::SubmitRequest& share = request.submit;
                SHAREGATE_FUZZ_CHECK(share.difficulty >= 1);
                ++submits;
                std::optional<std::optional<protocol::StratumError>> answered;
                const pool::ShareIntake::Taken taken = intake.submit(share, pool::MinerContext{var_diff, {}},
                                                                     [&](std::optional<protocol::StratumError> error) {
                                                                         SHAREGATE_FUZZ_CHECK(!answered.has_value());
                                                                         answered = error;
                                                                     });
                // Both fakes answer at once, so the answer is in before submit() returns.
                SHAREGATE_FUZZ_CHECK(answered.has_value());
                const std::optional<protocol::StratumError> error = *answered;
                if (taken == pool::ShareIntake::Taken::refused) {
                    SHAREGATE_FUZZ_CHECK(error && (error->kind == protocol::ErrorKind::wrong_challenge ||
                                                   error->kind == protocol::ErrorKind::low_difficulty ||
                                                   error->kind == protocol::ErrorKind::duplicate ||
                                                   error->kind == protocol::ErrorKind::server_busy));
                }
                check_answer(json, server::submit_reply(request.id, error, style), request, option, state.has_client_id,
                             error);
                break;
            }
        }
        if (closed) break;
    }
    std::uint64_t counted = counters.accepted.load();
    for (const auto& rejected : counters.rejected) counted += rejected.load();
    SHAREGATE_FUZZ_CHECK(counted == submits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const std::size_t max_line_bytes = server::Options{}.max_line_bytes;

    // As the server reads it, and split at other places, which must frame alike.
    const Framed framed = frame(bytes, kReadSize, max_line_bytes);
    const Framed resplit = frame(bytes, 1 + size % 61, max_line_bytes);
    if (!framed.over_limit && !resplit.over_limit) SHAREGATE_FUZZ_CHECK(framed.lines == resplit.lines);
    if (bytes.find('\n') == std::string_view::npos) SHAREGATE_FUZZ_CHECK(framed.lines.empty());

    converse(framed, ReplyStyleOption::automatic);
    converse(resplit, size % 2 ? ReplyStyleOption::legacy : ReplyStyleOption::jsonrpc2);
    return 0;
}
