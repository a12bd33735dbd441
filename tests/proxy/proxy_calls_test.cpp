// ProxyCalls (frontend/proxy/proxy_calls.hpp): each getwork call answered from the proxy's
// Work in the getwork door's shapes, submitShare refused locally (no work, stale, bad
// parameters, a wrong digest or a missed target) or forwarded and answered with the
// pool's verdict, batches answered once every call has its answer, and every outcome
// counted under its rig. The forwarder is a fake that holds each share until the test
// gives its verdict.
#include "proxy/proxy_calls.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/getwork.hpp"
#include "sharegate/seed_share.hpp"

namespace sharegate::proxy {
namespace {

namespace getwork = protocol::getwork;
namespace seed = sharegate::seed;

constexpr const char* kRig = "192.168.1.20";
// Another challenge than the seed's: a submit for the seed's is stale then.
constexpr const char* kOtherChallenge = "0x1111111111111111111111111111111111111111111111111111111111111111";

std::string upper_hex(std::string text) {
    for (std::size_t i = 2; i < text.size(); ++i) text[i] = static_cast<char>(std::toupper(text[i]));
    return text;
}

// Holds every share until the test answers it.
class FakeForwarder : public ShareForwarder {
public:
    struct Held {
        ShareToForward share;
        std::function<void(Verdict)> done;
    };

    void submit(ShareToForward share, std::function<void(Verdict)> done) override {
        held.push_back({std::move(share), std::move(done)});
    }

    void answer(std::size_t index, Verdict verdict) {
        auto done = std::move(held.at(index).done);
        done(std::move(verdict));
    }

    std::vector<Held> held;
};

Work seed_work() {
    Work work;
    work.challenge = *parse_hex32(seed::kChallenge);
    work.challenge_text = seed::kChallenge;
    work.target = *U256::from_decimal(seed::kTarget);
    work.target_decimal = seed::kTarget;
    work.difficulty = seed::kDifficulty;
    work.pool = *Address::parse(seed::kPool);
    return work;
}

// One submitShare body with the seed share, the parameters' JSON texts replaceable.
std::string submit_body(const std::string& id = "1", const std::string& nonce = seed::kNonce,
                        const std::string& miner = seed::kMiner, const std::string& digest = seed::kDigest,
                        const std::string& difficulty = "872", const std::string& challenge = seed::kChallenge) {
    std::string head = R"({"jsonrpc":"2.0",)";
    if (!id.empty()) head += R"("id":)" + id + ",";
    return head + R"("method":"submitShare","params":[")" + nonce + R"(",")" + miner + R"(",")" + digest + R"(",)" +
           difficulty + R"(,")" + challenge + R"("]})";
}

std::string call_body(const std::string& method, const std::string& id = "1", const std::string& params = "[]") {
    return R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":")" + method + R"(","params":)" + params + "}";
}

class ProxyCallsTest : public ::testing::Test {
protected:
    // The whole answer, when it came at once (nullopt: not yet).
    std::optional<std::string> ask(const std::string& body, const std::string& rig = kRig) {
        answers.emplace_back();
        const std::size_t slot = answers.size() - 1;
        calls.handle(rig, body, [this, slot](std::string text) {
            EXPECT_FALSE(answers[slot].has_value()) << "answered twice";
            answers[slot] = std::move(text);
        });
        return answers[slot];
    }

    RigCounts rig(const std::string& name = kRig) {
        for (const auto& [rig_name, counts] : farm.snapshot().rigs) {
            if (rig_name == name) return counts;
        }
        return {};
    }

