// The Redis value codec (frontend/redis/value_codec.hpp) without a server: every form
// the store accepts from Redis, every form it refuses, and the boundaries in between.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "redis/value_codec.hpp"
#include "sharegate/decimal.hpp"
#include "sharegate/seed_share.hpp"

namespace sharegate::redis {
namespace {

const std::string kChallenge = seed::kChallenge;
const std::string kMiner = seed::kMiner;
const std::string kMinerChecksummed = seed::kPool;
const std::string kMinerUpper = "0x1B7BFB694EE51913C347971C7090A74AEFBD41F6";
// 2^256 - 1 and 2^256.
const std::string kU256Max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
const std::string kU256Over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";

Bytes32 challenge_bytes() { return *parse_hex32(kChallenge); }

std::string upper(std::string s) {
    for (std::size_t i = 2; i < s.size(); ++i) {
        if (s[i] >= 'a' && s[i] <= 'f') s[i] = static_cast<char>(s[i] - 'a' + 'A');
    }
    return s;
}

// Built by appending: GCC 12 warns wrongly (-Wrestrict) on "literal" + a temporary string.
std::string in_quotes(std::string_view text) {
    std::string out = "\"";
    out += text;
    out += '"';
    return out;
}

std::string miner_data(const std::string& var_diff) {
    return R"({"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":)" + var_diff +
           R"(,"validSubmittedSolutionsCount":0})";
}

std::string var_diff_message(const std::string& miner, const std::string& var_diff, const std::string& rest = "") {
    return R"({"miner":)" + miner + R"(,"varDiff":)" + var_diff + rest + "}";
}

// --- numbers: the core's decimal rule (tests/decimal_test.cpp has its boundaries) --

TEST(RedisCodecDecimalRule, BlockIsTheCoreRuleInsideTheQuotes) {
    for (const char* text : {"0", "5600000", "0005600000", "18446744073709551615", "18446744073709551616", "-1", "+1",
                             "1.0", "1e3", "0x10", "12a", ""}) {
        EXPECT_EQ(parse_block(text), parse_decimal_u64(text)) << text;
        EXPECT_EQ(parse_block(in_quotes(text)), parse_decimal_u64(text)) << text;
    }
}

// --- challengeNumber -------------------------------------------------------------

TEST(RedisCodecChallenge, JsonStringAndRawFormAccepted) {
    const Bytes32 expected = challenge_bytes();
    EXPECT_EQ(parse_challenge(in_quotes(kChallenge)), expected);  // GET: JSON string
    EXPECT_EQ(parse_challenge(kChallenge), expected);             // PUBLISH: raw
    EXPECT_EQ(parse_challenge(upper(kChallenge)), expected);
    EXPECT_EQ(parse_challenge("\"0X" + kChallenge.substr(2) + "\""), expected);
}

TEST(RedisCodecChallenge, WhitespaceAroundIgnored) {
    const Bytes32 expected = challenge_bytes();
    EXPECT_EQ(parse_challenge(" \t" + kChallenge + "\r\n"), expected);
    EXPECT_EQ(parse_challenge("\n \"" + kChallenge + "\" \r\n"), expected);
}

TEST(RedisCodecChallenge, Refused) {
    const std::string digits = kChallenge.substr(2);
    for (const std::string& text : {
             std::string(),
             std::string("\"\""),
             std::string("\""),
             std::string("0x1234"),
             digits,                                          // no prefix
             in_quotes(digits),                               // no prefix, quoted
             kChallenge + "00",                               // too long
             kChallenge.substr(0, 65),                        // odd length
             std::string("0x") + std::string(63, '0') + "g",  // not hex
             "\"" + kChallenge,                               // unbalanced quote
             kChallenge + "\"",                               // unbalanced quote
             "\"\"" + kChallenge + "\"\"",                    // quoted twice
             "\" " + kChallenge + " \"",                      // whitespace inside the quotes
             "'" + kChallenge + "'",                          // not JSON quotes
             "[\"" + kChallenge + "\"]",                      // wrong JSON type
             "{\"challenge\":\"" + kChallenge + "\"}",
             std::string("null"),
             std::string("12345"),
         }) {
        EXPECT_FALSE(parse_challenge(text)) << text;
    }
}

// --- ethBlockNumber --------------------------------------------------------------

TEST(RedisCodecBlock, JsonNumberAndRawFormAccepted) {
    EXPECT_EQ(parse_block("5600000"), 5600000u);
    EXPECT_EQ(parse_block("\"5600000\""), 5600000u);  // a writer that quotes it
    EXPECT_EQ(parse_block(" 5600000\n"), 5600000u);
    EXPECT_EQ(parse_block("0"), 0u);
    EXPECT_EQ(parse_block("007"), 7u);
    EXPECT_EQ(parse_block("18446744073709551615"), UINT64_MAX);
}

TEST(RedisCodecBlock, Refused) {
    for (const char* text : {"", "\"\"", "18446744073709551616", "-1", "5.6e6", "5600000.0", "12a", "0x55",
                             "\" 5600000\"", "null", "true", "[5600000]", "{\"block\":1}", "5 600 000"}) {
        EXPECT_FALSE(parse_block(text)) << text;
    }
}

// --- miningTarget ----------------------------------------------------------------

TEST(RedisCodecTarget, JsonStringOfDigitsAccepted) {
    const std::string target = "26959946667150639794667015087019630673637144422540572481103610249216";
    EXPECT_EQ(parse_decimal_target(in_quotes(target)), U256::from_decimal(target));
    EXPECT_EQ(parse_decimal_target(target), U256::from_decimal(target));
    EXPECT_EQ(parse_decimal_target("\"" + target + "\"\n"), U256::from_decimal(target));
    EXPECT_EQ(parse_decimal_target("\"000" + target + "\""), U256::from_decimal(target));
    EXPECT_EQ(parse_decimal_target("\"0\""), U256{});
    EXPECT_EQ(parse_decimal_target(kU256Max), U256::max());
}

TEST(RedisCodecTarget, Refused) {
    for (const std::string& text :
         {std::string(), std::string("\"\""), std::string("\"not a number\""), std::string("-1"), std::string("1e70"),
          std::string("0x10"), kU256Over, in_quotes(kU256Over), std::string("\"1 2\""), std::string("null")}) {
        EXPECT_FALSE(parse_decimal_target(text)) << text;
    }
}

// --- the snapshot ------------------------------------------------------------------

TEST(RedisCodecSnapshot, EachKeyParsedByItsRule) {
    const std::string target = "26959946667150639794667015087019630673637144422540572481103610249216";
    const std::string challenge = in_quotes(kChallenge);
    const std::string quoted_target = in_quotes(target);
    const PoolSnapshot snapshot = parse_snapshot(challenge, std::string_view("5600000"), quoted_target);
    EXPECT_EQ(snapshot.challenge, challenge_bytes());
    EXPECT_EQ(snapshot.eth_block, 5600000u);
    EXPECT_EQ(snapshot.mining_target, U256::from_decimal(target));
}

TEST(RedisCodecSnapshot, AbsentOrUnparsableKeysAreEmpty) {
    PoolSnapshot snapshot = parse_snapshot(std::nullopt, std::nullopt, std::nullopt);
    EXPECT_FALSE(snapshot.challenge);
    EXPECT_FALSE(snapshot.eth_block);
    EXPECT_FALSE(snapshot.mining_target);

    // One bad value empties its own field only.
    snapshot = parse_snapshot(std::string_view("0x1234"), std::string_view("5600000"), std::string_view("\"7\""));
    EXPECT_FALSE(snapshot.challenge);
    EXPECT_EQ(snapshot.eth_block, 5600000u);
    EXPECT_EQ(snapshot.mining_target, U256::from_u64(7));
    snapshot = parse_snapshot(kChallenge, std::string_view("5.6e6"), std::string_view("nope"));
    EXPECT_EQ(snapshot.challenge, challenge_bytes());
    EXPECT_FALSE(snapshot.eth_block);
    EXPECT_FALSE(snapshot.mining_target);
}

// --- miner_data ------------------------------------------------------------------

TEST(RedisCodecMinerData, TheOriginalsEntryAccepted) {
    EXPECT_EQ(parse_miner_var_diff(kDefaultMinerData), kDefaultVarDiff);
    EXPECT_EQ(parse_miner_var_diff(miner_data("872")), 872u);
    EXPECT_EQ(parse_miner_var_diff(R"({"varDiff":1})"), 1u);
    EXPECT_EQ(parse_miner_var_diff(" {\"varDiff\" : 5}\n"), 5u);
}

TEST(RedisCodecMinerData, IntegralDoublesAccepted) {
    EXPECT_EQ(parse_miner_var_diff(miner_data("8000.0")), 8000u);
    EXPECT_EQ(parse_miner_var_diff(miner_data("4e3")), 4000u);
    EXPECT_EQ(parse_miner_var_diff(miner_data("1.0")), 1u);
    EXPECT_EQ(parse_miner_var_diff(miner_data("9.223372036854775808e18")), 9223372036854775808u);  // 2^63
}

TEST(RedisCodecMinerData, Boundaries) {
    EXPECT_EQ(parse_miner_var_diff(miner_data("18446744073709551615")), UINT64_MAX);
    // 2^64: too large as an integer (not even JSON simdjson can hold) and as a double.
    EXPECT_FALSE(parse_miner_var_diff(miner_data("18446744073709551616")));
    EXPECT_FALSE(parse_miner_var_diff(miner_data("1.8446744073709551616e19")));
    EXPECT_FALSE(parse_miner_var_diff(miner_data("1e30")));
    EXPECT_FALSE(parse_miner_var_diff(miner_data("0")));
    EXPECT_FALSE(parse_miner_var_diff(miner_data("0.0")));
    EXPECT_FALSE(parse_miner_var_diff(miner_data("0.5")));
    EXPECT_FALSE(parse_miner_var_diff(miner_data("-1")));
    EXPECT_FALSE(parse_miner_var_diff(miner_data("-4000.0")));
    EXPECT_FALSE(parse_miner_var_diff(miner_data("4000.5")));
    EXPECT_FALSE(parse_miner_var_diff(miner_data("0004000")));  // leading zeros are not JSON
}

TEST(RedisCodecMinerData, WrongTypesRefused) {
    for (const char* var_diff : {"\"4000\"", "true", "null", "[4000]", "{\"n\":4000}"}) {
        EXPECT_FALSE(parse_miner_var_diff(miner_data(var_diff))) << var_diff;
    }
}

TEST(RedisCodecMinerData, NotAnObjectOrNoVarDiffRefused) {
    for (const char* json :
         {"", "not json", "4000", "\"4000\"", "[4000]", "[{\"varDiff\":4000}]", "null", "{}", R"({"vardiff":4000})",
          R"({"varDiff":4000)", R"({"varDiff":4000,})", "{\"varDiff\":4000}\n{\"varDiff\":5000}"}) {
        EXPECT_FALSE(parse_miner_var_diff(json)) << json;
    }
}

TEST(RedisCodecMinerData, NotUtf8Refused) { EXPECT_FALSE(parse_miner_var_diff("{\"varDiff\":4000,\"x\":\"\xff\"}")); }

// --- varDiff message -------------------------------------------------------------

TEST(RedisCodecVarDiffMessage, TheBackEndsMessageAccepted) {
    const std::string target = "26959946667150639794667015087019630673637144422540572481103610249216";
    const auto update =
        parse_var_diff_message(var_diff_message(in_quotes(kMiner), "16000", R"(,"target":")" + target + "\""));
    ASSERT_TRUE(update);
    EXPECT_EQ(update->miner, kMiner);
    EXPECT_EQ(update->var_diff, 16000u);
    EXPECT_EQ(update->target, U256::from_decimal(target));
}

TEST(RedisCodecVarDiffMessage, MinerLowerCasedWhateverItsCase) {
    for (const std::string& miner : {kMinerChecksummed, kMinerUpper, "0X" + kMiner.substr(2)}) {
        const auto update = parse_var_diff_message(var_diff_message(in_quotes(miner), "2000"));
        ASSERT_TRUE(update) << miner;
        EXPECT_EQ(update->miner, kMiner);
    }
    // A mixed case that is not the EIP-55 checksum: the back-end is trusted, not checked.
    std::string bad_checksum = kMinerChecksummed;
    bad_checksum[4] = 'B';
    EXPECT_TRUE(parse_var_diff_message(var_diff_message(in_quotes(bad_checksum), "2000")));
}

TEST(RedisCodecVarDiffMessage, TargetIsOptional) {
    const std::string miner = in_quotes(kMiner);
    auto update = parse_var_diff_message(var_diff_message(miner, "2000"));
    ASSERT_TRUE(update);
    EXPECT_EQ(update->var_diff, 2000u);
    EXPECT_FALSE(update->target);

    update = parse_var_diff_message(var_diff_message(miner, "2000", R"(,"target":12345)"));
    ASSERT_TRUE(update);
    EXPECT_EQ(update->target, U256::from_u64(12345));

    update = parse_var_diff_message(var_diff_message(miner, "2000", R"(,"target":")" + kU256Max + "\""));
    ASSERT_TRUE(update);
    EXPECT_EQ(update->target, U256::max());

