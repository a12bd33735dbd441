// FarmStats (frontend/proxy/farm_stats.hpp): counting per rig and reason, the bound on
// rigs tracked, the pool errors' labels, the summary line and the metric text.
#include "proxy/farm_stats.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "metrics/exposition.hpp"
#include "protocol/stratum.hpp"

namespace sharegate::proxy {
namespace {

const RigCounts* find_rig(const FarmSnapshot& snapshot, const std::string& rig) {
    for (const auto& [name, counts] : snapshot.rigs) {
        if (name == rig) return &counts;
    }
    return nullptr;
}

TEST(FarmStats, CountsPerRigAndReason) {
    FarmStats farm;
    farm.submitted("10.0.0.1");
    farm.accepted("10.0.0.1");
    farm.submitted("10.0.0.1");
    farm.rejected("10.0.0.1", RejectReason::stale);
    farm.submitted("10.0.0.2");
    farm.rejected("10.0.0.2", RejectReason::duplicate);
    farm.submitted("10.0.0.2");
    farm.rejected("10.0.0.2", RejectReason::duplicate);

    const FarmSnapshot snapshot = farm.snapshot();
    ASSERT_EQ(snapshot.rigs.size(), 2u);
    const RigCounts* one = find_rig(snapshot, "10.0.0.1");
    const RigCounts* two = find_rig(snapshot, "10.0.0.2");
    ASSERT_NE(one, nullptr);
    ASSERT_NE(two, nullptr);
    EXPECT_EQ(one->submitted, 2u);
    EXPECT_EQ(one->accepted, 1u);
    EXPECT_EQ(one->rejected_by(RejectReason::stale), 1u);
    EXPECT_EQ(one->rejected_total(), 1u);
    EXPECT_EQ(two->submitted, 2u);
    EXPECT_EQ(two->accepted, 0u);
    EXPECT_EQ(two->rejected_by(RejectReason::duplicate), 2u);
    EXPECT_EQ(snapshot.total.submitted, 4u);
    EXPECT_EQ(snapshot.total.accepted, 1u);
    EXPECT_EQ(snapshot.total.rejected_total(), 3u);
}

TEST(FarmStats, BusiestRigFirst) {
    FarmStats farm;
    farm.submitted("a");
    for (int i = 0; i < 3; ++i) farm.submitted("b");
    farm.submitted("c");
    farm.submitted("c");
    const FarmSnapshot snapshot = farm.snapshot();
    ASSERT_EQ(snapshot.rigs.size(), 3u);
    EXPECT_EQ(snapshot.rigs[0].first, "b");
    EXPECT_EQ(snapshot.rigs[1].first, "c");
    EXPECT_EQ(snapshot.rigs[2].first, "a");
}

TEST(FarmStats, RigsPastTheBoundAreCountedAsOther) {
    FarmStats farm(3);
    for (int i = 0; i < 10; ++i) {
        const std::string rig = "10.0.0." + std::to_string(i);
        farm.submitted(rig);
        farm.rejected(rig, RejectReason::no_work);
    }
    // A rig already tracked keeps its own line.
    farm.submitted("10.0.0.0");

    const FarmSnapshot snapshot = farm.snapshot();
    ASSERT_EQ(snapshot.rigs.size(), 4u);  // three named, and "other"
    const RigCounts* other = find_rig(snapshot, "other");
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(other->submitted, 7u);
    EXPECT_EQ(other->rejected_by(RejectReason::no_work), 7u);
    const RigCounts* first = find_rig(snapshot, "10.0.0.0");
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->submitted, 2u);
    EXPECT_EQ(find_rig(snapshot, "10.0.0.5"), nullptr);
    EXPECT_EQ(snapshot.total.submitted, 11u);
}

TEST(FarmStats, PoolErrorsGetTheirLabels) {
    namespace errors = protocol::errors;
    auto reason = [](const protocol::StratumError& error) { return reason_for_pool_error(error.code, error.message); };
    EXPECT_EQ(reason(errors::kWrongChallenge), RejectReason::pool_stale);
    EXPECT_EQ(reason(errors::kDuplicateShare), RejectReason::duplicate);
    EXPECT_EQ(reason(errors::kLowDifficulty), RejectReason::low_difficulty);
    EXPECT_EQ(reason(errors::kTargetNotMet), RejectReason::target_not_met);
    EXPECT_EQ(reason(errors::kInvalidDigest), RejectReason::invalid_digest);
    EXPECT_EQ(reason(errors::kInvalidShareParameters), RejectReason::pool_bad_params);
    EXPECT_EQ(reason(errors::kInvalidAccount), RejectReason::invalid_account);
    EXPECT_EQ(reason(errors::kShareNotStored), RejectReason::not_stored);
    EXPECT_EQ(reason(errors::kServerBusy), RejectReason::pool_busy);
    EXPECT_EQ(reason(errors::kRateLimited), RejectReason::rate_limited);
    EXPECT_EQ(reason(errors::kNotSubscribed), RejectReason::not_subscribed);
    // Another pool's wording: by the code where the code says one thing.
    EXPECT_EQ(reason_for_pool_error(21, "Stale share"), RejectReason::pool_stale);
    EXPECT_EQ(reason_for_pool_error(22, "dup"), RejectReason::duplicate);
    EXPECT_EQ(reason_for_pool_error(23, "low"), RejectReason::low_difficulty);
    EXPECT_EQ(reason_for_pool_error(20, "Something else"), RejectReason::pool_other);
    EXPECT_EQ(reason_for_pool_error(0, ""), RejectReason::pool_other);
    EXPECT_EQ(reason_for_pool_error(-1, "Invalid digest"), RejectReason::pool_other);
    EXPECT_EQ(to_label(RejectReason::pool_other), "pool_other");
    EXPECT_EQ(to_label(RejectReason::not_forwarded), "not_forwarded");
}

TEST(FarmStats, EveryReasonHasADistinctLabel) {
    std::vector<std::string> labels;
    for (std::size_t i = 0; i < static_cast<std::size_t>(RejectReason::count); ++i) {
        const std::string label(to_label(static_cast<RejectReason>(i)));
        EXPECT_FALSE(label.empty());
        EXPECT_EQ(std::count(labels.begin(), labels.end(), label), 0) << label;
        labels.push_back(label);
    }
}

TEST(FarmStats, SummaryLine) {
    FarmStats farm;
    EXPECT_EQ(farm.summary(), "rigs 0 submitted 0 accepted 0 rejected 0");
    farm.submitted("10.0.0.1");
    farm.accepted("10.0.0.1");
    farm.submitted("10.0.0.2");
    farm.rejected("10.0.0.2", RejectReason::stale);
    farm.submitted("10.0.0.2");
    farm.rejected("10.0.0.2", RejectReason::not_forwarded);
    EXPECT_EQ(farm.summary(5),
              "rigs 2 submitted 3 accepted 1 rejected 2 (stale 1, not_forwarded 1) top: 10.0.0.2 2/0/2, "
              "10.0.0.1 1/1/0");
    EXPECT_EQ(farm.summary(1),
              "rigs 2 submitted 3 accepted 1 rejected 2 (stale 1, not_forwarded 1) top: 10.0.0.2 2/0/2");
    EXPECT_EQ(farm.summary(0), "rigs 2 submitted 3 accepted 1 rejected 2 (stale 1, not_forwarded 1)");
}

TEST(FarmStats, MetricText) {
    FarmStats farm;
    farm.submitted("10.0.0.1");
    farm.accepted("10.0.0.1");
    farm.submitted("10.0.0.1");
    farm.rejected("10.0.0.1", RejectReason::low_difficulty);
    farm.submitted("fe80::1");
    farm.rejected("fe80::1", RejectReason::stale);
    const std::string text = metrics::render(farm.families());
    EXPECT_NE(text.find("# TYPE sharegate_proxy_rig_submits_total counter"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_proxy_rigs 2"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_proxy_rig_submits_total{rig=\"10.0.0.1\"} 2"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_proxy_rig_accepted_total{rig=\"10.0.0.1\"} 1"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_proxy_rig_accepted_total{rig=\"fe80::1\"} 0"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_proxy_rig_rejected_total{rig=\"10.0.0.1\",reason=\"low_difficulty\"} 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("sharegate_proxy_rig_rejected_total{rig=\"fe80::1\",reason=\"stale\"} 1"), std::string::npos)
        << text;
    // Only the reasons a rig has.
    EXPECT_EQ(text.find("reason=\"duplicate\""), std::string::npos) << text;
}

TEST(FarmStats, CountsFromManyThreads) {
    FarmStats farm(8);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&farm, t] {
            for (int i = 0; i < 1000; ++i) {
                const std::string rig = "rig" + std::to_string((i + t) % 16);
                farm.submitted(rig);
                if (i % 2 == 0)
                    farm.accepted(rig);
                else
                    farm.rejected(rig, RejectReason::duplicate);
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    const FarmSnapshot snapshot = farm.snapshot();
    EXPECT_EQ(snapshot.total.submitted, 4000u);
    EXPECT_EQ(snapshot.total.accepted, 2000u);
    EXPECT_EQ(snapshot.total.rejected_by(RejectReason::duplicate), 2000u);
    EXPECT_EQ(snapshot.rigs.size(), 9u);  // eight named, and "other"
}

}  // namespace
}  // namespace sharegate::proxy
