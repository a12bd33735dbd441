#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "sharegate/bytes.hpp"
#include "test_util.hpp"

namespace sharegate_test {
namespace {

using sharegate::HexError;
using sharegate::parse_hex32;

// 00 11 22 ... ff 00 11 ...: every digit appears, and byte i is easy to predict.
std::string sample_digits() {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 32; ++i) {
        out.push_back(kDigits[(i % 16)]);
        out.push_back(kDigits[(i % 16)]);
    }
    return out;
}

Bytes32 sample_bytes() {
    Bytes32 out;
    for (std::size_t i = 0; i < 32; ++i) out[i] = static_cast<std::uint8_t>((i % 16) * 0x11);
    return out;
}

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

void expect_error(const std::string& text, HexError expected) {
    const auto parsed = parse_hex32(text);
    EXPECT_FALSE(parsed) << "accepted '" << text << "'";
    if (!parsed) {
        EXPECT_EQ(parsed.error(), expected) << "'" << text << "': " << sharegate::to_string(parsed.error());
    }
}

TEST(ParseHex32Test, AcceptsLowerUpperAndMixedCase) {
    const std::string digits = sample_digits();
    std::string mixed = digits;
    for (std::size_t i = 0; i < mixed.size(); i += 3) mixed[i] = static_cast<char>(std::toupper(mixed[i]));
    for (const std::string& text :
         {"0x" + digits, "0x" + upper(digits), "0X" + digits, "0X" + upper(digits), "0x" + mixed}) {
        const auto parsed = parse_hex32(text);
        ASSERT_TRUE(parsed) << text;
        EXPECT_EQ(*parsed, sample_bytes()) << text;
    }
}

TEST(ParseHex32Test, ExtremeValues) {
    EXPECT_EQ(*parse_hex32("0x" + std::string(64, '0')), Bytes32{});
    Bytes32 all_ones;
    all_ones.fill(0xff);
    EXPECT_EQ(*parse_hex32("0x" + std::string(64, 'f')), all_ones);
    EXPECT_EQ(*parse_hex32("0x" + std::string(64, 'F')), all_ones);
}

TEST(ParseHex32Test, ToHexRoundTrip) {
    EXPECT_EQ(sharegate::to_hex(sample_bytes()), "0x" + sample_digits());
    Rng rng(11);
    for (int i = 0; i < 200; ++i) {
        const Bytes32 bytes = rng.bytes<32>();
        const std::string text = sharegate::to_hex(bytes);
        ASSERT_EQ(text.size(), 66u);
        EXPECT_EQ(text.substr(0, 2), "0x");
        for (std::size_t k = 2; k < text.size(); ++k) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(text[k])));
        const auto parsed = parse_hex32(text);
        ASSERT_TRUE(parsed);
        EXPECT_EQ(*parsed, bytes);
    }
}

TEST(ParseHex32Test, RejectsMissingPrefix) {
    const std::string digits = sample_digits();
    expect_error(digits, HexError::missing_prefix);
    expect_error("00" + digits, HexError::missing_prefix);  // 66 characters, but no "0x"
    expect_error("x0" + digits, HexError::missing_prefix);
    expect_error("1x" + digits, HexError::missing_prefix);
    expect_error(" 0x" + digits, HexError::missing_prefix);
    expect_error("", HexError::missing_prefix);
    expect_error("0", HexError::missing_prefix);
    expect_error("x", HexError::missing_prefix);
}

TEST(ParseHex32Test, RejectsWrongDigitCount) {
    const std::string digits = sample_digits();
    expect_error("0x", HexError::wrong_length);
    expect_error("0x0", HexError::wrong_length);
    expect_error("0x" + digits.substr(1), HexError::wrong_length);  // 63
    expect_error("0x" + digits + "0", HexError::wrong_length);      // 65
    expect_error("0x" + digits + "00", HexError::wrong_length);     // 66
    expect_error("0x" + digits + digits, HexError::wrong_length);
    expect_error("0x" + digits + " ", HexError::wrong_length);
    expect_error("0x " + digits, HexError::wrong_length);
}

