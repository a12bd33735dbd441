// The (challenge, nonce) pairs claimed in the current challenge, so that a share is
// credited once: the shares verified and accepted, stored or being stored. A share claims
// its nonce only once verified (ShareIntake::on_verdict), so a refused one never enters;
// one that is not stored after all is forgotten and judged again if resent.
// Held to a fixed number of entries per challenge, so that no sender can grow it without
// end. Thread-safe: every session's submits and the verifier's verdicts reach it, so it is
// split into shards by hash, each with its own lock: the I/O threads seldom meet on one.
// Each shard is an open-addressing table (linear probing, backward-shift erase): the
// record-then-forget of every refused share allocates nothing, and the key is hashed once.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "sharegate/bytes.hpp"

namespace sharegate::pool {

// About 40 MB at the bound (72-byte slots, the table a quarter to half full; briefly more
// while a shard doubles). It never touches an honest pool: the
// filter holds only the shares accepted in one challenge (and the few in flight), and at
// the pool's varDiff those are thousands to tens of thousands a challenge.
inline constexpr std::size_t kDefaultMaxSharesPerChallenge = 262144;

class DuplicateFilter {
public:
    enum class Sighting {
        first,      // recorded now: the share goes on to be judged
        duplicate,  // recorded before
        full,       // not recorded: the filter holds its bound for this challenge
    };

    explicit DuplicateFilter(std::size_t max_entries = kDefaultMaxSharesPerChallenge);

    // What first_sighting would answer now, recording nothing: the look before a share
    // is verified (a resend of a credited share is answered without a Keccak).
    Sighting peek(const Bytes32& challenge, const Bytes32& nonce);
    // Records the pair unless it is there already or the bound is reached. A full filter
    // refuses new pairs rather than evict old ones: an evicted accepted share could be
    // credited twice.
    Sighting first_sighting(const Bytes32& challenge, const Bytes32& nonce);
    // Drops a pair whose share was refused (or never judged): only a credited share must
    // never be credited twice, and re-judging a refused one costs one Keccak, which its
    // sender paid too. This is what keeps a flood of shares that miss their target (or
    // carry junk digests) from growing the set.
    void forget(const Bytes32& challenge, const Bytes32& nonce);
    // Duplicates only matter within one challenge: called when it changes; the bound
    // starts afresh.
    void clear();
    std::size_t size() const;
    std::size_t max_entries() const { return max_entries_; }

private:
    struct Key {
        Bytes32 challenge;
        Bytes32 nonce;
        bool operator==(const Key&) const = default;
    };
    // A slot holds its key's hash (0: empty; a real hash is never 0) beside the key, so a
    // probe compares 8 bytes before 64.
    struct Slot {
        std::uint64_t hash = 0;
        Key key;
    };
    // Cache-line apart, so that two threads on two shards do not share a line.
    struct alignas(64) Shard {
        std::mutex mutex;
        std::vector<Slot> slots;  // a power of two, at most half full
        std::size_t used = 0;
        Slot* find(std::uint64_t hash, const Key& key);
        void insert(std::uint64_t hash, const Key& key);
        bool erase(std::uint64_t hash, const Key& key);
    };
    static constexpr std::size_t kShards = 32;
    std::uint64_t hash_of(const Key& key) const;
    Shard& shard_of(std::uint64_t hash) { return shards_[hash >> 59]; }  // the top 5 bits

    const std::size_t max_entries_;
    const std::uint64_t seed_;  // per process: slots an attacker cannot aim nonces at
    std::array<Shard, kShards> shards_;
    std::atomic<std::size_t> size_{0};  // entries in all shards, held to max_entries_
};

}  // namespace sharegate::pool
