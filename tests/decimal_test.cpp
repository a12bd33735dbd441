// The one decimal-text rule (core/include/sharegate/decimal.hpp): what is a number, what
// is a positive number, and when a double counts as one. Every bound is tested on both
// sides.
#include "sharegate/decimal.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace sharegate_test {
namespace {

using sharegate::parse_decimal_u64;
using sharegate::parse_positive_u64;
using sharegate::positive_u64_from_integral_double;

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

// Text that is not a plain run of decimal digits, or does not fit in 64 bits.
const char* const kNotADecimal[] = {
    "",
    "-1",
    "+1",
    " 1",
    "1 ",
    "\t1",
    "1\n",
    "1.0",
    "1e3",
    "0x10",
    "12a",
    "a12",
    "\"1\"",
    "-0",
    "1_000",
    "1,0",
    "\xd9\xa3" /* Arabic-Indic 3 */,
    "\xef\xbc\x91" /* full-width 1 */,
    "0b1",
    "--1",
    "1-",
    "18446744073709551616",
    "99999999999999999999999",
};

TEST(DecimalU64, Accepted) {
    EXPECT_EQ(parse_decimal_u64("0"), 0u);
    EXPECT_EQ(parse_decimal_u64("7"), 7u);
    EXPECT_EQ(parse_decimal_u64("5600000"), 5600000u);
    EXPECT_EQ(parse_decimal_u64("0005600000"), 5600000u);  // leading zeros
    EXPECT_EQ(parse_decimal_u64("000"), 0u);
    EXPECT_EQ(parse_decimal_u64("18446744073709551614"), kMax - 1);
    EXPECT_EQ(parse_decimal_u64("18446744073709551615"), kMax);
    EXPECT_EQ(parse_decimal_u64("000018446744073709551615"), kMax);
}

TEST(DecimalU64, Refused) {
    for (const char* text : kNotADecimal) EXPECT_FALSE(parse_decimal_u64(text)) << text;
    // Overflow at every digit count past the limit, not only by one.
    EXPECT_FALSE(parse_decimal_u64("18446744073709551620"));
    EXPECT_FALSE(parse_decimal_u64("28446744073709551615"));
    EXPECT_FALSE(parse_decimal_u64("184467440737095516150"));
    // An embedded NUL ends nothing: the view's whole length is the number.
    EXPECT_FALSE(
        parse_decimal_u64(std::string_view("12\0"
                                           "3",
                                           4)));
}

TEST(DecimalU64, RoundTripsEveryPowerOfTenAndItsNeighbours) {
    std::uint64_t power = 1;
    for (int i = 0; i < 20; ++i, power *= 10) {
        for (const std::uint64_t v : {power - 1, power, power + 1}) {
            EXPECT_EQ(parse_decimal_u64(std::to_string(v)), v) << v;
        }
        if (power > kMax / 10) break;
    }
}

TEST(DecimalPositiveU64, Accepted) {
    EXPECT_EQ(parse_positive_u64("1"), 1u);
    EXPECT_EQ(parse_positive_u64("4000"), 4000u);
    EXPECT_EQ(parse_positive_u64("0004000"), 4000u);
    EXPECT_EQ(parse_positive_u64("18446744073709551615"), kMax);
}

TEST(DecimalPositiveU64, ZeroAndEverythingParseDecimalRefusesAreRefused) {
    for (const char* zero : {"0", "00", "0000000000000000000000000"}) EXPECT_FALSE(parse_positive_u64(zero)) << zero;
    for (const char* text : kNotADecimal) EXPECT_FALSE(parse_positive_u64(text)) << text;
}

TEST(DecimalIntegralDouble, Accepted) {
    EXPECT_EQ(positive_u64_from_integral_double(1.0), 1u);
    EXPECT_EQ(positive_u64_from_integral_double(4000.0), 4000u);
    EXPECT_EQ(positive_u64_from_integral_double(4e3), 4000u);
    EXPECT_EQ(positive_u64_from_integral_double(9007199254740993.0), 9007199254740992u);        // rounded when written
    EXPECT_EQ(positive_u64_from_integral_double(9223372036854775808.0), 9223372036854775808u);  // 2^63
    // The largest double below 2^64.
    EXPECT_EQ(positive_u64_from_integral_double(std::nextafter(18446744073709551616.0, 0.0)), 18446744073709549568u);
}

TEST(DecimalIntegralDouble, Refused) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    for (const double value :
         {0.0, -0.0, 0.5, 0.999999, 1.5, 4000.5, -1.0, -4000.0, 18446744073709551616.0, 1e30, kInf, -kInf,
          std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::denorm_min()}) {
        EXPECT_FALSE(positive_u64_from_integral_double(value)) << value;
    }
}

}  // namespace
}  // namespace sharegate_test
