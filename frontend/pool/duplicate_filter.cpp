#include "pool/duplicate_filter.hpp"

#include <functional>
#include <string_view>

namespace sharegate::pool {

std::size_t DuplicateFilter::KeyHash::operator()(const Key& key) const {
    return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(&key), sizeof key));
}

DuplicateFilter::DuplicateFilter(std::size_t max_entries) : max_entries_(max_entries) {}

DuplicateFilter::Sighting DuplicateFilter::first_sighting(const Bytes32& challenge, const Bytes32& nonce) {
    const Key key{challenge, nonce};
    std::lock_guard lock(mutex_);
    // Looked up first: a share already recorded is a duplicate even when the set is full.
    if (seen_.contains(key)) return Sighting::duplicate;
    if (seen_.size() >= max_entries_) return Sighting::full;
    seen_.insert(key);
    return Sighting::first;
}

void DuplicateFilter::forget(const Bytes32& challenge, const Bytes32& nonce) {
    std::lock_guard lock(mutex_);
    seen_.erase(Key{challenge, nonce});
}

void DuplicateFilter::clear() {
    std::lock_guard lock(mutex_);
    seen_.clear();
}

std::size_t DuplicateFilter::size() const {
    std::lock_guard lock(mutex_);
    return seen_.size();
}

}  // namespace sharegate::pool