    WorkState work;
    FakeForwarder forwarder;
    FarmStats farm;
    ProxyCalls calls{work, forwarder, farm};
    std::vector<std::optional<std::string>> answers;
};

TEST_F(ProxyCallsTest, QueriesBeforeAnyWorkAreNull) {
    EXPECT_EQ(ask(call_body("getChallengeNumber")), getwork::result_null("1"));
    EXPECT_EQ(ask(call_body("getPoolEthAddress")), getwork::result_null("1"));
    EXPECT_EQ(ask(call_body("getMinimumShareDifficulty", "2", std::string("[\"") + seed::kMiner + "\"]")),
              getwork::result_null("2"));
    EXPECT_EQ(ask(call_body("getMinimumShareTarget", "3", std::string("[\"") + seed::kMiner + "\"]")),
              getwork::result_null("3"));
    // Those that need no pool answer all the same.
    EXPECT_EQ(ask(call_body("ping")), R"({"jsonrpc":"2.0","id":1,"result":"pong"})");
    EXPECT_EQ(ask(call_body("getPoolProtocolVersion")), R"({"jsonrpc":"2.0","id":1,"result":"1.02"})");
    EXPECT_EQ(ask(call_body("allowingCustomVardiff")), R"({"jsonrpc":"2.0","id":1,"result":false})");
}

TEST_F(ProxyCallsTest, QueriesAnsweredFromTheLastNotify) {
    work.publish(seed_work());
    EXPECT_EQ(ask(call_body("getChallengeNumber", "\"abc\"")),
              std::string(R"({"jsonrpc":"2.0","id":"abc","result":")") + seed::kChallenge + "\"}");
    EXPECT_EQ(ask(call_body("getPoolEthAddress")),
              std::string(R"({"jsonrpc":"2.0","id":1,"result":")") + seed::kPool + "\"}");
    const std::string miner = std::string("[\"") + seed::kMiner + "\"]";
    // The difficulty a JSON number, the target a decimal string (the door's types).
    EXPECT_EQ(ask(call_body("getMinimumShareDifficulty", "1", miner)), R"({"jsonrpc":"2.0","id":1,"result":872})");
    EXPECT_EQ(ask(call_body("getMinimumShareTarget", "1", miner)),
              std::string(R"({"jsonrpc":"2.0","id":1,"result":")") + seed::kTarget + "\"}");
    // Every address gets the account's varDiff, an invalid one and none too.
    EXPECT_EQ(ask(call_body("getMinimumShareDifficulty", "1", R"(["not-an-address"])")),
              R"({"jsonrpc":"2.0","id":1,"result":872})");
    EXPECT_EQ(ask(call_body("getMinimumShareDifficulty", "1")), R"({"jsonrpc":"2.0","id":1,"result":872})");

    // A new notify is the next poll's answer.
    Work next = seed_work();
    next.challenge = *parse_hex32(kOtherChallenge);
    next.challenge_text = kOtherChallenge;
    next.difficulty = 4000;
    work.publish(next);
    EXPECT_EQ(ask(call_body("getChallengeNumber")),
              std::string(R"({"jsonrpc":"2.0","id":1,"result":")") + kOtherChallenge + "\"}");
    EXPECT_EQ(ask(call_body("getMinimumShareDifficulty", "1", miner)), R"({"jsonrpc":"2.0","id":1,"result":4000})");
}

TEST_F(ProxyCallsTest, MvisBatchAnsweredInOrder) {
    work.publish(seed_work());
    // MVis-tokenminer's poll: one batch of four, numeric ids, [account] each, a trailing newline.
    const std::string account = std::string("[\"") + seed::kMiner + "\"]";
    const std::string body = "[" + call_body("getChallengeNumber", "1", account) + "," +
                             call_body("getPoolEthAddress", "2", account) + "," +
                             call_body("getMinimumShareTarget", "3", account) + "," +
                             call_body("getMinimumShareDifficulty", "4", account) + "]\n";
    EXPECT_EQ(ask(body), std::string("[") + R"({"jsonrpc":"2.0","id":1,"result":")" + seed::kChallenge + R"("},)" +
                             R"({"jsonrpc":"2.0","id":2,"result":")" + seed::kPool + R"("},)" +
                             R"({"jsonrpc":"2.0","id":3,"result":")" + seed::kTarget + R"("},)" +
                             R"({"jsonrpc":"2.0","id":4,"result":872}])");
}

TEST_F(ProxyCallsTest, CustomVardiffAsConfigured) {
    ProxyCalls allowing(work, forwarder, farm, ProxyCallsOptions{.allow_custom_vardiff = true});
    std::optional<std::string> answer;
    allowing.handle(kRig, call_body("allowingCustomVardiff"), [&](std::string text) { answer = std::move(text); });
    EXPECT_EQ(answer, R"({"jsonrpc":"2.0","id":1,"result":true})");
}

TEST_F(ProxyCallsTest, BadBodiesGetTheDoorsAnswers) {
    // Whatever the getwork parser answers a body, the proxy answers the same.
    getwork::Parser parser;
    std::uint64_t bad_bodies = 0;
    for (const std::string& body :
         {std::string("not json"), std::string(""), std::string("[]"), std::string("42"), std::string(R"({"id":1})"),
          std::string(200, '['), call_body("noSuchMethod"), call_body("getChallengeNumber", "1", "{}"),
          std::string(R"({"jsonrpc":"2.0","id":7,"method":"submitShare","params":["0x1"]})")}) {
        const getwork::Body parsed = parser.parse(body);
        std::optional<std::string> expected;
        if (parsed.error != getwork::BodyError::none) {
            ++bad_bodies;
            expected = parsed.response;
        } else {
            ASSERT_EQ(parsed.calls.size(), 1u) << body;
            expected = getwork::immediate_response(parsed.calls[0]);
        }
        ASSERT_TRUE(expected) << body;
        EXPECT_EQ(ask(body), expected) << body;
    }
    // A batch over the cap: one error, nothing run.
    ProxyCalls small(work, forwarder, farm, ProxyCallsOptions{.max_batch = 2});
    std::optional<std::string> answer;
    small.handle(kRig, "[" + call_body("ping") + "," + call_body("ping") + "," + call_body("ping") + "]",
                 [&](std::string text) { answer = std::move(text); });
    EXPECT_EQ(answer, getwork::error_response("null", getwork::rpc_errors::kBatchTooLarge));
    EXPECT_TRUE(forwarder.held.empty());
    EXPECT_EQ(calls.counters().bad_bodies, bad_bodies);
    EXPECT_GE(bad_bodies, 4u);
}

TEST_F(ProxyCallsTest, SubmitBeforeAnyWorkIsRefusedLocally) {
    EXPECT_EQ(ask(submit_body()), R"({"jsonrpc":"2.0","id":1,"result":false})");
    EXPECT_TRUE(forwarder.held.empty());
    EXPECT_EQ(rig().submitted, 1u);
    EXPECT_EQ(rig().rejected_by(RejectReason::no_work), 1u);
}

TEST_F(ProxyCallsTest, StaleSubmitIsRefusedLocally) {
    Work current = seed_work();
    current.challenge = *parse_hex32(kOtherChallenge);
    current.challenge_text = kOtherChallenge;
    work.publish(current);
    EXPECT_EQ(ask(submit_body()), R"({"jsonrpc":"2.0","id":1,"result":false})");
    EXPECT_TRUE(forwarder.held.empty());
    EXPECT_EQ(rig().rejected_by(RejectReason::stale), 1u);
}

TEST_F(ProxyCallsTest, MalformedSubmitIsRefusedLocally) {
    work.publish(seed_work());
    EXPECT_EQ(ask(submit_body("1", "0x1234")), R"({"jsonrpc":"2.0","id":1,"result":false})");
    EXPECT_EQ(ask(submit_body("2", seed::kNonce, "not-an-address")), R"({"jsonrpc":"2.0","id":2,"result":false})");
    EXPECT_EQ(ask(submit_body("3", seed::kNonce, seed::kMiner, seed::kDigest, "1.5")),
              R"({"jsonrpc":"2.0","id":3,"result":false})");
    EXPECT_TRUE(forwarder.held.empty());
    EXPECT_EQ(rig().submitted, 3u);
    EXPECT_EQ(rig().rejected_by(RejectReason::bad_params), 3u);
}

// The proxy hashes the share itself: a digest that is not the share's Keccak-256, or
// that misses the farm's target, is refused here (the pool would refuse it too, and count
// it against the farm's one connection), never forwarded.
TEST_F(ProxyCallsTest, InvalidDigestAndMissedTargetAreRefusedLocally) {
    work.publish(seed_work());
    // The seed's digest with its last digit changed: not the hash of the share.
    std::string wrong_digest = seed::kDigest;
    wrong_digest.back() = wrong_digest.back() == '0' ? '1' : '0';
    EXPECT_EQ(ask(submit_body("1", seed::kNonce, seed::kMiner, wrong_digest)),
              R"({"jsonrpc":"2.0","id":1,"result":false})");
    // The right digest, but the farm's target is now below it (a higher varDiff).
    Work harder = seed_work();
    harder.target = U256::from_be_bytes(*parse_hex32(seed::kDigest));
    harder.target_decimal = harder.target.to_decimal();
    work.publish(harder);
    EXPECT_EQ(ask(submit_body("2")), R"({"jsonrpc":"2.0","id":2,"result":false})");
    EXPECT_TRUE(forwarder.held.empty());
    EXPECT_EQ(rig().submitted, 2u);
    EXPECT_EQ(rig().rejected_by(RejectReason::invalid_digest), 1u);
    EXPECT_EQ(rig().rejected_by(RejectReason::target_not_met), 1u);
    // At the seed's own target the same share goes on.
    work.publish(seed_work());
    EXPECT_EQ(ask(submit_body("3")), std::nullopt);
    EXPECT_EQ(forwarder.held.size(), 1u);
}

TEST_F(ProxyCallsTest, SubmitForwardedAndAnsweredTrueOnlyWhenAccepted) {
    work.publish(seed_work());
    // Upper-case hex, a checksummed address and the difficulty as a string: the same share.
    EXPECT_EQ(ask(submit_body("1", upper_hex(seed::kNonce), seed::kPool, upper_hex(seed::kDigest), "\"872\"",
                              upper_hex(seed::kChallenge))),
              std::nullopt);
    ASSERT_EQ(forwarder.held.size(), 1u);
    const ShareToForward& share = forwarder.held[0].share;
    EXPECT_EQ(share.nonce, seed::kNonce);
    EXPECT_EQ(share.miner, seed::kMiner);
    EXPECT_EQ(share.digest, seed::kDigest);
    EXPECT_EQ(share.difficulty, 872u);
    EXPECT_EQ(share.challenge, seed::kChallenge);
    EXPECT_EQ(rig().submitted, 1u);
    EXPECT_EQ(rig().accepted, 0u);

    forwarder.answer(0, Verdict{VerdictKind::accepted, 0, {}});
    EXPECT_EQ(answers.back(), R"({"jsonrpc":"2.0","id":1,"result":true})");
    EXPECT_EQ(rig().accepted, 1u);
    EXPECT_EQ(rig().rejected_total(), 0u);
}

TEST_F(ProxyCallsTest, PoolRejectionIsFalseWithItsReason) {
    work.publish(seed_work());
    ask(submit_body("1"));
    ask(submit_body("2"));
    ask(submit_body("3"));
    ASSERT_EQ(forwarder.held.size(), 3u);
    forwarder.answer(0, Verdict{VerdictKind::rejected, 22, "Duplicate share"});
    forwarder.answer(1, Verdict{VerdictKind::rejected, 20, "Something new"});
    forwarder.answer(2, Verdict{VerdictKind::not_forwarded, 0, "pool unreachable"});
    EXPECT_EQ(answers[0], R"({"jsonrpc":"2.0","id":1,"result":false})");
    EXPECT_EQ(answers[1], R"({"jsonrpc":"2.0","id":2,"result":false})");
    EXPECT_EQ(answers[2], R"({"jsonrpc":"2.0","id":3,"result":false})");
    const RigCounts counts = rig();
    EXPECT_EQ(counts.submitted, 3u);
    EXPECT_EQ(counts.accepted, 0u);
    EXPECT_EQ(counts.rejected_by(RejectReason::duplicate), 1u);
    EXPECT_EQ(counts.rejected_by(RejectReason::pool_other), 1u);
    EXPECT_EQ(counts.rejected_by(RejectReason::not_forwarded), 1u);
}

TEST_F(ProxyCallsTest, RefusalWithoutDelayIsAnsweredToo) {
    // A forwarder that answers at once (the Upstream when the pool is down) answers the
    // body from within handle().
    struct Refusing : ShareForwarder {
        void submit(ShareToForward, std::function<void(Verdict)> done) override {
            done(Verdict{VerdictKind::not_forwarded, 0, "pool unreachable"});
        }
    } refusing;
    work.publish(seed_work());
    ProxyCalls direct(work, refusing, farm);
    std::optional<std::string> answer;
    direct.handle("10.0.0.9", submit_body(), [&](std::string text) { answer = std::move(text); });
    EXPECT_EQ(answer, R"({"jsonrpc":"2.0","id":1,"result":false})");
    EXPECT_EQ(rig("10.0.0.9").rejected_by(RejectReason::not_forwarded), 1u);
}

TEST_F(ProxyCallsTest, BatchWaitsForItsLastSubmit) {
    work.publish(seed_work());
    const std::string body = "[" + call_body("getChallengeNumber", "1") + "," + submit_body("2") + "," +
                             submit_body("3") + "," + call_body("noSuchMethod", "4") + "]";
    EXPECT_EQ(ask(body), std::nullopt);
    ASSERT_EQ(forwarder.held.size(), 2u);
    // Out of order.
    forwarder.answer(1, Verdict{VerdictKind::rejected, 23, "Low difficulty share"});
    EXPECT_EQ(answers.back(), std::nullopt);
    forwarder.answer(0, Verdict{VerdictKind::accepted, 0, {}});
    EXPECT_EQ(answers.back(),
              std::string("[") + R"({"jsonrpc":"2.0","id":1,"result":")" + seed::kChallenge +
                  R"("},{"jsonrpc":"2.0","id":2,"result":true},{"jsonrpc":"2.0","id":3,"result":false},)" +
                  R"({"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"Method not found"}}])");
    EXPECT_EQ(rig().rejected_by(RejectReason::low_difficulty), 1u);
    EXPECT_EQ(calls.counters().calls, 4u);
    EXPECT_EQ(calls.counters().call_errors, 1u);
}

