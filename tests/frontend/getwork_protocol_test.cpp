// The getwork JSON-RPC 2.0 layer (frontend/protocol/getwork.hpp) at library level: every
// rule of docs/protocol.md section 3, the request bodies of the real clients of its client
// table, ids echoed byte for byte, every error code, hostile bodies, the answers' exact
// bytes, and submitShare parity with the stratum parser on the difficulty-1 vectors.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "protocol/getwork.hpp"
#include "protocol/stratum.hpp"
#include "support/d1_shares.hpp"
#include "support/seed_share.hpp"

namespace sharegate_test {
namespace {

using sharegate::Address;
using sharegate::U256;
using sharegate::protocol::StratumError;
using sharegate::protocol::StratumParser;
using sharegate::protocol::SubmitRequest;
using sharegate::protocol::getwork::Body;
using sharegate::protocol::getwork::BodyError;
using sharegate::protocol::getwork::Call;
using sharegate::protocol::getwork::Method;
using sharegate::protocol::getwork::Parser;
using sharegate::protocol::getwork::RpcError;
namespace getwork = sharegate::protocol::getwork;
namespace rpc_errors = sharegate::protocol::getwork::rpc_errors;
namespace errors = sharegate::protocol::errors;

constexpr const char* kMiner = seed::kMiner;            // lower case, as miners send it
constexpr const char* kMinerChecksummed = seed::kPool;  // the same address, EIP-55
constexpr const char* kNonce = seed::kNonce;
constexpr const char* kDigest = seed::kDigest;
constexpr const char* kChallenge = seed::kChallenge;
// The miner of tests/vectors/valid_d1.jsonl.
constexpr const char* kMinerD1 = "0x00000000000000000000000000000000000000d1";

std::string json_quoted(const std::string& text) { return "\"" + text + "\""; }

// A submitShare request with the parameters given as raw JSON texts.
std::string submit_body(const std::vector<std::string>& params, const std::string& id = "1") {
    std::string body = R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"submitShare","params":[)";
    for (std::size_t i = 0; i < params.size(); ++i) body += (i ? "," : "") + params[i];
    return body + "]}";
}

std::vector<std::string> seed_params(const std::string& difficulty = "872") {
    return {json_quoted(kNonce), json_quoted(kMiner), json_quoted(kDigest), difficulty, json_quoted(kChallenge)};
}

Body parse(const std::string& body, std::size_t max_batch = getwork::kDefaultMaxBatch) {
    Parser parser;
    return parser.parse(body, max_batch);
}

// The single call of a body that must hold exactly one.
Call only_call(const std::string& body) {
    const Body parsed = parse(body);
    EXPECT_EQ(parsed.error, BodyError::none) << body;
    EXPECT_FALSE(parsed.batch) << body;
    EXPECT_EQ(parsed.calls.size(), 1u) << body;
    return parsed.calls.empty() ? Call{} : parsed.calls.front();
}

std::string error_text(const std::string& id, RpcError error) {
    return R"({"jsonrpc":"2.0","id":)" + id + R"(,"error":{"code":)" + std::to_string(error.code) + R"(,"message":")" +
           std::string(error.message) + "\"}}";
}

void expect_rpc_error(const Call& call, RpcError expected, const std::string& id = "null") {
    ASSERT_TRUE(call.error.has_value());
    EXPECT_EQ(call.error->code, expected.code);
    EXPECT_EQ(call.error->message, expected.message);
    EXPECT_EQ(call.id, id);
}

void expect_body_error(const std::string& body, BodyError error, RpcError rpc) {
    const Body parsed = parse(body);
    EXPECT_EQ(parsed.error, error) << body;
    EXPECT_TRUE(parsed.calls.empty()) << body;
    EXPECT_EQ(parsed.response, error_text("null", rpc)) << body;
}

void expect_refusal(const Call& call, StratumError expected) {
    EXPECT_FALSE(call.error.has_value());
    EXPECT_EQ(call.method, Method::submitShare);
    EXPECT_EQ(call.refusal.code, expected.code);
    EXPECT_EQ(call.refusal.kind, expected.kind);
    EXPECT_EQ(call.refusal.message, expected.message);
}

std::uint64_t accepted_difficulty(const std::string& difficulty) {
    const Call call = only_call(submit_body(seed_params(difficulty)));
    EXPECT_FALSE(call.error.has_value()) << difficulty;
    EXPECT_EQ(call.refusal.code, 0) << difficulty;
    return call.submit.difficulty;
}

void expect_difficulty_refused(const std::string& difficulty) {
    const Call call = only_call(submit_body(seed_params(difficulty)));
    SCOPED_TRACE(difficulty);
    expect_refusal(call, errors::kInvalidShareParameters);
}

std::optional<bool> custom_vardiff_of(const std::string& sixth) {
    auto params = seed_params();
    params.push_back(sixth);
    return only_call(submit_body(params)).submit.custom_vardiff;
}

void expect_seed_share(const SubmitRequest& share, std::uint64_t difficulty) {
    EXPECT_EQ(share.nonce_text, kNonce);
    EXPECT_EQ(share.digest_text, kDigest);
    EXPECT_EQ(share.challenge_text, kChallenge);
    EXPECT_EQ(share.nonce, *sharegate::parse_hex32(kNonce));
    EXPECT_EQ(share.challenge, *sharegate::parse_hex32(kChallenge));
    EXPECT_EQ(share.digest, *U256::from_hex32(kDigest));
    EXPECT_EQ(share.miner.normalized(), kMiner);
    EXPECT_EQ(share.difficulty, difficulty);
}

// --- The real clients' bodies (protocol.md section 3, client table) --------------------

TEST(GetworkClients, MvisTokenminerBatchOfFourWithNumericIdsAndTrailingNewline) {
    // jsoncpp's FastWriter: members in name order, one batch every 2 s, a newline at the end.
    const std::string account = kMinerChecksummed;
    const std::string body = R"([{"id":1,"jsonrpc":"2.0","method":"getChallengeNumber","params":[")" + account +
                             R"("]},{"id":2,"jsonrpc":"2.0","method":"getPoolEthAddress","params":[")" + account +
                             R"("]},{"id":3,"jsonrpc":"2.0","method":"getMinimumShareTarget","params":[")" + account +
                             R"("]},{"id":4,"jsonrpc":"2.0","method":"getMinimumShareDifficulty","params":[")" +
                             account + "\"]}]\n";
    const Body parsed = parse(body);
    ASSERT_EQ(parsed.error, BodyError::none);
    EXPECT_TRUE(parsed.batch);
    ASSERT_EQ(parsed.calls.size(), 4u);
    const Method methods[] = {Method::getChallengeNumber, Method::getPoolEthAddress, Method::getMinimumShareTarget,
                              Method::getMinimumShareDifficulty};
    for (std::size_t i = 0; i < 4; ++i) {
        const Call& call = parsed.calls[i];
        EXPECT_EQ(call.index, i);
        EXPECT_EQ(call.id, std::to_string(i + 1));
        EXPECT_FALSE(call.notification);
        EXPECT_FALSE(call.error.has_value());
        EXPECT_EQ(call.method, methods[i]);
    }
    ASSERT_TRUE(parsed.calls[2].miner.has_value());
    EXPECT_EQ(parsed.calls[2].miner->normalized(), kMiner);
    ASSERT_TRUE(parsed.calls[3].miner.has_value());
    EXPECT_EQ(parsed.calls[3].miner->normalized(), kMiner);

    // Its answer: one array, in request order, target as a decimal string, difficulty a number.
    std::vector<std::optional<std::string>> responses(4);
    responses[0] = getwork::result_string(parsed.calls[0].id, kChallenge);
    responses[1] = getwork::result_string(parsed.calls[1].id, kMinerChecksummed);
    responses[2] = getwork::result_string(parsed.calls[2].id, seed::kTarget);
    responses[3] = getwork::result_number(parsed.calls[3].id, 872);
    EXPECT_EQ(getwork::join_responses(parsed.batch, responses),
              std::string(R"([{"jsonrpc":"2.0","id":1,"result":")") + kChallenge +
                  R"("},{"jsonrpc":"2.0","id":2,"result":")" + kMinerChecksummed +
                  R"("},{"jsonrpc":"2.0","id":3,"result":")" + seed::kTarget +
                  R"("},{"jsonrpc":"2.0","id":4,"result":872}])");
}

