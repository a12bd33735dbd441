// The miner's side of stratum (protocol/stratum_client.hpp) against the server's side
// (protocol/stratum.hpp): the server's parser reads what the client writes, and the
// client's parser reads what the server writes, in every reply style; malformed server
// lines are unparseable, never a crash.
#include "protocol/stratum_client.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/line_framer.hpp"
#include "protocol/stratum.hpp"
#include "support/seed_share.hpp"

namespace sharegate_test {
namespace {

using sharegate::Address;
using sharegate::Bytes32;
using sharegate::parse_hex32;
using sharegate::U256;
using sharegate::protocol::LineFramer;
using sharegate::protocol::ReplyResult;
using sharegate::protocol::ReplyShape;
using sharegate::protocol::ReplyStyle;
using sharegate::protocol::Request;
using sharegate::protocol::ServerMessage;
using sharegate::protocol::StratumClientParser;
using sharegate::protocol::StratumError;
using sharegate::protocol::StratumParser;
using sharegate::protocol::submit_request;
using sharegate::protocol::subscribe_request;
namespace errors = sharegate::protocol::errors;
using MessageKind = ServerMessage::Kind;

constexpr const char* kMiner = seed::kMiner;
constexpr const char* kNonce = seed::kNonce;
constexpr const char* kDigest = seed::kDigest;
constexpr const char* kChallenge = seed::kChallenge;

Bytes32 hex32(const char* text) {
    const auto parsed = parse_hex32(text);
    EXPECT_TRUE(parsed) << text;
    return parsed ? *parsed : Bytes32{};
}

Address pool_address() {
    const auto parsed = Address::parse(seed::kPool);
    EXPECT_TRUE(parsed);
    return parsed ? *parsed : Address{};
}

// `text` as a JSON string (it needs no escapes). Built in steps: GCC 12's -Wrestrict
// misfires on `"\"" + std::string&&` at -O2.
std::string as_json_string(std::string_view text) {
    std::string out = "\"";
    out += text;
    out += '"';
    return out;
}

// The lines of `text` as the server's framing splits them.
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    LineFramer framer(1 << 16);
    EXPECT_TRUE(framer.feed(text, [&](std::string_view line) { lines.emplace_back(line); }));
    EXPECT_EQ(framer.pending(), 0u) << "a reply must end in a newline: " << text;
    return lines;
}

// ---- requests: exactly what the miners send, and what the server reads ----

TEST(StratumClientRequests, SubscribeIsTheSeedBytes) {
    EXPECT_EQ(subscribe_request(1, kMiner),
              R"({"id":1,"method":"mining.subscribe","params":["0x1b7bfb694ee51913c347971c7090a74aefbd41f6"]})"
              "\n");
    EXPECT_EQ(subscribe_request(1, kMiner, "MVis Tokenminer v2.3.0"),
              R"({"id":1,"method":"mining.subscribe","params":["0x1b7bfb694ee51913c347971c7090a74aefbd41f6",)"
              R"("MVis Tokenminer v2.3.0"]})"
              "\n");
}

TEST(StratumClientRequests, SubmitIsTheSeedBytes) {
    const std::string expected =
        R"({"id":4,"method":"mining.submit","params":["0x315bc11bfc4c7d35c34d75030f2ad300000000004111c4fa6169e2193288e8fe",)"
        R"("0x1b7bfb694ee51913c347971c7090a74aefbd41f6",)"
        R"("0x00000000f349061fd0e3b1db5324ef44356fae1cc51febedcef137532140b0ec",872,)"
        R"("0x6770629a6ede9af78856c91eab295779d294328de910c8a85b174dd85f843b3e"]})"
        "\n";
    EXPECT_EQ(submit_request(4, kNonce, kMiner, kDigest, "872", kChallenge), expected);
    EXPECT_EQ(submit_request(4, kNonce, kMiner, kDigest, std::uint64_t{872}, kChallenge), expected);
    std::string appended = "earlier\n";
    sharegate::protocol::append_submit_request(appended, 4, kNonce, kMiner, kDigest, "872", kChallenge);
    EXPECT_EQ(appended, "earlier\n" + expected);
}

TEST(StratumClientRequests, ServerReadsTheSubscribe) {
    StratumParser server;
    const Request plain = server.parse(lines_of(subscribe_request(7, kMiner)).at(0));
    ASSERT_EQ(plain.kind, Request::Kind::subscribe);
    EXPECT_EQ(plain.id, "7");
    EXPECT_EQ(plain.subscribe.miner.normalized(), kMiner);
    EXPECT_FALSE(plain.subscribe.client_id);

    const Request with_id = server.parse(lines_of(subscribe_request(1, seed::kPool, "MVis Tokenminer v2.3.0")).at(0));
    ASSERT_EQ(with_id.kind, Request::Kind::subscribe);
    EXPECT_EQ(with_id.subscribe.miner, pool_address());
    EXPECT_EQ(with_id.subscribe.client_id, "MVis Tokenminer v2.3.0");
}

TEST(StratumClientRequests, TextIsEscapedSoTheServerReadsItBack) {
    const std::string client_id = "quote \" backslash \\ tab \t bell \a end";
    StratumParser server;
    const Request request = server.parse(lines_of(subscribe_request(1, kMiner, client_id)).at(0));
    ASSERT_EQ(request.kind, Request::Kind::subscribe);
    EXPECT_EQ(request.subscribe.client_id, client_id);
}

TEST(StratumClientRequests, ServerReadsTheSubmit) {
    StratumParser server;
    for (const std::string& line :
         {submit_request(18446744073709551615ULL, kNonce, kMiner, kDigest, "872", kChallenge),
          submit_request(18446744073709551615ULL, kNonce, kMiner, kDigest, std::uint64_t{872}, kChallenge)}) {
        const Request request = server.parse(lines_of(line).at(0));
        ASSERT_EQ(request.kind, Request::Kind::submit) << line;
        EXPECT_EQ(request.id, "18446744073709551615");
        EXPECT_EQ(request.submit.nonce, hex32(kNonce));
        EXPECT_EQ(request.submit.miner.normalized(), kMiner);
        EXPECT_EQ(request.submit.digest, U256::from_be_bytes(hex32(kDigest)));
        EXPECT_EQ(request.submit.difficulty, 872u);
        EXPECT_EQ(request.submit.challenge, hex32(kChallenge));
        EXPECT_EQ(request.submit.nonce_text, kNonce);
        EXPECT_EQ(request.submit.digest_text, kDigest);
        EXPECT_EQ(request.submit.challenge_text, kChallenge);
    }
}

// The writers write what they are given, so a test can send a malformed share on purpose.
TEST(StratumClientRequests, MalformedFieldsGoOutAsGiven) {
    StratumParser server;
    const Request short_nonce =
        server.parse(lines_of(submit_request(5, "0x1234", kMiner, kDigest, "1", kChallenge)).at(0));
    EXPECT_EQ(short_nonce.kind, Request::Kind::bad_submit);
    EXPECT_EQ(short_nonce.error.message, errors::kInvalidShareParameters.message);
    const Request exponent =
        server.parse(lines_of(submit_request(6, kNonce, kMiner, kDigest, "1e30", kChallenge)).at(0));
    EXPECT_EQ(exponent.kind, Request::Kind::bad_submit);
    const Request quoted =
        server.parse(lines_of(submit_request(7, kNonce, kMiner, kDigest, "\"872\"", kChallenge)).at(0));
    ASSERT_EQ(quoted.kind, Request::Kind::submit);
    EXPECT_EQ(quoted.submit.difficulty, 872u);
}

// ---- what the server writes, read back ----

// Ids as the server echoes them: StratumParser re-serialises the request's id.
const char* const kIds[] = {"4",   "0", "18446744073709551615", "-9223372036854775808", R"("abc")", R"("a \"q\"")",
                            "null"};

