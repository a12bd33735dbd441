#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/stratum.hpp"
#include "support/seed_share.hpp"

namespace sharegate_test {
namespace {

using sharegate::Address;
using sharegate::Bytes32;
using sharegate::parse_hex32;
using sharegate::U256;
using sharegate::protocol::ReplyStyle;
using sharegate::protocol::Request;
using sharegate::protocol::StratumError;
using sharegate::protocol::StratumParser;
using sharegate::protocol::SubmitRequest;
namespace errors = sharegate::protocol::errors;
using Kind = Request::Kind;

// The seed conversation of docs/design/original-stratum-note.md.
constexpr const char* kMinerLower = sharegate_test::seed::kMiner;
constexpr const char* kPoolChecksummed = sharegate_test::seed::kPool;
constexpr const char* kNonce = sharegate_test::seed::kNonce;
constexpr const char* kDigest = sharegate_test::seed::kDigest;
constexpr const char* kChallenge = sharegate_test::seed::kChallenge;
constexpr const char* kTarget = sharegate_test::seed::kTarget;

const std::string kSeedSubscribe =
    R"({"id":1,"method":"mining.subscribe","params":["0x1b7bfb694ee51913c347971c7090a74aefbd41f6"]})";
const std::string kSeedSubmit =
    R"({"id":4,"method":"mining.submit","params":["0x315bc11bfc4c7d35c34d75030f2ad300000000004111c4fa6169e2193288e8fe",)"
    R"("0x1b7bfb694ee51913c347971c7090a74aefbd41f6",)"
    R"("0x00000000f349061fd0e3b1db5324ef44356fae1cc51febedcef137532140b0ec",872,)"
    R"("0x6770629a6ede9af78856c91eab295779d294328de910c8a85b174dd85f843b3e"]})";

std::string json_string(const std::string& text) { return "\"" + text + "\""; }

// A submit line with the five parameters given as raw JSON texts.
std::string submit_line(const std::string& nonce, const std::string& miner, const std::string& digest,
                        const std::string& difficulty, const std::string& challenge) {
    return R"({"id":4,"method":"mining.submit","params":[)" + nonce + "," + miner + "," + digest + "," + difficulty +
           "," + challenge + "]}";
}

std::string submit_with_difficulty(const std::string& difficulty) {
    return submit_line(json_string(kNonce), json_string(kMinerLower), json_string(kDigest), difficulty,
                       json_string(kChallenge));
}

std::string upper_digits(std::string text) {
    for (std::size_t i = 2; i < text.size(); ++i) {
        if (text[i] >= 'a' && text[i] <= 'f') text[i] = static_cast<char>(text[i] - 'a' + 'A');
    }
    return text;
}

Bytes32 hex32(const char* text) {
    const auto parsed = parse_hex32(text);
    EXPECT_TRUE(parsed) << text;
    return parsed ? *parsed : Bytes32{};
}

void expect_error(const Request& request, StratumError expected) {
    EXPECT_EQ(request.error.code, expected.code);
    EXPECT_EQ(request.error.message, expected.message);
}

void expect_bad_submit(const std::string& line, StratumError expected) {
    StratumParser parser;
    const Request request = parser.parse(line);
    EXPECT_EQ(request.kind, Kind::bad_submit) << line;
    EXPECT_EQ(request.id, "4") << line;
    expect_error(request, expected);
}

void expect_bad_subscribe(const std::string& line) {
    StratumParser parser;
    const Request request = parser.parse(line);
    EXPECT_EQ(request.kind, Kind::bad_subscribe) << line;
    EXPECT_EQ(request.id, "1") << line;
    expect_error(request, errors::kInvalidAccount);
}

// --- The seed conversation ---------------------------------------------------------

TEST(StratumSeed, SubscribeParsesAndRepliesByteForByte) {
    StratumParser parser;
    const Request request = parser.parse(kSeedSubscribe);
    ASSERT_EQ(request.kind, Kind::subscribe);
    EXPECT_EQ(request.id, "1");
    EXPECT_EQ(request.method, "mining.subscribe");
    EXPECT_EQ(request.subscribe.miner.normalized(), kMinerLower);
    EXPECT_FALSE(request.subscribe.client_id.has_value());
    EXPECT_EQ(sharegate::protocol::reply_true(request.id, ReplyStyle::legacy),
              "{\"id\":1,\"result\":true,\"error\":null}\n");
}

TEST(StratumSeed, PrettyPrintedSubscribeParses) {
    // The note's layout, without its comments: whitespace and newlines inside one value.
    StratumParser parser;
    const Request request = parser.parse(
        "{\n  \"id\": 1,\n  \"method\": \"mining.subscribe\",\n"
        "  \"params\": [\"0x1b7bfb694ee51913c347971c7090a74aefbd41f6\"]\n}");
    ASSERT_EQ(request.kind, Kind::subscribe);
    EXPECT_EQ(request.id, "1");
    EXPECT_EQ(request.subscribe.miner.normalized(), kMinerLower);
}

TEST(StratumSeed, SubmitParsesAndRepliesByteForByte) {
    StratumParser parser;
    const Request request = parser.parse(kSeedSubmit);
    ASSERT_EQ(request.kind, Kind::submit);
    EXPECT_EQ(request.id, "4");
    EXPECT_EQ(request.method, "mining.submit");
    const SubmitRequest& share = request.submit;
    EXPECT_EQ(share.nonce, hex32(kNonce));
    EXPECT_EQ(share.miner.normalized(), kMinerLower);
    EXPECT_EQ(share.digest, *U256::from_hex32(kDigest));
    EXPECT_EQ(share.difficulty, 872u);
    EXPECT_EQ(share.challenge, hex32(kChallenge));
    EXPECT_EQ(share.nonce_text, kNonce);
    EXPECT_EQ(share.digest_text, kDigest);
    EXPECT_EQ(share.challenge_text, kChallenge);
    EXPECT_EQ(sharegate::protocol::reply_true(request.id, ReplyStyle::legacy),
              "{\"id\":4,\"result\":true,\"error\":null}\n");
}

TEST(StratumSeed, NotifyByteForByte) {
    const auto pool = Address::parse(kPoolChecksummed);
    ASSERT_TRUE(pool);
    const auto target = U256::from_decimal(kTarget);
    ASSERT_TRUE(target);
    EXPECT_EQ(sharegate::protocol::notify(hex32(kChallenge), *target, 872, *pool),
              std::string(R"({"method":"mining.notify","params":[")") + kChallenge + R"(",")" + kTarget + R"(",872,")" +
                  kPoolChecksummed + "\"]}\n");
    // The pool address is checksummed whatever form it was parsed from.
    EXPECT_EQ(sharegate::protocol::notify(hex32(kChallenge), *target, 872, *Address::parse(kMinerLower)),
              sharegate::protocol::notify(hex32(kChallenge), *target, 872, *pool));
}

TEST(StratumSeed, NotifyChallengeIsLowerCase) {
    const auto pool = Address::parse(kPoolChecksummed);
    const std::string line =
        sharegate::protocol::notify(hex32(upper_digits(kChallenge).c_str()), U256::from_u64(5), 4000, *pool);
    EXPECT_EQ(line, std::string(R"({"method":"mining.notify","params":[")") + kChallenge + R"(","5",4000,")" +
                        kPoolChecksummed + "\"]}\n");
}

TEST(StratumSeed, SampleErrorByteForByte) {
    EXPECT_EQ(sharegate::protocol::reply_error("4", errors::kWrongChallenge, ReplyStyle::legacy),
              "{\"id\":4,\"result\":false,\"error\":[21,\"Wrong challenge number\"]}\n");
}

// --- Replies: every row of the error table, both shapes ---------------------------

struct ErrorRow {
    StratumError error;
    bool result_null;
    const char* legacy;
    const char* jsonrpc2;
};

TEST(StratumReplies, EveryErrorRowInBothStyles) {
    const ErrorRow rows[] = {
        {errors::kInvalidShareParameters, false, R"({"id":4,"result":false,"error":[20,"Invalid share parameters"]})",
         R"({"id":4,"error":[20,"Invalid share parameters"]})"},
        {errors::kWrongChallenge, false, R"({"id":4,"result":false,"error":[21,"Wrong challenge number"]})",
         R"({"id":4,"error":[21,"Wrong challenge number"]})"},
        {errors::kLowDifficulty, false, R"({"id":4,"result":false,"error":[23,"Low difficulty share"]})",
         R"({"id":4,"error":[23,"Low difficulty share"]})"},
        {errors::kInvalidDigest, false, R"({"id":4,"result":false,"error":[20,"Invalid digest"]})",
         R"({"id":4,"error":[20,"Invalid digest"]})"},
        {errors::kTargetNotMet, false, R"({"id":4,"result":false,"error":[23,"Target not met"]})",
         R"({"id":4,"error":[23,"Target not met"]})"},
        {errors::kDuplicateShare, false, R"({"id":4,"result":false,"error":[22,"Duplicate share"]})",
         R"({"id":4,"error":[22,"Duplicate share"]})"},
        {errors::kInvalidAccount, false, R"({"id":4,"result":false,"error":[20,"Invalid ETH account"]})",
         R"({"id":4,"error":[20,"Invalid ETH account"]})"},
        {errors::kShareNotStored, false, R"({"id":4,"result":false,"error":[20,"Share could not be stored"]})",
         R"({"id":4,"error":[20,"Share could not be stored"]})"},
        {errors::kNotSubscribed, true, R"({"id":4,"result":null,"error":[25,"Not subscribed"]})",
         R"({"id":4,"error":[25,"Not subscribed"]})"},
        {errors::kUnknownMethod, true, R"({"id":4,"result":null,"error":[20,"Unknown stratum method"]})",
         R"({"id":4,"error":[20,"Unknown stratum method"]})"},
    };
    for (const ErrorRow& row : rows) {
        EXPECT_EQ(sharegate::protocol::reply_error("4", row.error, ReplyStyle::legacy, row.result_null),
                  std::string(row.legacy) + "\n");
        EXPECT_EQ(sharegate::protocol::reply_error("4", row.error, ReplyStyle::jsonrpc2, row.result_null),
                  std::string(row.jsonrpc2) + "\n");
    }
}

TEST(StratumReplies, TrueInBothStyles) {
    EXPECT_EQ(sharegate::protocol::reply_true("4", ReplyStyle::legacy), "{\"id\":4,\"result\":true,\"error\":null}\n");
    EXPECT_EQ(sharegate::protocol::reply_true("4", ReplyStyle::jsonrpc2), "{\"id\":4,\"result\":true}\n");
}

// Both: the legacy line, then the JSON-RPC 2.0 line, with one verdict.
TEST(StratumReplies, BothShapesLegacyFirst) {
    EXPECT_EQ(sharegate::protocol::reply_true("1", ReplyStyle::both),
              "{\"id\":1,\"result\":true,\"error\":null}\n{\"id\":1,\"result\":true}\n");
    EXPECT_EQ(sharegate::protocol::reply_error("4", errors::kLowDifficulty, ReplyStyle::both),
              "{\"id\":4,\"result\":false,\"error\":[23,\"Low difficulty share\"]}\n"
              "{\"id\":4,\"error\":[23,\"Low difficulty share\"]}\n");
    EXPECT_EQ(sharegate::protocol::reply_error("4", errors::kNotSubscribed, ReplyStyle::both, true),
              "{\"id\":4,\"result\":null,\"error\":[25,\"Not subscribed\"]}\n"
              "{\"id\":4,\"error\":[25,\"Not subscribed\"]}\n");
}

TEST(StratumReplies, IdIsEchoedVerbatim) {
    EXPECT_EQ(sharegate::protocol::reply_true("\"a\\\"b\"", ReplyStyle::jsonrpc2),
              "{\"id\":\"a\\\"b\",\"result\":true}\n");
    EXPECT_EQ(sharegate::protocol::reply_error("null", errors::kUnknownMethod, ReplyStyle::legacy, true),
              "{\"id\":null,\"result\":null,\"error\":[20,\"Unknown stratum method\"]}\n");
}

TEST(StratumReplies, ReplyToAParsedUnknownMethod) {
    StratumParser parser;
    const Request request = parser.parse(R"([1,2,3])");
    EXPECT_EQ(sharegate::protocol::reply_error(request.id, request.error, ReplyStyle::legacy, true),
              "{\"id\":null,\"result\":null,\"error\":[20,\"Unknown stratum method\"]}\n");
}

TEST(StratumReplies, QueuedShareJsonExactBytes) {
    StratumParser parser;
    const Request request = parser.parse(kSeedSubmit);
    ASSERT_EQ(request.kind, Kind::submit);
    EXPECT_EQ(sharegate::protocol::queued_share_json(5600000, request.submit),
              std::string(R"({"block":5600000,"nonce":")") + kNonce + R"(","minerEthAddress":")" + kMinerLower +
                  R"(","challengeNumber":")" + kChallenge + R"(","digest":")" + kDigest + R"(","difficulty":872})");
}

// A getwork submit's entry has the original getwork path's extra field after "difficulty".
TEST(StratumReplies, QueuedShareJsonOfAGetworkSubmitCarriesCustomVardiff) {
    StratumParser parser;
    Request request = parser.parse(kSeedSubmit);
    ASSERT_EQ(request.kind, Kind::submit);
    const std::string stratum = sharegate::protocol::queued_share_json(5600000, request.submit);
    ASSERT_EQ(stratum.back(), '}');
    const std::string head = stratum.substr(0, stratum.size() - 1);
    request.submit.custom_vardiff = false;
    EXPECT_EQ(sharegate::protocol::queued_share_json(5600000, request.submit), head + R"(,"customVardiff":false})");
    request.submit.custom_vardiff = true;
    EXPECT_EQ(sharegate::protocol::queued_share_json(5600000, request.submit), head + R"(,"customVardiff":true})");
}

TEST(StratumReplies, QueuedShareJsonKeepsHexAsReceivedAndLowersMiner) {
    StratumParser parser;
    const std::string nonce = upper_digits(kNonce), digest = upper_digits(kDigest);
    const Request request = parser.parse(submit_line(json_string(nonce), json_string(kPoolChecksummed),
                                                     json_string(digest), "\"872\"", json_string(kChallenge)));
    ASSERT_EQ(request.kind, Kind::submit);
    EXPECT_EQ(sharegate::protocol::queued_share_json(7, request.submit),
              std::string(R"({"block":7,"nonce":")") + nonce + R"(","minerEthAddress":")" + kMinerLower +
                  R"(","challengeNumber":")" + kChallenge + R"(","digest":")" + digest + R"(","difficulty":872})");
}