TEST(GetworkClients, MvisTokenminerSubmitShare) {
    // Every submitShare has id 1; the difficulty an integer; five parameters.
    const std::string body = std::string(R"({"id":1,"jsonrpc":"2.0","method":"submitShare","params":[")") + kNonce +
                             R"(",")" + kMinerChecksummed + R"(",")" + kDigest + R"(",872,")" + kChallenge + "\"]}\n";
    const Call call = only_call(body);
    EXPECT_EQ(call.id, "1");
    EXPECT_FALSE(call.error.has_value());
    EXPECT_EQ(call.refusal.code, 0);
    expect_seed_share(call.submit, 872);
    EXPECT_EQ(call.submit.custom_vardiff, std::optional<bool>(false));
    EXPECT_EQ(getwork::result_bool(call.id, true), R"({"jsonrpc":"2.0","id":1,"result":true})");
}

TEST(GetworkClients, ZeroXBitcoinMinerUuidIdsAndEmptyParams) {
    // jayson: one request per POST, a fresh UUID per call, "params":[] where none.
    const std::string uuid = "\"0d2e7b8a-3c4f-4e1a-9b2d-6f5a4c3b2a10\"";
    const Call address =
        only_call(R"({"method":"getPoolEthAddress","params":[],"id":)" + uuid + R"(,"jsonrpc":"2.0"})");
    EXPECT_EQ(address.method, Method::getPoolEthAddress);
    EXPECT_EQ(address.id, uuid);
    EXPECT_FALSE(address.error.has_value());
    EXPECT_EQ(getwork::result_string(address.id, kMinerChecksummed),
              R"({"jsonrpc":"2.0","id":)" + uuid + R"(,"result":")" + kMinerChecksummed + "\"}");

    const Call challenge =
        only_call(R"({"method":"getChallengeNumber","params":[],"id":)" + uuid + R"(,"jsonrpc":"2.0"})");
    EXPECT_EQ(challenge.method, Method::getChallengeNumber);
    EXPECT_EQ(getwork::result_null(challenge.id), R"({"jsonrpc":"2.0","id":)" + uuid + R"(,"result":null})");

    const Call target = only_call(R"({"method":"getMinimumShareTarget","params":[")" + std::string(kMiner) +
                                  R"("],"id":)" + uuid + R"(,"jsonrpc":"2.0"})");
    EXPECT_EQ(target.method, Method::getMinimumShareTarget);
    ASSERT_TRUE(target.miner.has_value());
    EXPECT_EQ(target.miner->normalized(), kMiner);

    // submitShare: the difficulty as received (the pool's number).
    const Call submit =
        only_call(R"({"method":"submitShare","params":[")" + std::string(kNonce) + R"(",")" + kMiner + R"(",")" +
                  kDigest + R"(",872,")" + kChallenge + R"("],"id":)" + uuid + R"(,"jsonrpc":"2.0"})");
    EXPECT_EQ(submit.id, uuid);
    EXPECT_EQ(submit.refusal.code, 0);
    expect_seed_share(submit.submit, 872);
}

TEST(GetworkClients, SoliditySha3MinerNoParamsMemberAndSevenStrings) {
    // Id "1", no "jsonrpc" and no "params" for the queries.
    const Call address = only_call(R"({"id":"1","method":"getPoolEthAddress"})");
    EXPECT_EQ(address.method, Method::getPoolEthAddress);
    EXPECT_EQ(address.id, "\"1\"");
    EXPECT_FALSE(address.error.has_value());
    EXPECT_FALSE(address.notification);
    const Call challenge = only_call(R"({"id":"1","method":"getChallengeNumber"})");
    EXPECT_EQ(challenge.method, Method::getChallengeNumber);
    EXPECT_FALSE(challenge.error.has_value());

    // submitShare: seven strings, the difficulty as a string, "true", an address at the end.
    const std::string body = std::string(R"({"id":"1","method":"submitShare","params":[")") + kNonce + R"(",")" +
                             kMiner + R"(",")" + kDigest + R"(","872",")" + kChallenge + R"(","true",")" +
                             kMinerChecksummed + "\"]}";
    const Call submit = only_call(body);
    EXPECT_FALSE(submit.error.has_value());
    EXPECT_EQ(submit.refusal.code, 0);
    expect_seed_share(submit.submit, 872);
    EXPECT_EQ(submit.submit.custom_vardiff, std::optional<bool>(true));
    EXPECT_EQ(getwork::result_bool(submit.id, false), R"({"jsonrpc":"2.0","id":"1","result":false})");
}

TEST(GetworkClients, CosmicFloatDifficulty) {
    // Id "cosmic", checked in the reply; the difficulty must come back as a JSON number.
    const Call difficulty = only_call(std::string(R"({"jsonrpc":"2.0","method":"getMinimumShareDifficulty",)") +
                                      R"("params":[")" + kMinerChecksummed + R"("],"id":"cosmic"})");
    EXPECT_EQ(difficulty.method, Method::getMinimumShareDifficulty);
    ASSERT_TRUE(difficulty.miner.has_value());
    EXPECT_EQ(getwork::result_number(difficulty.id, 1000), R"({"jsonrpc":"2.0","id":"cosmic","result":1000})");

    // submitShare with the difficulty as a floating-point number.
    const Call submit =
        only_call(std::string(R"({"jsonrpc":"2.0","method":"submitShare","params":[")") + kNonce + R"(",")" +
                  kMinerChecksummed + R"(",")" + kDigest + R"(",1000.0,")" + kChallenge + R"("],"id":"cosmic"})");
    EXPECT_EQ(submit.id, "\"cosmic\"");
    EXPECT_EQ(submit.refusal.code, 0);
    expect_seed_share(submit.submit, 1000);
    EXPECT_EQ(submit.submit.custom_vardiff, std::optional<bool>(false));
}

TEST(GetworkClients, NabikiBatchWithStringIds) {
    const std::string body =
        std::string(R"([{"jsonrpc":"2.0","id":"addr","method":"getPoolEthAddress","params":[]},)") +
        R"({"jsonrpc":"2.0","id":"chal","method":"getChallengeNumber","params":[]},)" +
        R"({"jsonrpc":"2.0","id":"diff","method":"getMinimumShareDifficulty","params":[")" + kMiner + "\"]}]";
    const Body parsed = parse(body);
    ASSERT_EQ(parsed.error, BodyError::none);
    ASSERT_EQ(parsed.calls.size(), 3u);
    EXPECT_EQ(parsed.calls[0].id, "\"addr\"");
    EXPECT_EQ(parsed.calls[1].id, "\"chal\"");
    EXPECT_EQ(parsed.calls[2].id, "\"diff\"");
    EXPECT_EQ(parsed.calls[2].method, Method::getMinimumShareDifficulty);
    ASSERT_TRUE(parsed.calls[2].miner.has_value());

    // Its submit: the share's own difficulty (above the assigned one) as a decimal string,
    // a 6th parameter as a number.
    const std::string submit_batch = std::string(R"([{"jsonrpc":"2.0","id":"sub","method":"submitShare","params":[")") +
                                     kNonce + R"(",")" + kMiner + R"(",")" + kDigest + R"(","1234567",")" + kChallenge +
                                     R"(",1]}])";
    const Body submit = parse(submit_batch);
    ASSERT_EQ(submit.calls.size(), 1u);
    EXPECT_TRUE(submit.batch);
    EXPECT_EQ(submit.calls[0].refusal.code, 0);
    expect_seed_share(submit.calls[0].submit, 1234567);
    EXPECT_EQ(submit.calls[0].submit.custom_vardiff, std::optional<bool>(true));
}

