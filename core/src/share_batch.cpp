#include "sharegate/share_batch.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sharegate {

const char* to_string(Verdict verdict) {
    switch (verdict) {
        case Verdict::accepted: return "accepted";
        case Verdict::invalid_digest: return "invalid digest";
        case Verdict::target_not_met: return "target not met";
    }
    return "unknown verdict";
}

void ShareBatch::reset(const Bytes32& challenge, const Address& pool) {
    challenge_ = challenge;
    pool_ = pool;
    clear();
}

void ShareBatch::clear() {
    for (int k = 0; k < 4; ++k) {
        nonce_[k].clear();
        digest_[k].clear();
    }
    target_index_.clear();
    target_table_.clear();
    target_entry_.clear();
}

void ShareBatch::reserve(std::size_t n) {
    for (int k = 0; k < 4; ++k) {
        nonce_[k].reserve(n);
        digest_[k].reserve(n);
    }
    target_index_.reserve(n);
}

std::size_t ShareBatch::add(const Bytes32& nonce, const U256& claimed_digest, const U256& target) {
    const std::size_t index = size();
    for (int k = 0; k < 4; ++k) {
        nonce_[k].push_back(load_le64(nonce.data() + 8 * k));
        digest_[k].push_back(claimed_digest.limbs[static_cast<std::size_t>(k)]);
    }
    target_index_.push_back(target_entry(target));
    return index;
}

Bytes32 ShareBatch::nonce(std::size_t i) const {
    Bytes32 out;
    for (int k = 0; k < 4; ++k) store_le64(out.data() + 8 * k, nonce_[k][i]);
    return out;
}

U256 ShareBatch::claimed_digest(std::size_t i) const {
    return U256{{digest_[0][i], digest_[1][i], digest_[2][i], digest_[3][i]}};
}

std::uint32_t ShareBatch::target_entry(const U256& target) {
    // Consecutive shares usually come from one miner: try the last entry before hashing.
    if (!target_index_.empty()) {
        const std::uint32_t last = target_index_.back();
        if (U256{{target_table_[4 * last], target_table_[4 * last + 1], target_table_[4 * last + 2],
                  target_table_[4 * last + 3]}} == target) {
            return last;
        }
    }
    // A batch holds few distinct targets (one a varDiff): a look along the table costs less
    // than the map, whose node would be allocated for every batch. The map takes over past
    // kTargetsScanned.
    const std::size_t count = target_count();
    if (count <= kTargetsScanned) {
        for (std::size_t entry = 0; entry < count; ++entry) {
            if (target_table_[4 * entry] == target.limbs[0] && target_table_[4 * entry + 1] == target.limbs[1] &&
                target_table_[4 * entry + 2] == target.limbs[2] && target_table_[4 * entry + 3] == target.limbs[3]) {
                return static_cast<std::uint32_t>(entry);
            }
        }
        if (count < kTargetsScanned) return append_target(target);
        // The table outgrows the look along it: from now on the map answers.
        for (std::size_t entry = 0; entry < count; ++entry) {
            target_entry_.try_emplace(U256{{target_table_[4 * entry], target_table_[4 * entry + 1],
                                            target_table_[4 * entry + 2], target_table_[4 * entry + 3]}},
                                      static_cast<std::uint32_t>(entry));
        }
    }
    const auto [it, inserted] = target_entry_.try_emplace(target, static_cast<std::uint32_t>(count));
    if (inserted) append_target(target);
    return it->second;
}

std::uint32_t ShareBatch::append_target(const U256& target) {
    const std::size_t entry = target_count();
    // Kernels index limbs as 4 * entry in 32 bits.
    if (entry >= (std::size_t{1} << 30)) throw std::length_error("ShareBatch: too many distinct targets");
    for (std::size_t k = 0; k < 4; ++k) target_table_.push_back(target.limbs[k]);
    return static_cast<std::uint32_t>(entry);
}

U256 ShareBatch::target(std::size_t i) const {
    const std::size_t entry = 4 * std::size_t{target_index_[i]};
    return U256{{target_table_[entry], target_table_[entry + 1], target_table_[entry + 2], target_table_[entry + 3]}};
}

ShareBatch ShareBatch::prefix(std::size_t n) const {
    n = std::min(n, size());
    ShareBatch out(challenge_, pool_);
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.add(nonce(i), claimed_digest(i), target(i));
    return out;
}

BatchView ShareBatch::view() const {
    BatchView v;
    v.challenge = challenge_.data();
    v.pool = pool_.bytes().data();
    v.size = size();
    for (int k = 0; k < 4; ++k) {
        v.nonce_words[k] = nonce_[k].data();
        v.digest_limbs[k] = digest_[k].data();
    }
    v.target_index = target_index_.data();
    v.target_table = target_table_.data();
    v.target_count = target_count();
    return v;
}

}  // namespace sharegate