// --- The fifteen lines that crash the original -----------------------------------

TEST(StratumHostile, SubscribeParamsMissing) { expect_bad_subscribe(R"({"id":1,"method":"mining.subscribe"})"); }
TEST(StratumHostile, SubscribeParamsObject) {
    expect_bad_subscribe(
        R"({"id":1,"method":"mining.subscribe","params":{"a":"0x1b7bfb694ee51913c347971c7090a74aefbd41f6"}})");
}
TEST(StratumHostile, SubscribeParamsEmpty) {
    expect_bad_subscribe(R"({"id":1,"method":"mining.subscribe","params":[]})");
}
TEST(StratumHostile, SubscribeParamsNumber) {
    expect_bad_subscribe(R"({"id":1,"method":"mining.subscribe","params":[12345]})");
}
TEST(StratumHostile, SubmitParamsMissing) {
    expect_bad_submit(R"({"id":4,"method":"mining.submit"})", errors::kInvalidShareParameters);
}
TEST(StratumHostile, SubmitParamsObject) {
    expect_bad_submit(R"({"id":4,"method":"mining.submit","params":{"nonce":"0x00"}})",
                      errors::kInvalidShareParameters);
}
TEST(StratumHostile, SubmitParamsEmpty) {
    expect_bad_submit(R"({"id":4,"method":"mining.submit","params":[]})", errors::kInvalidShareParameters);
}
TEST(StratumHostile, SubmitParamsOneElement) {
    expect_bad_submit(std::string(R"({"id":4,"method":"mining.submit","params":[")") + kNonce + "\"]}",
                      errors::kInvalidShareParameters);
}
TEST(StratumHostile, SubmitOddLengthNonce) {
    const std::string odd = std::string(kNonce).substr(0, 65);  // "0x" + 63 digits
    expect_bad_submit(
        submit_line(json_string(odd), json_string(kMinerLower), json_string(kDigest), "872", json_string(kChallenge)),
        errors::kInvalidShareParameters);
}
TEST(StratumHostile, SubmitDifficultyFraction) {
    expect_bad_submit(submit_with_difficulty("1.5"), errors::kInvalidShareParameters);
}
TEST(StratumHostile, SubmitDifficultyNotANumber) {
    expect_bad_submit(submit_with_difficulty("\"zzz\""), errors::kInvalidShareParameters);
}
TEST(StratumHostile, SubmitDifficultyExponent) {
    expect_bad_submit(submit_with_difficulty("1e30"), errors::kInvalidShareParameters);
}
TEST(StratumHostile, SubmitDifficultyBoolean) {
    expect_bad_submit(submit_with_difficulty("true"), errors::kInvalidShareParameters);
}
TEST(StratumHostile, SubmitMinerIsANumber) {
    expect_bad_submit(submit_line(json_string(kNonce), "12345", json_string(kDigest), "872", json_string(kChallenge)),
                      errors::kInvalidAccount);
}

