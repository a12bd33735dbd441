#include "proxy/proxy_calls.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "sharegate/keccak.hpp"

namespace sharegate::proxy {

namespace getwork = protocol::getwork;

// The answers of one body, filled from whichever threads the calls finish on (a submit's
// on the upstream's strand); the last one assembles the body and sends it. The same
// assembly as the server's GetworkCalls::Exchange.
struct ProxyCalls::Exchange {
    bool batch = false;
    std::function<void(std::string)> respond;
    std::mutex mutex;
    std::vector<std::optional<std::string>> answers;
    std::size_t left = 0;

    void answer(std::size_t index, std::optional<std::string> text) {
        std::optional<std::string> body;
        {
            std::lock_guard lock(mutex);
            answers[index] = std::move(text);
            if (--left != 0) return;
            body = getwork::join_responses(batch, answers);
        }
        respond(body.value_or(std::string()));
    }
};

ProxyCalls::ProxyCalls(const WorkState& work, ShareForwarder& forwarder, FarmStats& farm, ProxyCallsOptions options)
    : work_(work), forwarder_(forwarder), farm_(farm), options_(options) {}

ProxyCallsCounters ProxyCalls::counters() const {
    return {bodies_.load(std::memory_order_relaxed), bad_bodies_.load(std::memory_order_relaxed),
            calls_.load(std::memory_order_relaxed), call_errors_.load(std::memory_order_relaxed)};
}

void ProxyCalls::handle(std::string_view rig, std::string_view body, std::function<void(std::string)> respond) {
    // One parser per I/O thread: it keeps its buffers between bodies, and a body is parsed
    // whole before the next one on this thread begins.
    thread_local getwork::Parser parser;
    bodies_.fetch_add(1, std::memory_order_relaxed);
    getwork::Body parsed = parser.parse(body, options_.max_batch);
    if (parsed.error != getwork::BodyError::none) {
        bad_bodies_.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("{}: getwork body refused: {}", rig, parsed.response);
        respond(std::move(parsed.response));
        return;
    }
    auto exchange = std::make_shared<Exchange>();
    exchange->batch = parsed.batch;
    exchange->respond = std::move(respond);
    exchange->answers.resize(parsed.calls.size());
    exchange->left = parsed.calls.size();
    calls_.fetch_add(parsed.calls.size(), std::memory_order_relaxed);

    // Every call of the body is answered from the same Work, so a batch never mixes two
    // challenges (MVis-tokenminer asks for the challenge and the target in one batch).
    const std::shared_ptr<const Work> work = work_.current();
    const std::string rig_name(rig);
    for (const getwork::Call& call : parsed.calls) {
        auto reply = [&exchange, &call](std::string text) {
            exchange->answer(call.index,
                             call.notification ? std::nullopt : std::optional<std::string>(std::move(text)));
        };
        if (call.error) {
            call_errors_.fetch_add(1, std::memory_order_relaxed);
            exchange->answer(call.index, getwork::immediate_response(call));
            continue;
        }
        switch (call.method) {
            case getwork::Method::ping: reply(getwork::result_string(call.id, getwork::kPong)); break;
            case getwork::Method::getPoolProtocolVersion:
                reply(getwork::result_string(call.id, getwork::kProtocolVersion));
                break;
            case getwork::Method::allowingCustomVardiff:
                reply(getwork::result_bool(call.id, options_.allow_custom_vardiff));
                break;
            // Before the first notify nothing of the pool is known: null, as the server's
            // getChallengeNumber answers before its first challenge.
            case getwork::Method::getPoolEthAddress:
                reply(work ? getwork::result_string(call.id, work->pool.checksummed()) : getwork::result_null(call.id));
                break;
            case getwork::Method::getChallengeNumber:
                reply(work ? getwork::result_string(call.id, work->challenge_text) : getwork::result_null(call.id));
                break;
            // The pool judges every share of the upstream connection against the farm
            // account's varDiff, whatever address a rig names: one answer for all, and an
            // invalid address gets it too (the door answers the pool minimum for one).
            case getwork::Method::getMinimumShareDifficulty:
                reply(work ? getwork::result_number(call.id, work->difficulty) : getwork::result_null(call.id));
                break;
            case getwork::Method::getMinimumShareTarget:
                reply(work ? getwork::result_string(call.id, work->target_decimal) : getwork::result_null(call.id));
                break;
            case getwork::Method::submitShare: submit(rig_name, exchange, call); break;
        }
    }
}

void ProxyCalls::submit(const std::string& rig, const std::shared_ptr<Exchange>& exchange, const getwork::Call& call) {
    farm_.submitted(rig);
    auto reply = [exchange, index = call.index, notification = call.notification, id = call.id](bool accepted) {
        exchange->answer(index,
                         notification ? std::nullopt : std::optional<std::string>(getwork::result_bool(id, accepted)));
    };
    auto refuse = [&](RejectReason reason, std::string_view why) {
        farm_.rejected(rig, reason);
        spdlog::debug("{}: submitShare refused by the proxy: {}", rig, why);
        reply(false);
    };
    if (call.refusal.code != 0) return refuse(RejectReason::bad_params, call.refusal.message);
    // Checked against the Work of this moment rather than the batch's: a submit is judged
    // on the newest challenge the proxy knows.
    const std::shared_ptr<const Work> work = work_.current();
    if (!work) return refuse(RejectReason::no_work, "no work from the pool yet");
    // Compared as numbers: the same challenge in upper case is not stale.
    if (call.submit.challenge != work->challenge) return refuse(RejectReason::stale, "not the current challenge");
    // One Keccak here rather than a round trip: a share whose digest is not the hash of its
    // nonce, or misses the target of the farm's varDiff (which every share of the
    // connection must meet), is refused by the pool anyway, and the pool counts invalid
    // shares against the connection that sent them. Every rig shares that connection, so
    // one broken rig could get the whole farm banned: its shares stop here.
    const U256 hashed = U256::from_be_bytes(share_digest(work->challenge, work->pool.bytes(), call.submit.nonce));
    if (hashed != call.submit.digest) return refuse(RejectReason::invalid_digest, "the digest is not the share's hash");
    if (!(call.submit.digest < work->target))
        return refuse(RejectReason::target_not_met, "the digest misses the farm's target");

    // Hex in lower case: sharegate takes either case, but the original tokenpool compares
    // the digest and challenge as case-sensitive text. The address in its stored form.
    ShareToForward share;
    share.nonce = to_hex(call.submit.nonce);
    share.miner = call.submit.miner.normalized();
    share.digest = call.submit.digest.to_hex();
    share.difficulty = call.submit.difficulty;
    share.challenge = work->challenge_text;
    forwarder_.submit(std::move(share), [this, rig, reply](Verdict verdict) {
        switch (verdict.kind) {
            case VerdictKind::accepted: farm_.accepted(rig); return reply(true);
            case VerdictKind::rejected: {
                const RejectReason reason = reason_for_pool_error(verdict.code, verdict.message);
                farm_.rejected(rig, reason);
                spdlog::debug("{}: share refused by the pool: [{},\"{}\"]", rig, verdict.code, verdict.message);
                return reply(false);
            }
            case VerdictKind::not_forwarded:
                farm_.rejected(rig, RejectReason::not_forwarded);
                spdlog::debug("{}: share not forwarded: {}", rig, verdict.message);
                return reply(false);
        }
    });
}

}  // namespace sharegate::proxy