TEST(StratumClientParser, ReadsReplyTrueInEveryStyle) {
    StratumClientParser client;
    for (const char* id : kIds) {
        const std::vector<std::string> legacy = lines_of(sharegate::protocol::reply_true(id, ReplyStyle::legacy));
        ASSERT_EQ(legacy.size(), 1u);
        ServerMessage m = client.parse(legacy[0]);
        ASSERT_EQ(m.kind, MessageKind::reply) << legacy[0];
        EXPECT_EQ(m.reply.id, id);
        EXPECT_EQ(m.reply.shape, ReplyShape::legacy);
        EXPECT_EQ(m.reply.result, ReplyResult::is_true);
        EXPECT_TRUE(m.reply.accepted());
        EXPECT_FALSE(m.reply.has_error);

        const std::vector<std::string> jsonrpc2 = lines_of(sharegate::protocol::reply_true(id, ReplyStyle::jsonrpc2));
        ASSERT_EQ(jsonrpc2.size(), 1u);
        m = client.parse(jsonrpc2[0]);
        ASSERT_EQ(m.kind, MessageKind::reply) << jsonrpc2[0];
        EXPECT_EQ(m.reply.id, id);
        EXPECT_EQ(m.reply.shape, ReplyShape::jsonrpc2);
        EXPECT_TRUE(m.reply.accepted());
        EXPECT_FALSE(m.reply.has_error);

        // `both`: the legacy line, then the JSON-RPC 2.0 line, one verdict.
        const std::vector<std::string> both = lines_of(sharegate::protocol::reply_true(id, ReplyStyle::both));
        ASSERT_EQ(both.size(), 2u);
        EXPECT_EQ(both[0], legacy[0]);
        EXPECT_EQ(both[1], jsonrpc2[0]);
    }
}

