// pool::ShareIntake without a process, a socket, a verifier or Redis: a fake verify queue
// answers the verdicts a test chooses, at once or when the test says, and a fake store
// succeeds or fails, at once or later.
#include "pool/share_intake.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/stratum.hpp"
#include "sharegate/seed_share.hpp"

namespace {

using namespace sharegate;
using pool::ShareIntake;
using protocol::StratumError;
namespace errors = protocol::errors;

constexpr const char* kChallenge = sharegate::seed::kChallenge;
constexpr const char* kOtherChallenge = "0x1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* kNonce = "0x315bc11bfc4c7d35c34d75030f2ad300000000004111c4fa6169e2193288e8fe";
constexpr const char* kOtherNonce = "0x0000000000000000000000000000000000000000000000000000000000000042";
constexpr const char* kDigest = "0x00000000f349061fd0e3b1db5324ef44356fae1cc51febedcef137532140b0ec";
constexpr const char* kMiner = "0x00000000000000000000000000000000000000d1";
constexpr unsigned kMaxTargetBits = 234;
constexpr std::uint64_t kBlock = 5600000;

// Verdicts as the test picks them: each added share waits until answer() unless a verdict
// is set to be given at once.
class FakeVerifyQueue final : public pool::VerifyQueue {
public:
    void add(pool::PendingShare&& share) override {
        if (immediate_) {
            share.done(*immediate_);
            return;
        }
        waiting_.push_back(std::move(share));
    }
    // Every share added from now on is answered at once with `verdict` (nullopt: not verified).
    void answer_at_once(std::optional<Verdict> verdict) { immediate_ = verdict; }
    // Back to waiting for answer().
    void answer_later() { immediate_.reset(); }
    std::size_t waiting() const override { return waiting_.size(); }
    const pool::PendingShare& front() const { return waiting_.front(); }
    void answer(std::optional<Verdict> verdict) {
        pool::PendingShare share = std::move(waiting_.front());
        waiting_.pop_front();
        share.done(verdict);
    }

private:
    std::optional<std::optional<Verdict>> immediate_;
    std::deque<pool::PendingShare> waiting_;
};

// Stores (or refuses, or finds claimed) at once, or holds each push until acknowledge().
class FakeStore final : public pool::ShareStore {
public:
    void push(std::string key, std::string json, pool::StoreDone done) override {
        keys.push_back(key);
        pushed.push_back(json);
        if (immediate_) return done(*immediate_);
        waiting_.push_back(std::move(done));
    }
    void answer_at_once(std::optional<pool::StoreResult> result) { immediate_ = result; }
    std::size_t waiting() const { return waiting_.size(); }
    void acknowledge(pool::StoreResult result) {
        auto done = std::move(waiting_.front());
        waiting_.pop_front();
        done(result);
    }

    std::vector<std::string> pushed;
    std::vector<std::string> keys;

private:
    std::optional<pool::StoreResult> immediate_ = pool::StoreResult::stored;
    std::deque<pool::StoreDone> waiting_;
};

// What the intake answered, in order.
struct Answers {
    std::vector<std::optional<StratumError>> got;
    ShareIntake::Answer record() {
        return [this](std::optional<StratumError> error) { got.push_back(error); };
    }
};

protocol::SubmitRequest submit(const char* nonce, std::uint64_t difficulty, const char* challenge = kChallenge) {
    protocol::StratumParser parser;
    const std::string line = std::string(R"({"id":4,"method":"mining.submit","params":[")") + nonce + R"(",")" +
                             kMiner + R"(",")" + kDigest + R"(",)" + std::to_string(difficulty) + R"(,")" + challenge +
                             R"("]})";
    protocol::Request request = parser.parse(line);
    EXPECT_EQ(request.kind, protocol::Request::Kind::submit) << line;
    return request.submit;
}

Bytes32 bytes32(const char* hex) { return *parse_hex32(hex); }

std::uint64_t rejected(const pool::ShareCounters& counters, const StratumError& error) {
    return counters.rejected[static_cast<std::size_t>(error.kind)].load();
}

bool same(const std::optional<StratumError>& a, const StratumError& b) {
    return a && a->kind == b.kind && a->code == b.code && a->message == b.message;
}

class ShareIntakeTest : public ::testing::Test {
protected:
    ShareIntakeTest() {
        state_.set_challenge(bytes32(kChallenge));
        state_.set_block(kBlock);
    }

