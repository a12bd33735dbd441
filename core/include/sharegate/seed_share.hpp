// The seed conversation of docs/design/original-stratum-note.md (docs/protocol.md
// section 1): one real share of 0xBitcoin's pool. The one copy of its constants: the
// start-up self-test, sharegate-mine's defaults, the known-answer vectors and the tests
// (through tests/support/seed_share.hpp) all read these.
#pragma once

namespace sharegate::seed {

inline constexpr const char* kChallenge = "0x6770629a6ede9af78856c91eab295779d294328de910c8a85b174dd85f843b3e";
inline constexpr const char* kPool = "0x1b7bfB694eE51913c347971c7090a74AEFbd41f6";   // EIP-55 checksummed
inline constexpr const char* kMiner = "0x1b7bfb694ee51913c347971c7090a74aefbd41f6";  // as the miner sends it
inline constexpr const char* kNonce = "0x315bc11bfc4c7d35c34d75030f2ad300000000004111c4fa6169e2193288e8fe";
inline constexpr const char* kDigest = "0x00000000f349061fd0e3b1db5324ef44356fae1cc51febedcef137532140b0ec";
// The seed miner's varDiff, and floor(2^234 / 872): its target at 0xBitcoin's 2^234.
inline constexpr unsigned long long kDifficulty = 872;
inline constexpr const char* kTarget = "31659386911883320125847503955399199323170224642983424564965707448620";

}  // namespace sharegate::seed