TEST(StratumClientParser, ReadsEveryErrorInEveryStyle) {
    const StratumError table[] = {errors::kInvalidShareParameters, errors::kInvalidAccount, errors::kInvalidDigest,
                                  errors::kUnknownMethod,          errors::kWrongChallenge, errors::kDuplicateShare,
                                  errors::kLowDifficulty,          errors::kTargetNotMet,   errors::kNotSubscribed,
                                  errors::kShareNotStored};
    StratumClientParser client;
    for (const char* id : kIds) {
        for (const StratumError& error : table) {
            for (const bool result_null : {false, true}) {
                const auto lines = lines_of(sharegate::protocol::reply_error(id, error, ReplyStyle::both, result_null));
                ASSERT_EQ(lines.size(), 2u);
                EXPECT_EQ(lines[0] + "\n",
                          sharegate::protocol::reply_error(id, error, ReplyStyle::legacy, result_null));
                EXPECT_EQ(lines[1] + "\n",
                          sharegate::protocol::reply_error(id, error, ReplyStyle::jsonrpc2, result_null));

                const ServerMessage legacy = client.parse(lines[0]);
                ASSERT_EQ(legacy.kind, MessageKind::reply) << lines[0];
                EXPECT_EQ(legacy.reply.id, id);
                EXPECT_EQ(legacy.reply.shape, ReplyShape::legacy);
                EXPECT_EQ(legacy.reply.result, result_null ? ReplyResult::is_null : ReplyResult::is_false);
                EXPECT_FALSE(legacy.reply.accepted());
                EXPECT_TRUE(legacy.reply.is_error(error.code, error.message)) << lines[0];

                const ServerMessage jsonrpc2 = client.parse(lines[1]);
                ASSERT_EQ(jsonrpc2.kind, MessageKind::reply) << lines[1];
                EXPECT_EQ(jsonrpc2.reply.id, id);
                EXPECT_EQ(jsonrpc2.reply.shape, ReplyShape::jsonrpc2);
                EXPECT_EQ(jsonrpc2.reply.result, ReplyResult::absent);
                EXPECT_FALSE(jsonrpc2.reply.accepted());
                EXPECT_EQ(jsonrpc2.reply.error_code, error.code);
                EXPECT_EQ(jsonrpc2.reply.error_message, error.message);
                EXPECT_FALSE(jsonrpc2.reply.is_error(error.code + 1, error.message));
            }
        }
    }
}

