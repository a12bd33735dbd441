// The Keccak-f[1600] round structure specialised for one ERC-918 share (a single
// 84-byte block), written once over a "lane operations" policy so that the scalar,
// AVX2 and AVX-512 kernels share it. Private to verify_cpu/.
//
// The policy Ops provides:
//   using Lane = ...;                         // one 64-bit lane, or a vector of them
//   static Lane broadcast(std::uint64_t);
//   static Lane xor2(Lane, Lane);
//   static Lane xor3(Lane, Lane, Lane);
//   static Lane chi(Lane a, Lane b, Lane c);  // a ^ (~b & c)
//   template <unsigned N> static Lane rotl(Lane);
//   static constexpr bool kFuseTheta;          // theta as one xor3 per lane (cheap 3-input XOR)
//   static constexpr bool kLaneComplementing;  // chi from ~, &, | (see kComplementedLanes)
//
// Every policy lives in an anonymous namespace of its kernel file, so each
// instantiation below has internal linkage, and the helpers outside the template are
// only evaluated at compile time: no out-of-line function here is ever shared between
// kernel files. That matters because the SIMD files compile this header for their
// instruction set, and the linker must never pick AVX-512 code for a caller meant for
// any x86-64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "sharegate/keccak.hpp"

// For the kernels' entry points. The per-lane lambdas below carry no always_inline, and
// GCC's inlining limits would leave some of them as calls, which puts the whole state
// in memory (the AVX-512 kernel runs 4x slower); flatten inlines them all. Under
// AddressSanitizer that one huge instrumented function takes GCC minutes to compile
// (with UBSan as well), and speed does not matter there, so it is left out.
#if defined(__SANITIZE_ADDRESS__)
#define SHAREGATE_KERNEL_INLINE_ALL
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SHAREGATE_KERNEL_INLINE_ALL
#endif
#endif
#ifndef SHAREGATE_KERNEL_INLINE_ALL
#define SHAREGATE_KERNEL_INLINE_ALL [[gnu::flatten]]
#endif

