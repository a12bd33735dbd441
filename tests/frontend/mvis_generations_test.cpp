// The three generations of MVis-tokenminer replayed against the real server: each one's
// exact request bytes, and a client that applies that generation's own rules to what
// comes back (libstratum/EthStratumClient.cpp: readResponse, validInput, processReponse;
// docs/protocol.md section 2). Under the default --reply-style auto every generation
// must get its subscribe accepted and see why a share was refused; the forced styles
// keep the documented failures of the other generations.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "protocol/stratum_client.hpp"
#include "support/d1_shares.hpp"
#include "support/line_client.hpp"
#include "support/redis_server.hpp"
#include "support/seed_share.hpp"
#include "support/server_process.hpp"

namespace {

using sharegate::protocol::ReplyShape;
using sharegate::protocol::ServerMessage;
using sharegate::protocol::ServerReply;
using sharegate_test::LineClient;
using sharegate_test::load_d1;
using sharegate_test::ServerProcess;
using sharegate_test::TestRedisServer;
using sharegate_test::VectorShare;
using namespace std::chrono_literals;

constexpr const char* kChallenge = sharegate_test::seed::kChallenge;
constexpr const char* kPool = sharegate_test::seed::kPool;
constexpr const char* kMiner = "0x00000000000000000000000000000000000000d1";  // varDiff 1

enum class Generation {
    v2_1_17,  // up to 2.1.17: a reply needs "result" and "error"
    v2_1_21,  // 2.1.18-2.1.21: a reply with both is invalid; 2.1.21 submits only once subscribed
    v2_3_0,   // 2.2.0 on: as 2.1.21, and the subscribe carries a client id
};

const char* name(Generation g) {
    switch (g) {
        case Generation::v2_1_17: return "v2.1.17";
        case Generation::v2_1_21: return "v2.1.21";
        case Generation::v2_3_0: return "v2.3.0";
    }
    return "?";
}

// What the miner makes of the server's lines, rule for rule.
class MinerModel {
public:
    explicit MinerModel(Generation generation) : generation_(generation) {}

    // The subscribe exactly as jsoncpp's FastWriter writes it (keys sorted).
    std::string subscribe_bytes() const {
        if (generation_ == Generation::v2_3_0) {
            return sharegate::protocol::subscribe_request(1, kMiner, "MVis Tokenminer v2.3.0");
        }
        return sharegate::protocol::subscribe_request(1, kMiner);
    }

    // Every submit has id 4; the difficulty is a JSON integer.
    static std::string submit_bytes(const std::string& nonce, const std::string& digest, const std::string& difficulty,
                                    const std::string& challenge) {
        return sharegate::protocol::submit_request(4, nonce, kMiner, digest, difficulty, challenge);
    }

    // 2.1.21 on refuse to submit until a subscribe reply was accepted; older ones submit
    // whenever they have work.
    bool would_submit() const { return generation_ == Generation::v2_1_17 || authorized_; }

    // One line from the pool, as readResponse and processReponse take it.
    void receive(const std::string& line) {
        ++lines_;
        if (line.empty() || line.front() != '{' || line.back() != '}') return void(++invalid_);
        const ServerMessage message = parser_.parse(line);
        if (!valid_input(message)) return void(++invalid_);
        if (message.kind == ServerMessage::Kind::notify) return void(++work_);
        const ServerReply& reply = message.reply;
        if (reply.id == "1") {
            if (reply.accepted()) {
                authorized_ = true;
            } else {
                login_rejected_ = true;
            }
        } else if (reply.id == "4") {
            if (!reply.accepted()) rejections_.emplace_back(reply.has_error ? reply.error_message : "?");
        }
    }

