// The pool's share path, whatever door a share came in by (a stratum session today, HTTP
// getwork next): the checks against the pool's state in the original's order, the
// duplicate filter, the hand-off to the verifier, the verdict, the store push and the
// counters. It knows no socket and no wire format beyond the parsed request; the caller
// turns the answer into its own reply.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "pool/duplicate_filter.hpp"
#include "pool/load_shedding.hpp"
#include "pool/pool_state.hpp"
#include "pool/share_counters.hpp"
#include "pool/share_store.hpp"
#include "pool/verify_queue.hpp"
#include "protocol/stratum.hpp"
#include "sharegate/inline_function.hpp"

namespace sharegate::pool {

// What of the miner who sent a share the rules depend on.
struct MinerContext {
    std::uint64_t var_diff = 0;  // the difficulty it was sent work at: a share below it is low
    Standing standing;           // its recent record, for load shedding
};

class ShareIntake {
public:
    // nullopt: the share was accepted and stored; otherwise the refusal to answer. Held
    // inline (no allocation a submit): a caller's answer captures at most this much.
    static constexpr std::size_t kAnswerCapacity = 112;
    using Answer = InlineFunction<void(std::optional<protocol::StratumError>), kAnswerCapacity>;

    enum class Taken {
        refused,    // the pool's state refused it (stale, low, duplicate, busy): answered already
        verifying,  // it passed those checks and went to the verifier
    };

    // Counts into `counters`, which the caller owns so that its statistics line reads them;
    // shares' targets are share_target(max_target_bits, difficulty). At most
    // `max_shares_per_challenge` shares are claimed (accepted or in flight) per challenge;
    // past that a new share is refused as "Server busy". So is one that `shedding` refuses
    // for the verifier's queue.
    ShareIntake(PoolState& pool, VerifyQueue& verifier, ShareStore& store, ShareCounters& counters,
                unsigned max_target_bits, std::size_t max_shares_per_challenge = kDefaultMaxSharesPerChallenge,
                LoadShedding shedding = LoadShedding());
    ShareIntake(const ShareIntake&) = delete;
    ShareIntake& operator=(const ShareIntake&) = delete;

    // One well-formed submit of a subscribed miner. `answer` is called exactly once:
    // at once, on the caller's thread, when the pool's state refuses the share (and when
    // the verify queue answers at once, having stopped); otherwise later, on the
    // verifier's thread (a refusing verdict) or the store's (stored or not). Any thread,
    // then: the caller posts the answer to its own executor. Thread-safe.
    // The share is taken by value: a caller done with it moves it in, and its texts travel
    // with the verdict without a copy.
    Taken submit(protocol::SubmitRequest share, const MinerContext& miner, Answer answer);

    // While a Group lives, the submits made on this thread may be verified together as it
    // ends (and answered within its destructor): a session holds one over the lines of
    // one read, so that they cost one verify call and their answers one write.
    class Group {
    public:
        explicit Group(VerifyQueue& queue) : queue_(queue) { queue_.hold(); }
        ~Group() { queue_.release(); }
        Group(const Group&) = delete;
        Group& operator=(const Group&) = delete;

    private:
        VerifyQueue& queue_;
    };
    Group group() { return Group(verifier_); }

    // Called when the challenge changed: duplicates only matter within one challenge, and
    // a full filter's warning is due again.
    void forget_duplicates();
    const DuplicateFilter& duplicates() const { return duplicates_; }
    // "sharegate:pushed:<challenge hex>:<nonce hex>", lower case: the key the store claims.
    static std::string share_key(const Bytes32& challenge, const Bytes32& nonce);
    const LoadShedding& shedding() const { return shedding_; }

private:
    std::optional<protocol::StratumError> check(const protocol::SubmitRequest& share, const MinerContext& miner);
    std::optional<protocol::StratumError> duplicate_refusal(DuplicateFilter::Sighting sighting,
                                                            const protocol::SubmitRequest& share);
    // `answer` is the continuation's own, moved from when the share goes on to the store.
    void on_verdict(const protocol::SubmitRequest& share, std::optional<Verdict> verdict, Answer& answer);
    void refuse(protocol::StratumError error, const Answer& answer);

    PoolState& pool_;
    VerifyQueue& verifier_;
    ShareStore& store_;
    ShareCounters& counters_;
    unsigned max_target_bits_;
    DuplicateFilter duplicates_;
    LoadShedding shedding_;
    std::atomic<bool> shedding_logged_{false};  // once per episode: from the first refusal until relieved
    std::atomic<std::int64_t> last_shed_ns_{0};
    std::atomic<bool> warned_full_{false};  // "Server busy" is logged once a challenge, not once a share
};

}  // namespace sharegate::pool
