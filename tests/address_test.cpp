#include "sharegate/address.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>

#include "test_util.hpp"

namespace sharegate_test {
namespace {

using sharegate::AddressError;

// Examples from the EIP-55 specification itself.
constexpr const char* kEip55Examples[] = {
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
};
constexpr const char* kPoolChecksummed = "0x1b7bfB694eE51913c347971c7090a74AEFbd41f6";
constexpr const char* kPoolLower = "0x1b7bfb694ee51913c347971c7090a74aefbd41f6";

// Joins by appending. GCC 12 at -O3 warns (-Wrestrict, a false positive) on
// "literal" + std::string&&, which inserts at the front of the temporary.
std::string cat(std::initializer_list<std::string_view> pieces) {
    std::string out;
    for (std::string_view piece : pieces) out.append(piece);
    return out;
}

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::string upper_digits(std::string text) {
    for (std::size_t i = 2; i < text.size(); ++i) {
        text[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    }
    return text;
}

void expect_error(const std::string& text, AddressError expected) {
    const auto parsed = Address::parse(text);
    EXPECT_FALSE(parsed) << "accepted '" << text << "'";
    if (!parsed) {
        EXPECT_EQ(parsed.error(), expected) << "'" << text << "': " << sharegate::to_string(parsed.error());
    }
}

TEST(AddressTest, ParsesBytesInOrder) {
    const auto parsed = Address::parse("0x000102030405060708090a0b0c0d0e0f10111213");
    ASSERT_TRUE(parsed);
    for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(parsed->bytes()[i], i);
}

TEST(AddressTest, AcceptsSingleCaseWithOrWithoutPrefix) {
    const auto reference = Address::parse(kPoolLower);
    ASSERT_TRUE(reference);
    for (const std::string& text : {std::string(kPoolLower), upper_digits(kPoolLower),
                                    std::string(kPoolLower).substr(2), upper_digits(kPoolLower).substr(2)}) {
        const auto parsed = Address::parse(text);
        ASSERT_TRUE(parsed) << text << ": " << sharegate::to_string(parsed.error());
        EXPECT_EQ(*parsed, *reference) << text;
    }
}

TEST(AddressTest, AcceptsEip55ChecksumsAndReproducesThem) {
    for (const std::string example : kEip55Examples) {
        const auto parsed = Address::parse(example);
        ASSERT_TRUE(parsed) << example;
        EXPECT_EQ(parsed->checksummed(), example);
        EXPECT_EQ(parsed->normalized(), lower(example));
        const auto from_lower = Address::parse(lower(example));
        ASSERT_TRUE(from_lower);
        EXPECT_EQ(*from_lower, *parsed);
        EXPECT_EQ(from_lower->checksummed(), example);
    }
}

TEST(AddressTest, RejectsEverySingleLetterCaseFlipOfAChecksum) {
    int flips = 0;
    for (const std::string example : kEip55Examples) {
        for (std::size_t i = 2; i < example.size(); ++i) {
            if (!std::isalpha(static_cast<unsigned char>(example[i]))) continue;
            std::string flipped = example;
            const auto c = static_cast<unsigned char>(flipped[i]);
            flipped[i] = static_cast<char>(std::islower(c) ? std::toupper(c) : std::tolower(c));
            // Flipping the only letter of one case leaves a single-case address, which is valid.
            const bool single_case = lower(flipped) == flipped || upper_digits(flipped) == flipped;
            if (single_case) {
                EXPECT_TRUE(Address::parse(flipped)) << flipped;
            } else {
                expect_error(flipped, AddressError::bad_checksum);
                ++flips;
            }
        }
    }
    EXPECT_GT(flips, 40);
}

TEST(AddressTest, WrongLength) {
    const std::string digits = std::string(kPoolLower).substr(2);
    expect_error("", AddressError::wrong_length);
    expect_error("0x", AddressError::wrong_length);
    expect_error(cat({"0x", digits.substr(1)}), AddressError::wrong_length);
    expect_error(cat({"0x", digits, "0"}), AddressError::wrong_length);
    expect_error(cat({"0x", digits, "00"}), AddressError::wrong_length);
    expect_error(digits.substr(2), AddressError::wrong_length);
    expect_error(cat({"00", digits}), AddressError::wrong_length);  // 42 characters, but "00" is no prefix
    expect_error(cat({" ", kPoolLower}), AddressError::wrong_length);
    expect_error(cat({"0x", std::string(64, '1')}), AddressError::wrong_length);  // a 32-byte value is no address
}

TEST(AddressTest, NotHex) {
    const std::string digits = std::string(kPoolLower).substr(2);
    for (const char bad : {'g', 'z', 'Z', ' ', '\0', 'x', '-', '\xc3'}) {
        for (std::size_t i : {std::size_t{0}, std::size_t{7}, std::size_t{39}}) {
            std::string text = "0x" + digits;
            text[2 + i] = bad;
            expect_error(text, AddressError::not_hex);
            expect_error(text.substr(2), AddressError::not_hex);
        }
    }
    expect_error("not-an-address-but-forty-characters-long", AddressError::not_hex);
    expect_error(cat({"0x0x", digits.substr(2)}), AddressError::not_hex);  // a doubled prefix leaves 40 characters
}

TEST(AddressTest, NormalizedIsPrefixedLowerCase) {
    const auto parsed = Address::parse(upper_digits(kPoolChecksummed).substr(2));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->normalized(), kPoolLower);
    EXPECT_EQ(parsed->checksummed(), kPoolChecksummed);
}

TEST(AddressTest, ChecksummedFormOfRandomAddressesParsesBack) {
    Rng rng(21);
    for (int i = 0; i < 500; ++i) {
        const Address address(rng.bytes<20>());
        const std::string checksummed = address.checksummed();
        ASSERT_EQ(checksummed.size(), 42u);
        EXPECT_EQ(lower(checksummed), address.normalized());
        const auto parsed = Address::parse(checksummed);
        ASSERT_TRUE(parsed) << checksummed;
        EXPECT_EQ(*parsed, address);
    }
}

TEST(AddressAnyCaseTest, TakesAWrongChecksumButNothingElseParseRefuses) {
    int flips = 0;
    for (const std::string example : kEip55Examples) {
        for (std::size_t i = 2; i < example.size(); ++i) {
            if (!std::isalpha(static_cast<unsigned char>(example[i]))) continue;
            std::string flipped = example;
            const auto c = static_cast<unsigned char>(flipped[i]);
            flipped[i] = static_cast<char>(std::islower(c) ? std::toupper(c) : std::tolower(c));
            const auto parsed = Address::parse_any_case(flipped);
            ASSERT_TRUE(parsed) << flipped;
            EXPECT_EQ(parsed->normalized(), lower(example)) << flipped;
            if (!Address::parse(flipped)) ++flips;
        }
    }
    EXPECT_GT(flips, 40);  // the case above really was one parse refuses
}

TEST(AddressAnyCaseTest, SameAsParseWhereverParseAccepts) {
    for (const std::string& text : {std::string(kPoolLower), std::string(kPoolChecksummed), upper_digits(kPoolLower),
                                    std::string(kPoolLower).substr(2), std::string(kEip55Examples[0])}) {
        const auto strict = Address::parse(text);
        const auto lenient = Address::parse_any_case(text);
        ASSERT_TRUE(strict) << text;
        ASSERT_TRUE(lenient) << text;
        EXPECT_EQ(*lenient, *strict) << text;
    }
}

TEST(AddressAnyCaseTest, LengthAndHexErrorsAsParse) {
    const std::string digits = std::string(kPoolLower).substr(2);
    for (const std::string& text :
         {std::string(), std::string("0x"), cat({"0x", digits.substr(1)}), cat({"0x", digits, "0"}),
          cat({"00", digits}), cat({" ", kPoolLower}), cat({"0x0x", digits.substr(2)}),
          cat({"0x", digits.substr(0, 39), "g"}), std::string("not-an-address-but-forty-characters-long")}) {
        const auto strict = Address::parse(text);
        const auto lenient = Address::parse_any_case(text);
        ASSERT_FALSE(strict) << text;
        ASSERT_FALSE(lenient) << text;
        EXPECT_EQ(lenient.error(), strict.error()) << text;
    }
}

TEST(AddressErrorTest, EveryErrorHasItsOwnMessage) {
    std::set<std::string> messages;
    for (AddressError e : {AddressError::wrong_length, AddressError::not_hex, AddressError::bad_checksum}) {
        const std::string message(sharegate::to_string(e));
        EXPECT_FALSE(message.empty());
        messages.insert(message);
    }
    EXPECT_EQ(messages.size(), 3u);
}

}  // namespace
}  // namespace sharegate_test