    bool authorized() const { return authorized_; }
    bool login_rejected() const { return login_rejected_; }
    int work() const { return work_; }
    int lines() const { return lines_; }
    int invalid() const { return invalid_; }  // each is one "Invalid JSON response from pool" log entry
    const std::vector<std::string>& rejections() const { return rejections_; }

private:
    // validInput: up to 2.1.17 a reply needs both "result" and "error", and an error
    // pair unless the result is true; later generations refuse a reply with both. Work
    // (a method with params) is valid to all.
    bool valid_input(const ServerMessage& message) const {
        switch (message.kind) {
            case ServerMessage::Kind::unparseable: return false;
            case ServerMessage::Kind::notify: return true;
            case ServerMessage::Kind::reply: break;
        }
        const ServerReply& reply = message.reply;
        if (generation_ != Generation::v2_1_17) return reply.shape != ReplyShape::legacy;
        return reply.shape == ReplyShape::legacy && (reply.accepted() || reply.has_error);
    }

    Generation generation_;
    sharegate::protocol::StratumClientParser parser_;
    bool authorized_ = false;
    bool login_rejected_ = false;
    int work_ = 0;
    int lines_ = 0;
    int invalid_ = 0;
    std::vector<std::string> rejections_;
};

// The share every generation has refused (stale, then below its claimed target); the
// ones before it are each generation's accepted share.
constexpr std::size_t kRefused = 10;

// What one generation saw of one session: subscribe, work, then an accepted share, a
// stale one and one that misses its claimed difficulty's target.
struct Outcome {
    bool authorized = false;
    int work = 0;
    bool submitted = false;
    std::vector<std::string> rejections;
    int invalid = 0;  // log entries of replies it could not use
    std::string queued;
};

class MvisGenerationsTest : public ::testing::TestWithParam<Generation> {
protected:
    void SetUp() override {
        redis_.command({"SET", "challengeNumber", std::string("\"") + kChallenge + "\""});
        redis_.command({"SET", "ethBlockNumber", "5600000"});
        redis_.command({"HSET", "miner_data", kMiner,
                        R"({"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":1,)"
                        R"("validSubmittedSolutionsCount":0})"});
        shares_ = load_d1();
        ASSERT_GT(shares_.size(), kRefused);
    }

    Outcome converse(Generation generation, const std::string& reply_style) {
        Outcome outcome;
        ServerProcess server;
        const std::string started = server.start(SHAREGATE_BINARY, redis_, kPool, {"--reply-style", reply_style});
        EXPECT_EQ(started, "");
        if (!started.empty()) return outcome;
        MinerModel miner(generation);
        LineClient client(server.port());
        client.send(miner.subscribe_bytes());
        // The subscribe's answer and the first work; a second line of the answer, if any,
        // arrives in the same write.
        while (miner.work() == 0) {
            auto line = client.read_line();
            if (!line) break;
            miner.receive(*line);
        }
        drain(client, miner);
        outcome.authorized = miner.authorized();
        outcome.work = miner.work();
        outcome.submitted = miner.would_submit();
        if (outcome.submitted) {
            const VectorShare& share = shares_[static_cast<std::size_t>(generation)];
            // Accepted, then stale (another challenge), then far below its claimed difficulty.
            for (const std::string& submit :
                 {MinerModel::submit_bytes(share.nonce, share.digest, "1", kChallenge),
                  MinerModel::submit_bytes(shares_[kRefused].nonce, shares_[kRefused].digest, "1",
                                           "0x" + std::string(64, '1')),
                  MinerModel::submit_bytes(shares_[kRefused].nonce, shares_[kRefused].digest, "1000000000000",
                                           kChallenge)}) {
                client.send(submit);
                auto line = client.read_line();
                EXPECT_TRUE(line) << name(generation) << ": no answer to " << submit;
                if (line) miner.receive(*line);
                drain(client, miner);
            }
        }
        outcome.rejections = miner.rejections();
        outcome.invalid = miner.invalid();
        outcome.queued = redis_.command({"LRANGE", "queued_shares_list", "0", "-1"});
        EXPECT_EQ(server.stop(), 0);
        return outcome;
    }

    // Lines already on their way (the second shape of an answer).
    static void drain(LineClient& client, MinerModel& miner) {
        while (auto line = client.read_line(200ms)) miner.receive(*line);
    }

