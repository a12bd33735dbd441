// The pool's state every submit is checked against, as the token watcher last wrote it to
// Redis: the challenge, the Ethereum block number and the network's mining target.
// Thread-safe: Redis's events set it, sessions and ShareIntake read it from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::pool {

class PoolState {
public:
    std::optional<Bytes32> challenge() const;
    std::uint64_t block() const;
    std::optional<U256> mining_target() const;

    // True when the challenge changed: the caller then clears the duplicate filter and
    // sends every miner the new work. Redis may repeat the current one (after a
    // reconnection), which changes nothing.
    bool set_challenge(const Bytes32& challenge);
    void set_block(std::uint64_t block);
    void set_mining_target(const U256& target);

    // Logs "waiting for a challenge" once per period without one (a session about to send
    // work calls it every time it finds none); a new challenge starts a new period.
    void note_no_challenge();

private:
    void publish_challenge(const Bytes32& challenge);

    mutable std::mutex mutex_;  // the writers', and the readers' of all but the challenge
    // The challenge, which every submit reads, behind a sequence lock: its readers take no
    // lock and write nothing shared (the mutex was ~2 % of a flood's CPU, the I/O threads
    // taking it in turns). The sequence is odd while a writer (under mutex_) changes the
    // words, and 0 until the first challenge; a reader retries when it changed under it.
    std::atomic<std::uint64_t> challenge_sequence_{0};
    std::array<std::atomic<std::uint64_t>, 4> challenge_words_{};
    std::uint64_t block_ = 0;
    std::optional<U256> mining_target_;
    bool warned_no_challenge_ = false;
};

}  // namespace sharegate::pool
