// The process metrics (frontend/metrics/process_metrics.hpp): plausible values from this
// test's own /proc, the parsers on odd and broken text, and a fake /proc with files
// missing or garbled: those metrics are left out, nothing fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "metrics/process_metrics.hpp"

namespace sharegate_test {
namespace {

namespace metrics = sharegate::metrics;
namespace fs = std::filesystem;

// name -> the value of its one series (counter or gauge).
std::map<std::string, double> values(const std::vector<prometheus::MetricFamily>& families) {
    std::map<std::string, double> out;
    for (const auto& family : families) {
        EXPECT_EQ(family.metric.size(), 1u) << family.name;
        if (family.metric.empty()) continue;
        const auto& metric = family.metric.front();
        out[family.name] = family.type == prometheus::MetricType::Counter ? metric.counter.value : metric.gauge.value;
    }
    return out;
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(ProcessMetrics, PlausibleForThisProcess) {
    const auto found = values(metrics::process_metrics());
    ASSERT_EQ(found.size(), 6u);
    EXPECT_GE(found.at("process_cpu_seconds_total"), 0.0);
    EXPECT_GT(found.at("process_resident_memory_bytes"), 0.0);
    EXPECT_GE(found.at("process_virtual_memory_bytes"), found.at("process_resident_memory_bytes"));
    EXPECT_GE(found.at("process_open_fds"), 3.0);  // stdin, stdout, stderr at least
    EXPECT_GE(found.at("process_max_fds"), found.at("process_open_fds"));
    const double start = found.at("process_start_time_seconds");
    EXPECT_LE(start, now_seconds() + 5);  // (a tick's rounding, and clock steps)
    EXPECT_GE(start, now_seconds() - 24 * 3600);
}

TEST(ProcessMetrics, CpuTimeIsACounterTheRestGauges) {
    for (const auto& family : metrics::process_metrics()) {
        EXPECT_EQ(family.type, family.name == "process_cpu_seconds_total" ? prometheus::MetricType::Counter
                                                                          : prometheus::MetricType::Gauge)
            << family.name;
        EXPECT_FALSE(family.help.empty()) << family.name;
    }
}

TEST(ProcessMetrics, OpenFdsCountsANewDescriptor) {
    const double before = values(metrics::process_metrics()).at("process_open_fds");
    const int fd = ::dup(0);
    ASSERT_GE(fd, 0);
    const double after = values(metrics::process_metrics()).at("process_open_fds");
    ::close(fd);
    EXPECT_EQ(after, before + 1);
}

TEST(ProcessMetrics, ParseSelfStatWithAnAwkwardCommandName) {
    // The command name may hold spaces and parentheses: fields count after the last ')'.
    const std::string text =
        "1234 (a) b (c) S 1 1234 1234 0 -1 4194560 500 0 0 0 "
        "250 50 0 0 20 0 3 0 98765 123456789 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";
    const auto stat = metrics::parse_self_stat(text);
    ASSERT_TRUE(stat);
    EXPECT_EQ(stat->utime_ticks, 250u);
    EXPECT_EQ(stat->stime_ticks, 50u);
    EXPECT_EQ(stat->start_ticks, 98765u);
    EXPECT_EQ(stat->vsize_bytes, 123456789u);
}

TEST(ProcessMetrics, ParseSelfStatRefusesBrokenText) {
    EXPECT_FALSE(metrics::parse_self_stat(""));
    EXPECT_FALSE(metrics::parse_self_stat("1234 no parenthesis S 1 2 3"));
    EXPECT_FALSE(metrics::parse_self_stat("1234 (x) S 1 2 3"));  // too few fields
    EXPECT_FALSE(metrics::parse_self_stat(
        "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 50 0 0 20 0 3 0 98765 123456789 2000"));  // utime not a number
    EXPECT_FALSE(
        metrics::parse_self_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 50 0 0 20 0 3 0 98765 123456789 2000"));  // negative
}

TEST(ProcessMetrics, ParseBootTime) {
    EXPECT_EQ(metrics::parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000u);
    EXPECT_EQ(metrics::parse_boot_time("btime 1700000000"), 1700000000u);  // no final newline
    EXPECT_FALSE(metrics::parse_boot_time("cpu 1 2 3\n"));
    EXPECT_FALSE(metrics::parse_boot_time("btime\n"));
    EXPECT_FALSE(metrics::parse_boot_time("btime x\n"));
    EXPECT_FALSE(metrics::parse_boot_time("btime 0\n"));
    EXPECT_FALSE(metrics::parse_boot_time("btimes 1700000000\n"));
    EXPECT_FALSE(metrics::parse_boot_time(""));
}

TEST(ProcessMetrics, ParseStatm) {
    EXPECT_EQ(metrics::parse_statm_resident_pages("1000 250 30 5 0 100 0\n"), 250u);
    EXPECT_FALSE(metrics::parse_statm_resident_pages("1000\n"));
    EXPECT_FALSE(metrics::parse_statm_resident_pages("x 250\n"));
    EXPECT_FALSE(metrics::parse_statm_resident_pages(""));
}

// A fake /proc in a fresh temporary directory.
class FakeProc : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("sharegate-fake-proc-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_ / "self");
    }
    void TearDown() override { fs::remove_all(root_); }

    void write(const fs::path& relative, const std::string& text) {
        std::ofstream(root_ / relative, std::ios::binary) << text;
    }

    fs::path root_;
};

TEST_F(FakeProc, EverythingMissingLeavesOnlyTheRlimit) {
    const auto found = values(metrics::process_metrics(root_));
    EXPECT_EQ(found.size(), 1u);
    EXPECT_TRUE(found.count("process_max_fds"));
}

TEST_F(FakeProc, GarbledFilesAreLeftOut) {
    write("self/stat", "garbage");
    write("self/statm", "");
    write("stat", "btime 1700000000\n");
    fs::create_directories(root_ / "self" / "fd");
    for (const char* name : {"0", "1", "2", "7"}) write(fs::path("self/fd") / name, "");
    const auto found = values(metrics::process_metrics(root_));
    EXPECT_EQ(found.size(), 2u);
    EXPECT_EQ(found.at("process_open_fds"), 4.0);
    EXPECT_TRUE(found.count("process_max_fds"));
}

TEST_F(FakeProc, ValuesComeFromTheFiles) {
    const long ticks = ::sysconf(_SC_CLK_TCK);
    const long page = ::sysconf(_SC_PAGESIZE);
    ASSERT_GT(ticks, 0);
    ASSERT_GT(page, 0);
    // utime 3 s and stime 1 s in ticks; started 10 s after boot.
    write("self/stat", "42 (fake) S 1 42 42 0 -1 0 0 0 0 0 " + std::to_string(3 * ticks) + " " + std::to_string(ticks) +
                           " 0 0 20 0 1 0 " + std::to_string(10 * ticks) + " 8192000 100 18446744073709551615\n");
    write("self/statm", "2000 100 10 1 0 50 0\n");
    write("stat", "cpu 1 2 3\nbtime 1700000000\n");
    const auto found = values(metrics::process_metrics(root_));
    EXPECT_EQ(found.size(), 5u);  // no fd directory
    EXPECT_DOUBLE_EQ(found.at("process_cpu_seconds_total"), 4.0);
    EXPECT_DOUBLE_EQ(found.at("process_resident_memory_bytes"), 100.0 * static_cast<double>(page));
    EXPECT_DOUBLE_EQ(found.at("process_virtual_memory_bytes"), 8192000.0);
    EXPECT_DOUBLE_EQ(found.at("process_start_time_seconds"), 1700000010.0);
    EXPECT_FALSE(found.count("process_open_fds"));
}

TEST_F(FakeProc, StartTimeNeedsTheBootTime) {
    write("self/stat", "42 (fake) S 1 42 42 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 100 8192000 100\n");
    const auto found = values(metrics::process_metrics(root_));
    EXPECT_TRUE(found.count("process_cpu_seconds_total"));
    EXPECT_FALSE(found.count("process_start_time_seconds"));
}

}  // namespace
}  // namespace sharegate_test