// --- Further malformed input -----------------------------------------------------

TEST(StratumHostile, SubmitMinerNotAnAddress) {
    expect_bad_submit(
        submit_line(json_string(kNonce), "\"not-an-address\"", json_string(kDigest), "872", json_string(kChallenge)),
        errors::kInvalidAccount);
}

TEST(StratumHostile, SubmitMinerBadChecksum) {
    std::string bad = kPoolChecksummed;
    bad[4] = 'B';  // 0x1b7b -> 0x1b7B: mixed case, no longer the EIP-55 checksum
    expect_bad_submit(
        submit_line(json_string(kNonce), json_string(bad), json_string(kDigest), "872", json_string(kChallenge)),
        errors::kInvalidAccount);
}

TEST(StratumHostile, SubscribeNotAnAddressOrBadChecksum) {
    expect_bad_subscribe(R"({"id":1,"method":"mining.subscribe","params":["not-an-address"]})");
    expect_bad_subscribe(
        R"({"id":1,"method":"mining.subscribe","params":["0x1b7BfB694eE51913c347971c7090a74AEFbd41f6"]})");
    expect_bad_subscribe(
        R"({"id":1,"method":"mining.subscribe","params":"0x1b7bfb694ee51913c347971c7090a74aefbd41f6"})");
    expect_bad_subscribe(R"({"id":1,"method":"mining.subscribe","params":null})");
    expect_bad_subscribe(R"({"id":1,"method":"mining.subscribe","params":[null,"MVis Tokenminer v2.3.0"]})");
}

