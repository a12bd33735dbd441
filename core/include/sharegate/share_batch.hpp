// A batch of shares for one (challenge, pool address), laid out for bulk checking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <unordered_map>
#include <vector>

#include "sharegate/address.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate {

enum class Verdict : std::uint8_t {
    accepted = 0,        // digest is keccak256(challenge ‖ pool ‖ nonce) and below target
    invalid_digest = 1,  // the claimed digest is not the hash of the share
    target_not_met = 2,  // the digest is right but not below the share's target
};

const char* to_string(Verdict verdict);

// 64-byte alignment so that one vector load reads 8 shares' limb without a split line.
template <typename T>
struct CacheAlignedAllocator {
    using value_type = T;
    static constexpr std::align_val_t kAlignment{64};
    CacheAlignedAllocator() = default;
    template <typename U>
    CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}  // NOLINT
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
    void deallocate(T* p, std::size_t) { ::operator delete(p, kAlignment); }
    template <typename U>
    bool operator==(const CacheAlignedAllocator<U>&) const {
        return true;
    }
};

using LimbVector = std::vector<std::uint64_t, CacheAlignedAllocator<std::uint64_t>>;

// What a kernel reads: plain pointers into the batch, structure-of-arrays.
// Each 256-bit field is four arrays ("limb-major"), so limb k of shares i..i+7
// is one contiguous 64-byte load.
struct BatchView {
    const std::uint8_t* challenge = nullptr;  // 32 bytes
    const std::uint8_t* pool = nullptr;       // 20 bytes
    std::size_t size = 0;
    // nonce_words[k][i]: bytes 8k..8k+7 of share i's nonce read little-endian,
    // i.e. the order Keccak absorbs them (the nonce is hashed, never compared).
    const std::uint64_t* nonce_words[4] = {};
    // digest_limbs[k][i]: limb k (0 = least significant) of the claimed digest as a
    // big-endian 256-bit number, as the wire writes it.
    const std::uint64_t* digest_limbs[4] = {};
    // Share i's target is entry target_index[i] of target_table, whose entry j holds
    // limbs target_table[4j .. 4j+3] (limb 0 least significant); accepted iff
    // digest < target. A batch has few distinct targets (one per varDiff level), so four
    // bytes a share instead of 32 cross a GPU's host link.
    const std::uint32_t* target_index = nullptr;
    const std::uint64_t* target_table = nullptr;
    std::size_t target_count = 0;
};

class ShareBatch {
public:
    ShareBatch() = default;
    ShareBatch(const Bytes32& challenge, const Address& pool) : challenge_(challenge), pool_(pool) {}

    const Bytes32& challenge() const { return challenge_; }
    const Address& pool() const { return pool_; }
    // Starts a new batch for another header, keeping the allocated memory.
    void reset(const Bytes32& challenge, const Address& pool);
    void clear();
    void reserve(std::size_t n);
    std::size_t size() const { return nonce_[0].size(); }
    bool empty() const { return size() == 0; }

    // Appends a share; returns its index. The target is explicit so that callers can
    // use the pool's varDiff target or share_target(bits, difficulty).
    std::size_t add(const Bytes32& nonce, const U256& claimed_digest, const U256& target);

    Bytes32 nonce(std::size_t i) const;
    U256 claimed_digest(std::size_t i) const;
    U256 target(std::size_t i) const;
    // How many distinct targets the batch holds.
    std::size_t target_count() const { return target_table_.size() / 4; }

    // The first n shares (all of them when n >= size()) as a batch of their own under
    // the same header, whose target table holds only their targets: for the self-test's
    // and the benchmark's runs over a batch's prefixes.
    ShareBatch prefix(std::size_t n) const;

    BatchView view() const;

private:
    std::uint32_t target_entry(const U256& target);
    std::uint32_t append_target(const U256& target);
    static constexpr std::size_t kTargetsScanned = 8;

    Bytes32 challenge_{};
    Address pool_{};
    LimbVector nonce_[4];
    LimbVector digest_[4];
    std::vector<std::uint32_t, CacheAlignedAllocator<std::uint32_t>> target_index_;
    LimbVector target_table_;
    struct TargetHash {
        std::size_t operator()(const U256& t) const { return t.limbs[0] ^ (t.limbs[1] * 0x9e3779b97f4a7c15ULL); }
    };
    std::unordered_map<U256, std::uint32_t, TargetHash> target_entry_;
};

}  // namespace sharegate
