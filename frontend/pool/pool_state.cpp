#include "pool/pool_state.hpp"

#include <spdlog/spdlog.h>

namespace sharegate::pool {

std::optional<Bytes32> PoolState::challenge() const {
    std::lock_guard lock(mutex_);
    return challenge_;
}

std::uint64_t PoolState::block() const {
    std::lock_guard lock(mutex_);
    return block_;
}

std::optional<U256> PoolState::mining_target() const {
    std::lock_guard lock(mutex_);
    return mining_target_;
}

bool PoolState::set_challenge(const Bytes32& challenge) {
    std::lock_guard lock(mutex_);
    if (challenge_ == challenge) return false;
    challenge_ = challenge;
    warned_no_challenge_ = false;
    return true;
}

void PoolState::set_block(std::uint64_t block) {
    std::lock_guard lock(mutex_);
    block_ = block;
}

void PoolState::set_mining_target(const U256& target) {
    std::lock_guard lock(mutex_);
    mining_target_ = target;
}

void PoolState::note_no_challenge() {
    std::lock_guard lock(mutex_);
    if (warned_no_challenge_) return;
    warned_no_challenge_ = true;
    spdlog::warn("redis holds no challengeNumber yet: waiting for a challenge before sending work");
}

}  // namespace sharegate::pool