// --- Body-level answers ----------------------------------------------------------------

TEST(GetworkBody, NotJsonIsAParseError) {
    for (const std::string body : {"",
                                   " ",
                                   "\n",
                                   "not json",
                                   "{",
                                   "}",
                                   "[",
                                   "]",
                                   "{\"id\":1,",
                                   "{\"id\":1,\"method\":\"ping\"",
                                   "[{}",
                                   "{\"id\":1,\"method\":\"ping\"}}",
                                   "{\"id\":1,\"method\":\"ping\"} {}",
                                   "[{\"id\":1,\"method\":\"ping\"}]]",
                                   "[1,]",
                                   "[,1]",
                                   "{\"a\":1,}",
                                   "{\"a\" 1}",
                                   "{1:2}",
                                   "{\"id\":tru,\"method\":\"ping\"}",
                                   "{\"id\":nul,\"method\":\"ping\"}",
                                   "{\"id\":01,\"method\":\"ping\"}",
                                   "{\"id\":1.,\"method\":\"ping\"}",
                                   "{\"id\":-,\"method\":\"ping\"}",
                                   "{\"id\":1e,\"method\":\"ping\"}",
                                   "{\"id\":+1,\"method\":\"ping\"}",
                                   "{\"id\":1 2,\"method\":\"ping\"}",
                                   "{\"id\":'1',\"method\":\"ping\"}",
                                   "{\"id\":\"\\x\",\"method\":\"ping\"}",
                                   "{\"id\":1,\"method\":\"ping\",\"x\":[1 2]}",
                                   "{\"id\":1,\"method\":\"ping\",\"x\":{\"y\":tru}}",
                                   "{\"id\":1,\"method\":\"ping\",\"x\":\"\\uZZZZ\"}",
                                   "{\"id\":1,\"method\":\"ping\",\"x\":\"a\tb\"}",
                                   "[{\"id\":1,\"method\":\"ping\"},{\"id\":2,\"method\":}]",
                                   "tru",
                                   "nulll",
                                   "truee",
                                   "null x",
                                   "true false",
                                   "nul",
                                   "\"unterminated",
                                   "1 2",
                                   "\"a\" \"b\"",
                                   "NaN",
                                   "Infinity",
                                   "-",
                                   "01"}) {
        expect_body_error(body, BodyError::not_json, rpc_errors::kParseError);
    }
}

TEST(GetworkBody, NotUtf8IsAParseError) {
    expect_body_error("{\"id\":\"\xff\",\"method\":\"ping\"}", BodyError::not_json, rpc_errors::kParseError);
    expect_body_error("{\"id\":1,\"method\":\"ping\",\"x\":\"\xc3\"}", BodyError::not_json, rpc_errors::kParseError);
    // An overlong encoding of '/' and a UTF-16 surrogate encoded as UTF-8.
    expect_body_error("[\"\xc0\xaf\"]", BodyError::not_json, rpc_errors::kParseError);
    expect_body_error("[\"\xed\xa0\x80\"]", BodyError::not_json, rpc_errors::kParseError);
    // Valid UTF-8 in an ignored member or an id is fine.
    EXPECT_EQ(only_call("{\"id\":\"\xc3\xa9\",\"method\":\"ping\"}").id, "\"\xc3\xa9\"");
}

TEST(GetworkBody, JsonThatIsNeitherObjectNorArrayIsAnInvalidRequest) {
    for (const std::string body :
         {"1", "-1.5e3", "\"ping\"", "true", "false", "null", " 42 \n", "1e400", "null ", "\ttrue\n", "false ",
          "\"ping\" ", " \"p\\u0041\"\n", "123456789012345678901234567890"}) {
        expect_body_error(body, BodyError::not_a_request, rpc_errors::kInvalidRequest);
    }
}

TEST(GetworkBody, EmptyBatchIsOneInvalidRequestObject) {
    for (const std::string body : {"[]", " [ ] ", "[]\n"}) {
        const Body parsed = parse(body);
        EXPECT_EQ(parsed.error, BodyError::not_a_request);
        // One object, not an array.
        EXPECT_EQ(parsed.response,
                  R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}})");
    }
}

std::string ping_batch(std::size_t n) {
    std::string body = "[";
    // Appended piece by piece: GCC 12 at -O2 warns (-Wrestrict, a false positive) on
    // `"literal" + std::string&&`.
    for (std::size_t i = 0; i < n; ++i) {
        if (i) body += ',';
        body += R"({"id":)";
        body += std::to_string(i);
        body += R"(,"method":"ping"})";
    }
    body += ']';
    return body;
}

TEST(GetworkBody, BatchUpToTheLimitIsServed) {
    const Body parsed = parse(ping_batch(100), 100);
    ASSERT_EQ(parsed.error, BodyError::none);
    ASSERT_EQ(parsed.calls.size(), 100u);
    for (std::size_t i = 0; i < 100; ++i) {
        EXPECT_EQ(parsed.calls[i].index, i);
        EXPECT_EQ(parsed.calls[i].id, std::to_string(i));
    }
}

TEST(GetworkBody, BatchOverTheLimitRunsNothing) {
    const Body parsed = parse(ping_batch(101), 100);
    EXPECT_EQ(parsed.error, BodyError::batch_too_large);
    EXPECT_TRUE(parsed.calls.empty());
    EXPECT_EQ(parsed.response,
              R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: batch too large"}})");
    // The limit is the caller's.
    EXPECT_EQ(parse(ping_batch(3), 2).error, BodyError::batch_too_large);
    EXPECT_EQ(parse(ping_batch(2), 2).error, BodyError::none);
    EXPECT_EQ(parse(ping_batch(1), 0).error, BodyError::batch_too_large);
    // Elements that are not requests count too.
    EXPECT_EQ(parse("[1,2,3]", 2).error, BodyError::batch_too_large);
    // The default is 100 (the server's --max-batch default).
    EXPECT_EQ(parse(ping_batch(101)).error, BodyError::batch_too_large);
    EXPECT_EQ(parse(ping_batch(100)).error, BodyError::none);
}

TEST(GetworkBody, ElementThatIsNotAnObjectGetsItsOwnInvalidRequest) {
    const Body parsed =
        parse(R"([1,{"jsonrpc":"2.0","id":7,"method":"ping"},"x",null,[],true,{"id":8,"method":"ping"}])");
    ASSERT_EQ(parsed.error, BodyError::none);
    ASSERT_EQ(parsed.calls.size(), 7u);
    for (const std::size_t i : {0u, 2u, 3u, 4u, 5u}) {
        SCOPED_TRACE(i);
        expect_rpc_error(parsed.calls[i], rpc_errors::kInvalidRequest);
        EXPECT_FALSE(parsed.calls[i].notification);
        EXPECT_EQ(parsed.calls[i].index, i);
    }
    EXPECT_FALSE(parsed.calls[1].error.has_value());
    EXPECT_EQ(parsed.calls[1].id, "7");
    EXPECT_FALSE(parsed.calls[6].error.has_value());
    EXPECT_EQ(parsed.calls[6].id, "8");

    std::vector<std::optional<std::string>> responses;
    for (const Call& call : parsed.calls) {
        responses.push_back(call.error ? getwork::immediate_response(call) : getwork::result_string(call.id, "pong"));
    }
    const std::string invalid = error_text("null", rpc_errors::kInvalidRequest);
    EXPECT_EQ(getwork::join_responses(true, responses),
              "[" + invalid + R"(,{"jsonrpc":"2.0","id":7,"result":"pong"},)" + invalid + "," + invalid + "," +
                  invalid + "," + invalid + R"(,{"jsonrpc":"2.0","id":8,"result":"pong"}])");
}

TEST(GetworkBody, SingleRequestIsNotABatch) {
    const Body parsed = parse(R"({"id":1,"method":"ping"})");
    EXPECT_FALSE(parsed.batch);
    ASSERT_EQ(parsed.calls.size(), 1u);
    EXPECT_EQ(parsed.calls[0].index, 0u);
    // A batch of one is still a batch: its answer is an array.
    EXPECT_TRUE(parse(R"([{"id":1,"method":"ping"}])").batch);
}