    ShareIntake::Taken send(const protocol::SubmitRequest& share, std::uint64_t var_diff = 872) {
        return intake_.submit(share, pool::MinerContext{var_diff, {}}, answers_.record());
    }

    pool::PoolState state_;
    FakeVerifyQueue verifier_;
    FakeStore store_;
    pool::ShareCounters counters_;
    ShareIntake intake_{state_, verifier_, store_, counters_, kMaxTargetBits};
    Answers answers_;
};

// ---- refusals the pool's state decides: at once, never verified, no nonce claimed ----

TEST_F(ShareIntakeTest, NoChallengeYetIsStale) {
    pool::PoolState empty;
    ShareIntake intake(empty, verifier_, store_, counters_, kMaxTargetBits);
    EXPECT_EQ(intake.submit(submit(kNonce, 872), {872, {}}, answers_.record()), ShareIntake::Taken::refused);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kWrongChallenge));
    EXPECT_EQ(verifier_.waiting(), 0u);
    EXPECT_EQ(intake.duplicates().size(), 0u);
    EXPECT_EQ(rejected(counters_, errors::kWrongChallenge), 1u);
}

TEST_F(ShareIntakeTest, WrongChallengeIsStaleAndClaimsNoNonce) {
    EXPECT_EQ(send(submit(kNonce, 872, kOtherChallenge)), ShareIntake::Taken::refused);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kWrongChallenge));
    EXPECT_EQ(intake_.duplicates().size(), 0u);
    // Once that challenge is current, the same nonce is fresh.
    ASSERT_TRUE(state_.set_challenge(bytes32(kOtherChallenge)));
    intake_.forget_duplicates();
    EXPECT_EQ(send(submit(kNonce, 872, kOtherChallenge)), ShareIntake::Taken::verifying);
}

TEST_F(ShareIntakeTest, LowDifficultyClaimsNoNonce) {
    EXPECT_EQ(send(submit(kNonce, 871), 872), ShareIntake::Taken::refused);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kLowDifficulty));
    EXPECT_EQ(intake_.duplicates().size(), 0u);
    EXPECT_EQ(verifier_.waiting(), 0u);
    // The same nonce at the miner's difficulty is judged, not a duplicate.
    EXPECT_EQ(send(submit(kNonce, 872), 872), ShareIntake::Taken::verifying);
    EXPECT_EQ(verifier_.waiting(), 1u);
}

// A stale share is refused as stale even when its difficulty is also low: the original's order.
TEST_F(ShareIntakeTest, StaleIsCheckedBeforeDifficulty) {
    send(submit(kNonce, 1, kOtherChallenge), 872);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kWrongChallenge));
}

// ---- verdicts ----

TEST_F(ShareIntakeTest, AcceptedIsStoredThenAnswered) {
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::verifying);
    ASSERT_EQ(verifier_.waiting(), 1u);
    const pool::PendingShare& pending = verifier_.front();
    EXPECT_EQ(pending.challenge, bytes32(kChallenge));
    EXPECT_EQ(pending.nonce, bytes32(kNonce));
    EXPECT_EQ(pending.digest, U256::from_be_bytes(bytes32(kDigest)));
    EXPECT_EQ(pending.target, share_target(kMaxTargetBits, 872));
    EXPECT_TRUE(answers_.got.empty());

    verifier_.answer(Verdict::accepted);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_FALSE(answers_.got[0].has_value());
    ASSERT_EQ(store_.pushed.size(), 1u);
    // The key that makes the push exactly-once: challenge and nonce, lower-case hex.
    EXPECT_EQ(store_.keys[0], std::string("sharegate:pushed:") + kChallenge + ":" + kNonce);
    EXPECT_EQ(store_.pushed[0], std::string(R"({"block":5600000,"nonce":")") + kNonce + R"(","minerEthAddress":")" +
                                    kMiner + R"(","challengeNumber":")" + kChallenge + R"(","digest":")" + kDigest +
                                    R"(","difficulty":872})");
    EXPECT_EQ(counters_.accepted.load(), 1u);
    EXPECT_EQ(counters_.solutions.load(), 0u);
}

// "true" only once the store has the share: the answer waits for its acknowledgement.
TEST_F(ShareIntakeTest, AnswerWaitsForTheStore) {
    store_.answer_at_once(std::nullopt);
    send(submit(kNonce, 872));
    verifier_.answer(Verdict::accepted);
    EXPECT_TRUE(answers_.got.empty());
    EXPECT_EQ(counters_.accepted.load(), 0u);
    ASSERT_EQ(store_.waiting(), 1u);
    store_.acknowledge(pool::StoreResult::stored);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_FALSE(answers_.got[0].has_value());
    EXPECT_EQ(counters_.accepted.load(), 1u);
}