    // An unusable target leaves it empty; the message still counts.
    for (const std::string& target :
         {std::string("\"x\""), std::string("\"-1\""), in_quotes(kU256Over), std::string("1.5"), std::string("-7"),
          std::string("null"), std::string("[1]"), std::string("\"\"")}) {
        update = parse_var_diff_message(var_diff_message(miner, "2000", ",\"target\":" + target));
        ASSERT_TRUE(update) << target;
        EXPECT_EQ(update->var_diff, 2000u);
        EXPECT_FALSE(update->target) << target;
    }
}

TEST(RedisCodecVarDiffMessage, VarDiffAsInMinerData) {
    const std::string miner = in_quotes(kMiner);
    EXPECT_EQ(parse_var_diff_message(var_diff_message(miner, "8000.0"))->var_diff, 8000u);
    EXPECT_EQ(parse_var_diff_message(var_diff_message(miner, "18446744073709551615"))->var_diff, UINT64_MAX);
    for (const char* var_diff : {"0", "-1", "1.5", "1e30", "18446744073709551616", "\"2000\"", "null", "true"}) {
        EXPECT_FALSE(parse_var_diff_message(var_diff_message(miner, var_diff))) << var_diff;
    }
}

TEST(RedisCodecVarDiffMessage, Refused) {
    for (const std::string& json : {
             std::string(), std::string("not json"), std::string("{}"), std::string("[]"),
             std::string(R"({"miner":"nope","varDiff":5})"),
             "{\"miner\":\"" + kMiner + "\"}",                                                  // no varDiff
             std::string(R"({"varDiff":5})"),                                                   // no miner
             var_diff_message(in_quotes(kMiner.substr(2)), "5"),                                // no 0x
             var_diff_message("\"" + kMiner + "0\"", "5"),                                      // 41 digits
             var_diff_message(in_quotes(kMiner.substr(0, 41)), "5"),                            // 39 digits
             var_diff_message(in_quotes(std::string("0x") + std::string(39, '0') + "g"), "5"),  // not hex
             var_diff_message("12345", "5"),                                                    // miner a number
             var_diff_message("[\"" + kMiner + "\"]", "5"),                                     // miner an array
             std::string("[") + var_diff_message(in_quotes(kMiner), "5") + "]",                 // not an object
             "{\"miner\":\"" + kMiner + "\",\"varDiff\":5",                                     // truncated
         }) {
        EXPECT_FALSE(parse_var_diff_message(json)) << json;
    }
}

