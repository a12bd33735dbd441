// The server's settings: command line, optional `name = value` config file (the command
// line wins), validated up front so that a bad value stops start-up with one clear line.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "redis/redis_store.hpp"
#include "sharegate/address.hpp"

namespace sharegate::server {

// auto: each connection gets the shape its miner generation wants (protocol.md section 2).
enum class ReplyStyleOption { automatic, legacy, jsonrpc2 };

struct Options {
    std::uint16_t port = 9192;
    std::string bind = "0.0.0.0";
    redis::Endpoint redis;
    Address pool;
    std::uint64_t min_share_difficulty = 1;
    unsigned max_target_bits = 234;
    std::string verifier = "auto";
    unsigned threads = 0;           // I/O threads; 0 = one per hardware thread
    unsigned verifier_threads = 0;  // 0 = the verifier's default
    int opencl_platform = -1;       // -1: the first GPU, else the first device
    int opencl_device = -1;
    std::size_t batch_size = 4096;
    std::chrono::microseconds batch_window{500};
    ReplyStyleOption reply_style = ReplyStyleOption::automatic;
    std::size_t max_line_bytes = 10240;
    std::string log_level = "info";
    unsigned stats_interval_s = 10;
    unsigned renotify_max_s = 60;   // work is sent again between half this and this
    unsigned idle_timeout_s = 600;  // a miner with no share for this long is dropped
};

struct ParseResult {
    enum class Action { run, exit_ok, error };
    Action action = Action::run;
    std::string message;  // usage/version text for exit_ok, the one-line reason for error
    Options options;
};

// On CLI11 (cli/command_line.hpp): --help and --version end in exit_ok with their text.
ParseResult parse_options(int argc, const char* const* argv);

}  // namespace sharegate::server
