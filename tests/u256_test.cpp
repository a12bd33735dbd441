#include "sharegate/u256.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <stdexcept>
#include <string>

#include "test_util.hpp"

namespace sharegate_test {
namespace {

using sharegate::share_target;

constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};
constexpr const char* kMaxDecimal = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
constexpr const char* kTwoTo256Decimal =
    "115792089237316195423570985008687907853269984665640564039457584007913129639936";
constexpr const char* kTwoTo234Decimal = "27606985387162255149739023449108101809804435888681546220650096895197184";
// The seed's share target, floor(2^234 / 872), from protocol.md section 1.
constexpr const char* kSeedTargetDecimal = "31659386911883320125847503955399199323170224642983424564965707448620";

// Decimal digits of a 256-bit number by Horner's rule, independent of from_decimal.
U256 parse_decimal_by_horner(const std::string& digits) {
    U256 value;
    for (char c : digits) {
        const U320 next = mul_add(value, 10, static_cast<std::uint64_t>(c - '0'));
        EXPECT_EQ(next.high, 0u) << "test constant does not fit in 256 bits: " << digits;
        value = next.low;
    }
    return value;
}

TEST(U256Test, DecimalOfKnownValues) {
    EXPECT_EQ(U256{}.to_decimal(), "0");
    EXPECT_EQ(U256::from_u64(1).to_decimal(), "1");
    EXPECT_EQ(U256::from_u64(kAllOnes).to_decimal(), "18446744073709551615");
    EXPECT_EQ((U256{{0, 1, 0, 0}}).to_decimal(), "18446744073709551616");
    // 10^19 and 10^19 - 1 straddle the 19-digit chunking of to_decimal.
    EXPECT_EQ(U256::from_u64(10000000000000000000ULL).to_decimal(), "10000000000000000000");
    EXPECT_EQ(U256::from_u64(9999999999999999999ULL).to_decimal(), "9999999999999999999");
    EXPECT_EQ((U256{{12345678901234567890ULL, 0, 1, 0}}).to_decimal(), "340282366920938463475720286333002779346");
    EXPECT_EQ(U256::max().to_decimal(), kMaxDecimal);
    EXPECT_EQ(U256::pow2(234).to_decimal(), kTwoTo234Decimal);
}

TEST(U256Test, DecimalRoundTripOfRandomValues) {
    Rng rng(1);
    for (int i = 0; i < 2000; ++i) {
        U256 value = rng.u256();
        // Also values with zero high limbs and zero low limbs.
        for (std::size_t k = 0; k < 4; ++k) {
            if (rng.below(3) == 0) value.limbs[k] = 0;
        }
        const std::string text = value.to_decimal();
        ASSERT_FALSE(text.empty());
        EXPECT_TRUE(text == "0" || text[0] != '0') << text;
        EXPECT_EQ(parse_decimal_by_horner(text), value) << text;
        const auto parsed = U256::from_decimal(text);
        ASSERT_TRUE(parsed.has_value()) << text;
        EXPECT_EQ(*parsed, value) << text;
    }
}

TEST(U256Test, FromDecimalAcceptsLimitsAndLeadingZeros) {
    EXPECT_EQ(U256::from_decimal(kMaxDecimal), U256::max());
    EXPECT_EQ(U256::from_decimal("0"), U256{});
    EXPECT_EQ(U256::from_decimal("0000"), U256{});
    EXPECT_EQ(U256::from_decimal("007"), U256::from_u64(7));
    // More digits than 2^256 has, but only because of the zeros in front.
    EXPECT_EQ(U256::from_decimal(std::string(100, '0') + "1"), U256::from_u64(1));
    EXPECT_EQ(U256::from_decimal(std::string(20, '0') + kMaxDecimal), U256::max());
    EXPECT_EQ(U256::from_decimal(kTwoTo234Decimal), U256::pow2(234));
}

TEST(U256Test, FromDecimalRejectsMalformedText) {
    for (const std::string text : {"", "-1", "+1", "-0", " 1", "1 ", "1 2", "12a", "abc", "0x10", "1e3", "1.5", "1,000",
                                   "\xd9\xa1" /* Arabic-Indic digit one */}) {
        EXPECT_FALSE(U256::from_decimal(text).has_value()) << "'" << text << "'";
    }
    EXPECT_FALSE(U256::from_decimal(std::string("1\0"
                                                "2",
                                                3))
                     .has_value());
}

TEST(U256Test, FromDecimalRejectsOverflow) {
    EXPECT_FALSE(U256::from_decimal(kTwoTo256Decimal).has_value());
    EXPECT_FALSE(U256::from_decimal(std::string(kMaxDecimal) + "0").has_value());
    EXPECT_FALSE(U256::from_decimal("1" + std::string(78, '0')).has_value());  // 10^78 > 2^256
    EXPECT_FALSE(U256::from_decimal(std::string(200, '9')).has_value());
    // 10^77 < 2^256 - 1 < 10^78: the largest power of ten that fits.
    EXPECT_TRUE(U256::from_decimal("1" + std::string(77, '0')).has_value());
}

TEST(U256Test, HexOfKnownValues) {
    EXPECT_EQ(U256{}.to_hex(), "0x" + std::string(64, '0'));
    EXPECT_EQ(U256::max().to_hex(), "0x" + std::string(64, 'f'));
    EXPECT_EQ(U256::pow2(255).to_hex(), "0x8" + std::string(63, '0'));
    EXPECT_EQ(U256::from_u64(0xabcdef).to_hex(), "0x" + std::string(58, '0') + "abcdef");
    EXPECT_EQ((U256{{1, 2, 3, 4}}).to_hex(), "0x0000000000000004000000000000000300000000000000020000000000000001");
}

TEST(U256Test, HexRoundTripInEitherCase) {
    Rng rng(2);
    for (int i = 0; i < 1000; ++i) {
        const U256 value = rng.u256();
        const std::string text = value.to_hex();
        ASSERT_EQ(text.size(), 66u);
        EXPECT_EQ(U256::from_hex32(text), value);
        std::string upper = text;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        EXPECT_EQ(U256::from_hex32(upper), value) << upper;  // "0X" and upper-case digits
    }
}

TEST(U256Test, FromHex32RejectsWhatParseHex32Rejects) {
    const std::string digits(64, 'a');
    EXPECT_FALSE(U256::from_hex32(digits).has_value());
    EXPECT_FALSE(U256::from_hex32("0x" + digits.substr(1)).has_value());
    EXPECT_FALSE(U256::from_hex32("0x" + digits + "0").has_value());
    EXPECT_FALSE(U256::from_hex32("0x" + digits.substr(1) + "g").has_value());
    EXPECT_FALSE(U256::from_hex32("").has_value());
}

TEST(U256Test, BigEndianBytes) {
    Bytes32 bytes{};
    bytes[0] = 0x01;
    bytes[31] = 0x02;
    bytes[24] = 0x03;
    const U256 value = U256::from_be_bytes(bytes);
    EXPECT_EQ(value.limbs[3], 0x0100000000000000ULL);
    EXPECT_EQ(value.limbs[2], 0u);
    EXPECT_EQ(value.limbs[1], 0u);
    EXPECT_EQ(value.limbs[0], 0x0300000000000002ULL);
    EXPECT_EQ(value.to_be_bytes(), bytes);

    Rng rng(3);
    for (int i = 0; i < 100; ++i) {
        const Bytes32 random = rng.bytes<32>();
        EXPECT_EQ(U256::from_be_bytes(random).to_be_bytes(), random);
    }
}

TEST(U256Test, Pow2SetsExactlyOneBit) {
    for (unsigned n = 0; n < 256; ++n) {
        const U256 value = U256::pow2(n);
        for (std::size_t k = 0; k < 4; ++k) {
            EXPECT_EQ(value.limbs[k], k == n / 64 ? std::uint64_t{1} << (n % 64) : 0u) << "n=" << n << " limb " << k;
        }
    }
    EXPECT_THROW(U256::pow2(256), std::logic_error);
}

TEST(U256Test, OrderingIsDecidedByTheMostSignificantDifferingLimb) {
    const U256 low_full{{kAllOnes, 0, 0, 0}};
    const U256 one_in_limb1{{0, 1, 0, 0}};
    EXPECT_LT(low_full, one_in_limb1);
    EXPECT_GT(one_in_limb1, low_full);
    EXPECT_LT((U256{{kAllOnes, kAllOnes, kAllOnes, 0}}), (U256{{0, 0, 0, 1}}));
    EXPECT_LT((U256{{5, 7, 9, 1}}), (U256{{4, 8, 9, 1}}));  // limb 1 decides against limb 0
    EXPECT_LT((U256{{9, 9, 2, 3}}), (U256{{0, 0, 3, 3}}));
    EXPECT_EQ((U256{{1, 2, 3, 4}}), (U256{{1, 2, 3, 4}}));
    EXPECT_NE((U256{{1, 2, 3, 4}}), (U256{{1, 2, 3, 5}}));
    EXPECT_FALSE(U256::max() < U256::max());
    EXPECT_LT(U256{}, U256::from_u64(1));

    // Random pairs that agree in their top limbs, so every limb gets to decide.
    Rng rng(4);
    for (int i = 0; i < 20000; ++i) {
        const U256 a = rng.u256();
        U256 b = a;
        const std::size_t differ_from = rng.below(5);  // 4: equal
        for (std::size_t k = 0; k < differ_from; ++k) b.limbs[k] = rng.below(3) == 0 ? a.limbs[k] : rng.next();
        EXPECT_EQ(a < b, less_by_limbs(a, b));
        EXPECT_EQ(b < a, less_by_limbs(b, a));
        EXPECT_EQ(a == b, !less_by_limbs(a, b) && !less_by_limbs(b, a));
        EXPECT_EQ(a <= b, !less_by_limbs(b, a));
    }
}

TEST(U256Test, DividedByMultipliesBack) {
    Rng rng(5);
    const std::uint64_t fixed_divisors[] = {
        1, 2, 3, 10, 872, 0xffffffffULL, 0x100000000ULL, 10000000000000000000ULL, kAllOnes - 1, kAllOnes};
    for (int i = 0; i < 3000; ++i) {
        U256 n = rng.u256();
        if (i % 7 == 0) n.limbs[3] = 0;
        if (i % 11 == 0) n = U256::max();
        const std::uint64_t d =
            i % 2 == 0 ? fixed_divisors[rng.below(std::size(fixed_divisors))] : rng.next() >> rng.below(64);
        if (d == 0) continue;
        std::uint64_t r = kAllOnes;
        const U256 q = n.divided_by(d, &r);
        EXPECT_LT(r, d);
        const U320 back = mul_add(q, d, r);
        EXPECT_EQ(back.high, 0u);
        EXPECT_EQ(back.low, n) << n.to_hex() << " / " << d;
        // The remainder is optional and the quotient must not depend on asking for it.
        EXPECT_EQ(n.divided_by(d), q);
    }
}

TEST(U256Test, DividedByKnownAnswers) {
    std::uint64_t r = 0;
    EXPECT_EQ(U256::from_u64(100).divided_by(7, &r), U256::from_u64(14));
    EXPECT_EQ(r, 2u);
    EXPECT_EQ(U256::max().divided_by(kAllOnes, &r), (U256{{1, 1, 1, 1}}));
    EXPECT_EQ(r, 0u);
    EXPECT_EQ(U256::pow2(255).divided_by(2, &r), U256::pow2(254));
    EXPECT_EQ(r, 0u);
    EXPECT_EQ(U256::from_u64(5).divided_by(9, &r), U256{});
    EXPECT_EQ(r, 5u);
}

TEST(U256Test, DividedByZeroThrows) {
    EXPECT_THROW(U256::max().divided_by(0), std::logic_error);
    std::uint64_t r = 0;
    EXPECT_THROW(U256{}.divided_by(0, &r), std::logic_error);
}

TEST(ShareTargetTest, SeedShareTarget) {
    EXPECT_EQ(share_target(234, 872).to_decimal(), kSeedTargetDecimal);
    EXPECT_EQ(share_target(234, 872), parse_decimal_by_horner(kSeedTargetDecimal));
}

TEST(ShareTargetTest, DifficultyOneIsTwoToTheN) {
    for (unsigned n = 1; n <= 255; ++n) {
        U256 expected;
        expected.limbs[n / 64] = std::uint64_t{1} << (n % 64);
        EXPECT_EQ(share_target(n, 1), expected) << "n=" << n;
    }
    EXPECT_EQ(share_target(234, 1).to_decimal(), kTwoTo234Decimal);
}

TEST(ShareTargetTest, LargestDifficulty) {
    // floor(2^234 / (2^64 - 1)) = 2^170 + 2^106 + 2^42, since (2^64-1)(2^170+2^106+2^42) = 2^234 - 2^42.
    EXPECT_EQ(share_target(234, kAllOnes),
              (U256{{std::uint64_t{1} << 42, std::uint64_t{1} << 42, std::uint64_t{1} << 42, 0}}));
    EXPECT_EQ(share_target(234, kAllOnes).to_decimal(), "1496577676626844588321702907116080493827861975662592");
    EXPECT_EQ(share_target(1, kAllOnes), U256{});  // 2 / (2^64-1) rounds down to zero
}

TEST(ShareTargetTest, IsTheFloorOfTheQuotient) {
    // floor(2^N / d) = t  iff  t*d <= 2^N < (t+1)*d.
    Rng rng(6);
    for (int i = 0; i < 2000; ++i) {
        const unsigned n = 1 + static_cast<unsigned>(rng.below(255));
        const std::uint64_t d = 1 + (rng.next() >> rng.below(64)) % kAllOnes;
        const U256 t = share_target(n, d);
        U256 two_to_n;
        two_to_n.limbs[n / 64] = std::uint64_t{1} << (n % 64);
        const U320 low = mul_add(t, d, 0);
        ASSERT_EQ(low.high, 0u);
        EXPECT_FALSE(less_by_limbs(two_to_n, low.low)) << "n=" << n << " d=" << d;
        const U320 high = mul_add(add_u64(t, 1), d, 0);
        EXPECT_TRUE(high.high != 0 || less_by_limbs(two_to_n, high.low)) << "n=" << n << " d=" << d;
    }
}

TEST(ShareTargetTest, HigherDifficultyNeverRaisesTheTarget) {
    Rng rng(7);
    for (int i = 0; i < 1000; ++i) {
        const std::uint64_t d = 1 + rng.below(kAllOnes - 1);
        EXPECT_LE(share_target(234, d + 1), share_target(234, d));
    }
}

TEST(ShareTargetTest, RejectsOutOfRangeArguments) {
    EXPECT_THROW(share_target(0, 1), std::logic_error);
    EXPECT_THROW(share_target(256, 1), std::logic_error);
    EXPECT_THROW(share_target(1000, 872), std::logic_error);
    EXPECT_NO_THROW(share_target(1, 1));
    EXPECT_NO_THROW(share_target(255, 1));
    EXPECT_THROW(share_target(234, 0), std::logic_error);
}

}  // namespace
}  // namespace sharegate_test