TEST_F(ShareIntakeTest, StoreThatFailsIsNotStored) {
    store_.answer_at_once(std::nullopt);
    send(submit(kNonce, 872));
    verifier_.answer(Verdict::accepted);
    store_.acknowledge(pool::StoreResult::not_stored);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kShareNotStored));
    EXPECT_EQ(counters_.accepted.load(), 0u);
    EXPECT_EQ(rejected(counters_, errors::kShareNotStored), 1u);
    EXPECT_EQ(intake_.duplicates().size(), 0u);
    // A miner told "not stored" may resend: it is judged again, not called a duplicate.
    store_.answer_at_once(pool::StoreResult::stored);
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::verifying);
    verifier_.answer(Verdict::accepted);
    ASSERT_EQ(answers_.got.size(), 2u);
    EXPECT_FALSE(answers_.got[1].has_value());
    EXPECT_EQ(counters_.accepted.load(), 1u);
    EXPECT_EQ(rejected(counters_, errors::kDuplicateShare), 0u);
}

// Claimed pool-wide (another instance accepted it first): answered as a duplicate after
// verification, counted as one, and the nonce stays claimed here, so that a resend is
// refused at once, without a Keccak or a round trip.
TEST_F(ShareIntakeTest, ClaimedElsewhereIsADuplicateAndStaysClaimed) {
    store_.answer_at_once(pool::StoreResult::duplicate);
    send(submit(kNonce, 872));
    verifier_.answer(Verdict::accepted);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kDuplicateShare));
    EXPECT_EQ(counters_.accepted.load(), 0u);
    EXPECT_EQ(rejected(counters_, errors::kDuplicateShare), 1u);
    EXPECT_EQ(counters_.duplicates_pool_wide.load(), 1u);
    EXPECT_EQ(intake_.duplicates().size(), 1u);
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::refused);
    ASSERT_EQ(answers_.got.size(), 2u);
    EXPECT_TRUE(same(answers_.got[1], errors::kDuplicateShare));
    EXPECT_EQ(verifier_.waiting(), 0u);
    EXPECT_EQ(store_.pushed.size(), 1u);
    EXPECT_EQ(counters_.duplicates_pool_wide.load(), 1u);
}

// The claim's name is canonical: a nonce and challenge sent in upper case are the same share.
TEST_F(ShareIntakeTest, TheClaimKeyIsLowerCaseHex) {
    EXPECT_EQ(ShareIntake::share_key(bytes32("0xABCDEF0000000000000000000000000000000000000000000000000000000001"),
                                     bytes32("0x00000000000000000000000000000000000000000000000000000000000000FF")),
              "sharegate:pushed:0xabcdef0000000000000000000000000000000000000000000000000000000001:"
              "0x00000000000000000000000000000000000000000000000000000000000000ff");
}

// While the store is still being asked the nonce stays claimed: a concurrent resend is a
// duplicate, whatever the store then answers.
TEST_F(ShareIntakeTest, ResentWhileStoringIsDuplicate) {
    store_.answer_at_once(std::nullopt);
    send(submit(kNonce, 872));
    verifier_.answer(Verdict::accepted);
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::refused);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kDuplicateShare));
    store_.acknowledge(pool::StoreResult::stored);
    EXPECT_EQ(intake_.duplicates().size(), 1u);
}

TEST_F(ShareIntakeTest, AcceptedThenResentIsDuplicate) {
    verifier_.answer_at_once(Verdict::accepted);
    send(submit(kNonce, 872));
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::refused);
    ASSERT_EQ(answers_.got.size(), 2u);
    EXPECT_FALSE(answers_.got[0].has_value());
    EXPECT_TRUE(same(answers_.got[1], errors::kDuplicateShare));
    EXPECT_EQ(store_.pushed.size(), 1u);
    EXPECT_EQ(rejected(counters_, errors::kDuplicateShare), 1u);
    EXPECT_EQ(intake_.duplicates().size(), 1u);  // the credited share is all it holds
}

