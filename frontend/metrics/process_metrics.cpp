#include "metrics/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include "metrics/exposition.hpp"

namespace sharegate::metrics {

namespace {

std::optional<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return std::nullopt;
    return text;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The next whitespace-separated field of `text` from `pos`, or empty at the end.
std::string_view next_field(std::string_view text, std::size_t& pos) {
    while (pos < text.size() && is_space(text[pos])) ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && !is_space(text[pos])) ++pos;
    return text.substr(start, pos - start);
}

std::optional<std::uint64_t> to_u64(std::string_view field) {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (error != std::errc() || end != field.data() + field.size() || field.empty()) return std::nullopt;
    return value;
}

// Entries of the fd directory, less "." and "..". (The directory's own descriptor, open
// while it is read, is among them, as in every Prometheus client.)
std::optional<std::uint64_t> count_entries(const std::filesystem::path& directory) {
    std::error_code error;
    std::filesystem::directory_iterator it(directory, error);
    if (error) return std::nullopt;
    std::uint64_t count = 0;
    for (const std::filesystem::directory_iterator end; it != end; it.increment(error)) {
        if (error) return std::nullopt;
        ++count;
    }
    if (error) return std::nullopt;
    return count;
}

}  // namespace

std::optional<SelfStat> parse_self_stat(std::string_view text) {
    const std::size_t close = text.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    // Fields from 3 (the state) on; field N is at index N - 3.
    std::size_t pos = close + 1;
    std::optional<std::uint64_t> utime, stime, start, vsize;
    for (int field = 3; field <= 23; ++field) {
        const std::string_view value = next_field(text, pos);
        if (value.empty()) return std::nullopt;
        if (field == 14) utime = to_u64(value);
        if (field == 15) stime = to_u64(value);
        if (field == 22) start = to_u64(value);
        if (field == 23) vsize = to_u64(value);
    }
    if (!utime || !stime || !start || !vsize) return std::nullopt;
    return SelfStat{*utime, *stime, *start, *vsize};
}

std::optional<std::uint64_t> parse_boot_time(std::string_view text) {
    std::size_t line_start = 0;
    while (line_start < text.size()) {
        std::size_t line_end = text.find('\n', line_start);
        if (line_end == std::string_view::npos) line_end = text.size();
        const std::string_view line = text.substr(line_start, line_end - line_start);
        std::size_t pos = 0;
        if (next_field(line, pos) == "btime") {
            const auto value = to_u64(next_field(line, pos));
            if (value && *value > 0 && next_field(line, pos).empty()) return value;
            return std::nullopt;
        }
        line_start = line_end + 1;
    }
    return std::nullopt;
}

std::optional<std::uint64_t> parse_statm_resident_pages(std::string_view text) {
    std::size_t pos = 0;
    if (!to_u64(next_field(text, pos))) return std::nullopt;  // size
    return to_u64(next_field(text, pos));                     // resident
}

std::vector<prometheus::MetricFamily> process_metrics() { return process_metrics("/proc"); }

std::vector<prometheus::MetricFamily> process_metrics(const std::filesystem::path& proc_root) {
    std::vector<prometheus::MetricFamily> out;
    const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    const long page_size = ::sysconf(_SC_PAGESIZE);

    std::optional<SelfStat> stat;
    if (auto text = read_file(proc_root / "self" / "stat")) stat = parse_self_stat(*text);
    if (stat && ticks_per_second > 0) {
        out.push_back(counter(
            "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
            static_cast<double>(stat->utime_ticks + stat->stime_ticks) / static_cast<double>(ticks_per_second)));
    }
    if (auto text = read_file(proc_root / "self" / "statm"); text && page_size > 0) {
        if (auto pages = parse_statm_resident_pages(*text)) {
            out.push_back(gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                                static_cast<double>(*pages) * static_cast<double>(page_size)));
        }
    }
    if (stat) {
        out.push_back(gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                            static_cast<double>(stat->vsize_bytes)));
    }
    if (auto open = count_entries(proc_root / "self" / "fd")) {
        out.push_back(gauge("process_open_fds", "Number of open file descriptors.", static_cast<double>(*open)));
    }
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        // RLIM_INFINITY is written as the huge number it is, as the Go client does.
        out.push_back(
            gauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(limit.rlim_cur)));
    }
    if (stat && ticks_per_second > 0) {
        std::optional<std::uint64_t> boot;
        if (auto text = read_file(proc_root / "stat")) boot = parse_boot_time(*text);
        if (boot) {
            out.push_back(gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                                static_cast<double>(*boot) +
                                    static_cast<double>(stat->start_ticks) / static_cast<double>(ticks_per_second)));
        }
    }
    return out;
}

}  // namespace sharegate::metrics
