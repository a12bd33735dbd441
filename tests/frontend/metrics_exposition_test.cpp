// The family builders and the text exposition (frontend/metrics/exposition.hpp): the exact
// text of a small set of families, the escaping of label values and HELP text, several
// series in one family, and a histogram's buckets.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "metrics/exposition.hpp"

namespace sharegate_test {
namespace {

namespace metrics = sharegate::metrics;
using metrics::FamilyBuilder;

TEST(Exposition, ExactTextOfASmallSet) {
    metrics::Histogram latency({0.5, 1, 2.5});
    for (double value : {0.25, 0.5, 1.0, 3.0}) latency.observe(value);

    auto submits = FamilyBuilder::counter("sharegate_submits_total", "Submits answered.");
    submits.add({{"door", "stratum"}, {"verdict", "accepted"}}, 12);
    submits.add({{"door", "getwork"}, {"verdict", "rejected"}}, 3);
    EXPECT_FALSE(submits.empty());

    std::vector<prometheus::MetricFamily> families;
    families.push_back(std::move(submits).build());
    families.push_back(metrics::gauge("sharegate_ready", "1 when ready.", 1));
    families.push_back(metrics::gauge("sharegate_spool_oldest_age_seconds", "Age.", 0.125));
    families.push_back(metrics::counter("sharegate_subscribes_total", "Subscribes.", 1234567890123.0));
    families.push_back(
        metrics::histogram("sharegate_reply_seconds", "Reply time.", latency.snapshot(), {{"door", "stratum"}}));

    EXPECT_EQ(metrics::render(families),
              "# HELP sharegate_submits_total Submits answered.\n"
              "# TYPE sharegate_submits_total counter\n"
              "sharegate_submits_total{door=\"stratum\",verdict=\"accepted\"} 12\n"
              "sharegate_submits_total{door=\"getwork\",verdict=\"rejected\"} 3\n"
              "# HELP sharegate_ready 1 when ready.\n"
              "# TYPE sharegate_ready gauge\n"
              "sharegate_ready 1\n"
              "# HELP sharegate_spool_oldest_age_seconds Age.\n"
              "# TYPE sharegate_spool_oldest_age_seconds gauge\n"
              "sharegate_spool_oldest_age_seconds 0.125\n"
              "# HELP sharegate_subscribes_total Subscribes.\n"
              "# TYPE sharegate_subscribes_total counter\n"
              "sharegate_subscribes_total 1234567890123\n"
              "# HELP sharegate_reply_seconds Reply time.\n"
              "# TYPE sharegate_reply_seconds histogram\n"
              "sharegate_reply_seconds_count{door=\"stratum\"} 4\n"
              "sharegate_reply_seconds_sum{door=\"stratum\"} 4.75\n"
              "sharegate_reply_seconds_bucket{door=\"stratum\",le=\"0.5\"} 2\n"
              "sharegate_reply_seconds_bucket{door=\"stratum\",le=\"1\"} 3\n"
              "sharegate_reply_seconds_bucket{door=\"stratum\",le=\"2.5\"} 3\n"
              "sharegate_reply_seconds_bucket{door=\"stratum\",le=\"+Inf\"} 4\n");
}

TEST(Exposition, LabelValuesAreEscaped) {
    const std::string text = metrics::render({metrics::gauge("x_info", "X.", 1, {{"version", "a\\b\"c\nd"}})});
    EXPECT_NE(text.find("x_info{version=\"a\\\\b\\\"c\\nd\"} 1\n"), std::string::npos) << text;
}

TEST(Exposition, HelpTextIsEscaped) {
    // prometheus-cpp 1.0.1 writes HELP as it is; render() escapes it.
    const std::string text = metrics::render({metrics::gauge("x", "a \\ b\nc", 1)});
    EXPECT_EQ(text, "# HELP x a \\\\ b\\nc\n# TYPE x gauge\nx 1\n");
}

TEST(Exposition, AFamilyWithoutSeriesStillHasItsHeader) {
    auto bans = FamilyBuilder::counter("sharegate_bans_total", "Bans.");
    EXPECT_TRUE(bans.empty());
    EXPECT_EQ(metrics::render({std::move(bans).build()}),
              "# HELP sharegate_bans_total Bans.\n# TYPE sharegate_bans_total counter\n");
}

TEST(Exposition, HistogramFamilyOfSeveralSeries) {
    metrics::Histogram cpu({1});
    metrics::Histogram cuda({1});
    cpu.observe(1);
    cuda.observe(2);
    auto family = FamilyBuilder::histogram("sharegate_batch_shares", "Shares a batch.");
    family.add({{"backend", "cpu"}}, cpu.snapshot()).add({{"backend", "cuda"}}, cuda.snapshot());
    const std::string text = metrics::render({std::move(family).build()});
    EXPECT_NE(text.find("sharegate_batch_shares_bucket{backend=\"cpu\",le=\"1\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_batch_shares_bucket{backend=\"cuda\",le=\"1\"} 0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_batch_shares_bucket{backend=\"cuda\",le=\"+Inf\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_batch_shares_sum{backend=\"cuda\"} 2\n"), std::string::npos) << text;
}

TEST(Exposition, NothingRendersAsNothing) { EXPECT_EQ(metrics::render({}), ""); }

}  // namespace
}  // namespace sharegate_test