TEST(StratumClientParser, ReadsTheNotify) {
    const Bytes32 challenge = hex32(kChallenge);
    const Address pool = pool_address();
    StratumClientParser client;
    struct Work {
        U256 target;
        std::uint64_t difficulty;
    } const works[] = {{*U256::from_decimal(seed::kTarget), 872},
                       {U256::max(), 1},
                       {U256::from_u64(0), 18446744073709551615ULL},
                       {sharegate::share_target(234, 4000), 4000}};
    for (const Work& work : works) {
        const auto lines = lines_of(sharegate::protocol::notify(challenge, work.target, work.difficulty, pool));
        ASSERT_EQ(lines.size(), 1u);
        const ServerMessage m = client.parse(lines[0]);
        ASSERT_EQ(m.kind, MessageKind::notify) << lines[0];
        EXPECT_EQ(m.notify.challenge, challenge);
        EXPECT_EQ(m.notify.challenge_text, kChallenge);
        EXPECT_EQ(m.notify.target, work.target);
        EXPECT_EQ(m.notify.difficulty, work.difficulty);
        EXPECT_EQ(m.notify.pool, pool);
    }
}

// One parser serves a whole connection: a line it cannot read leaves it ready for the
// next, and what it returned stays valid until then.
TEST(StratumClientParser, IsReusedAcrossLines) {
    StratumClientParser client;
    const ServerMessage first = client.parse(R"({"id":"first","result":false,"error":[22,"Duplicate share"]})");
    ASSERT_EQ(first.kind, MessageKind::reply);
    EXPECT_EQ(first.reply.id, R"("first")");
    EXPECT_EQ(first.reply.error_message, "Duplicate share");
    EXPECT_EQ(client.parse("not json").kind, MessageKind::unparseable);
    const ServerMessage second = client.parse(std::string(R"({"id":12,"result":true,"error":null})"));
    ASSERT_EQ(second.kind, MessageKind::reply);
    EXPECT_EQ(second.reply.id, "12");
    EXPECT_TRUE(second.reply.accepted());
}

