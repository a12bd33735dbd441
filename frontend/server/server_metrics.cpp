// What the admin endpoint serves about this server (server/admin_endpoint.hpp routes to
// these): /metrics, built afresh at every scrape from the counters the share path keeps
// anyway (server/stats.hpp, the batcher's, Redis's, the spool's), so that a scrape costs
// the hot path nothing; and /readyz, the load balancer's question "may I send miners
// here?". The names and their meaning are documented in docs/operations.md.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "metrics/exposition.hpp"
#include "metrics/process_metrics.hpp"
#include "server/server.hpp"
#include "sharegate/failover_verifier.hpp"

namespace sharegate::server {

namespace {

using metrics::FamilyBuilder;
using metrics::Labels;

// The end of a chain of add()s (which return the builder by reference).
prometheus::MetricFamily built(FamilyBuilder& builder) { return std::move(builder).build(); }

// A std::atomic<std::uint64_t> or a StripedCounter.
template <typename Counter>
double value(const Counter& counter) {
    return static_cast<double>(counter.load(std::memory_order_relaxed));
}

// The metrics' reason label: the statistics line's names with '_' (label values may be
// anything, but dashes read badly in PromQL matchers).
std::string reason_label(std::string_view name) {
    std::string label(name);
    std::replace(label.begin(), label.end(), '-', '_');
    return label;
}

// The error code a refusal of each kind is answered with (stratum's; getwork answers
// `false` for the same reasons).
int code_of(Rejection kind) {
    using namespace protocol::errors;
    for (const protocol::StratumError& error :
         {kInvalidShareParameters, kInvalidAccount, kWrongChallenge, kLowDifficulty, kDuplicateShare, kInvalidDigest,
          kTargetNotMet, kShareNotStored, kNotSubscribed, kUnknownMethod, kServerBusy, kRateLimited}) {
        if (error.kind == kind) return error.code;
    }
    return 20;
}

}  // namespace

Server::Readiness Server::readiness() const {
    Readiness ready;
    if (stopping_.load(std::memory_order_relaxed)) ready.reasons.push_back("shutting down");
    // Shares are safe when Redis takes them, or the spool can hold them until it does.
    const bool spool_accepting = spool_ && !spool_->full();
    if (!redis_.connected() && !spool_accepting) {
        ready.reasons.push_back(spool_ ? "redis unreachable and the spool is full" : "redis unreachable (no spool)");
    }
    // The verifier needs no check here: it passed its known-answer self-test before the
    // server was made (make_verifier refuses one that fails, and main.cpp stops the start),
    // and a GPU lost since then has been replaced by the CPU kernels, which passed theirs.
    if (!pool_state_.challenge()) ready.reasons.push_back("no challenge known yet (Redis has not given one)");
    ready.ready = ready.reasons.empty();
    return ready;
}

// A GPU verifier that was lost: the CPU kernels verify now.
bool Server::verifier_failed_over() const {
    const auto* failover = dynamic_cast<const FailoverVerifier*>(&verifier_);
    return failover != nullptr && failover->failed_over();
}

std::string Server::metrics_page() const {
    std::vector<prometheus::MetricFamily> families;
    const Readiness ready = readiness();
    const std::string backend(verifier_name_);

    families.push_back(metrics::gauge("sharegate_build_info", "The version and the verifier in use (always 1).", 1,
                                      {{"version", SHAREGATE_VERSION}, {"verifier", backend}}));
    families.push_back(metrics::gauge("sharegate_ready", "1 when /readyz answers 200.", ready.ready ? 1 : 0));

    // ---- connections ----
    families.push_back(built(FamilyBuilder::gauge("sharegate_connections_open", "Connections open, by door.")
                                 .add({{"door", "stratum"}}, value(stats_.connections_open))
                                 .add({{"door", "getwork"}}, value(stats_.getwork_connections_open))));
    families.push_back(
        built(FamilyBuilder::counter("sharegate_connections_accepted_total", "Connections admitted, by door.")
                  .add({{"door", "stratum"}}, value(stats_.connections_total))
                  .add({{"door", "getwork"}}, value(stats_.getwork_connections_total))));
    families.push_back(built(FamilyBuilder::counter("sharegate_connections_refused_total",
                                                    "Connections closed at accept, before any read, by reason.")
                                 .add({{"reason", "address_cap"}}, value(stats_.refused_address_cap))
                                 .add({{"reason", "total_cap"}}, value(stats_.refused_total_cap))
                                 .add({{"reason", "banned"}}, value(stats_.refused_banned))
                                 .add({{"reason", "proxy"}}, value(stats_.refused_proxy))));
    families.push_back(built(FamilyBuilder::counter("sharegate_connections_closed_total",
                                                    "Stratum connections the server closed for cause, by reason.")
                                 .add({{"reason", "not_json"}}, value(stats_.closed_not_json))
                                 .add({{"reason", "flooding"}}, value(stats_.closed_flooding))
                                 .add({{"reason", "slow_reader"}}, value(stats_.closed_slow_reader))
                                 .add({{"reason", "idle"}}, value(stats_.closed_idle))
                                 .add({{"reason", "no_subscribe"}}, value(stats_.closed_no_subscribe))
                                 .add({{"reason", "banned"}}, value(stats_.closed_banned))));
    families.push_back(metrics::counter("sharegate_subscribes_total", "Successful mining.subscribe requests.",
                                        value(stats_.subscribes)));

    // ---- submits ----
    {
        auto submits = FamilyBuilder::counter(
            "sharegate_submits_total",
            "Submits answered, by door, verdict, reason and the error code answered (0: accepted).");
        auto reply =
            FamilyBuilder::histogram("sharegate_reply_seconds", "From a submit's arrival to its answer, by door.");
        for (std::size_t door = 0; door < kDoorNames.size(); ++door) {
            const DoorSubmits& counters = stats_.submits[door];
            const std::string door_name(kDoorNames[door]);
            submits.add({{"door", door_name}, {"verdict", "accepted"}, {"reason", "none"}, {"code", "0"}},
                        value(counters.accepted));
            for (std::size_t kind = 0; kind < counters.rejected.size(); ++kind) {
                submits.add({{"door", door_name},
                             {"verdict", "rejected"},
                             {"reason", reason_label(kRejectionNames[kind])},
                             {"code", std::to_string(code_of(static_cast<Rejection>(kind)))}},
                            value(counters.rejected[kind]));
            }
            reply.add({{"door", door_name}}, counters.reply_seconds.snapshot());
        }
        families.push_back(std::move(submits).build());
        families.push_back(std::move(reply).build());
    }
    families.push_back(metrics::counter("sharegate_solutions_total",
                                        "Accepted shares that also meet the network's target (full solutions).",
                                        value(stats_.solutions)));
    families.push_back(metrics::counter("sharegate_shed_submits_total",
                                        "Submits refused as \"Server busy\" because the verifier's queue was full.",
                                        value(stats_.shed)));

    // ---- bans ----
    families.push_back(metrics::gauge("sharegate_bans_active", "Addresses banned now.",
                                      static_cast<double>(bans_.bans_in_force(BanBook::Clock::now()))));
    families.push_back(
        built(FamilyBuilder::counter("sharegate_bans_total",
                                     "Bans made here, by reason, and learnt from other instances or the operator.")
                  .add({{"reason", "invalid_shares"}}, value(stats_.bans_invalid))
                  .add({{"reason", "junk"}}, value(stats_.bans_junk))
                  .add({{"reason", "other_instance"}}, value(stats_.bans_learnt))));

    // ---- verification ----
    const BatcherStats batches = verify_stats();
    families.push_back(metrics::histogram("sharegate_batch_shares", "Shares in each verified batch.",
                                          stats_.batch_shares.snapshot(), {{"backend", backend}}));
    families.push_back(metrics::histogram("sharegate_verify_seconds", "The time of each verify call.",
                                          stats_.verify_seconds.snapshot(), {{"backend", backend}}));
    families.push_back(metrics::gauge("sharegate_verify_queue_shares", "Shares waiting for the verifier.",
                                      static_cast<double>(verify_waiting())));
    families.push_back(metrics::counter("sharegate_verify_failures_total", "Verify calls that failed.",
                                        static_cast<double>(batches.failures)));
    families.push_back(metrics::counter("sharegate_verifier_failovers_total",
                                        "GPU verifiers lost and replaced by the CPU kernels.",
                                        verifier_failed_over() ? 1 : 0));

    // ---- Redis and the spool ----
    const redis::Counters redis = redis_.counters();
    families.push_back(
        metrics::gauge("sharegate_redis_up", "1 while the connection to Redis is up.", redis_.connected() ? 1 : 0));
    families.push_back(metrics::histogram("sharegate_redis_push_seconds",
                                          "From a share's push to Redis's acknowledgement.",
                                          stats_.redis_push_seconds.snapshot()));
    families.push_back(
        metrics::counter("sharegate_redis_reconnects_total", "Reconnections to Redis.", double(redis.reconnects)));
    families.push_back(metrics::counter("sharegate_redis_shares_pushed_total", "Shares Redis acknowledged.",
                                        static_cast<double>(redis.shares_pushed)));
    families.push_back(metrics::gauge("sharegate_redis_queued_commands", "Commands waiting for Redis.",
                                      static_cast<double>(redis.queued)));
    families.push_back(metrics::counter("sharegate_redis_round_trips_total",
                                        "Pipelined flushes to Redis (and the reads after each connection).",
                                        static_cast<double>(redis.round_trips)));
    families.push_back(metrics::counter("sharegate_redis_claim_calls_total",
                                        "Calls of the share-claim script, each claiming a batch of shares.",
                                        static_cast<double>(redis.claim_scripts)));
    {
        const SpoolCounters counters = share_store_.counters();
        families.push_back(built(FamilyBuilder::counter("sharegate_pool_duplicates_total",
                                                        "Verified shares found claimed in Redis by another push "
                                                        "(another instance, or before a restart), by when: answered "
                                                        "as duplicates, or spooled and then not replayed.")
                                     .add({{"at", "submit"}}, value(stats_.duplicates_pool_wide))
                                     .add({{"at", "replay"}}, static_cast<double>(counters.replay_duplicates))));
        spool::Stats spool;
        if (spool_) spool = spool_->stats();
        double oldest = 0;
        if (spool.oldest) {
            oldest =
                std::max(0.0, std::chrono::duration<double>(std::chrono::system_clock::now() - *spool.oldest).count());
        }
        families.push_back(metrics::gauge("sharegate_spool_shares", "Shares waiting in the spool for Redis.",
                                          static_cast<double>(spool.records_waiting)));
        families.push_back(
            metrics::gauge("sharegate_spool_bytes", "The spool's files' size.", static_cast<double>(spool.bytes)));
        families.push_back(metrics::gauge("sharegate_spool_oldest_age_seconds",
                                          "Age of the oldest share waiting in the spool (0: none).", oldest));
        families.push_back(metrics::counter("sharegate_spool_written_total", "Shares written to the spool.",
                                            static_cast<double>(counters.spooled)));
        families.push_back(metrics::counter("sharegate_spool_replayed_total", "Spooled shares delivered to Redis.",
                                            static_cast<double>(counters.replayed)));
        families.push_back(metrics::counter("sharegate_spool_refused_total",
                                            "Shares the spool could not take (full, or a write failed).",
                                            static_cast<double>(counters.refused)));
    }

    // ---- work ----
    families.push_back(metrics::counter("sharegate_notifies_total", "mining.notify lines sent (new work and re-sends).",
                                        value(stats_.notifies)));
    families.push_back(
        metrics::gauge("sharegate_challenge_known", "1 once a challenge is known.", pool_state_.challenge() ? 1 : 0));
    families.push_back(metrics::counter("sharegate_challenge_changes_total", "Challenge changes seen.",
                                        value(stats_.challenge_changes)));

    // ---- getwork ----
    families.push_back(metrics::counter("sharegate_getwork_requests_total", "Getwork HTTP requests with a body.",
                                        value(stats_.getwork_requests)));
    families.push_back(metrics::counter("sharegate_getwork_calls_total", "JSON-RPC calls in getwork requests.",
                                        value(stats_.getwork_calls)));
    {
        auto refused =
            FamilyBuilder::counter("sharegate_getwork_http_refused_total", "Getwork HTTP requests refused, by reason.");
        for (const HttpRefusal refusal :
             {HttpRefusal::malformed, HttpRefusal::method_not_allowed, HttpRefusal::body_too_large,
              HttpRefusal::header_too_large, HttpRefusal::request_timeout}) {
            refused.add({{"reason", std::string(name(refusal))}},
                        value(stats_.getwork_http_refused[static_cast<std::size_t>(refusal)]));
        }
        families.push_back(std::move(refused).build());
    }

    for (auto& family : metrics::process_metrics()) families.push_back(std::move(family));
    return metrics::render(families);
}

}  // namespace sharegate::server