// --- Request members -------------------------------------------------------------------

TEST(GetworkRequest, JsonrpcMemberMustBe20WhenPresent) {
    EXPECT_FALSE(only_call(R"({"jsonrpc":"2.0","id":1,"method":"ping"})").error.has_value());
    EXPECT_FALSE(only_call(R"({"id":1,"method":"ping"})").error.has_value());
    for (const std::string version :
         {"\"1.0\"", "\"2\"", "\"2.0 \"", "2.0", "2", "null", "true", "[\"2.0\"]", "{}", "\"\""}) {
        SCOPED_TRACE(version);
        // The id was read, so the error carries it.
        const Call call = only_call(R"({"jsonrpc":)" + version + R"(,"id":5,"method":"ping"})");
        expect_rpc_error(call, rpc_errors::kInvalidRequest, "5");
        EXPECT_FALSE(call.notification);
    }
}

TEST(GetworkRequest, IdsAreEchoedByteForByte) {
    for (const std::string id :
         {"1", "0", "-7", "4294967296", "18446744073709551615", "18446744073709551616",
          "123456789012345678901234567890", "1.50", "-0", "1e400", "2.5E-3", "-0.0", "\"1\"", "\"\"", "\"cosmic\"",
          "\"0d2e7b8a-3c4f-4e1a-9b2d-6f5a4c3b2a10\"", R"("a\"b\\c\/d\u0041\n")", "\"\xe2\x82\xac\"", "null"}) {
        SCOPED_TRACE(id);
        const Call call = only_call(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"ping"})");
        EXPECT_FALSE(call.error.has_value());
        EXPECT_FALSE(call.notification);
        EXPECT_EQ(call.id, id);
        EXPECT_EQ(getwork::result_string(call.id, "pong"), R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":"pong"})");
    }
    // Whitespace around the id is not part of it.
    EXPECT_EQ(only_call("{\"id\" :  12 \n, \"method\":\"ping\"}").id, "12");
    EXPECT_EQ(only_call("{\"method\":\"ping\",\"id\"\t:\t\"x\"\t}").id, "\"x\"");
}

TEST(GetworkRequest, IdThatIsNotANumberStringOrNullIsAnInvalidRequest) {
    for (const std::string id : {"true", "false", "{}", "{\"a\":1}", "[]", "[1]"}) {
        SCOPED_TRACE(id);
        const Call call = only_call(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"ping"})");
        expect_rpc_error(call, rpc_errors::kInvalidRequest);
        EXPECT_FALSE(call.notification);
        EXPECT_EQ(getwork::immediate_response(call), error_text("null", rpc_errors::kInvalidRequest));
    }
}

TEST(GetworkRequest, NoIdIsANotification) {
    const Call ping = only_call(R"({"jsonrpc":"2.0","method":"ping"})");
    EXPECT_TRUE(ping.notification);
    EXPECT_FALSE(ping.error.has_value());
    EXPECT_EQ(ping.method, Method::ping);
    // A notification submitShare still runs: the share is there.
    const Call submit = only_call(R"({"jsonrpc":"2.0","method":"submitShare","params":[")" + std::string(kNonce) +
                                  R"(",")" + kMiner + R"(",")" + kDigest + R"(",872,")" + kChallenge + "\"]}");
    EXPECT_TRUE(submit.notification);
    EXPECT_EQ(submit.refusal.code, 0);
    expect_seed_share(submit.submit, 872);
    // An id of null is not a notification: it is answered with null.
    EXPECT_FALSE(only_call(R"({"id":null,"method":"ping"})").notification);
}

TEST(GetworkRequest, NotificationsGetNoAnswerEvenOnError) {
    // Unknown method and bad params: JSON-RPC never answers a notification.
    const Call unknown = only_call(R"({"jsonrpc":"2.0","method":"eth_getWork"})");
    EXPECT_TRUE(unknown.notification);
    expect_rpc_error(unknown, rpc_errors::kMethodNotFound);
    EXPECT_FALSE(getwork::immediate_response(unknown).has_value());
    const Call bad_params = only_call(R"({"method":"ping","params":{}})");
    EXPECT_TRUE(bad_params.notification);
    EXPECT_FALSE(getwork::immediate_response(bad_params).has_value());
    // An invalid request is answered even without an id: it was never a valid notification.
    const Call invalid = only_call(R"({"jsonrpc":"2.0","method":1})");
    EXPECT_FALSE(invalid.notification);
    EXPECT_EQ(getwork::immediate_response(invalid), error_text("null", rpc_errors::kInvalidRequest));
}

TEST(GetworkRequest, AllNotificationsProduceNoBody) {
    const Body single = parse(R"({"method":"ping"})");
    ASSERT_EQ(single.calls.size(), 1u);
    std::vector<std::optional<std::string>> none(1);
    EXPECT_FALSE(getwork::join_responses(single.batch, none).has_value());

    const Body batch = parse(R"([{"method":"ping"},{"method":"getChallengeNumber"},{"method":"nope"}])");
    ASSERT_EQ(batch.calls.size(), 3u);
    std::vector<std::optional<std::string>> responses;
    for (const Call& call : batch.calls) {
        EXPECT_TRUE(call.notification);
        responses.push_back(getwork::immediate_response(call));
    }
    EXPECT_FALSE(getwork::join_responses(batch.batch, responses).has_value());
}

TEST(GetworkRequest, MethodMustBeAString) {
    for (const std::string method : {"1", "null", "true", "[\"ping\"]", "{}"}) {
        SCOPED_TRACE(method);
        expect_rpc_error(only_call(R"({"id":3,"method":)" + method + "}"), rpc_errors::kInvalidRequest, "3");
    }
    expect_rpc_error(only_call(R"({"id":3})"), rpc_errors::kInvalidRequest, "3");
    expect_rpc_error(only_call(R"({})"), rpc_errors::kInvalidRequest);
    expect_rpc_error(only_call(R"({"id":3,"params":[]})"), rpc_errors::kInvalidRequest, "3");
}

TEST(GetworkRequest, UnknownMethodIsMethodNotFound) {
    for (const std::string method : {"\"\"", "\"Ping\"", "\"ping \"", "\"mining.submit\"", "\"eth_submitWork\"",
                                     "\"submitshare\"", "\"getChallengeNumber\\u0000\""}) {
        SCOPED_TRACE(method);
        const Call call = only_call(R"({"id":"q","method":)" + method + "}");
        expect_rpc_error(call, rpc_errors::kMethodNotFound, "\"q\"");
        EXPECT_EQ(getwork::immediate_response(call),
                  R"({"jsonrpc":"2.0","id":"q","error":{"code":-32601,"message":"Method not found"}})");
    }
    // Escapes in the name are read like any JSON string.
    EXPECT_EQ(only_call(R"({"id":1,"method":"\u0070ing"})").method, Method::ping);
}

TEST(GetworkRequest, EveryMethodIsKnown) {
    const Method all[] = {Method::ping,
                          Method::getPoolProtocolVersion,
                          Method::getPoolEthAddress,
                          Method::getChallengeNumber,
                          Method::getMinimumShareDifficulty,
                          Method::getMinimumShareTarget,
                          Method::allowingCustomVardiff,
                          Method::submitShare};
    for (const Method method : all) {
        const std::string name(getwork::to_string(method));
        const std::string params = method == Method::submitShare ? "" : R"(,"params":[])";
        const Call call = only_call(R"({"id":1,"method":")" + name + "\"" + params + "}");
        EXPECT_EQ(call.method, method) << name;
        if (method != Method::submitShare) {
            EXPECT_FALSE(call.error.has_value()) << name;
        }
    }
}