// Sent twice before either copy was judged: both are verified (a nonce is claimed only
// once proved), the first verdict claims it and is stored, the second finds the claim.
TEST_F(ShareIntakeTest, ResentWhileVerifyingIsADuplicateOnceJudged) {
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::verifying);
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::verifying);
    EXPECT_EQ(verifier_.waiting(), 2u);
    EXPECT_EQ(intake_.duplicates().size(), 0u);  // nothing proved yet, nothing claimed
    verifier_.answer(Verdict::accepted);
    verifier_.answer(Verdict::accepted);
    ASSERT_EQ(answers_.got.size(), 2u);
    EXPECT_FALSE(answers_.got[0].has_value());
    EXPECT_TRUE(same(answers_.got[1], errors::kDuplicateShare));
    EXPECT_EQ(store_.pushed.size(), 1u);
    EXPECT_EQ(counters_.accepted.load(), 1u);
    EXPECT_EQ(rejected(counters_, errors::kDuplicateShare), 1u);
    EXPECT_EQ(intake_.duplicates().size(), 1u);
}

// A refused share claims nothing at any point: the filter is not written for it.
TEST_F(ShareIntakeTest, ARefusedShareNeverClaims) {
    send(submit(kNonce, 872));
    EXPECT_EQ(intake_.duplicates().size(), 0u);
    verifier_.answer(Verdict::invalid_digest);
    EXPECT_EQ(intake_.duplicates().size(), 0u);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kInvalidDigest));
}

TEST_F(ShareIntakeTest, InvalidDigestIsForgottenAndJudgedAgain) {
    verifier_.answer_at_once(Verdict::invalid_digest);
    send(submit(kNonce, 872));
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kInvalidDigest));
    EXPECT_EQ(intake_.duplicates().size(), 0u);
    EXPECT_TRUE(store_.pushed.empty());

    verifier_.answer_at_once(Verdict::accepted);
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::verifying);
    ASSERT_EQ(answers_.got.size(), 2u);
    EXPECT_FALSE(answers_.got[1].has_value());
    EXPECT_EQ(rejected(counters_, errors::kInvalidDigest), 1u);
    EXPECT_EQ(counters_.accepted.load(), 1u);
}

// A right digest above the share's target is refused and forgotten: holding it would let
// a flood of them (one Keccak each for the sender) grow the server without end.
TEST_F(ShareIntakeTest, TargetNotMetIsForgottenAndJudgedAgain) {
    verifier_.answer_at_once(Verdict::target_not_met);
    send(submit(kNonce, 872));
    EXPECT_EQ(intake_.duplicates().size(), 0u);
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::verifying);
    ASSERT_EQ(answers_.got.size(), 2u);
    EXPECT_TRUE(same(answers_.got[0], errors::kTargetNotMet));
    EXPECT_TRUE(same(answers_.got[1], errors::kTargetNotMet));
    EXPECT_TRUE(store_.pushed.empty());
    EXPECT_EQ(rejected(counters_, errors::kTargetNotMet), 2u);
    EXPECT_EQ(rejected(counters_, errors::kDuplicateShare), 0u);
    EXPECT_EQ(intake_.duplicates().size(), 0u);
}

// The verifier failed, or the queue had stopped: "not stored", and a resend is judged again.
TEST_F(ShareIntakeTest, NotVerifiedIsNotStoredAndForgotten) {
    send(submit(kNonce, 872));
    verifier_.answer(std::nullopt);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_TRUE(same(answers_.got[0], errors::kShareNotStored));
    EXPECT_TRUE(store_.pushed.empty());
    EXPECT_EQ(intake_.duplicates().size(), 0u);
    EXPECT_EQ(rejected(counters_, errors::kShareNotStored), 1u);

    // A stopped queue answers inside add(): the answer comes before submit() returns.
    verifier_.answer_at_once(std::nullopt);
    EXPECT_EQ(send(submit(kNonce, 872)), ShareIntake::Taken::verifying);
    ASSERT_EQ(answers_.got.size(), 2u);
    EXPECT_TRUE(same(answers_.got[1], errors::kShareNotStored));
}

// ---- the bound ----

class BoundedIntakeTest : public ShareIntakeTest {
protected:
    static constexpr std::size_t kBound = 2;
    ShareIntake bounded_{state_, verifier_, store_, counters_, kMaxTargetBits, kBound};

    ShareIntake::Taken send_bounded(const char* nonce) {
        return bounded_.submit(submit(nonce, 872), pool::MinerContext{872, {}}, answers_.record());
    }
};

constexpr const char* kThirdNonce = "0x0000000000000000000000000000000000000000000000000000000000000043";

