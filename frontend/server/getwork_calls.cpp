#include "server/getwork_calls.hpp"

#include <spdlog/spdlog.h>

#include <bit>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "server/server.hpp"
#include "server/var_diff_cache.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::server {

namespace getwork = protocol::getwork;
using protocol::StratumError;

namespace {

// A getwork miner's submits in flight, for load shedding's "share of its allowance used":
// a connection may pipeline 8 requests, each a batch; 64 is far past an honest miner's one.
constexpr std::size_t kInFlightCap = 64;

}  // namespace

GetworkClient::GetworkClient(IpAddress peer_address, bool is_exempt, std::string remote_text, double rate, double burst)
    : peer(peer_address),
      exempt(is_exempt),
      remote(std::move(remote_text)),
      submit_tokens(rate, burst, TokenBucket::Clock::now()) {}

// The answers of one body, filled from whichever threads the calls finish on; the last
// one assembles the body and sends it.
struct GetworkCalls::Exchange {
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

GetworkCalls::GetworkCalls(Server& server, VarDiffCache& var_diffs) : server_(server), var_diffs_(var_diffs) {}

void GetworkCalls::handle(const std::shared_ptr<GetworkClient>& client, std::string_view body,
                          std::function<void(std::string)> respond) {
    Stats& stats = server_.stats();
    stats.getwork_requests.fetch_add(1, std::memory_order_relaxed);
    getwork::Body parsed = client->parser.parse(body, server_.options().getwork_max_batch);
    if (parsed.error != getwork::BodyError::none) {
        stats.getwork_bad_bodies[static_cast<std::size_t>(parsed.error)].fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("{}: getwork body refused: {}", client->remote, parsed.response);
        // Not JSON at all is what a stratum line that is not JSON is: junk, toward a ban.
        if (parsed.error == getwork::BodyError::not_json || parsed.error == getwork::BodyError::too_deep) {
            if (!client->exempt) {
                if (auto ban = server_.bans().record(client->peer, Conduct::junk, BanBook::Clock::now()))
                    server_.on_ban(*ban);
            }
        }
        respond(std::move(parsed.response));
        return;
    }
    auto exchange = std::make_shared<Exchange>();
    exchange->batch = parsed.batch;
    exchange->respond = std::move(respond);
    exchange->answers.resize(parsed.calls.size());
    exchange->left = parsed.calls.size();
    stats.getwork_calls.fetch_add(parsed.calls.size(), std::memory_order_relaxed);
    // A batch body's submits are verified together (with the verifier on the I/O threads).
    const pool::ShareIntake::Group group = server_.intake().group();
    for (const getwork::Call& call : parsed.calls) run(client, exchange, call);
}

void GetworkCalls::run(const std::shared_ptr<GetworkClient>& client, const std::shared_ptr<Exchange>& exchange,
                       const getwork::Call& call) {
    const Options& options = server_.options();
    // Notifications run but are not answered.
    auto reply = [exchange, index = call.index, notification = call.notification](std::string text) {
        exchange->answer(index, notification ? std::nullopt : std::optional<std::string>(std::move(text)));
    };
    if (call.error) {
        const std::size_t kind = call.error->code == getwork::rpc_errors::kMethodNotFound.code  ? 1
                                 : call.error->code == getwork::rpc_errors::kInvalidParams.code ? 2
                                                                                                : 0;
        server_.stats().getwork_call_errors[kind].fetch_add(1, std::memory_order_relaxed);
        exchange->answer(call.index, getwork::immediate_response(call));
        return;
    }
    switch (call.method) {
        case getwork::Method::ping: return reply(getwork::result_string(call.id, getwork::kPong));
        case getwork::Method::getPoolProtocolVersion:
            return reply(getwork::result_string(call.id, getwork::kProtocolVersion));
        case getwork::Method::getPoolEthAddress:
            return reply(getwork::result_string(call.id, options.pool.checksummed()));
        case getwork::Method::getChallengeNumber: {
            const auto challenge = server_.pool().challenge();
            return reply(challenge ? getwork::result_string(call.id, to_hex(*challenge))
                                   : getwork::result_null(call.id));
        }
        case getwork::Method::allowingCustomVardiff:
            return reply(getwork::result_bool(call.id, options.allow_custom_vardiff));
        case getwork::Method::getMinimumShareDifficulty:
        case getwork::Method::getMinimumShareTarget: {
            const bool target = call.method == getwork::Method::getMinimumShareTarget;
            auto answer = [reply, id = call.id, target, bits = options.max_target_bits](std::uint64_t difficulty) {
                reply(target ? getwork::result_string(id, share_target(bits, difficulty).to_decimal())
                             : getwork::result_number(id, difficulty));
            };
            // No valid address: the pool's minimum, as the original answers.
            if (!call.miner) return answer(options.min_share_difficulty);
            var_diffs_.get(call.miner->normalized(), std::move(answer));
            return;
        }
        case getwork::Method::submitShare: return submit(client, exchange, call);
    }
}

void GetworkCalls::submit(const std::shared_ptr<GetworkClient>& client, const std::shared_ptr<Exchange>& exchange,
                          const getwork::Call& call) {
    // Every answer is counted by door, with its time from the call's arrival.
    auto reply = [exchange, index = call.index, notification = call.notification, id = call.id,
                  &stats = server_.stats(),
                  received = std::chrono::steady_clock::now()](const std::optional<StratumError>& error) {
        stats.answered_submit(Door::getwork, error, received);
        exchange->answer(index,
                         notification ? std::nullopt : std::optional<std::string>(getwork::result_bool(id, !error)));
    };
    Stats& stats = server_.stats();
    if (call.refusal.code != 0) {
        // Malformed values: `false`, counted as the stratum door counts them.
        stats.reject(call.refusal.kind);
        spdlog::debug("{}: getwork submit refused: {}", client->remote, call.refusal.message);
        note_answer(*client, Conduct::invalid);
        return reply(call.refusal);
    }
    bool limited = false, first_limited = false;
    {
        std::lock_guard lock(client->mutex);
        limited = !client->exempt && !client->submit_tokens.take(TokenBucket::Clock::now());
        if (limited) {
            first_limited = !client->rate_limit_logged;
            client->rate_limit_logged = true;
        } else {
            ++client->in_flight;
        }
    }
    if (limited) {
        if (first_limited)
            spdlog::info("{}: over the submit rate limit ({}/s, burst {}); answering false", client->remote,
                         server_.options().max_submits_per_s, server_.options().submit_burst);
        stats.reject(protocol::errors::kRateLimited.kind);
        note_answer(*client, Conduct::rate_limited);
        return reply(protocol::errors::kRateLimited);
    }
    // The miner's varDiff first (known at once unless it is new here), then the intake.
    // The callback runs once (VarDiffCache::get), so the share is moved on into the intake.
    var_diffs_.get(call.submit.miner.normalized(), [this, client, reply,
                                                    share = call.submit](std::uint64_t var_diff) mutable {
        pool::MinerContext miner;
        miner.var_diff = var_diff;
        {
            std::lock_guard lock(client->mutex);
            miner.standing.in_flight = client->in_flight - 1;
            miner.standing.in_flight_cap = kInFlightCap;
            // A prior of half invalid over 4 answers, as for a stratum session (session.cpp).
            miner.standing.invalid_fraction = (static_cast<double>(std::popcount(client->recent_invalid_bits)) + 2.0) /
                                              (static_cast<double>(client->recent_answers) + 4.0);
        }
        server_.intake().submit(std::move(share), miner, [this, client, reply](std::optional<StratumError> error) {
            {
                std::lock_guard lock(client->mutex);
                --client->in_flight;
            }
            if (error) spdlog::debug("{}: getwork submit refused: {}", client->remote, error->message);
            if (!error) {
                note_answer(*client, Conduct::valid);
            } else if (error->kind == protocol::ErrorKind::invalid_digest ||
                       error->kind == protocol::ErrorKind::target_not_met) {
                note_answer(*client, Conduct::invalid);
            }
            reply(error);
        });
    });
}

void GetworkCalls::note_answer(GetworkClient& client, Conduct conduct) {
    {
        std::lock_guard lock(client.mutex);
        client.recent_invalid_bits = (client.recent_invalid_bits << 1) | (conduct == Conduct::valid ? 0u : 1u);
        if (client.recent_answers < 64) ++client.recent_answers;
    }
    if (client.exempt) return;
    if (auto ban = server_.bans().record(client.peer, conduct, BanBook::Clock::now())) server_.on_ban(*ban);
}

}  // namespace sharegate::server