TEST(GetworkRequest, ParamsMustBeAbsentOrAnArray) {
    EXPECT_FALSE(only_call(R"({"id":1,"method":"ping"})").error.has_value());
    EXPECT_FALSE(only_call(R"({"id":1,"method":"ping","params":[]})").error.has_value());
    // Extra parameters are ignored.
    EXPECT_FALSE(only_call(R"({"id":1,"method":"ping","params":[1,"x",{"a":[]},null]})").error.has_value());
    for (const std::string params : {"{}", "{\"miner\":\"0x00\"}", "\"x\"", "1", "null", "true"}) {
        SCOPED_TRACE(params);
        const Call call = only_call(R"({"id":1,"method":"getChallengeNumber","params":)" + params + "}");
        expect_rpc_error(call, rpc_errors::kInvalidParams, "1");
        EXPECT_EQ(getwork::immediate_response(call),
                  R"({"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params"}})");
    }
}

TEST(GetworkRequest, DuplicatedMembersAreAnInvalidRequest) {
    for (const std::string body :
         {R"({"id":1,"id":2,"method":"ping"})", R"({"id":1,"method":"ping","method":"submitShare"})",
          R"({"id":1,"method":"ping","params":[],"params":{}})",
          R"({"jsonrpc":"2.0","id":1,"method":"ping","jsonrpc":"2.0"})", R"({"id":1,"method":"ping","\u0069d":1})"}) {
        SCOPED_TRACE(body);
        const Call call = only_call(body);
        expect_rpc_error(call, rpc_errors::kInvalidRequest);
        EXPECT_FALSE(call.notification);
    }
    // Duplicates of other members are nobody's business.
    EXPECT_FALSE(only_call(R"({"id":1,"method":"ping","x":1,"x":2})").error.has_value());
}

TEST(GetworkRequest, OtherMembersAreIgnored) {
    const Call call = only_call(R"({"worker":"rig1","id":1,"extra":{"a":[1,2,{"b":null}]},"method":"ping","z":1e999})");
    EXPECT_FALSE(call.error.has_value());
    EXPECT_EQ(call.id, "1");
}

TEST(GetworkRequest, MemberOrderDoesNotMatter) {
    const Call call = only_call(R"({"params":[")" + std::string(kMiner) +
                                R"("],"method":"getMinimumShareDifficulty","id":9,"jsonrpc":"2.0"})");
    EXPECT_EQ(call.method, Method::getMinimumShareDifficulty);
    EXPECT_EQ(call.id, "9");
    ASSERT_TRUE(call.miner.has_value());
    EXPECT_EQ(call.miner->normalized(), kMiner);
}

// --- getMinimumShareDifficulty / getMinimumShareTarget ---------------------------------

TEST(GetworkMinimum, MinerAddressInAnyCaseAStratumAccepts) {
    std::string upper = kMiner;
    for (std::size_t i = 2; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
    for (const std::string& address : std::vector<std::string>{std::string(kMiner), std::string(kMinerChecksummed),
                                                               upper, std::string(kMiner).substr(2)}) {
        for (const char* method : {"getMinimumShareDifficulty", "getMinimumShareTarget"}) {
            SCOPED_TRACE(address + " " + method);
            const Call call =
                only_call(R"({"id":1,"method":")" + std::string(method) + R"(","params":[")" + address + "\"]}");
            EXPECT_FALSE(call.error.has_value());
            ASSERT_TRUE(call.miner.has_value());
            EXPECT_EQ(call.miner->normalized(), kMiner);
        }
    }
}

TEST(GetworkMinimum, MissingOrInvalidMinerIsNotAnError) {
    std::string bad_checksum = kMinerChecksummed;
    bad_checksum[3] = bad_checksum[3] == 'b' ? 'B' : 'b';
    for (const std::string& params : std::vector<std::string>{
             "", R"(,"params":[])", R"(,"params":[null])", R"(,"params":[1])", R"(,"params":["not-an-address"])",
             R"(,"params":["0x1234"])", R"(,"params":[")" + bad_checksum + "\"]",
             R"(,"params":[[")" + std::string(kMiner) + "\"]]", R"(,"params":[""])"}) {
        for (const char* method : {"getMinimumShareDifficulty", "getMinimumShareTarget"}) {
            SCOPED_TRACE(params + " " + method);
            const Call call = only_call(R"({"id":1,"method":")" + std::string(method) + "\"" + params + "}");
            EXPECT_FALSE(call.error.has_value());
            EXPECT_FALSE(call.miner.has_value());
        }
    }
}

TEST(GetworkMinimum, OtherMethodsCarryNoMiner) {
    EXPECT_FALSE(only_call(R"({"id":1,"method":"getPoolEthAddress","params":[")" + std::string(kMiner) + "\"]}")
                     .miner.has_value());
}

// --- submitShare -----------------------------------------------------------------------

TEST(GetworkSubmit, FewerThanFiveParamsOrNoArrayIsInvalidParams) {
    auto params = seed_params();
    for (std::size_t n = 0; n < 5; ++n) {
        SCOPED_TRACE(n);
        const std::vector<std::string> fewer(params.begin(), params.begin() + static_cast<std::ptrdiff_t>(n));
        expect_rpc_error(only_call(submit_body(fewer)), rpc_errors::kInvalidParams, "1");
    }
    expect_rpc_error(only_call(R"({"id":1,"method":"submitShare"})"), rpc_errors::kInvalidParams, "1");
    expect_rpc_error(only_call(R"({"id":1,"method":"submitShare","params":{"nonce":"0x"}})"),
                     rpc_errors::kInvalidParams, "1");
    expect_rpc_error(only_call(R"({"id":1,"method":"submitShare","params":"x"})"), rpc_errors::kInvalidParams, "1");
}

TEST(GetworkSubmit, FiveWellFormedParams) {
    const Call call = only_call(submit_body(seed_params()));
    EXPECT_FALSE(call.error.has_value());
    EXPECT_EQ(call.method, Method::submitShare);
    EXPECT_EQ(call.refusal.code, 0);
    expect_seed_share(call.submit, 872);
    EXPECT_EQ(call.submit.custom_vardiff, std::optional<bool>(false));  // always set for getwork
}

TEST(GetworkSubmit, ExtraTrailingParamsAreIgnored) {
    auto params = seed_params();
    params.insert(params.end(), {"false", json_quoted(kMiner), "{\"x\":[1]}", "null", "1e999"});
    const Call call = only_call(submit_body(params));
    EXPECT_EQ(call.refusal.code, 0);
    expect_seed_share(call.submit, 872);
    EXPECT_EQ(call.submit.custom_vardiff, std::optional<bool>(false));
}

TEST(GetworkSubmit, HexAsReceivedInAnyCase) {
    std::string nonce = kNonce;
    for (std::size_t i = 2; i < nonce.size(); ++i) nonce[i] = static_cast<char>(std::toupper(nonce[i]));
    const Call call = only_call(submit_body(std::vector<std::string>{
        json_quoted(nonce), json_quoted(kMiner), json_quoted(kDigest), "872", json_quoted(kChallenge)}));
    EXPECT_EQ(call.refusal.code, 0);
    EXPECT_EQ(call.submit.nonce_text, nonce);  // as received, for the queued share JSON
    EXPECT_EQ(call.submit.nonce, *sharegate::parse_hex32(kNonce));
}

