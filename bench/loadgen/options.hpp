// Command-line options of sharegate-loadgen.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "workload.hpp"

namespace sharegate::loadgen {

struct Options {
    std::string host = "127.0.0.1";
    std::string port = "9192";
    int connections = 64;
    std::array<double, kKinds> mix{0, 100, 0, 0, 0};
    double rate = 0;  // 0: closed loop
    int depth = 32;
    double duration_s = 10;
    bool duration_set = false;
    std::uint64_t count = 0;  // 0: run for duration_s
    unsigned threads = 1;
    std::string corpus;
    std::uint64_t corpus_difficulty = 1;
    bool cycle = false;
    std::string redis;
    bool seed_redis = false;
    bool honest = false;
    bool honest_mine = false;
    double honest_rate = 200;
    bool json = false;
    bool quiet = false;
    // Local addresses the connections bind to before connecting (empty: the kernel's
    // choice). On loopback 127.0.0.2, 127.0.0.3, ... are distinct peers to the server, so
    // a flooder and an honest miner can be told apart by its caps and bans.
    std::string source;
    std::string honest_source;  // the honest miner's; empty: the same as `source`
    // Mixed into every nonce: a server remembers nonces across runs, so a second run
    // with the same nonces would be answered "duplicate" instead of "invalid digest".
    std::uint64_t seed = 0;
    // Processes whose CPU time (user + system, all threads, from /proc/PID/stat) is read at
    // the start and the end of the measured window: the server's CPU seconds per answered
    // submit is steadier on a shared machine than any rate. 0: not measured.
    int server_pid = 0;
    int redis_pid = 0;
};

// On CLI11 (cli/command_line.hpp), with --config FILE. Throws UsageError with the one-line
// reason on a bad option; --help and --version print their text and exit 0.
Options parse_args(int argc, char** argv);

// "HOST:PORT" split in two; a UsageError naming `option` when it is not that.
std::pair<std::string, std::string> split_host_port(const std::string& option, const std::string& s);

}  // namespace sharegate::loadgen
