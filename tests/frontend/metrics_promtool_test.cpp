// The exposition checked by promtool ("promtool check metrics", the Prometheus project's
// own parser and linter; Debian package prometheus): a realistic /metrics text, every
// metric type with labels, histograms and the process metrics, must pass without a
// complaint. A negative control proves that promtool, run this way, does complain: a
// counter without the _total suffix (promtool 2.42: exit status 3 and a lint line), and
// text that does not parse (exit status 1).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/exposition.hpp"
#include "metrics/process_metrics.hpp"

namespace sharegate_test {
namespace {

namespace metrics = sharegate::metrics;
namespace fs = std::filesystem;
using metrics::FamilyBuilder;

// promtool on PATH, or nothing.
std::optional<fs::path> find_promtool() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        const fs::path candidate = fs::path(dir) / "promtool";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

struct PromtoolResult {
    int exit_status = -1;
    std::string output;  // stdout and stderr together
};

// `promtool check metrics` with `text` on its standard input.
PromtoolResult check_metrics(const std::string& text) {
    const auto promtool = find_promtool();
    if (!promtool) {
        ADD_FAILURE() << "promtool is not on PATH: install the Debian package \"prometheus\" (scripts/install-deps.sh "
                         "does); these tests check the /metrics text with it";
        return {};
    }
    const fs::path input =
        fs::temp_directory_path() / ("sharegate-promtool-" + std::to_string(::getpid()) + "-" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::ofstream(input, std::ios::binary) << text;
    // Appended piece by piece: GCC 12 at -O2 reports `"literal" + std::string&&` as an
    // overlapping memcpy (-Wrestrict, a false positive) and the Release build is -Werror.
    std::string command = "'";
    command += promtool->string();
    command += "' check metrics < '";
    command += input.string();
    command += "' 2>&1";
    PromtoolResult result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        ADD_FAILURE() << "cannot run " << command;
        fs::remove(input);
        return result;
    }
    char chunk[4096];
    std::size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) result.output.append(chunk, n);
    const int status = ::pclose(pipe);
    fs::remove(input);
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

metrics::HistogramSnapshot filled(std::vector<double> bounds, std::vector<double> observations) {
    metrics::Histogram histogram(std::move(bounds));
    for (double value : observations) histogram.observe(value);
    return histogram.snapshot();
}

// A /metrics page like the server's: the names of docs/metrics (issue 15), every type.
std::vector<prometheus::MetricFamily> realistic_families() {
    std::vector<prometheus::MetricFamily> families;
    families.push_back(metrics::gauge("sharegate_build_info", "The version and the verifier in use (always 1).", 1,
                                      {{"version", "0.1.0"}, {"verifier", "cpu-avx2"}}));
    families.push_back(metrics::gauge("sharegate_ready", "1 when /readyz answers 200.", 1));

    auto open = FamilyBuilder::gauge("sharegate_connections_open", "Connections open now.");
    open.add({{"door", "stratum"}}, 1200).add({{"door", "getwork"}}, 3);
    families.push_back(std::move(open).build());

    auto refused = FamilyBuilder::counter("sharegate_connections_refused_total", "Connections closed at accept.");
    for (const char* reason : {"address_cap", "total_cap", "banned", "proxy"}) refused.add({{"reason", reason}}, 2);
    families.push_back(std::move(refused).build());

    auto submits = FamilyBuilder::counter("sharegate_submits_total", "Submits answered.");
    submits.add({{"door", "stratum"}, {"verdict", "accepted"}, {"reason", "none"}, {"code", "0"}}, 123456);
    submits.add({{"door", "stratum"}, {"verdict", "rejected"}, {"reason", "low_diff"}, {"code", "23"}}, 17);
    submits.add({{"door", "getwork"}, {"verdict", "rejected"}, {"reason", "duplicate"}, {"code", "22"}}, 1);
    families.push_back(std::move(submits).build());

    families.push_back(
        metrics::counter("sharegate_solutions_total", "Accepted shares that meet the network target.", 0));

    auto batch = FamilyBuilder::histogram("sharegate_batch_shares", "Shares per verified batch.");
    batch.add({{"backend", "cpu-avx2"}}, filled(metrics::batch_size_bounds(), {1, 3, 64, 65536, 100000}));
    families.push_back(std::move(batch).build());

    families.push_back(metrics::histogram("sharegate_verify_seconds", "Time of one Verifier::verify call.",
                                          filled(metrics::latency_bounds(), {0.0002, 0.003, 0.04, 12}),
                                          {{"backend", "cpu-avx2"}}));
    // No label, nothing observed yet.
    families.push_back(metrics::histogram("sharegate_redis_push_seconds", "From push to acknowledgement.",
                                          metrics::Histogram(metrics::latency_bounds()).snapshot()));
    families.push_back(metrics::gauge("sharegate_spool_oldest_age_seconds", "Age of the oldest spooled share.", 0.5));
    // A family without series, as when no ban was ever issued.
    families.push_back(FamilyBuilder::counter("sharegate_bans_total", "Bans issued and learnt.").build());
    // A label value with every character that needs escaping.
    families.push_back(metrics::counter("sharegate_getwork_http_refused_total", "Refused HTTP requests.", 4,
                                        {{"reason", "odd \\ \" \n value"}}));
    for (auto& family : metrics::process_metrics()) families.push_back(std::move(family));
    return families;
}

TEST(Promtool, RealisticPagePasses) {
    const std::string text = metrics::render(realistic_families());
    const auto result = check_metrics(text);
    EXPECT_EQ(result.exit_status, 0) << result.output << "\n--- the text:\n" << text;
    EXPECT_EQ(result.output, "") << "--- the text:\n" << text;
}

TEST(Promtool, NegativeControlACounterWithoutTotalIsFlagged) {
    // Written by hand: the builders assert against such a name in debug builds.
    const auto result = check_metrics(
        "# HELP sharegate_subscribes Subscribes.\n"
        "# TYPE sharegate_subscribes counter\n"
        "sharegate_subscribes 3\n");
    EXPECT_EQ(result.exit_status, 3) << result.output;  // promtool 2.42: lint problems
    EXPECT_NE(result.output.find("should have \"_total\" suffix"), std::string::npos) << result.output;
}

TEST(Promtool, NegativeControlUnparseableTextFails) {
    const auto result = check_metrics("sharegate_ready{ 1\n");
    EXPECT_NE(result.exit_status, 0) << result.output;
    EXPECT_NE(result.output.find("error"), std::string::npos) << result.output;
}

TEST(Promtool, UnescapedHelpWouldFail) {
    // Why render() escapes HELP: the raw text, as prometheus-cpp would write it, fails.
    const auto raw = check_metrics("# HELP x a \\ b\n# TYPE x gauge\nx 1\n");
    EXPECT_NE(raw.exit_status, 0) << raw.output;
    const auto escaped = check_metrics(metrics::render({metrics::gauge("x", "a \\ b\nc", 1)}));
    EXPECT_EQ(escaped.exit_status, 0) << escaped.output;
    EXPECT_EQ(escaped.output, "");
}

}  // namespace
}  // namespace sharegate_test