    TestRedisServer redis_;
    std::vector<VectorShare> shares_;
};

const std::vector<std::string> kBothRefusals = {"Wrong challenge number", "Target not met"};

// The default serves every generation: subscribed, working, every verdict seen.
TEST_P(MvisGenerationsTest, DefaultStyleServesIt) {
    const Generation generation = GetParam();
    const Outcome o = converse(generation, "auto");
    EXPECT_TRUE(o.authorized) << name(generation) << " did not accept its subscribe reply";
    EXPECT_EQ(o.work, 1);
    ASSERT_TRUE(o.submitted);
    EXPECT_EQ(o.rejections, kBothRefusals) << name(generation) << " did not see why its shares were refused";
    EXPECT_NE(o.queued.find(shares_[static_cast<std::size_t>(generation)].nonce), std::string::npos);
    EXPECT_EQ(o.queued.find(shares_[kRefused].nonce), std::string::npos);
    // The cost, in "Invalid JSON response from pool" log entries (docs/protocol.md):
    // 2.1.17 one for the subscribe and one per refusal; 2.1.18-2.1.21 the same plus one
    // per accepted share; 2.2+ none.
    switch (generation) {
        case Generation::v2_1_17: EXPECT_EQ(o.invalid, 1 + 2); break;
        case Generation::v2_1_21: EXPECT_EQ(o.invalid, 1 + 2 + 1); break;
        case Generation::v2_3_0: EXPECT_EQ(o.invalid, 0); break;
    }
}

// Forcing one shape serves the generations of that shape and fails the others exactly
// as protocol.md says.
TEST_P(MvisGenerationsTest, ForcedLegacyStyle) {
    const Generation generation = GetParam();
    const Outcome o = converse(generation, "legacy");
    if (generation == Generation::v2_1_17) {
        EXPECT_TRUE(o.authorized);
        EXPECT_EQ(o.rejections, kBothRefusals);
        EXPECT_EQ(o.invalid, 0);
    } else {
        // It drops every legacy reply: 2.1.21 and 2.3.0 never submit a share.
        EXPECT_FALSE(o.authorized);
        EXPECT_FALSE(o.submitted);
        EXPECT_EQ(o.invalid, 1);
    }
}

TEST_P(MvisGenerationsTest, ForcedJsonRpc2Style) {
    const Generation generation = GetParam();
    const Outcome o = converse(generation, "jsonrpc2");
    if (generation == Generation::v2_1_17) {
        // It submits regardless, but never learns a verdict.
        EXPECT_FALSE(o.authorized);
        EXPECT_TRUE(o.submitted);
        EXPECT_TRUE(o.rejections.empty());
        EXPECT_EQ(o.invalid, 1 + 3);
    } else {
        EXPECT_TRUE(o.authorized);
        EXPECT_EQ(o.rejections, kBothRefusals);
        EXPECT_EQ(o.invalid, 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Mvis, MvisGenerationsTest,
                         ::testing::Values(Generation::v2_1_17, Generation::v2_1_21, Generation::v2_3_0),
                         [](const auto& info) {
                             std::string n = name(info.param);
                             for (char& c : n)
                                 if (c == '.') c = '_';
                             return n;
                         });

// A bad subscribe is refused in both shapes, then closed: each generation sees the
// refusal (and would reconnect), none is left waiting.
TEST(MvisGenerations, BadSubscribeIsRefusedInBothShapesThenClosed) {
    TestRedisServer redis;
    redis.command({"SET", "challengeNumber", std::string("\"") + kChallenge + "\""});
    ServerProcess server;
    ASSERT_EQ(server.start(SHAREGATE_BINARY, redis, kPool), "");
    for (Generation generation : {Generation::v2_1_17, Generation::v2_1_21}) {
        MinerModel miner(generation);
        LineClient client(server.port());
        client.send(sharegate::protocol::subscribe_request(1, "0x1b7bfB694eE51913c347971c7090a74AEFbd41f7"));
        while (auto line = client.read_line(2000ms)) miner.receive(*line);
        EXPECT_TRUE(miner.login_rejected()) << name(generation);
        EXPECT_FALSE(miner.authorized()) << name(generation);
        EXPECT_EQ(miner.lines(), 2) << name(generation);
        EXPECT_TRUE(client.closed_by_server(1000ms)) << name(generation);
    }
    EXPECT_EQ(server.stop(), 0);
}

}  // namespace