TEST(StratumHostile, SubmitShortOrNullParameters) {
    const std::string four = R"({"id":4,"method":"mining.submit","params":[")" + std::string(kNonce) + R"(",")" +
                             kMinerLower + R"(",")" + kDigest + R"(",872]})";
    expect_bad_submit(four, errors::kInvalidShareParameters);
    expect_bad_submit(R"({"id":4,"method":"mining.submit","params":null})", errors::kInvalidShareParameters);
    expect_bad_submit(R"({"id":4,"method":"mining.submit","params":"x"})", errors::kInvalidShareParameters);
    // A null parameter is the table's first row, even where the field's own check would say otherwise.
    expect_bad_submit(submit_line(json_string(kNonce), "null", json_string(kDigest), "872", json_string(kChallenge)),
                      errors::kInvalidShareParameters);
    expect_bad_submit(submit_line(json_string(kNonce), json_string(kMinerLower), json_string(kDigest), "872", "null"),
                      errors::kInvalidShareParameters);
}

TEST(StratumHostile, SubmitBadHexFields) {
    const std::string no_prefix = std::string(kDigest).substr(2);
    std::string not_hex = kChallenge;
    not_hex[10] = 'g';
    const std::string too_long = std::string(kNonce) + "00";
    expect_bad_submit(submit_line(json_string(kNonce), json_string(kMinerLower), json_string(no_prefix), "872",
                                  json_string(kChallenge)),
                      errors::kInvalidShareParameters);
    expect_bad_submit(
        submit_line(json_string(kNonce), json_string(kMinerLower), json_string(kDigest), "872", json_string(not_hex)),
        errors::kInvalidShareParameters);
    expect_bad_submit(submit_line(json_string(too_long), json_string(kMinerLower), json_string(kDigest), "872",
                                  json_string(kChallenge)),
                      errors::kInvalidShareParameters);
    expect_bad_submit(
        submit_line("12345", json_string(kMinerLower), json_string(kDigest), "872", json_string(kChallenge)),
        errors::kInvalidShareParameters);
    expect_bad_submit(submit_line(json_string(kNonce), json_string(kMinerLower), "[]", "872", json_string(kChallenge)),
                      errors::kInvalidShareParameters);
}

