#include "pool/duplicate_filter.hpp"

#include <functional>
#include <string_view>

namespace sharegate::pool {

std::size_t DuplicateFilter::KeyHash::operator()(const Key& key) const {
    return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(&key), sizeof key));
}

bool DuplicateFilter::first_sighting(const Bytes32& challenge, const Bytes32& nonce) {
    std::lock_guard lock(mutex_);
    return seen_.insert(Key{challenge, nonce}).second;
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