TEST(GetworkSubmit, MalformedValuesAreRefusalsNotRpcErrors) {
    const std::string good_nonce = json_quoted(kNonce), good_miner = json_quoted(kMiner),
                      good_digest = json_quoted(kDigest), good_challenge = json_quoted(kChallenge);
    struct Row {
        std::vector<std::string> params;
        StratumError refusal;
    };
    const std::string short_hex = "\"0x1234\"";
    const std::string no_prefix = json_quoted(std::string(kNonce).substr(2));
    const std::string not_hex = json_quoted("0x" + std::string(64, 'g'));
    const Row rows[] = {
        {{"null", good_miner, good_digest, "872", good_challenge}, errors::kInvalidShareParameters},
        {{short_hex, good_miner, good_digest, "872", good_challenge}, errors::kInvalidShareParameters},
        {{no_prefix, good_miner, good_digest, "872", good_challenge}, errors::kInvalidShareParameters},
        {{not_hex, good_miner, good_digest, "872", good_challenge}, errors::kInvalidShareParameters},
        {{"12345", good_miner, good_digest, "872", good_challenge}, errors::kInvalidShareParameters},
        {{good_nonce, "\"not-an-address\"", good_digest, "872", good_challenge}, errors::kInvalidAccount},
        {{good_nonce, "null", good_digest, "872", good_challenge}, errors::kInvalidAccount},
        {{good_nonce, "42", good_digest, "872", good_challenge}, errors::kInvalidAccount},
        {{good_nonce, good_miner, short_hex, "872", good_challenge}, errors::kInvalidShareParameters},
        {{good_nonce, good_miner, "null", "872", good_challenge}, errors::kInvalidShareParameters},
        {{good_nonce, good_miner, good_digest, "null", good_challenge}, errors::kInvalidShareParameters},
        {{good_nonce, good_miner, good_digest, "872", short_hex}, errors::kInvalidShareParameters},
        {{good_nonce, good_miner, good_digest, "872", "null"}, errors::kInvalidShareParameters},
        {{good_nonce, good_miner, good_digest, "872", "[]"}, errors::kInvalidShareParameters},
        // The first malformed value in wire order names the refusal: nonce before miner.
        {{short_hex, "\"not-an-address\"", good_digest, "872", good_challenge}, errors::kInvalidShareParameters},
        {{good_nonce, "\"not-an-address\"", short_hex, "0", short_hex}, errors::kInvalidAccount},
    };
    for (const Row& row : rows) {
        const std::string body = submit_body(row.params);
        SCOPED_TRACE(body);
        const Call call = only_call(body);
        expect_refusal(call, row.refusal);
        EXPECT_FALSE(call.notification);
        EXPECT_EQ(call.submit.custom_vardiff, std::optional<bool>(false));
        EXPECT_FALSE(getwork::immediate_response(call).has_value());  // the server answers false
    }
}

TEST(GetworkSubmit, MinerWithAWrongChecksumIsRefusedAsStratumRefusesIt) {
    std::string bad_checksum = kMinerChecksummed;
    bad_checksum[3] = bad_checksum[3] == 'b' ? 'B' : 'b';
    auto params = seed_params();
    params[1] = json_quoted(bad_checksum);
    expect_refusal(only_call(submit_body(params)), errors::kInvalidAccount);
    params[1] = json_quoted(kMinerChecksummed);
    EXPECT_EQ(only_call(submit_body(params)).refusal.code, 0);
}

TEST(GetworkSubmit, DifficultyForms) {
    EXPECT_EQ(accepted_difficulty("1000"), 1000u);      // MVis-tokenminer, 0xbitcoin-miner
    EXPECT_EQ(accepted_difficulty("\"1000\""), 1000u);  // SoliditySHA3Miner, nabiki
    EXPECT_EQ(accepted_difficulty("1000.0"), 1000u);    // COSMiC
    EXPECT_EQ(accepted_difficulty("\"1000.0\""), 1000u);
    EXPECT_EQ(accepted_difficulty("1e3"), 1000u);
    EXPECT_EQ(accepted_difficulty("1E+3"), 1000u);
    EXPECT_EQ(accepted_difficulty("10000e-1"), 1000u);
    EXPECT_EQ(accepted_difficulty("1000.000000"), 1000u);
    EXPECT_EQ(accepted_difficulty("0.1e4"), 1000u);
    EXPECT_EQ(accepted_difficulty("\"0001000\""), 1000u);  // the stratum door's string rule
    EXPECT_EQ(accepted_difficulty("1"), 1u);
    EXPECT_EQ(accepted_difficulty("18446744073709551615"), 18446744073709551615u);
    EXPECT_EQ(accepted_difficulty("\"18446744073709551615\""), 18446744073709551615u);
    EXPECT_EQ(accepted_difficulty("18446744073709551615.0"), 18446744073709551615u);
    EXPECT_EQ(accepted_difficulty("1.8446744073709551615e19"), 18446744073709551615u);
    // Exact, not through a double: 2^53 + 1 stays itself.
    EXPECT_EQ(accepted_difficulty("9007199254740993.0"), 9007199254740993u);
}

TEST(GetworkSubmit, DifficultyRefused) {
    for (const std::string difficulty : {"0",
                                         "0.0",
                                         "-0",
                                         "\"0\"",
                                         "-1",
                                         "-1000.0",
                                         "\"-5\"",
                                         "1000.5",
                                         "\"1000.5\"",
                                         "0.5",
                                         "1e-3",
                                         "1.5e0",
                                         "18446744073709551616",
                                         "\"18446744073709551616\"",
                                         "18446744073709551616.0",
                                         "1.8446744073709551616e19",
                                         "1e20",
                                         "1e999999999",
                                         "1e-999999999",
                                         "123456789012345678901234567890",
                                         "\"NaN\"",
                                         "\"Infinity\"",
                                         "\"inf\"",
                                         "\"\"",
                                         "\" 1000\"",
                                         "\"1000 \"",
                                         "\"0x3e8\"",
                                         "\"+1000\"",
                                         "\"1,000\"",
                                         "true",
                                         "false",
                                         "[1000]",
                                         "{\"d\":1000}",
                                         "null"}) {
        expect_difficulty_refused(difficulty);
    }
}

TEST(GetworkSubmit, CustomVardiffParameter) {
    EXPECT_EQ(custom_vardiff_of("true"), std::optional<bool>(true));
    EXPECT_EQ(custom_vardiff_of("false"), std::optional<bool>(false));
    EXPECT_EQ(custom_vardiff_of("\"true\""), std::optional<bool>(true));
    EXPECT_EQ(custom_vardiff_of("\"false\""), std::optional<bool>(false));
    EXPECT_EQ(custom_vardiff_of("\"True\""), std::optional<bool>(true));  // .NET's bool.ToString()
    EXPECT_EQ(custom_vardiff_of("\"False\""), std::optional<bool>(false));
    EXPECT_EQ(custom_vardiff_of("1"), std::optional<bool>(true));
    EXPECT_EQ(custom_vardiff_of("2"), std::optional<bool>(true));
    EXPECT_EQ(custom_vardiff_of("-1"), std::optional<bool>(true));
    EXPECT_EQ(custom_vardiff_of("0.5"), std::optional<bool>(true));
    EXPECT_EQ(custom_vardiff_of("1e400"), std::optional<bool>(true));
    EXPECT_EQ(custom_vardiff_of("0"), std::optional<bool>(false));
    EXPECT_EQ(custom_vardiff_of("0.0"), std::optional<bool>(false));
    EXPECT_EQ(custom_vardiff_of("-0"), std::optional<bool>(false));
    EXPECT_EQ(custom_vardiff_of("0e10"), std::optional<bool>(false));
    for (const std::string other : {"null", "\"yes\"", "\"1\"", "\"\"", "[true]", "{}"}) {
        EXPECT_EQ(custom_vardiff_of(other), std::optional<bool>(false)) << other;
    }
    EXPECT_EQ(only_call(submit_body(seed_params())).submit.custom_vardiff, std::optional<bool>(false));
}

TEST(GetworkSubmit, CustomVardiffIsSetEvenWhenAValueIsMalformed) {
    auto params = seed_params("0");
    params.push_back("true");
    const Call call = only_call(submit_body(params));
    expect_refusal(call, errors::kInvalidShareParameters);
    EXPECT_EQ(call.submit.custom_vardiff, std::optional<bool>(true));
}

TEST(GetworkSubmit, QueuedShareJsonCarriesCustomVardiff) {
    auto params = seed_params();
    params.push_back("true");
    const Call call = only_call(submit_body(params));
    EXPECT_EQ(sharegate::protocol::queued_share_json(5600000, call.submit),
              std::string(R"({"block":5600000,"nonce":")") + kNonce + R"(","minerEthAddress":")" + kMiner +
                  R"(","challengeNumber":")" + kChallenge + R"(","digest":")" + kDigest +
                  R"(","difficulty":872,"customVardiff":true})");
}

