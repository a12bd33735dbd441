#include "pool/share_intake.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>
#include <utility>

#include "sharegate/bytes.hpp"

namespace sharegate::pool {

using protocol::StratumError;
namespace errors = protocol::errors;

namespace {

// Nothing shed for this long ends a shedding episode (for its log lines).
constexpr std::int64_t kShedEpisodeGapNs = 10'000'000'000;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

ShareIntake::ShareIntake(PoolState& pool, VerifyQueue& verifier, ShareStore& store, ShareCounters& counters,
                         unsigned max_target_bits, std::size_t max_shares_per_challenge, LoadShedding shedding)
    : pool_(pool),
      verifier_(verifier),
      store_(store),
      counters_(counters),
      max_target_bits_(max_target_bits),
      duplicates_(max_shares_per_challenge),
      shedding_(shedding) {}

void ShareIntake::forget_duplicates() {
    duplicates_.clear();
    warned_full_.store(false, std::memory_order_relaxed);
}

ShareIntake::Taken ShareIntake::submit(protocol::SubmitRequest share, const MinerContext& miner, Answer answer) {
    if (const auto refusal = check(share, miner)) {
        refuse(*refusal, answer);
        return Taken::refused;
    }
    // The continuation built in place (not assigned: that moves it once more).
    verifier_.add(PendingShare{
        .challenge = share.challenge,
        .nonce = share.nonce,
        .digest = share.digest,
        .target = share_target(max_target_bits_, share.difficulty),
        .done = [this, share = std::move(share), answer = std::move(answer)](
                    std::optional<Verdict> verdict) mutable { on_verdict(share, verdict, answer); },
    });
    return Taken::verifying;
}

// The checks after "not subscribed" and "parameters" (the session's) and before the
// verifier, in the original's order; the first failure answers. The duplicate check comes
// last and only looks: a share claims its nonce once verified (on_verdict), so that the
// shares a flood sends, refused, never touch the filter but for this look, and a stale or
// low share never claims a nonce it did not prove.
std::optional<StratumError> ShareIntake::check(const protocol::SubmitRequest& share, const MinerContext& miner) {
    const std::optional<Bytes32> current = pool_.challenge();
    if (!current || share.challenge != *current) return errors::kWrongChallenge;
    if (share.difficulty < miner.var_diff) return errors::kLowDifficulty;
    // Before the duplicate check: a share refused for load claims no nonce.
    const std::size_t queued = verifier_.waiting();
    if (shedding_.refuse(queued, miner.standing)) {
        counters_.shed.fetch_add(1, std::memory_order_relaxed);
        last_shed_ns_.store(now_ns(), std::memory_order_relaxed);
        if (!shedding_logged_.exchange(true, std::memory_order_relaxed)) {
            spdlog::warn(
                "verifier behind: {} shares waiting (bound {}); refusing new shares as \"Server busy\", "
                "worst record first (--max-queued-shares)",
                queued, shedding_.max_queued());
        }
        return errors::kServerBusy;
    }
    // The episode ends (and may be logged again) once nothing was shed for a while, not at
    // every dip of the queue: a flood would otherwise write a line a millisecond.
    if (shedding_logged_.load(std::memory_order_relaxed) && shedding_.relieved(queued) &&
        now_ns() - last_shed_ns_.load(std::memory_order_relaxed) > kShedEpisodeGapNs &&
        shedding_logged_.exchange(false, std::memory_order_relaxed)) {
        spdlog::info("verifier caught up: {} shares waiting; load shedding ended", queued);
    }
    return duplicate_refusal(duplicates_.peek(share.challenge, share.nonce), share);
}

// A sighting's answer: none for the first, "Duplicate share", or "Server busy" while the
// filter holds its bound (logged once a challenge).
std::optional<StratumError> ShareIntake::duplicate_refusal(DuplicateFilter::Sighting sighting,
                                                           const protocol::SubmitRequest& share) {
    switch (sighting) {
        case DuplicateFilter::Sighting::first: return std::nullopt;
        case DuplicateFilter::Sighting::duplicate: return errors::kDuplicateShare;
        case DuplicateFilter::Sighting::full:
            if (!warned_full_.exchange(true, std::memory_order_relaxed)) {
                spdlog::warn(
                    "duplicate filter full: {} shares claimed in challenge {}; new shares are refused as \"Server "
                    "busy\" until the challenge changes (--max-shares-per-challenge)",
                    duplicates_.max_entries(), share.challenge_text.view());
            }
            return errors::kServerBusy;
    }
    return errors::kServerBusy;  // not reached: every Sighting is handled above
}

// The name of a share's pool-wide claim (docs/protocol.md section 4, "Share claims"):
// its challenge and nonce in lower-case hex, so that a resend in other letter case is
// the same share.
std::string ShareIntake::share_key(const Bytes32& challenge, const Bytes32& nonce) {
    static constexpr std::string_view kPrefix = "sharegate:pushed:";
    std::string key;
    key.reserve(kPrefix.size() + 2 * (2 + 2 * challenge.size()) + 1);  // one allocation a share
    key += kPrefix;
    append_hex(key, challenge.data(), challenge.size());
    key.push_back(':');
    append_hex(key, nonce.data(), nonce.size());
    return key;
}

// On the verifier's thread. The share is judged against its own challenge, whatever the
// pool's is by now: a share that was current when it came in is stored although the
// challenge changed while it was verified (the back-end decides what it is worth).
//
// Only a credited share must never be credited twice, so only a verified one claims its
// nonce, here; a copy verified alongside it (sent twice before either was judged) finds
// the claim and is a duplicate. Every other outcome (not verified, invalid digest, target
// not met) claims nothing, and one not stored after all forgets its claim: re-judging a
// resend costs one Keccak, which its sender paid too, and a miner told "not stored" may
// resend and must not hear "duplicate". This is what keeps the duplicate filter from
// growing, or even being written, under a flood of shares that miss their target.
void ShareIntake::on_verdict(const protocol::SubmitRequest& share, std::optional<Verdict> verdict, Answer& answer) {
    if (!verdict) return refuse(errors::kShareNotStored, answer);  // nothing proved the work
    switch (*verdict) {
        case Verdict::invalid_digest: return refuse(errors::kInvalidDigest, answer);
        case Verdict::target_not_met: return refuse(errors::kTargetNotMet, answer);
        case Verdict::accepted: break;
    }
    if (const auto refusal = duplicate_refusal(duplicates_.first_sighting(share.challenge, share.nonce), share))
        return refuse(*refusal, answer);
    if (const auto network = pool_.mining_target(); network && share.digest < *network) {
        counters_.solutions.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("full solution from {}: challenge {} nonce {} digest {}", share.miner.normalized(),
                     share.challenge_text.view(), share.nonce_text.view(), share.digest_text.view());
    }
    store_.push(
        share_key(share.challenge, share.nonce), protocol::queued_share_json(pool_.block(), share),
        [this, challenge = share.challenge, nonce = share.nonce, answer = std::move(answer)](StoreResult result) {
            switch (result) {
                case StoreResult::stored: break;
                case StoreResult::duplicate:
                    // Claimed pool-wide: it stays claimed here too, so that a resend
                    // is answered at once, without a Keccak or a round trip.
                    counters_.duplicates_pool_wide.fetch_add(1, std::memory_order_relaxed);
                    return refuse(errors::kDuplicateShare, answer);
                case StoreResult::not_stored:
                    duplicates_.forget(challenge, nonce);
                    return refuse(errors::kShareNotStored, answer);
            }
            counters_.accepted.fetch_add(1, std::memory_order_relaxed);
            answer(std::nullopt);
        });
}

void ShareIntake::refuse(StratumError error, const Answer& answer) {
    counters_.reject(error.kind);
    answer(error);
}

}  // namespace sharegate::pool
