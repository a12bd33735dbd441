// The (challenge, nonce) pairs already claimed in the current challenge, so that a share
// is credited once. Thread-safe: every session's submits and the verifier's verdicts
// reach it.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_set>

#include "sharegate/bytes.hpp"

namespace sharegate::pool {

class DuplicateFilter {
public:
    // Records the pair; false when it was recorded before (a duplicate).
    bool first_sighting(const Bytes32& challenge, const Bytes32& nonce);
    // Drops a share that failed its digest check from the duplicate set: only shares that
    // cost real work stay, so a flood of junk nonces cannot grow it (or stall every I/O
    // thread on its rehash); a resent junk share is simply judged again.
    void forget(const Bytes32& challenge, const Bytes32& nonce);
    // Duplicates only matter within one challenge: called when it changes.
    void clear();
    std::size_t size() const;

private:
    struct Key {
        Bytes32 challenge;
        Bytes32 nonce;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& key) const;
    };

    mutable std::mutex mutex_;
    std::unordered_set<Key, KeyHash> seen_;
};

}  // namespace sharegate::pool
