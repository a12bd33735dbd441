// Helpers shared by the tests: a seeded generator, 256-bit arithmetic written
// independently of U256's own, and the reference verdict every backend is held to.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "sharegate/address.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/keccak.hpp"
#include "sharegate/share_batch.hpp"
#include "sharegate/u256.hpp"
#include "sharegate/verifier.hpp"

namespace sharegate {

// So that gtest prints verdicts and numbers readably in failure messages.
inline void PrintTo(Verdict verdict, std::ostream* os) {
    *os << (static_cast<unsigned>(verdict) <= 2 ? to_string(verdict) : "no verdict") << " ("
        << static_cast<unsigned>(verdict) << ")";
}
inline void PrintTo(const U256& value, std::ostream* os) { *os << value.to_hex(); }

}  // namespace sharegate

namespace sharegate_test {

using sharegate::Address;
using sharegate::Bytes20;
using sharegate::Bytes32;
using sharegate::ShareBatch;
using sharegate::U256;
using sharegate::Verdict;

// A value no backend may write: shows which verdicts were never written.
inline constexpr auto kNoVerdict = static_cast<Verdict>(0xee);

class Rng {
public:
    explicit Rng(std::uint64_t seed) : engine_(seed) {}
    std::uint64_t next() { return engine_(); }
    std::uint64_t below(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(engine_); }
    U256 u256() { return U256{{next(), next(), next(), next()}}; }
    template <std::size_t N>
    std::array<std::uint8_t, N> bytes() {
        std::array<std::uint8_t, N> out;
        for (auto& b : out) b = static_cast<std::uint8_t>(next());
        return out;
    }

private:
    std::mt19937_64 engine_;
};

// value + addend modulo 2^256.
inline U256 add_u64(U256 value, std::uint64_t addend) {
    for (auto& limb : value.limbs) {
        const unsigned __int128 sum = static_cast<unsigned __int128>(limb) + addend;
        limb = static_cast<std::uint64_t>(sum);
        addend = static_cast<std::uint64_t>(sum >> 64);
    }
    return value;
}

// value - subtrahend modulo 2^256.
inline U256 sub_u64(U256 value, std::uint64_t subtrahend) {
    for (auto& limb : value.limbs) {
        const std::uint64_t before = limb;
        limb -= subtrahend;
        subtrahend = limb > before ? 1 : 0;
    }
    return value;
}

// A 320-bit number: what q * d + r can reach before it is known to fit in 256 bits.
struct U320 {
    U256 low;
    std::uint64_t high = 0;
    friend bool operator==(const U320&, const U320&) = default;
};

// Schoolbook multiply-accumulate: value * factor + addend.
inline U320 mul_add(const U256& value, std::uint64_t factor, std::uint64_t addend) {
    U320 out;
    std::uint64_t carry = addend;
    for (std::size_t i = 0; i < 4; ++i) {
        const unsigned __int128 product = static_cast<unsigned __int128>(value.limbs[i]) * factor + carry;
        out.low.limbs[i] = static_cast<std::uint64_t>(product);
        carry = static_cast<std::uint64_t>(product >> 64);
    }
    out.high = carry;
    return out;
}

// a < b, compared limb by limb from the most significant one, without U256's operators.
inline bool less_by_limbs(const U256& a, const U256& b) {
    for (int i = 3; i >= 0; --i) {
        const auto k = static_cast<std::size_t>(i);
        if (a.limbs[k] != b.limbs[k]) return a.limbs[k] < b.limbs[k];
    }
    return false;
}

// The hash of the share as a big-endian number, from the reference Keccak.
inline U256 true_digest(const Bytes32& challenge, const Bytes20& pool, const Bytes32& nonce) {
    return U256::from_be_bytes(sharegate::share_digest(challenge, pool, nonce));
}

// The verdict the protocol asks for, given the share's true digest.
inline Verdict reference_verdict(const U256& true_digest, const U256& claimed, const U256& target) {
    if (claimed != true_digest) return Verdict::invalid_digest;
    return claimed < target ? Verdict::accepted : Verdict::target_not_met;
}

struct ReferenceBatch {
    ShareBatch batch;
    std::vector<Verdict> expected;
};

// n shares under a random header, each one of the cases a kernel can get wrong: a
// target at, just above and just below the digest, targets that agree with the digest
// in the high limbs and differ in a lower one, share_target() at difficulty 1 and
// 2^64-1, random and extreme targets, and claimed digests with one flipped bit.
// With distinct < n, the first distinct shares repeat: a big batch then costs the
// reference hash only distinct times.
inline ReferenceBatch make_mixed_batch(std::size_t n, std::uint64_t seed, std::size_t distinct = 0) {
    if (distinct == 0 || distinct > n) distinct = n;
    Rng rng(seed);
    const Bytes32 challenge = rng.bytes<32>();
    const Address pool(rng.bytes<20>());
    ReferenceBatch out{ShareBatch(challenge, pool), {}};
    out.batch.reserve(n);
    out.expected.reserve(n);
    const U256 target_d1 = sharegate::share_target(234, 1);
    const U256 target_dmax = sharegate::share_target(234, ~std::uint64_t{0});
    for (std::size_t i = 0; i < distinct; ++i) {
        const Bytes32 nonce = rng.bytes<32>();
        const U256 digest = true_digest(challenge, pool.bytes(), nonce);
        U256 claimed = digest;
        U256 target;
        switch (rng.below(13)) {
            case 0: target = rng.u256(); break;
            case 1: target = digest; break;
            case 2: target = add_u64(digest, 1); break;
            case 3: target = sub_u64(digest, 1); break;
            case 4: target = target_d1; break;
            case 5: target = target_dmax; break;
            case 6: target = sharegate::share_target(255, 1 + rng.below(4)); break;
            case 7: {
                // Equal above limb k, random from limb k down.
                target = digest;
                const std::size_t k = rng.below(4);
                for (std::size_t j = 0; j <= k; ++j) target.limbs[j] = rng.next();
                break;
            }
            case 8:
                claimed.limbs[rng.below(4)] ^= std::uint64_t{1} << rng.below(64);
                target = rng.below(2) != 0 ? U256::max() : add_u64(claimed, 1 + rng.below(1000));
                break;
            case 9:
                claimed.limbs[rng.below(4)] ^= std::uint64_t{1} << rng.below(64);
                target = U256{};
                break;
            case 10: target = U256::max(); break;
            case 11: target = U256{}; break;
            default:
                claimed = rng.u256();
                target = U256::max();
                break;
        }
        out.batch.add(nonce, claimed, target);
        out.expected.push_back(reference_verdict(digest, claimed, target));
    }
    for (std::size_t i = distinct; i < n; ++i) {
        const std::size_t from = i % distinct;
        out.batch.add(out.batch.nonce(from), out.batch.claimed_digest(from), out.batch.target(from));
        out.expected.push_back(out.expected[from]);
    }
    return out;
}

// Empty when got[0 .. expected.size()) matches; else the first few differences.
inline std::string describe_mismatches(const ShareBatch& batch, std::span<const Verdict> expected,
                                       std::span<const Verdict> got) {
    std::string out;
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (got[i] == expected[i]) continue;
        if (++mismatches <= 8) {
            const auto name = [](Verdict v) {
                return static_cast<unsigned>(v) <= 2 ? std::string(to_string(v)) : "no verdict";
            };
            out += "share " + std::to_string(i) + ": expected " + name(expected[i]) + ", got " + name(got[i]) +
                   " (digest " + batch.claimed_digest(i).to_hex() + ", target " + batch.target(i).to_hex() + ")\n";
        }
    }
    if (mismatches > 8) out += "... " + std::to_string(mismatches) + " mismatches in all\n";
    return out;
}

