#include "pool/pool_state.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

namespace sharegate::pool {

// No fences (ThreadSanitizer does not model them): the words are written with release
// after the sequence turns odd, and read with acquire before the sequence is read again.
// A reader that saw any word of a write therefore sees that write's odd sequence (or a
// later one) on its second look, and retries.
std::optional<Bytes32> PoolState::challenge() const {
    for (;;) {
        const std::uint64_t before = challenge_sequence_.load(std::memory_order_acquire);
        if (before == 0) return std::nullopt;  // none written yet
        if (before % 2 == 1) continue;         // a writer is between its two steps
        std::array<std::uint64_t, 4> words;
        for (std::size_t i = 0; i < words.size(); ++i) words[i] = challenge_words_[i].load(std::memory_order_acquire);
        if (challenge_sequence_.load(std::memory_order_relaxed) != before) continue;
        Bytes32 challenge;
        std::memcpy(challenge.data(), words.data(), challenge.size());
        return challenge;
    }
}

// Under mutex_: one writer at a time.
void PoolState::publish_challenge(const Bytes32& challenge) {
    std::array<std::uint64_t, 4> words;
    std::memcpy(words.data(), challenge.data(), challenge.size());
    const std::uint64_t sequence = challenge_sequence_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < words.size(); ++i) challenge_words_[i].store(words[i], std::memory_order_release);
    challenge_sequence_.store(sequence + 2, std::memory_order_release);
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
    // Under mutex_ no writer can be between its steps: this read is the current challenge.
    if (this->challenge() == challenge) return false;
    publish_challenge(challenge);
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