// The same share through both doors gives the same SubmitRequest (custom_vardiff aside,
// which only the getwork door sets).
TEST(GetworkSubmit, D1VectorsParseAsTheStratumParserParsesThem) {
    const auto shares = load_d1();
    ASSERT_EQ(shares.size(), 200u);
    Parser getwork_parser;
    StratumParser stratum_parser;
    for (std::size_t i = 0; i < shares.size(); ++i) {
        const auto& share = shares[i];
        SCOPED_TRACE(share.nonce);
        const std::string params =
            "[\"" + share.nonce + "\",\"" + kMinerD1 + "\",\"" + share.digest + "\",1,\"" + kChallenge + "\"]";
        const auto stratum = stratum_parser.parse(R"({"id":4,"method":"mining.submit","params":)" + params + "}");
        ASSERT_EQ(stratum.kind, sharegate::protocol::Request::Kind::submit);
        const Body body = getwork_parser.parse(R"({"jsonrpc":"2.0","id":)" + std::to_string(i) +
                                               R"(,"method":"submitShare","params":)" + params + "}\n");
        ASSERT_EQ(body.calls.size(), 1u);
        const Call& call = body.calls[0];
        EXPECT_EQ(call.id, std::to_string(i));
        ASSERT_EQ(call.refusal.code, 0);
        const SubmitRequest& a = call.submit;
        const SubmitRequest& b = stratum.submit;
        EXPECT_EQ(a.nonce, b.nonce);
        EXPECT_EQ(a.miner, b.miner);
        EXPECT_EQ(a.digest, b.digest);
        EXPECT_EQ(a.difficulty, b.difficulty);
        EXPECT_EQ(a.challenge, b.challenge);
        EXPECT_EQ(a.nonce_text, b.nonce_text);
        EXPECT_EQ(a.digest_text, b.digest_text);
        EXPECT_EQ(a.challenge_text, b.challenge_text);
        EXPECT_EQ(a.custom_vardiff, std::optional<bool>(false));
        EXPECT_FALSE(b.custom_vardiff.has_value());
    }
}

TEST(GetworkSubmit, BatchOfD1Shares) {
    const auto shares = load_d1();
    std::string body = "[";
    for (std::size_t i = 0; i < 50; ++i) {
        body += (i ? "," : "") + std::string(R"({"jsonrpc":"2.0","id":)") + std::to_string(i) +
                R"(,"method":"submitShare","params":[")" + shares[i].nonce + "\",\"" + kMinerD1 + "\",\"" +
                shares[i].digest + "\",\"1\",\"" + kChallenge + "\"]}";
    }
    body += "]";
    const Body parsed = parse(body);
    ASSERT_EQ(parsed.calls.size(), 50u);
    for (std::size_t i = 0; i < 50; ++i) {
        EXPECT_EQ(parsed.calls[i].refusal.code, 0);
        EXPECT_EQ(parsed.calls[i].submit.nonce_text, shares[i].nonce);
        EXPECT_EQ(parsed.calls[i].submit.miner.normalized(), kMinerD1);
    }
}

// --- Hostile bodies --------------------------------------------------------------------

TEST(GetworkHostile, DeepNestingIsRefusedWithoutRecursingDeep) {
    for (const std::size_t depth : {65u, 100u, 5000u, 200000u}) {
        SCOPED_TRACE(depth);
        expect_body_error(std::string(depth, '[') + std::string(depth, ']'), BodyError::too_deep,
                          rpc_errors::kParseError);
        // Inside an ignored member of a request, or in its params.
        expect_body_error(R"({"id":1,"method":"ping","x":)" + std::string(depth, '[') + std::string(depth, ']') + "}",
                          BodyError::too_deep, rpc_errors::kParseError);
        expect_body_error(
            R"({"id":1,"method":"ping","params":)" + std::string(depth, '[') + std::string(depth, ']') + "}",
            BodyError::too_deep, rpc_errors::kParseError);
        // Unbalanced, too.
        const Body unbalanced = parse(std::string(depth, '['));
        EXPECT_NE(unbalanced.error, BodyError::none);
        EXPECT_EQ(unbalanced.response, error_text("null", rpc_errors::kParseError));
        std::string nested;
        for (std::size_t i = 0; i < depth; ++i) nested += "{\"a\":";
        nested += '1';
        nested.append(depth, '}');  // not "1" + std::string: GCC 12 -O2's -Wrestrict false positive
        const Body objects = parse(nested);
        EXPECT_EQ(objects.error, BodyError::too_deep);
    }
}

TEST(GetworkHostile, NestingUpToTheLimitIsRead) {
    // The root array is level 1, the request level 2, "x" level 3: 62 more levels fit.
    const std::size_t inner = getwork::kMaxDepth - 2;
    const std::string body =
        R"([{"id":1,"method":"ping","x":)" + std::string(inner, '[') + std::string(inner, ']') + "}]";
    const Body parsed = parse(body);
    ASSERT_EQ(parsed.error, BodyError::none);
    ASSERT_EQ(parsed.calls.size(), 1u);
    EXPECT_FALSE(parsed.calls[0].error.has_value());
    EXPECT_EQ(
        parse(R"([{"id":1,"method":"ping","x":)" + std::string(inner + 1, '[') + std::string(inner + 1, ']') + "}]")
            .error,
        BodyError::too_deep);
}

TEST(GetworkHostile, HugeNumbersAreValidJson) {
    const std::string huge(400, '9');
    // In an id (echoed), an ignored member, an ignored parameter and a difficulty (refused).
    EXPECT_EQ(only_call(R"({"id":)" + huge + R"(,"method":"ping"})").id, huge);
    EXPECT_FALSE(only_call(R"({"id":1,"method":"ping","x":-)" + huge + ".5e-99999}").error.has_value());
    expect_difficulty_refused(huge);
    expect_difficulty_refused("1e400");
    expect_difficulty_refused("-1e400");
    expect_difficulty_refused(json_quoted(huge));
    EXPECT_EQ(custom_vardiff_of(huge), std::optional<bool>(true));
}

TEST(GetworkHostile, ControlCharactersAndEscapesInStrings) {
    // Raw control characters inside a string are not JSON.
    expect_body_error(std::string("{\"id\":\"a\x01\",\"method\":\"ping\"}"), BodyError::not_json,
                      rpc_errors::kParseError);
    // A NUL byte outside a string is not JSON either.
    expect_body_error(std::string("{\"id\":1,\"method\":\"ping\"}\0", 25), BodyError::not_json,
                      rpc_errors::kParseError);
    // Escaped control characters are fine, and the id is echoed escaped as received.
    EXPECT_EQ(only_call(R"({"id":"a\u0001\u0000b","method":"ping"})").id, R"("a\u0001\u0000b")");
    // A lone surrogate escape is refused by the parser's string rule.
    const Body lone = parse(R"({"id":"\ud800","method":"ping"})");
    EXPECT_EQ(lone.error, BodyError::not_json);
}

TEST(GetworkHostile, ManyMembersAndLongStrings) {
    std::string body = R"({"id":1,"method":"ping")";
    for (int i = 0; i < 10000; ++i) body += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
    body += "}";
    EXPECT_FALSE(only_call(body).error.has_value());
    const std::string long_id = "\"" + std::string(1 << 20, 'x') + "\"";
    EXPECT_EQ(only_call(R"({"id":)" + long_id + R"(,"method":"ping"})").id, long_id);
}