namespace sharegate::cpu::keccak_detail {

inline constexpr unsigned kRounds = 24;

// Rotation offsets of the rho step, by lane index x + 5y.
inline constexpr unsigned kRho[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                      25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};

// The message lanes that are the same for every share of a batch: challenge (lanes
// 0..3), pool bytes 0..15 (lanes 4, 5), pool bytes 16..19 (low half of lane 6) and the
// final padding bit (lane 16).
struct BatchConstants {
    std::uint64_t lane[6];
    std::uint64_t pool_tail;  // pool bytes 16..19, little-endian, in the low 32 bits
    static constexpr std::uint64_t kPadFirstBitInLane10 = 0x01ULL << 32;  // byte 84 = 0x01
    static constexpr std::uint64_t kPadLastLane16 = 0x80ULL << 56;        // byte 135 = 0x80
};

// Message lanes 6..10 for a nonce given as words n0..n3 (nonce bytes 8k..8k+7 read
// little-endian): the nonce starts at byte 52, half-way into lane 6, so lane 6 + k
// takes the high half of word k - 1 and the low half of word k. Internal linkage
// (static), because this header is compiled under a different target in each kernel
// file and the linker must never pick an AVX-512 copy for a generic caller.
static constexpr void nonce_lanes(const BatchConstants& batch, std::uint64_t n0, std::uint64_t n1, std::uint64_t n2,
                                  std::uint64_t n3, std::uint64_t (&out)[5]) {
    out[0] = batch.pool_tail | (n0 << 32);
    out[1] = (n0 >> 32) | (n1 << 32);
    out[2] = (n1 >> 32) | (n2 << 32);
    out[3] = (n2 >> 32) | (n3 << 32);
    out[4] = (n3 >> 32) | BatchConstants::kPadFirstBitInLane10;
}

// Lane complementing (Keccak team, "Keccak implementation overview", section 2.2):
// with these lanes held complemented between rounds, each chi row needs one NOT
// instead of five, which matters without an and-not instruction (plain x86-64). It is
// XKCP's "bebigokimisa" pattern; the chi formulas for it are derived below rather
// than copied. Bit i set: lane i is stored complemented.
inline constexpr std::uint32_t kComplementedLanes =
    (1u << 1) | (1u << 2) | (1u << 8) | (1u << 12) | (1u << 17) | (1u << 20);

consteval bool is_complemented(std::uint32_t pattern, std::size_t lane) { return ((pattern >> lane) & 1) != 0; }

consteval bool column_complemented(std::uint32_t pattern, std::size_t column) {
    bool complemented = false;
    for (std::size_t y = 0; y < 5; ++y) complemented = complemented != is_complemented(pattern, column + 5 * y);
    return complemented;
}

// Whether theta's D[x] = C[x-1] ^ rot(C[x+1], 1), computed from lanes stored with
// `pattern`, comes out complemented.
consteval bool effect_complemented(std::uint32_t pattern, std::size_t x) {
    return column_complemented(pattern, (x + 4) % 5) != column_complemented(pattern, (x + 1) % 5);
}

// Whether lane i after theta is complemented, for a state stored with `pattern`.
consteval bool theta_complemented(std::uint32_t pattern, std::size_t lane) {
    return is_complemented(pattern, lane) != effect_complemented(pattern, lane % 5);
}

// pi moves lane (x', y') to (y', 2x' + 3y'), so lane (x, row) after pi comes from
// lane (x + 3 row, x) before it.
consteval std::size_t pi_source(std::size_t x, std::size_t row) { return (x + 3 * row) % 5 + 5 * x; }

// out = s0 ^ op(s1', s2') (complemented if negate_result), op = OR or AND, s1' and s2'
// optionally complemented: the cheapest such form of chi, out = b0 ^ (~b1 & b2), when
// b0, b1, b2 and out are stored complemented as the flags say.
struct ChiForm {
    bool use_or = false;
    bool negate_second = false;
    bool negate_third = false;
    bool negate_result = false;
};

constexpr ChiForm chi_form(bool first, bool second, bool third, bool result) {
    ChiForm best{};
    int best_cost = 4;
    for (unsigned bits = 0; bits < 16; ++bits) {
        const ChiForm form{(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0};
        bool matches = true;
        for (unsigned inputs = 0; inputs < 8; ++inputs) {
            const bool s0 = (inputs & 1) != 0;
            const bool s1 = (inputs & 2) != 0;
            const bool s2 = (inputs & 4) != 0;
            const bool wanted = ((s0 != first) != (!(s1 != second) && (s2 != third))) != result;
            const bool l1 = s1 != form.negate_second;
            const bool l2 = s2 != form.negate_third;
            const bool got = (s0 != (form.use_or ? (l1 || l2) : (l1 && l2))) != form.negate_result;
            matches = matches && wanted == got;
        }
        const int cost = int{form.negate_second} + int{form.negate_third} + int{form.negate_result};
        if (matches && cost < best_cost) {
            best = form;
            best_cost = cost;
        }
    }
    return best;
}

// Calls body(std::integral_constant<std::size_t, I>) for I = 0..N-1, so that lane
// indices and rotation counts are compile-time constants even without optimisation
// (vprolq and friends need immediates).
template <std::size_t N, typename Body>
[[gnu::always_inline]] inline void unrolled(Body&& body) {
    [&]<std::size_t... I>(std::index_sequence<I...>) { (body(std::integral_constant<std::size_t, I>{}), ...); }
    (std::make_index_sequence<N>{});
}

template <typename Ops>
struct ShareKeccak {
    using Lane = typename Ops::Lane;
    static constexpr std::uint32_t kPattern = Ops::kLaneComplementing ? kComplementedLanes : 0;

    // The first round's column parities split into a batch-constant part and the one
    // per-share lane of each column (column 0: lane 10, columns 1..4: lanes 6..9), so
    // a share's first theta costs 5 XORs instead of 20.
    struct FirstRound {
        Lane message[6];        // lanes 0..5
        Lane column_parity[5];  // parity of the constant lanes of each column
        Lane pad_last;          // lane 16
    };

    // The batch's constant lanes, read from its challenge and pool address.
    static BatchConstants batch_constants(const std::uint8_t* challenge, const std::uint8_t* pool) {
        auto load_le = [](const std::uint8_t* bytes, std::size_t count) {
            std::uint64_t value = 0;
            for (std::size_t i = count; i-- > 0;) value = (value << 8) | bytes[i];
            return value;
        };
        BatchConstants constants{};
        for (std::size_t k = 0; k < 4; ++k) constants.lane[k] = load_le(challenge + 8 * k, 8);
        constants.lane[4] = load_le(pool, 8);
        constants.lane[5] = load_le(pool + 8, 8);
        constants.pool_tail = load_le(pool + 16, 4);
        return constants;
    }

    static FirstRound prepare(const BatchConstants& batch) {
        FirstRound first;
        for (std::size_t k = 0; k < 6; ++k) first.message[k] = Ops::broadcast(batch.lane[k]);
        first.pad_last = Ops::broadcast(BatchConstants::kPadLastLane16);
        first.column_parity[0] = Ops::broadcast(batch.lane[0] ^ batch.lane[5]);
        first.column_parity[1] = Ops::broadcast(batch.lane[1] ^ BatchConstants::kPadLastLane16);
        for (std::size_t x = 2; x < 5; ++x) first.column_parity[x] = Ops::broadcast(batch.lane[x]);
        return first;
    }

private:
    // The state between two rounds, with the column parities of its lanes: they are
    // accumulated while each row is produced, when its lanes are still in registers.
    struct State {
        Lane lane[25];
        Lane parity[5];
    };

public:
    // Output lanes 0..3 (the 32 digest bytes) of the permutation of a share whose
    // per-share message lanes 6..10 are `varying`.
    [[gnu::always_inline]] static inline void digest_lanes(const FirstRound& first, const Lane (&varying)[5],
                                                           Lane (&out)[4]) {
        State state;
        first_round(first, varying, state);
        middle_rounds(state, std::make_index_sequence<kRounds - 2>{});
        last_round(state, out);
    }

private:
    // chi for one lane, out = b0 ^ (~b1 & b2), with inputs and output stored
    // complemented as the flags say.
    template <bool kFirst, bool kSecond, bool kThird, bool kResult>
    [[gnu::always_inline]] static inline Lane chi(Lane b0, Lane b1, Lane b2) {
        if constexpr (!Ops::kLaneComplementing) {
            static_assert(!kFirst && !kSecond && !kThird && !kResult);
            return Ops::chi(b0, b1, b2);
        } else {
            constexpr ChiForm form = chi_form(kFirst, kSecond, kThird, kResult);
            const Lane second = form.negate_second ? ~b1 : b1;
            const Lane third = form.negate_third ? ~b2 : b2;
            const Lane result = b0 ^ (form.use_or ? (second | third) : (second & third));
            return form.negate_result ? ~result : result;
        }
    }

    // rho, pi, chi and iota, one output row at a time: each row reads one lane of every
    // input row, so only five rotated lanes are live at once, which keeps the register
    // pressure low enough for 16-register instruction sets. theta_lane(i) supplies input
    // lane i after theta.
    template <std::uint32_t kIn, std::uint32_t kOut, typename ThetaLane>
    [[gnu::always_inline]] static inline void rho_pi_chi_iota(ThetaLane&& theta_lane, State& out,
                                                              std::uint64_t round_constant) {
        unrolled<5>([&](auto row) {
            Lane b[5];
            unrolled<5>([&](auto x) {
                constexpr std::size_t source = pi_source(x, row);
                b[x] = Ops::template rotl<kRho[source]>(theta_lane(std::integral_constant<std::size_t, source>{}));
            });
            unrolled<5>([&](auto x) {
                out.lane[5 * row + x] =
                    chi<theta_complemented(kIn, pi_source(x, row)),
                        theta_complemented(kIn, pi_source((x + 1) % 5, row)),
                        theta_complemented(kIn, pi_source((x + 2) % 5, row)), is_complemented(kOut, 5 * row + x)>(
                        b[x], b[(x + 1) % 5], b[(x + 2) % 5]);
            });
            if constexpr (row == 0) out.lane[0] = Ops::xor2(out.lane[0], Ops::broadcast(round_constant));
            if constexpr (row == 2 || row == 4) {
                unrolled<5>([&](auto x) {
                    const Lane above = row == 2 ? out.lane[x] : out.parity[x];
                    out.parity[x] = Ops::xor3(above, out.lane[5 * (row - 1) + x], out.lane[5 * row + x]);
                });
            }
        });
    }

    [[gnu::always_inline]] static inline void first_round(const FirstRound& first, const Lane (&varying)[5],
                                                          State& out) {
        // varying[0..4] are lanes 6..10: lane 6 is column 1, ..., lane 9 column 4,
        // lane 10 column 0.
        Lane parity[5];
        parity[0] = Ops::xor2(first.column_parity[0], varying[4]);
        unrolled<4>([&](auto k) { parity[k + 1] = Ops::xor2(first.column_parity[k + 1], varying[k]); });
        Lane effect[5];
        unrolled<5>(
            [&](auto x) { effect[x] = Ops::xor2(parity[(x + 4) % 5], Ops::template rotl<1>(parity[(x + 1) % 5])); });
        rho_pi_chi_iota<0, kPattern>(
            [&](auto lane) {
                if constexpr (lane < 6) {
                    return Ops::xor2(first.message[lane], effect[lane % 5]);
                } else if constexpr (lane < 11) {
                    return Ops::xor2(varying[lane - 6], effect[lane % 5]);
                } else if constexpr (lane == 16) {
                    return Ops::xor2(first.pad_last, effect[1]);
                } else {
                    return effect[lane % 5];  // the lane is zero before theta
                }
            },
            out, kKeccakRoundConstants[0]);
    }

    [[gnu::always_inline]] static inline void round(State& state, std::uint64_t round_constant) {
        const State in = state;
        if constexpr (Ops::kFuseTheta) {
            // With a three-input XOR, A ^ C[x-1] ^ rot(C[x+1]) is one instruction, so
            // the five D[x] = C[x-1] ^ rot(C[x+1]) are not worth computing.
            Lane rotated[5];
            unrolled<5>([&](auto x) { rotated[x] = Ops::template rotl<1>(in.parity[x]); });
            rho_pi_chi_iota<kPattern, kPattern>(
                [&](auto lane) { return Ops::xor3(in.lane[lane], in.parity[(lane + 4) % 5], rotated[(lane + 1) % 5]); },
                state, round_constant);
        } else {
            Lane effect[5];
            unrolled<5>([&](auto x) {
                effect[x] = Ops::xor2(in.parity[(x + 4) % 5], Ops::template rotl<1>(in.parity[(x + 1) % 5]));
            });
            rho_pi_chi_iota<kPattern, kPattern>([&](auto lane) { return Ops::xor2(in.lane[lane], effect[lane % 5]); },
                                                state, round_constant);
        }
    }

    template <std::size_t... Rounds>
    [[gnu::always_inline]] static inline void middle_rounds(State& state, std::index_sequence<Rounds...>) {
        (round(state, kKeccakRoundConstants[Rounds + 1]), ...);
    }

    // Only row 0 of the output is read, and its five inputs after pi are lanes 0, 6,
    // 12, 18 and 24 (the diagonal), so theta is applied to those five alone and chi
    // computes four lanes instead of twenty-five.
    [[gnu::always_inline]] static inline void last_round(const State& in, Lane (&out)[4]) {
        Lane b[5];
        unrolled<5>([&](auto x) {
            constexpr std::size_t source = 6 * x;
            b[x] = Ops::template rotl<kRho[source]>(
                Ops::xor3(in.lane[source], in.parity[(x + 4) % 5], Ops::template rotl<1>(in.parity[(x + 1) % 5])));
        });
        // b[x] comes from lane 6x; the digest lanes are wanted plain.
        unrolled<4>([&](auto x) {
            out[x] = chi<theta_complemented(kPattern, 6 * x), theta_complemented(kPattern, 6 * ((x + 1) % 5)),
                         theta_complemented(kPattern, 6 * ((x + 2) % 5)), false>(b[x], b[(x + 1) % 5], b[(x + 2) % 5]);
        });
        out[0] = Ops::xor2(out[0], Ops::broadcast(kKeccakRoundConstants[kRounds - 1]));
    }
};

}  // namespace sharegate::cpu::keccak_detail
