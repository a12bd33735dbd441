// The process's own figures under the names every Prometheus client library uses
// (process_cpu_seconds_total, process_resident_memory_bytes, ...), read from /proc at each
// scrape. Linux only. A /proc file that is missing or unreadable, or whose text does not
// parse, leaves its metrics out of the answer; it never fails the scrape.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace sharegate::metrics {

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds: those that could be read.
std::vector<prometheus::MetricFamily> process_metrics();
// The same from another /proc (for tests: a directory with `self/stat`, `self/statm`,
// `self/fd/` and `stat`, any of them missing). process_max_fds always comes from getrlimit.
std::vector<prometheus::MetricFamily> process_metrics(const std::filesystem::path& proc_root);

// The parsers, exposed for their tests.
struct SelfStat {
    std::uint64_t utime_ticks = 0;  // field 14
    std::uint64_t stime_ticks = 0;  // field 15
    std::uint64_t start_ticks = 0;  // field 22: clock ticks after boot
    std::uint64_t vsize_bytes = 0;  // field 23
};
// /proc/[pid]/stat; nullopt unless it has the fields above. The command name (field 2)
// may hold spaces and parentheses: the fields are counted after its last ')'.
std::optional<SelfStat> parse_self_stat(std::string_view text);
// The "btime" line of /proc/stat: the boot time, in seconds since the epoch.
std::optional<std::uint64_t> parse_boot_time(std::string_view text);
// The second field of /proc/[pid]/statm: resident pages.
std::optional<std::uint64_t> parse_statm_resident_pages(std::string_view text);

}  // namespace sharegate::metrics