// --- messages by channel ----------------------------------------------------------

TEST(RedisCodecMessage, TheChannelsInSubscriptionOrder) {
    ASSERT_EQ(kChannels.size(), 3u);
    EXPECT_EQ(std::string_view(kChannels[0]), "challengeNumber");
    EXPECT_EQ(std::string_view(kChannels[1]), "ethBlockNumber");
    EXPECT_EQ(std::string_view(kChannels[2]), "varDiff");
}

TEST(RedisCodecMessage, EachChannelParsedByItsRule) {
    auto message = parse_message("challengeNumber", kChallenge);
    ASSERT_TRUE(message);
    ASSERT_TRUE(std::holds_alternative<Bytes32>(*message));
    EXPECT_EQ(std::get<Bytes32>(*message), challenge_bytes());

    message = parse_message("ethBlockNumber", "5600001");
    ASSERT_TRUE(message);
    ASSERT_TRUE(std::holds_alternative<std::uint64_t>(*message));
    EXPECT_EQ(std::get<std::uint64_t>(*message), 5600001u);

    message = parse_message("varDiff", var_diff_message(in_quotes(kMinerChecksummed), "16000"));
    ASSERT_TRUE(message);
    ASSERT_TRUE(std::holds_alternative<VarDiffUpdate>(*message));
    EXPECT_EQ(std::get<VarDiffUpdate>(*message).miner, kMiner);
    EXPECT_EQ(std::get<VarDiffUpdate>(*message).var_diff, 16000u);
}

TEST(RedisCodecMessage, AnotherChannelsPayloadOrAnUnknownChannelIsRefused) {
    // A block number is no challenge, a challenge no block number, neither a varDiff.
    EXPECT_FALSE(parse_message("challengeNumber", "5600001"));
    EXPECT_FALSE(parse_message("ethBlockNumber", kChallenge));
    EXPECT_FALSE(parse_message("varDiff", "5600001"));
    EXPECT_FALSE(parse_message("varDiff", kChallenge));
    // Channel names are exact: case and whitespace matter.
    for (const char* channel : {"", "challengenumber", "ChallengeNumber", "challengeNumber ", "ethblocknumber",
                                "vardiff", "miningTarget", "queued_shares_list"}) {
        EXPECT_FALSE(parse_message(channel, "5600001")) << channel;
        EXPECT_FALSE(parse_message(channel, kChallenge)) << channel;
    }
}

}  // namespace
}  // namespace sharegate::redis
