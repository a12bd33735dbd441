// CPU time of a process, for "CPU seconds per answered submit": on a shared machine that
// ratio is steadier than any rate, because it does not depend on how much of the machine
// the process was given.
#pragma once

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace sharegate::loadgen {

// User + system time of every thread of process `pid` so far, in seconds, from
// /proc/PID/stat (fields 14 and 15, in clock ticks); -1 when it cannot be read (the
// process is gone, or this is not Linux).
inline double process_cpu_seconds(int pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return -1;
    char buf[1024];
    std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    std::string line(buf, n);
    auto close = line.rfind(')');
    if (close == std::string::npos) return -1;
    unsigned long long utime = 0, stime = 0;
    // After ")": field 3 (state) ... field 13, then utime (14) and stime (15).
    if (std::sscanf(line.c_str() + close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                    &stime) != 2)
        return -1;
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
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