// Each of these is refused as a whole: nothing half-read reaches a caller.
TEST(StratumClientParser, MalformedServerLinesAreUnparseable) {
    const std::string challenge = kChallenge;
    const std::string pool = seed::kPool;
    const auto notify_with = [&](const std::string& params) {
        return R"({"method":"mining.notify","params":)" + params + "}";
    };
    const auto work = [&](const std::string& c, const std::string& target, const std::string& difficulty,
                          const std::string& p) {
        return notify_with("[" + c + "," + target + "," + difficulty + "," + p + "]");
    };
    const std::string q_challenge = as_json_string(challenge), q_pool = as_json_string(pool);
    const std::vector<std::string> lines = {
        // not JSON, not an object, not UTF-8, cut short
        "",
        "not json",
        "[1,2,3]",
        "42",
        "\"text\"",
        R"({"id":1,"result":true,"error":null)",
        R"({"id":1,"result":true,"error":null}})",
        "{\"id\":1,\"result\":true,\"error\":[20,\"\xff\xfe\"]}",
        // replies: no verdict, missing id, members of the wrong type
        R"({"id":1})",
        R"({"id":1,"error":null})",
        R"({"result":true,"error":null})",
        R"({"id":{},"result":true})",
        R"({"id":[4],"result":true})",
        R"({"id":1.5,"result":true})",
        R"({"id":true,"result":true})",
        R"({"id":1,"result":"true","error":null})",
        R"({"id":1,"result":1,"error":null})",
        R"({"id":1,"result":false,"error":"Low difficulty share"})",
        R"({"id":1,"result":false,"error":[23]})",
        R"({"id":1,"result":false,"error":[23,"a","b"]})",
        R"({"id":1,"result":false,"error":["23","Low difficulty share"]})",
        R"({"id":1,"result":false,"error":[23,45]})",
        R"({"id":1,"result":false,"error":{"code":23,"message":"x"}})",
        R"({"id":1,"error":[23.5,"x"]})",
        // numbers too large for their fields
        R"({"id":123456789012345678901234567890,"result":true})",
        R"({"id":1e400,"result":true})",
        R"({"id":1,"error":[99999999999,"x"]})",
        R"({"id":1,"error":[123456789012345678901234567890,"x"]})",
        // another method, or a method that is not a string
        R"({"id":null,"method":"client.reconnect","params":[]})",
        R"({"method":7,"params":[]})",
        R"({"method":null})",
        // notifies: params missing, not an array, too short, or a field unusable
        R"({"method":"mining.notify"})",
        notify_with(R"({"challenge":"0x00"})"),
        notify_with("[]"),
        notify_with("[" + q_challenge + R"(,"1",1])"),
        work("7", "\"1\"", "1", q_pool),
        work("\"0x1234\"", "\"1\"", "1", q_pool),
        work(as_json_string(challenge.substr(2)), "\"1\"", "1", q_pool),
        work(as_json_string(challenge.substr(0, 65) + "g"), "\"1\"", "1", q_pool),
        work(q_challenge, "1", "1", q_pool),
        work(q_challenge, "\"-1\"", "1", q_pool),
        work(q_challenge, "\"0x10\"", "1", q_pool),
        work(q_challenge, as_json_string(std::string(80, '9')), "1", q_pool),
        work(q_challenge, "\"1\"", "0", q_pool),
        work(q_challenge, "\"1\"", "-1", q_pool),
        work(q_challenge, "\"1\"", "1.5", q_pool),
        work(q_challenge, "\"1\"", "1e3", q_pool),
        work(q_challenge, "\"1\"", "18446744073709551616", q_pool),
        work(q_challenge, "\"1\"", "\"872\"", q_pool),
        work(q_challenge, "\"1\"", "true", q_pool),
        work(q_challenge, "\"1\"", "1", "\"0x1b7bfB694eE51913c347971c7090a74AEFbd41f7\""),  // bad checksum
        work(q_challenge, "\"1\"", "1", "\"0x1234\""),
        work(q_challenge, "\"1\"", "1", "42"),
        // nesting and size far beyond a stratum line
        std::string(10000, '[') + std::string(10000, ']'),
        R"({"id":1,"result":true,"error":null,"pad":")" + std::string(100000, 'x') + "\"}",
    };
    StratumClientParser client;
    for (const std::string& line : lines) {
        EXPECT_EQ(client.parse(line).kind, MessageKind::unparseable) << line.substr(0, 200);
    }
    // Still reads a good line after all of them.
    EXPECT_EQ(client.parse(work(q_challenge, "\"1\"", "1", q_pool)).kind, MessageKind::notify);
}

// Members the server does not write are ignored, in any order, as a miner ignores them.
TEST(StratumClientParser, ToleratesOrderAndExtraMembers) {
    StratumClientParser client;
    const ServerMessage reply = client.parse(R"({"error":null,"jsonrpc":"2.0","result":true,"id":3})");
    ASSERT_EQ(reply.kind, MessageKind::reply);
    EXPECT_EQ(reply.reply.shape, ReplyShape::legacy);
    EXPECT_EQ(reply.reply.id, "3");
    EXPECT_TRUE(reply.reply.accepted());

    const ServerMessage notify = client.parse(std::string(R"({"params":[")") + kChallenge + R"(","5",9,")" +
                                              seed::kPool + R"(",true],"id":null,"method":"mining.notify"})");
    ASSERT_EQ(notify.kind, MessageKind::notify);
    EXPECT_EQ(notify.notify.target, U256::from_u64(5));
    EXPECT_EQ(notify.notify.difficulty, 9u);
}

}  // namespace
}  // namespace sharegate_test
