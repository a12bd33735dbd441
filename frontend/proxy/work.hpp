// The proxy's view of the pool's work: the last mining.notify the upstream connection
// received, shared by every HTTP strand that answers a poll. A poll reads it without a
// round trip upstream, so a new challenge reaches every rig at its next request. One
// mutex around a shared_ptr swap: readers copy the pointer and read the Work without the
// lock, and a notify comes at most every few seconds, so the lock is never contended.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "sharegate/address.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::proxy {

// One mining.notify: {"params":[challenge, target, difficulty, poolAddress]}.
struct Work {
    Bytes32 challenge{};
    // "0x" + 64 lower-case hex digits: what getChallengeNumber answers and what a submit
    // is forwarded with (the original tokenpool compares challenges as case-sensitive text).
    std::string challenge_text;
    U256 target;
    std::string target_decimal;  // target.to_decimal(): getMinimumShareTarget's answer
    // The farm account's varDiff upstream: every rig's getMinimumShareDifficulty, since
    // the pool judges every share of the connection against it.
    std::uint64_t difficulty = 0;
    Address pool;  // getPoolEthAddress answers pool.checksummed()
    std::chrono::steady_clock::time_point received{};
};

// The last Work, thread-safe. Empty until the first notify.
class WorkState {
public:
    // Replaces the current work (any thread). Returns the new version (1 for the first).
    std::uint64_t publish(Work work) {
        auto next = std::make_shared<const Work>(std::move(work));
        std::lock_guard lock(mutex_);
        current_ = std::move(next);
        return ++version_;
    }

    // The current work, or null before the first notify (any thread). The Work pointed
    // to never changes: a later publish swaps the pointer.
    std::shared_ptr<const Work> current() const {
        std::lock_guard lock(mutex_);
        return current_;
    }

    // How many times work was published (0: never).
    std::uint64_t version() const {
        std::lock_guard lock(mutex_);
        return version_;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Work> current_;
    std::uint64_t version_ = 0;
};

}  // namespace sharegate::proxy