TEST(StratumHostile, CheckOrderIsNonceMinerDigestDifficultyChallenge) {
    // Bad nonce and bad miner: the nonce answers.
    expect_bad_submit(submit_line("\"0x1\"", "\"nobody\"", json_string(kDigest), "872", json_string(kChallenge)),
                      errors::kInvalidShareParameters);
    // Bad miner and everything after it bad too: the miner answers.
    expect_bad_submit(submit_line(json_string(kNonce), "\"nobody\"", "\"0x1\"", "0", "\"x\""), errors::kInvalidAccount);
}

TEST(StratumHostile, DeepNestingAndGarbageDoNotCrash) {
    StratumParser parser;
    std::string deep = R"({"id":4,"method":"mining.submit","params":)";
    deep += std::string(5000, '[') + std::string(5000, ']') + "}";
    const Request nested = parser.parse(deep);
    EXPECT_TRUE(nested.kind == Kind::not_json || nested.kind == Kind::bad_submit);
    std::string garbage;
    for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 37) & 0xFF));
    EXPECT_EQ(parser.parse(garbage).kind, Kind::not_json);
    // The parser is still usable afterwards.
    EXPECT_EQ(parser.parse(kSeedSubmit).kind, Kind::submit);
}

// --- Accepted variations ----------------------------------------------------------

TEST(StratumSubmit, UpperCaseHexAccepted) {
    StratumParser parser;
    const std::string nonce = upper_digits(kNonce), digest = upper_digits(kDigest),
                      challenge = upper_digits(kChallenge);
    const Request request = parser.parse(
        submit_line(json_string(nonce), json_string(kMinerLower), json_string(digest), "872", json_string(challenge)));
    ASSERT_EQ(request.kind, Kind::submit);
    EXPECT_EQ(request.submit.nonce, hex32(kNonce));
    EXPECT_EQ(request.submit.digest, *U256::from_hex32(kDigest));
    EXPECT_EQ(request.submit.challenge, hex32(kChallenge));
    EXPECT_EQ(request.submit.nonce_text, nonce);
    EXPECT_EQ(request.submit.digest_text, digest);
    EXPECT_EQ(request.submit.challenge_text, challenge);
}

TEST(StratumSubmit, ChecksummedAndUpperCaseMinerAccepted) {
    StratumParser parser;
    for (const std::string& miner : {std::string(kPoolChecksummed), upper_digits(kMinerLower)}) {
        const Request request = parser.parse(
            submit_line(json_string(kNonce), json_string(miner), json_string(kDigest), "872", json_string(kChallenge)));
        ASSERT_EQ(request.kind, Kind::submit) << miner;
        EXPECT_EQ(request.submit.miner.normalized(), kMinerLower);
    }
}