// Full: a new nonce is "Server busy" (counted, never verified), while what it holds stays
// claimed: the accepted shares are still duplicates.
TEST_F(BoundedIntakeTest, FullIsServerBusyAndKeepsWhatItHolds) {
    verifier_.answer_at_once(Verdict::accepted);
    EXPECT_EQ(send_bounded(kNonce), ShareIntake::Taken::verifying);       // accepted and stored
    EXPECT_EQ(send_bounded(kOtherNonce), ShareIntake::Taken::verifying);  // accepted and stored
    ASSERT_EQ(bounded_.duplicates().size(), kBound);

    verifier_.answer_later();
    EXPECT_EQ(send_bounded(kThirdNonce), ShareIntake::Taken::refused);
    EXPECT_EQ(send_bounded(kThirdNonce), ShareIntake::Taken::refused);
    EXPECT_EQ(send_bounded(kNonce), ShareIntake::Taken::refused);
    EXPECT_EQ(send_bounded(kOtherNonce), ShareIntake::Taken::refused);
    ASSERT_EQ(answers_.got.size(), 6u);
    EXPECT_FALSE(answers_.got[0].has_value());
    EXPECT_FALSE(answers_.got[1].has_value());
    EXPECT_TRUE(same(answers_.got[2], errors::kServerBusy));
    EXPECT_TRUE(same(answers_.got[3], errors::kServerBusy));
    EXPECT_TRUE(same(answers_.got[4], errors::kDuplicateShare));
    EXPECT_TRUE(same(answers_.got[5], errors::kDuplicateShare));
    EXPECT_EQ(rejected(counters_, errors::kServerBusy), 2u);
    EXPECT_EQ(rejected(counters_, errors::kDuplicateShare), 2u);
    EXPECT_EQ(verifier_.waiting(), 0u);
    EXPECT_EQ(bounded_.duplicates().size(), kBound);
}

// A share let through while there was room is still refused "Server busy" if the filter
// filled while it was verified: it cannot be claimed, so it is not stored.
TEST_F(BoundedIntakeTest, FilledWhileVerifyingIsServerBusy) {
    EXPECT_EQ(send_bounded(kThirdNonce), ShareIntake::Taken::verifying);  // waits
    verifier_.answer_at_once(Verdict::accepted);
    send_bounded(kNonce);
    send_bounded(kOtherNonce);
    ASSERT_EQ(bounded_.duplicates().size(), kBound);
    verifier_.answer(Verdict::accepted);
    ASSERT_EQ(answers_.got.size(), 3u);
    EXPECT_TRUE(same(answers_.got[2], errors::kServerBusy));
    EXPECT_EQ(store_.pushed.size(), 2u);
    EXPECT_EQ(bounded_.duplicates().size(), kBound);
}

// A new challenge empties the filter and lifts the refusal.
TEST_F(BoundedIntakeTest, NewChallengeEmptiesIt) {
    verifier_.answer_at_once(Verdict::accepted);
    send_bounded(kNonce);
    send_bounded(kOtherNonce);
    EXPECT_EQ(send_bounded(kThirdNonce), ShareIntake::Taken::refused);
    EXPECT_TRUE(same(answers_.got.back(), errors::kServerBusy));

    ASSERT_TRUE(state_.set_challenge(bytes32(kOtherChallenge)));
    bounded_.forget_duplicates();
    EXPECT_EQ(bounded_.duplicates().size(), 0u);
    EXPECT_EQ(
        bounded_.submit(submit(kThirdNonce, 872, kOtherChallenge), pool::MinerContext{872, {}}, answers_.record()),
        ShareIntake::Taken::verifying);
    EXPECT_FALSE(answers_.got.back().has_value());
    EXPECT_EQ(counters_.accepted.load(), 3u);
    EXPECT_EQ(rejected(counters_, errors::kServerBusy), 1u);
}

