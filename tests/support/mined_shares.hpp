// Valid shares mined on the spot, for tests that need more than the 200 difficulty-1
// vectors: against a server started with --max-target-bits 250, a difficulty-1 share is a
// digest below 2^250, about 64 Keccak-256s. The digest does not depend on the miner (the
// pool's address is hashed, not the miner's), so any miner may submit any of them; each
// stream's nonces carry its own tag so that no two streams mine the same share.
#pragma once

#include <cstdint>
#include <string>

#include "sharegate/address.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/keccak.hpp"
#include "support/d1_shares.hpp"
#include "support/seed_share.hpp"

namespace sharegate_test {

class ShareMiner {
public:
    explicit ShareMiner(std::uint32_t tag)
        : challenge_(*sharegate::parse_hex32(seed::kChallenge)),
          pool_(sharegate::Address::parse(seed::kPool)->bytes()) {
        for (int i = 0; i < 4; ++i)
            nonce_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(tag >> (24 - 8 * i));
    }

    // The next share whose digest is below 2^250 (the seed's challenge and pool).
    VectorShare next() {
        for (;;) {
            ++counter_;
            for (int i = 0; i < 8; ++i)
                nonce_[static_cast<std::size_t>(24 + i)] = static_cast<std::uint8_t>(counter_ >> (56 - 8 * i));
            const sharegate::Bytes32 digest = sharegate::share_digest(challenge_, pool_, nonce_);
            if (digest[0] < 0x04) return {sharegate::to_hex(nonce_), sharegate::to_hex(digest)};
        }
    }

private:
    sharegate::Bytes32 challenge_;
    sharegate::Bytes20 pool_;
    sharegate::Bytes32 nonce_{};
    std::uint64_t counter_ = 0;
};

}  // namespace sharegate_test