// Every malformed body the DOM parser refuses for a reason other than a number's size is
// refused here too, and what it accepts is accepted: the On Demand walk validates all.
TEST(GetworkHostile, ValidityAgreesWithTheDomParser) {
    const std::vector<std::string> bodies = {
        R"({"id":1,"method":"ping"})",
        R"([{"id":1,"method":"ping"},{"a":[1,2,{"b":"c"}]}])",
        R"([1,2,3])",
        R"({"id":1,"method":"ping","x":[1 2]})",
        R"({"id":1,"method":"ping","x":{"a" 1}})",
        R"({"id":1,,"method":"ping"})",
        R"([{"id":1,"method":"ping"}])]", R"({"id":1,"method":"ping"}])",
        R"({"id":1,"method":"ping" "x":1})",
        R"({"id":"\q","method":"ping"})",
        R"({"id":[1,],"method":"ping"})",
        R"({"id":1,"method":"ping","x":[-]})",
        R"({"id":1,"method":"ping","x":[.5]})",
        R"({"id":1,"method":"ping","x":[1.5.5]})",
        R"({"id":1,"method":"ping","x":[0x10]})",
        R"({"id":1,"method":"ping","x":[truefalse]})",
        R"({"id":1,"method":"ping","x":[nulll]})",
        R"({"id":1,"method":"ping","x":"\u12"})",
        "{\"id\":1,\"method\":\"ping\",\"x\":[\"a\"\"b\"]}",
        "{\"id\":1,\"method\":\"ping\",\"x\":[1,\n2\n]\n}\n",
        "\xef\xbb\xbf{\"id\":1,\"method\":\"ping\"}",
        "[{}{}]",
        "[{},{}]",
        "[[],[[]],{}]",
        "{\"a\":{\"b\":{}}}",
        "[\"\\ud83d\\ude00\"]",
        "[true,false,null]",
        "[1e5,-0.0,2E-7]",
        "{\"\":\"\"}",
        "null ",
        "true\n",
        " false",
        "nulll",
        "true false",
        "\"a\" ",
        "\"a\\q\"",
        "1 ",
        "-0 ",
        "1.",
    };
    simdjson::dom::parser dom;
    for (const std::string& body : bodies) {
        SCOPED_TRACE(body);
        const bool dom_valid = dom.parse(simdjson::padded_string(body)).error() == simdjson::SUCCESS;
        const Body parsed = parse(body);
        EXPECT_EQ(parsed.error != BodyError::not_json, dom_valid);
    }
}

// --- The parser's buffers --------------------------------------------------------------

TEST(GetworkParserReuse, CallsOwnTheirTextsAcrossParses) {
    Parser parser;
    const Body first =
        parser.parse(R"({"id":"first-id-that-is-long","method":"submitShare","params":[")" + std::string(kNonce) +
                     R"(",")" + kMiner + R"(",")" + kDigest + R"(","872",")" + kChallenge + "\"]}");
    const Body long_body = parser.parse(ping_batch(100));
    const Body second = parser.parse(R"({"id":2,"method":"ping"})");
    ASSERT_EQ(first.calls.size(), 1u);
    EXPECT_EQ(first.calls[0].id, "\"first-id-that-is-long\"");
    expect_seed_share(first.calls[0].submit, 872);
    EXPECT_EQ(long_body.calls.size(), 100u);
    ASSERT_EQ(second.calls.size(), 1u);
    EXPECT_EQ(second.calls[0].id, "2");
    // The parse is pure: the same text gives the same calls after other bodies.
    const Body again = parser.parse(R"({"id":"first-id-that-is-long","method":"ping"})");
    EXPECT_EQ(again.calls[0].id, "\"first-id-that-is-long\"");
}

TEST(GetworkParserReuse, BodyIsNotReadPastItsEnd) {
    // The body is a view into a larger buffer: what follows it must not be parsed.
    const std::string buffer = std::string(R"({"id":1,"method":"ping"})") + R"(,"x":tru})";
    Parser parser;
    const Body parsed = parser.parse(std::string_view(buffer).substr(0, 24));
    ASSERT_EQ(parsed.error, BodyError::none);
    EXPECT_EQ(parsed.calls[0].method, Method::ping);
    const Body cut = parser.parse(std::string_view(buffer).substr(0, 23));
    EXPECT_EQ(cut.error, BodyError::not_json);
}

// --- Writing answers -------------------------------------------------------------------

TEST(GetworkAnswers, ExactBytes) {
    EXPECT_EQ(getwork::result_string("1", getwork::kPong), R"({"jsonrpc":"2.0","id":1,"result":"pong"})");
    EXPECT_EQ(getwork::result_string("\"1\"", getwork::kProtocolVersion),
              R"({"jsonrpc":"2.0","id":"1","result":"1.02"})");
    EXPECT_EQ(getwork::result_string("1", seed::kTarget),
              std::string(R"({"jsonrpc":"2.0","id":1,"result":")") + seed::kTarget + "\"}");
    EXPECT_EQ(getwork::result_number("1", 18446744073709551615u),
              R"({"jsonrpc":"2.0","id":1,"result":18446744073709551615})");
    EXPECT_EQ(getwork::result_bool("1", true), R"({"jsonrpc":"2.0","id":1,"result":true})");
    EXPECT_EQ(getwork::result_bool("null", false), R"({"jsonrpc":"2.0","id":null,"result":false})");
    EXPECT_EQ(getwork::result_null("7"), R"({"jsonrpc":"2.0","id":7,"result":null})");
    EXPECT_EQ(getwork::result_null(""), R"({"jsonrpc":"2.0","id":null,"result":null})");
    // A string result is escaped.
    EXPECT_EQ(getwork::result_string("1", "a\"b\\c\n"), R"({"jsonrpc":"2.0","id":1,"result":"a\"b\\c\n"})");
}

TEST(GetworkAnswers, EveryErrorCode) {
    EXPECT_EQ(getwork::error_response("null", rpc_errors::kParseError),
              R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})");
    EXPECT_EQ(getwork::error_response("null", rpc_errors::kInvalidRequest),
              R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}})");
    EXPECT_EQ(getwork::error_response("null", rpc_errors::kBatchTooLarge),
              R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: batch too large"}})");
    EXPECT_EQ(getwork::error_response("\"x\"", rpc_errors::kMethodNotFound),
              R"({"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"Method not found"}})");
    EXPECT_EQ(getwork::error_response("3", rpc_errors::kInvalidParams),
              R"({"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Invalid params"}})");
}

TEST(GetworkAnswers, JoinResponses) {
    using Responses = std::vector<std::optional<std::string>>;
    EXPECT_EQ(getwork::join_responses(false, Responses{std::string("{\"a\":1}")}), std::string("{\"a\":1}"));
    EXPECT_FALSE(getwork::join_responses(false, Responses{std::nullopt}).has_value());
    EXPECT_FALSE(getwork::join_responses(false, Responses{}).has_value());
    EXPECT_EQ(getwork::join_responses(true, Responses{std::string("1")}), std::string("[1]"));
    EXPECT_EQ(getwork::join_responses(true, Responses{std::string("1"), std::nullopt, std::string("3")}),
              std::string("[1,3]"));
    EXPECT_EQ(getwork::join_responses(true, Responses{std::nullopt, std::nullopt, std::string("3")}),
              std::string("[3]"));
    EXPECT_FALSE(getwork::join_responses(true, Responses{std::nullopt, std::nullopt}).has_value());
    EXPECT_FALSE(getwork::join_responses(true, Responses{}).has_value());
}

TEST(GetworkAnswers, MethodNames) {
    EXPECT_EQ(getwork::to_string(Method::ping), "ping");
    EXPECT_EQ(getwork::to_string(Method::getPoolProtocolVersion), "getPoolProtocolVersion");
    EXPECT_EQ(getwork::to_string(Method::getPoolEthAddress), "getPoolEthAddress");
    EXPECT_EQ(getwork::to_string(Method::getChallengeNumber), "getChallengeNumber");
    EXPECT_EQ(getwork::to_string(Method::getMinimumShareDifficulty), "getMinimumShareDifficulty");
    EXPECT_EQ(getwork::to_string(Method::getMinimumShareTarget), "getMinimumShareTarget");
    EXPECT_EQ(getwork::to_string(Method::allowingCustomVardiff), "allowingCustomVardiff");
    EXPECT_EQ(getwork::to_string(Method::submitShare), "submitShare");
}

}  // namespace
}  // namespace sharegate_test