// A connection's parser remembers the last address it accepted (StratumParser::
// parse_address); what it answers must be what a fresh parser answers, line after line.
TEST(StratumSubmit, OneParserJudgesEachAddressAsAFreshOneWould) {
    std::string bad_checksum = kPoolChecksummed;
    bad_checksum[4] = 'B';
    const std::string other = "0x00000000000000000000000000000000000000aa";
    const std::vector<std::string> miners = {kPoolChecksummed,
                                             kPoolChecksummed,
                                             bad_checksum,
                                             kPoolChecksummed,
                                             kMinerLower,
                                             other,
                                             other,
                                             bad_checksum,
                                             "0x12",
                                             kPoolChecksummed,
                                             std::string(kMinerLower).substr(2)};
    StratumParser connection;
    for (const std::string& miner : miners) {
        const std::string line =
            submit_line(json_string(kNonce), json_string(miner), json_string(kDigest), "872", json_string(kChallenge));
        StratumParser fresh;
        const Request expected = fresh.parse(line);
        const Request got = connection.parse(line);
        EXPECT_EQ(got.kind, expected.kind) << miner;
        expect_error(got, expected.error);
        EXPECT_EQ(got.submit.miner, expected.submit.miner) << miner;
    }
    // And the outcomes themselves, so that two parsers wrong alike fail too.
    EXPECT_EQ(connection
                  .parse(submit_line(json_string(kNonce), json_string(bad_checksum), json_string(kDigest), "872",
                                     json_string(kChallenge)))
                  .kind,
              Kind::bad_submit);
    const Request last = connection.parse(
        submit_line(json_string(kNonce), json_string(other), json_string(kDigest), "872", json_string(kChallenge)));
    ASSERT_EQ(last.kind, Kind::submit);
    EXPECT_EQ(last.submit.miner.normalized(), other);
}

std::string parsed_id_of_submit(const std::string& id_json) {
    StratumParser parser;
    const Request request = parser.parse(R"({"method":"mining.submit","params":[],"id":)" + id_json + "}");
    EXPECT_EQ(request.kind, Kind::bad_submit) << id_json;
    return request.id;
}

std::uint64_t accepted_difficulty(const std::string& difficulty) {
    StratumParser parser;
    const Request request = parser.parse(submit_with_difficulty(difficulty));
    EXPECT_EQ(request.kind, Kind::submit) << difficulty;
    return request.submit.difficulty;
}

TEST(StratumSubmit, DifficultyForms) {
    EXPECT_EQ(accepted_difficulty("872"), 872u);
    EXPECT_EQ(accepted_difficulty("\"872\""), 872u);
    EXPECT_EQ(accepted_difficulty("1"), 1u);
    EXPECT_EQ(accepted_difficulty("9223372036854775807"), 9223372036854775807u);
    EXPECT_EQ(accepted_difficulty("9223372036854775808"), 9223372036854775808u);
    EXPECT_EQ(accepted_difficulty("18446744073709551615"), 18446744073709551615u);
    EXPECT_EQ(accepted_difficulty("\"18446744073709551615\""), 18446744073709551615u);
}

TEST(StratumSubmit, DifficultyRejected) {
    for (const char* bad : {"0",
                            "\"0\"",
                            "-0",
                            "-1",
                            "-872",
                            "\"-872\"",
                            "18446744073709551616",
                            "\"18446744073709551616\"",
                            "\"99999999999999999999999999999\"",
                            "872.0",
                            "8.72e2",
                            "\"\"",
                            "\" 872\"",
                            "\"872 \"",
                            "\"+872\"",
                            "\"0x368\"",
                            "\"1.5\"",
                            "false",
                            "null",
                            "[872]",
                            "{}"}) {
        expect_bad_submit(submit_with_difficulty(bad), errors::kInvalidShareParameters);
    }
}

