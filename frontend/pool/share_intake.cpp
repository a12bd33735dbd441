#include "pool/share_intake.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace sharegate::pool {

using protocol::StratumError;
namespace errors = protocol::errors;

ShareIntake::ShareIntake(PoolState& pool, VerifyQueue& verifier, ShareStore& store, ShareCounters& counters,
                         unsigned max_target_bits)
    : pool_(pool), verifier_(verifier), store_(store), counters_(counters), max_target_bits_(max_target_bits) {}

ShareIntake::Taken ShareIntake::submit(const protocol::SubmitRequest& share, const MinerContext& miner, Answer answer) {
    if (const auto refusal = check(share, miner)) {
        refuse(*refusal, answer);
        return Taken::refused;
    }
    PendingShare pending;
    pending.challenge = share.challenge;
    pending.nonce = share.nonce;
    pending.digest = share.digest;
    pending.target = share_target(max_target_bits_, share.difficulty);
    pending.done = [this, share, answer = std::move(answer)](std::optional<Verdict> verdict) mutable {
        on_verdict(share, verdict, std::move(answer));
    };
    verifier_.add(std::move(pending));
    return Taken::verifying;
}

// The checks after "not subscribed" and "parameters" (the session's) and before the
// verifier, in the original's order; the first failure answers. The duplicate check comes
// last since it records the nonce: a stale or low share must not claim a nonce it never
// proved.
std::optional<StratumError> ShareIntake::check(const protocol::SubmitRequest& share, const MinerContext& miner) {
    const std::optional<Bytes32> current = pool_.challenge();
    if (!current || share.challenge != *current) return errors::kWrongChallenge;
    if (share.difficulty < miner.var_diff) return errors::kLowDifficulty;
    if (!duplicates_.first_sighting(share.challenge, share.nonce)) return errors::kDuplicateShare;
    return std::nullopt;
}

// On the verifier's thread. The share is judged against its own challenge, whatever the
// pool's is by now: a share that was current when it came in is stored although the
// challenge changed while it was verified (the back-end decides what it is worth).
void ShareIntake::on_verdict(const protocol::SubmitRequest& share, std::optional<Verdict> verdict, Answer answer) {
    // Not verified (the verifier failed, or the queue had stopped): nothing proved the
    // work, so the nonce is released and a resend is judged again.
    if (!verdict) {
        duplicates_.forget(share.challenge, share.nonce);
        return refuse(errors::kShareNotStored, answer);
    }
    switch (*verdict) {
        case Verdict::invalid_digest:
            // Junk costs no work: see DuplicateFilter::forget.
            duplicates_.forget(share.challenge, share.nonce);
            return refuse(errors::kInvalidDigest, answer);
        case Verdict::target_not_met:
            // The digest is right, so the work was real: the nonce stays claimed.
            return refuse(errors::kTargetNotMet, answer);
        case Verdict::accepted: break;
    }
    if (const auto network = pool_.mining_target(); network && share.digest < *network) {
        counters_.solutions.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("full solution from {}: challenge {} nonce {} digest {}", share.miner.normalized(),
                     share.challenge_text, share.nonce_text, share.digest_text);
    }
    store_.push(protocol::queued_share_json(pool_.block(), share), [this, answer = std::move(answer)](bool stored) {
        if (!stored) return refuse(errors::kShareNotStored, answer);
        counters_.accepted.fetch_add(1, std::memory_order_relaxed);
        answer(std::nullopt);
    });
}

void ShareIntake::refuse(StratumError error, const Answer& answer) {
    counters_.reject(error.kind);
    answer(error);
}

}  // namespace sharegate::pool