TEST(ParseHex32Test, RejectsANonHexCharacterAtAnyPosition) {
    const std::string digits = sample_digits();
    for (const char bad : {'g', 'G', 'x', 'X', ' ', '\0', '-', '+', '.', '/', ':', '@', '`', '\xff', '\n'}) {
        for (std::size_t i = 0; i < digits.size(); ++i) {
            std::string text = "0x" + digits;
            text[2 + i] = bad;
            expect_error(text, HexError::not_hex);
        }
    }
}

TEST(ParseHex32Test, EmbeddedNulIsNotTheEndOfTheString) {
    // A C-string view would see only "0x00"; the full 66 characters must be judged.
    std::string text = "0x00" + std::string(62, '1');
    text[4] = '\0';
    ASSERT_EQ(text.size(), 66u);
    expect_error(text, HexError::not_hex);
}

TEST(ParseHexDigitsTest, ParsesExactlyTwoDigitsPerByte) {
    std::uint8_t out[3] = {0, 0, 0};
    EXPECT_TRUE(sharegate::parse_hex_digits("0aFf10", out, 3));
    EXPECT_EQ(out[0], 0x0a);
    EXPECT_EQ(out[1], 0xff);
    EXPECT_EQ(out[2], 0x10);
    EXPECT_FALSE(sharegate::parse_hex_digits("0aFf1", out, 3));
    EXPECT_FALSE(sharegate::parse_hex_digits("0aFf100", out, 3));
    EXPECT_FALSE(sharegate::parse_hex_digits("0x0aFf", out, 3));
    EXPECT_FALSE(sharegate::parse_hex_digits("0aFg10", out, 3));
    EXPECT_TRUE(sharegate::parse_hex_digits("", out, 0));
}

// The parser takes 16 digits at a time where it can (SSE2) and the rest one by one: every
// byte value at every position of a 32-byte field, and every length up to 40 bytes, must
// give what one-digit-at-a-time parsing gives.
TEST(ParseHexDigitsTest, EveryByteValueAtEveryPositionAgreesWithTheDigitRule) {
    const auto value = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    const std::string base = "0123456789abcdefABCDEF0123456789abcdef0123456789ABCDEFabcdef0123";
    ASSERT_EQ(base.size(), 64u);
    std::uint8_t out[32];
    for (std::size_t position = 0; position < base.size(); ++position) {
        for (int byte = 0; byte < 256; ++byte) {
            std::string text = base;
            text[position] = static_cast<char>(byte);
            const bool ok = sharegate::parse_hex_digits(text, out, 32);
            ASSERT_EQ(ok, value(text[position]) >= 0) << "byte " << byte << " at " << position;
            if (!ok) continue;
            for (std::size_t i = 0; i < 32; ++i) {
                ASSERT_EQ(out[i], value(text[2 * i]) * 16 + value(text[2 * i + 1]))
                    << "byte " << byte << " at " << position;
            }
        }
    }
    for (std::size_t n = 0; n <= 40; ++n) {
        std::string text;
        for (std::size_t i = 0; i < 2 * n; ++i) text += base[i % base.size()];
        std::uint8_t bytes[40];
        ASSERT_TRUE(sharegate::parse_hex_digits(text, bytes, n)) << n;
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(bytes[i], value(text[2 * i]) * 16 + value(text[2 * i + 1])) << n;
        if (n > 0) {
            text[2 * n - 1] = 'g';  // the last digit: the scalar tail, or the last SIMD lane
            EXPECT_FALSE(sharegate::parse_hex_digits(text, bytes, n)) << n;
        }
    }
}

TEST(HexErrorTest, EveryErrorHasItsOwnMessage) {
    std::set<std::string> messages;
    for (HexError e : {HexError::missing_prefix, HexError::wrong_length, HexError::not_hex}) {
        const std::string message(sharegate::to_string(e));
        EXPECT_FALSE(message.empty());
        messages.insert(message);
    }
    EXPECT_EQ(messages.size(), 3u);
}

}  // namespace
}  // namespace sharegate_test