TEST(StratumSubmit, UnrepresentableNumbersAreBadSharesNotGarbage) {
    // Valid JSON that simdjson cannot hold as a number: the share is refused, the connection kept.
    for (const char* bad :
         {"18446744073709551616", "123456789012345678901234567890", "-9223372036854775809", "1e400", "-1e400"}) {
        expect_bad_submit(submit_with_difficulty(bad), errors::kInvalidShareParameters);
    }
    EXPECT_EQ(parsed_id_of_submit("18446744073709551616"), "null");
    EXPECT_EQ(parsed_id_of_submit("-9223372036854775808"), "-9223372036854775808");
    // A big number elsewhere in the line does not disturb the fields around it.
    StratumParser parser;
    const Request request =
        parser.parse(R"({"id":7,"big":[1e999,-99999999999999999999,"1e999"],"method":"mining.subscribe",)"
                     R"("params":["0x1b7bfb694ee51913c347971c7090a74aefbd41f6","99999999999999999999"]})");
    ASSERT_EQ(request.kind, Kind::subscribe);
    EXPECT_EQ(request.id, "7");
    EXPECT_EQ(request.subscribe.client_id.value_or(""), "99999999999999999999");
    // Malformed numbers stay not JSON.
    for (const char* bad : {"01", "1.", "-", "1e", ".5", "+1", "1e+", "--1", "0x10"}) {
        EXPECT_EQ(parser.parse(submit_with_difficulty(bad)).kind, Kind::not_json) << bad;
        EXPECT_EQ(parser.parse(submit_with_difficulty(std::string("18446744073709551616,") + bad)).kind, Kind::not_json)
            << bad;
    }
}

TEST(StratumSubmit, ExtraParametersIgnored) {
    StratumParser parser;
    std::string line = submit_with_difficulty("872");
    line.insert(line.size() - 2, ",\"extra\",6");
    EXPECT_EQ(parser.parse(line).kind, Kind::submit);
}

TEST(StratumSubscribe, ClientId) {
    StratumParser parser;
    const Request with = parser.parse(
        R"({"id":1,"method":"mining.subscribe","params":["0x1b7bfB694eE51913c347971c7090a74AEFbd41f6","MVis Tokenminer v2.3.0"]})");
    ASSERT_EQ(with.kind, Kind::subscribe);
    ASSERT_TRUE(with.subscribe.client_id.has_value());
    EXPECT_EQ(*with.subscribe.client_id, "MVis Tokenminer v2.3.0");
    EXPECT_EQ(with.subscribe.miner.normalized(), kMinerLower);

    const Request non_string = parser.parse(
        R"({"id":1,"method":"mining.subscribe","params":["0x1b7bfb694ee51913c347971c7090a74aefbd41f6",23]})");
    ASSERT_EQ(non_string.kind, Kind::subscribe);
    EXPECT_FALSE(non_string.subscribe.client_id.has_value());

    // Without the 0x prefix, as isAddress allows.
    const Request bare =
        parser.parse(R"({"id":1,"method":"mining.subscribe","params":["1b7bfb694ee51913c347971c7090a74aefbd41f6"]})");
    ASSERT_EQ(bare.kind, Kind::subscribe);
    EXPECT_EQ(bare.subscribe.miner.normalized(), kMinerLower);
}

// --- Ids, methods and non-JSON ----------------------------------------------------

std::string parsed_id(const std::string& id_json) {
    StratumParser parser;
    const Request request = parser.parse(R"({"method":"mining.subscribe","params":[],"id":)" + id_json + "}");
    EXPECT_EQ(request.kind, Kind::bad_subscribe) << id_json;
    return request.id;
}

TEST(StratumIds, Kinds) {
    EXPECT_EQ(parsed_id("4"), "4");
    EXPECT_EQ(parsed_id("-7"), "-7");
    EXPECT_EQ(parsed_id("0"), "0");
    EXPECT_EQ(parsed_id("18446744073709551615"), "18446744073709551615");
    EXPECT_EQ(parsed_id("\"abc\""), "\"abc\"");
    EXPECT_EQ(parsed_id("\"\""), "\"\"");
    EXPECT_EQ(parsed_id("null"), "null");
    EXPECT_EQ(parsed_id("1.5"), "null");
    EXPECT_EQ(parsed_id("1e3"), "null");
    EXPECT_EQ(parsed_id("true"), "null");
    EXPECT_EQ(parsed_id("{\"a\":1}"), "null");
    EXPECT_EQ(parsed_id("[4]"), "null");
    StratumParser parser;
    EXPECT_EQ(parser.parse(R"({"method":"mining.subscribe","params":[]})").id, "null");
}

