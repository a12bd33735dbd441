#include "sharegate/share_batch.hpp"

#include <cstring>

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
        target_[k].clear();
    }
}

void ShareBatch::reserve(std::size_t n) {
    for (int k = 0; k < 4; ++k) {
        nonce_[k].reserve(n);
        digest_[k].reserve(n);
        target_[k].reserve(n);
    }
}

std::size_t ShareBatch::add(const Bytes32& nonce, const U256& claimed_digest, const U256& target) {
    const std::size_t index = size();
    for (int k = 0; k < 4; ++k) {
        nonce_[k].push_back(load_le64(nonce.data() + 8 * k));
        digest_[k].push_back(claimed_digest.limbs[static_cast<std::size_t>(k)]);
        target_[k].push_back(target.limbs[static_cast<std::size_t>(k)]);
    }
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

U256 ShareBatch::target(std::size_t i) const {
    return U256{{target_[0][i], target_[1][i], target_[2][i], target_[3][i]}};
}

BatchView ShareBatch::view() const {
    BatchView v;
    v.challenge = challenge_.data();
    v.pool = pool_.bytes().data();
    v.size = size();
    for (int k = 0; k < 4; ++k) {
        v.nonce_words[k] = nonce_[k].data();
        v.digest_limbs[k] = digest_[k].data();
        v.target_limbs[k] = target_[k].data();
    }
    return v;
}

}  // namespace sharegate
