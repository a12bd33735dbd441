#include "pool/duplicate_filter.hpp"

#include <cstring>
#include <random>

namespace sharegate::pool {

namespace {

constexpr std::size_t kFirstSlots = 64;  // per shard; doubled when half full

// The 128-bit product's halves folded: one multiply mixes two words (wyhash's "mum").
std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
    const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
    return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t random_seed() {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

DuplicateFilter::DuplicateFilter(std::size_t max_entries) : max_entries_(max_entries), seed_(random_seed()) {}

// Four independent multiplies (they run side by side, not one after another), each of a
// challenge word and a nonce word salted with the seed, then one more to fold them.
std::uint64_t DuplicateFilter::hash_of(const Key& key) const {
    std::uint64_t words[sizeof(Key) / 8];
    std::memcpy(words, &key, sizeof words);
    constexpr std::uint64_t kOdd[4] = {0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL, 0x8ebc6af09c88c6e3ULL,
                                       0x589965cc75374cc3ULL};
    std::uint64_t lanes[4];
    for (int i = 0; i < 4; ++i) lanes[i] = mum(words[i] ^ seed_ ^ kOdd[i], words[i + 4] ^ seed_ ^ kOdd[(i + 1) % 4]);
    const std::uint64_t hash = mum(lanes[0] ^ lanes[1] ^ kOdd[0], lanes[2] ^ lanes[3] ^ seed_);
    return hash == 0 ? 1 : hash;  // 0 marks an empty slot
}

DuplicateFilter::Slot* DuplicateFilter::Shard::find(std::uint64_t hash, const Key& key) {
    if (slots.empty()) return nullptr;
    const std::size_t mask = slots.size() - 1;
    for (std::size_t at = hash & mask;; at = (at + 1) & mask) {
        Slot& slot = slots[at];
        if (slot.hash == 0) return nullptr;
        if (slot.hash == hash && slot.key == key) return &slot;
    }
}

void DuplicateFilter::Shard::insert(std::uint64_t hash, const Key& key) {
    if (2 * (used + 1) > slots.size()) {  // grow: at most half full keeps probes short
        std::vector<Slot> old = std::move(slots);
        slots.assign(old.empty() ? kFirstSlots : 2 * old.size(), Slot{});
        used = 0;
        for (const Slot& slot : old)
            if (slot.hash != 0) insert(slot.hash, slot.key);
    }
    const std::size_t mask = slots.size() - 1;
    std::size_t at = hash & mask;
    while (slots[at].hash != 0) at = (at + 1) & mask;
    slots[at] = Slot{hash, key};
    ++used;
}

// Backward-shift deletion: the entries after the hole that would no longer be found
// across it move back into it, so no tombstones pile up under insert-and-forget.
bool DuplicateFilter::Shard::erase(std::uint64_t hash, const Key& key) {
    Slot* found = find(hash, key);
    if (found == nullptr) return false;
    const std::size_t mask = slots.size() - 1;
    std::size_t hole = static_cast<std::size_t>(found - slots.data());
    for (std::size_t at = (hole + 1) & mask; slots[at].hash != 0; at = (at + 1) & mask) {
        const std::size_t home = slots[at].hash & mask;
        // Movable when its home is not in the cyclic range (hole, at].
        const bool home_after_hole = hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
        if (!home_after_hole) {
            slots[hole] = slots[at];
            hole = at;
        }
    }
    slots[hole].hash = 0;
    --used;
    return true;
}

DuplicateFilter::Sighting DuplicateFilter::peek(const Bytes32& challenge, const Bytes32& nonce) {
    const Key key{challenge, nonce};
    const std::uint64_t hash = hash_of(key);
    Shard& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    if (shard.find(hash, key) != nullptr) return Sighting::duplicate;
    return size_.load(std::memory_order_relaxed) >= max_entries_ ? Sighting::full : Sighting::first;
}

DuplicateFilter::Sighting DuplicateFilter::first_sighting(const Bytes32& challenge, const Bytes32& nonce) {
    const Key key{challenge, nonce};
    const std::uint64_t hash = hash_of(key);
    Shard& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    // Looked up first: a share already recorded is a duplicate even when the set is full.
    if (shard.find(hash, key) != nullptr) return Sighting::duplicate;
    // A place is taken before the insert, so the bound holds across shards exactly.
    if (size_.fetch_add(1, std::memory_order_relaxed) >= max_entries_) {
        size_.fetch_sub(1, std::memory_order_relaxed);
        return Sighting::full;
    }
    shard.insert(hash, key);
    return Sighting::first;
}

void DuplicateFilter::forget(const Bytes32& challenge, const Bytes32& nonce) {
    const Key key{challenge, nonce};
    const std::uint64_t hash = hash_of(key);
    Shard& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    if (shard.erase(hash, key)) size_.fetch_sub(1, std::memory_order_relaxed);
}

// A challenge's worth of slots is given back, not kept for the next one.
void DuplicateFilter::clear() {
    for (Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        size_.fetch_sub(shard.used, std::memory_order_relaxed);
        std::vector<Slot>().swap(shard.slots);
        shard.used = 0;
    }
}

std::size_t DuplicateFilter::size() const { return size_.load(std::memory_order_relaxed); }

}  // namespace sharegate::pool
