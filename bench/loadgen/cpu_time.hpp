// CPU time of a process, for "CPU seconds per answered submit": on a shared machine that
// ratio is steadier than any rate, because it does not depend on how much of the machine
// the process was given.
#pragma once

#include <time.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "metrics/process_metrics.hpp"

namespace sharegate::loadgen {

// User + system time of every thread of process `pid` so far, in seconds, from
// /proc/PID/stat (parsed as the server's own process metrics parse it); -1 when it cannot
// be read (the process is gone, or this is not Linux).
inline double process_cpu_seconds(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto stat = metrics::parse_self_stat(text);
    if (!stat) return -1;
    return static_cast<double>(stat->utime_ticks + stat->stime_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// This process's CPU time so far (every thread), in seconds.
inline double own_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds spent over the measured window; -1 where not measured.
struct CpuWindow {
    double server_s = -1;
    double redis_s = -1;
    double loadgen_s = -1;
};

}  // namespace sharegate::loadgen