TEST_F(ProxyCallsTest, NotificationSubmitIsForwardedButNotAnswered) {
    work.publish(seed_work());
    EXPECT_EQ(ask(submit_body("")), std::nullopt);
    ASSERT_EQ(forwarder.held.size(), 1u);
    forwarder.answer(0, Verdict{VerdictKind::accepted, 0, {}});
    // Nothing to send: the HTTP side answers 204.
    EXPECT_EQ(answers.back(), "");
    EXPECT_EQ(rig().accepted, 1u);
}

TEST_F(ProxyCallsTest, RigsAreCountedApart) {
    work.publish(seed_work());
    ask(submit_body("1"), "10.0.0.1");
    ask(submit_body("1"), "10.0.0.2");
    ask(submit_body("1", seed::kNonce, seed::kMiner, seed::kDigest, "872", kOtherChallenge), "10.0.0.2");
    forwarder.answer(0, Verdict{VerdictKind::accepted, 0, {}});
    forwarder.answer(1, Verdict{VerdictKind::rejected, 21, "Wrong challenge number"});
    EXPECT_EQ(rig("10.0.0.1").accepted, 1u);
    EXPECT_EQ(rig("10.0.0.2").submitted, 2u);
    EXPECT_EQ(rig("10.0.0.2").rejected_by(RejectReason::pool_stale), 1u);
    EXPECT_EQ(rig("10.0.0.2").rejected_by(RejectReason::stale), 1u);
}

}  // namespace
}  // namespace sharegate::proxy