// Verdict slots the guard-region tests keep untouched on either side of a batch's part.
inline constexpr std::size_t kGuardSlots = 256;

// Empty when all[guard, guard + n) holds the expected verdicts of the batch's n shares
// and every slot around that part still holds kNoVerdict; else what is wrong.
inline std::string describe_guarded(const ReferenceBatch& reference, std::span<const Verdict> all, std::size_t guard) {
    const std::size_t n = reference.batch.size();
    std::string problems = describe_mismatches(reference.batch, reference.expected, all.subspan(guard, n));
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (i >= guard && i < guard + n) continue;
        if (all[i] != kNoVerdict) {
            return problems + "wrote guard slot " + std::to_string(i) + (i < guard ? " before" : " after") +
                   " the batch's verdicts [" + std::to_string(guard) + ", " + std::to_string(guard + n) +
                   "): " + std::to_string(static_cast<unsigned>(all[i])) + "\n";
        }
    }
    return problems;
}

// Runs the verifier on the batch and returns what it got wrong, if anything, including
// a verdict written into the guard slots past the batch's end.
inline std::string verify_and_describe(sharegate::Verifier& verifier, const ReferenceBatch& reference) {
    constexpr std::size_t kGuard = 64;
    std::vector<Verdict> got(reference.batch.size() + kGuard, kNoVerdict);
    verifier.verify(reference.batch, got);
    return describe_guarded(reference, got, 0);
}

}  // namespace sharegate_test