// An operator hears of a full filter once a challenge, not once a refused share.
TEST_F(BoundedIntakeTest, FullIsLoggedOncePerChallenge) {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    const auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("intake-test", sink));
    const auto busy_warnings = [&] {
        std::size_t n = 0;
        for (const std::string& line : sink->last_formatted()) {
            if (line.find("duplicate filter full") != std::string::npos && line.find("[warning]") != std::string::npos)
                ++n;
        }
        return n;
    };

    verifier_.answer_at_once(Verdict::accepted);
    send_bounded(kNonce);
    send_bounded(kOtherNonce);
    for (int i = 0; i < 5; ++i) send_bounded(kThirdNonce);
    const std::size_t first_challenge = busy_warnings();

    ASSERT_TRUE(state_.set_challenge(bytes32(kOtherChallenge)));
    bounded_.forget_duplicates();
    for (const char* nonce : {kNonce, kOtherNonce, kThirdNonce, kThirdNonce})
        bounded_.submit(submit(nonce, 872, kOtherChallenge), pool::MinerContext{872, {}}, answers_.record());
    const std::size_t both_challenges = busy_warnings();
    spdlog::set_default_logger(previous);

    EXPECT_EQ(first_challenge, 1u);
    EXPECT_EQ(both_challenges, 2u);
    EXPECT_EQ(rejected(counters_, errors::kServerBusy), 7u);
}

// ---- challenges ----

TEST_F(ShareIntakeTest, SameNonceUnderANewChallengeIsFresh) {
    verifier_.answer_at_once(Verdict::accepted);
    send(submit(kNonce, 872));
    EXPECT_FALSE(state_.set_challenge(bytes32(kChallenge)));  // a repeat changes nothing
    ASSERT_TRUE(state_.set_challenge(bytes32(kOtherChallenge)));
    intake_.forget_duplicates();
    EXPECT_EQ(send(submit(kNonce, 872, kOtherChallenge)), ShareIntake::Taken::verifying);
    ASSERT_EQ(answers_.got.size(), 2u);
    EXPECT_FALSE(answers_.got[1].has_value());
}

// Today's behaviour: a share current when it came in is judged against its own challenge
// and stored although the challenge changed while it was verified; the back-end decides.
TEST_F(ShareIntakeTest, ChallengeChangeWhileVerifyingStillStores) {
    send(submit(kNonce, 872));
    ASSERT_TRUE(state_.set_challenge(bytes32(kOtherChallenge)));
    intake_.forget_duplicates();
    state_.set_block(kBlock + 1);
    verifier_.answer(Verdict::accepted);
    ASSERT_EQ(answers_.got.size(), 1u);
    EXPECT_FALSE(answers_.got[0].has_value());
    ASSERT_EQ(store_.pushed.size(), 1u);
    // Its own challenge, and the block as the verdict came.
    EXPECT_NE(store_.pushed[0].find(std::string(R"("challengeNumber":")") + kChallenge), std::string::npos);
    EXPECT_EQ(store_.pushed[0].rfind(R"({"block":5600001,)", 0), 0u) << store_.pushed[0];
    // A stale resend of it is now refused as stale.
    send(submit(kNonce, 872));
    EXPECT_TRUE(same(answers_.got[1], errors::kWrongChallenge));
}

// ---- counters ----

TEST_F(ShareIntakeTest, FullSolutionIsCounted) {
    verifier_.answer_at_once(Verdict::accepted);
    state_.set_mining_target(U256::from_be_bytes(bytes32(kDigest)));  // not strictly below: no solution
    send(submit(kNonce, 872));
    EXPECT_EQ(counters_.solutions.load(), 0u);
    U256 above = U256::from_be_bytes(bytes32(kDigest));
    above.limbs[0] += 1;
    state_.set_mining_target(above);
    send(submit(kOtherNonce, 872));
    EXPECT_EQ(counters_.solutions.load(), 1u);
    EXPECT_EQ(counters_.accepted.load(), 2u);
}

TEST_F(ShareIntakeTest, EachOutcomeCountedOnce) {
    verifier_.answer_at_once(Verdict::accepted);
    send(submit(kNonce, 872));                        // accepted
    send(submit(kNonce, 872));                        // duplicate
    send(submit(kOtherNonce, 1));                     // low
    send(submit(kOtherNonce, 872, kOtherChallenge));  // stale
    verifier_.answer_at_once(Verdict::target_not_met);
    send(submit(kOtherNonce, 872));  // target
    ASSERT_EQ(answers_.got.size(), 5u);
    EXPECT_EQ(counters_.accepted.load(), 1u);
    EXPECT_EQ(rejected(counters_, errors::kDuplicateShare), 1u);
    EXPECT_EQ(rejected(counters_, errors::kLowDifficulty), 1u);
    EXPECT_EQ(rejected(counters_, errors::kWrongChallenge), 1u);
    EXPECT_EQ(rejected(counters_, errors::kTargetNotMet), 1u);
    std::uint64_t total = counters_.accepted.load();
    for (const auto& count : counters_.rejected) total += count.load();
    EXPECT_EQ(total, 5u);
}

}  // namespace
