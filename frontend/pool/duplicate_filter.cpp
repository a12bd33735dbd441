#include "pool/duplicate_filter.hpp"

#include <functional>
#include <string_view>

namespace sharegate::pool {

std::size_t DuplicateFilter::KeyHash::operator()(const Key& key) const {
    return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(&key), sizeof key));
}

DuplicateFilter::DuplicateFilter(std::size_t max_entries) : max_entries_(max_entries) {}

// The hash's top bits pick the shard; the set's buckets use it modulo their count, so
// the two choices do not correlate.
DuplicateFilter::Shard& DuplicateFilter::shard_of(const Key& key) {
    const std::size_t hash = KeyHash{}(key);
    return shards_[(hash >> (8 * sizeof hash - 5)) % kShards];
}

DuplicateFilter::Sighting DuplicateFilter::first_sighting(const Bytes32& challenge, const Bytes32& nonce) {
    const Key key{challenge, nonce};
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    // Looked up first: a share already recorded is a duplicate even when the set is full.
    if (shard.seen.contains(key)) return Sighting::duplicate;
    // A place is taken before the insert, so the bound holds across shards exactly.
    if (size_.fetch_add(1, std::memory_order_relaxed) >= max_entries_) {
        size_.fetch_sub(1, std::memory_order_relaxed);
        return Sighting::full;
    }
    shard.seen.insert(key);
    return Sighting::first;
}

void DuplicateFilter::forget(const Bytes32& challenge, const Bytes32& nonce) {
    const Key key{challenge, nonce};
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    if (shard.seen.erase(key) > 0) size_.fetch_sub(1, std::memory_order_relaxed);
}

void DuplicateFilter::clear() {
    for (Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        size_.fetch_sub(shard.seen.size(), std::memory_order_relaxed);
        shard.seen.clear();
    }
}

std::size_t DuplicateFilter::size() const { return size_.load(std::memory_order_relaxed); }

}  // namespace sharegate::pool