TEST(StratumIds, StringsAreReEscaped) {
    EXPECT_EQ(parsed_id(R"("a\"b\\c")"), R"("a\"b\\c")");
    EXPECT_EQ(parsed_id(R"("line\nfeed\ttab\r\b\f")"), R"("line\nfeed\ttab\r\b\f")");
    EXPECT_EQ(parsed_id(R"("\u0001\u001f")"), R"("\u0001\u001f")");
    EXPECT_EQ(parsed_id(R"("\/")"), R"("/")");
    EXPECT_EQ(parsed_id(R"("caf\u00e9")"), "\"caf\xC3\xA9\"");
    EXPECT_EQ(parsed_id("\"caf\xC3\xA9\""), "\"caf\xC3\xA9\"");
    // A reply built from an escaped id is itself one line of valid JSON.
    const std::string reply = sharegate::protocol::reply_true(parsed_id(R"("x\ny")"), ReplyStyle::jsonrpc2);
    EXPECT_EQ(reply, "{\"id\":\"x\\ny\",\"result\":true}\n");
    StratumParser parser;
    EXPECT_EQ(parser.parse(reply.substr(0, reply.size() - 1)).kind, Kind::unknown_method);
}

TEST(StratumMethods, UnknownMethodKeepsId) {
    StratumParser parser;
    const Request request = parser.parse(R"({"id":9,"method":"mining.authorize","params":["x"]})");
    EXPECT_EQ(request.kind, Kind::unknown_method);
    EXPECT_EQ(request.id, "9");
    EXPECT_EQ(request.method, "mining.authorize");
    expect_error(request, errors::kUnknownMethod);
}

TEST(StratumMethods, NotAnObjectOrNoMethodHasNullId) {
    StratumParser parser;
    for (const char* line : {R"([{"id":4,"method":"mining.submit"}])", "[]", "42", "\"mining.submit\"", "null", "true",
                             R"({"id":5})", R"({"id":5,"method":7})", R"({"id":5,"method":null})", "{}"}) {
        const Request request = parser.parse(line);
        EXPECT_EQ(request.kind, Kind::unknown_method) << line;
        EXPECT_EQ(request.id, "null") << line;
        expect_error(request, errors::kUnknownMethod);
    }
}

TEST(StratumMethods, MethodNamesAreExact) {
    StratumParser parser;
    for (const char* line :
         {R"({"id":1,"method":"Mining.Subscribe","params":["0x1b7bfb694ee51913c347971c7090a74aefbd41f6"]})",
          R"({"id":1,"method":"mining.subscribe ","params":["0x1b7bfb694ee51913c347971c7090a74aefbd41f6"]})"}) {
        EXPECT_EQ(parser.parse(line).kind, Kind::unknown_method) << line;
    }
}

TEST(StratumNotJson, Rejected) {
    StratumParser parser;
    for (const std::string& line :
         {std::string(""), std::string("hello"), std::string("{\"id\":1"), std::string("{\"id\":1,}"),
          std::string("{} {}"), std::string("{'id':1}"), std::string("{\"id\":1}\0", 9), std::string("\x01")}) {
        const Request request = parser.parse(line);
        EXPECT_EQ(request.kind, Kind::not_json) << line;
    }
}

TEST(StratumNotJson, InvalidUtf8) {
    StratumParser parser;
    // Lone continuation byte, overlong encoding, truncated sequence, and a surrogate.
    for (const char* bad : {"\x80", "\xC0\xAF", "\xE2\x82", "\xED\xA0\x80", "\xFF"}) {
        const std::string in_value =
            std::string(R"({"id":1,"method":"mining.subscribe","params":[")") + kMinerLower + R"(",")" + bad + "\"]}";
        EXPECT_EQ(parser.parse(in_value).kind, Kind::not_json);
        const std::string in_id = std::string(R"({"id":")") + bad + R"(","method":"mining.subscribe"})";
        EXPECT_EQ(parser.parse(in_id).kind, Kind::not_json);
    }
    // The same line with valid UTF-8 there is accepted: the bytes were the only fault.
    const std::string good =
        std::string(R"({"id":1,"method":"mining.subscribe","params":[")") + kMinerLower + "\",\"\xC3\xA9\"]}";
    EXPECT_EQ(parser.parse(good).kind, Kind::subscribe);
}

TEST(StratumParserReuse, LongThenShortLinesLeaveNoResidue) {
    StratumParser parser;
    std::string long_line = kSeedSubmit;
    long_line.insert(long_line.size() - 1, ",\"pad\":\"" + std::string(8000, 'p') + "\"");
    EXPECT_EQ(parser.parse(long_line).kind, Kind::submit);
    EXPECT_EQ(parser.parse("{}").kind, Kind::unknown_method);
    EXPECT_EQ(parser.parse("{").kind, Kind::not_json);
    EXPECT_EQ(parser.parse(kSeedSubscribe).kind, Kind::subscribe);

    StratumParser moved(std::move(parser));
    EXPECT_EQ(moved.parse(kSeedSubmit).kind, Kind::submit);
    StratumParser assigned;
    assigned = std::move(moved);
    EXPECT_EQ(assigned.parse(kSeedSubscribe).kind, Kind::subscribe);
}

TEST(StratumParserReuse, LineIsNotReadPastItsEnd) {
    // The line is a view into a larger buffer; the bytes after it must not be parsed.
    StratumParser parser;
    const std::string buffer = kSeedSubscribe + "garbage";
    EXPECT_EQ(parser.parse(std::string_view(buffer).substr(0, kSeedSubscribe.size())).kind, Kind::subscribe);
    EXPECT_EQ(parser.parse(std::string_view(buffer).substr(0, kSeedSubscribe.size() - 1)).kind, Kind::not_json);
}

}  // namespace
}  // namespace sharegate_test
