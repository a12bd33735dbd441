// The server's settings: command line, optional `name = value` config file (the command
// line wins), validated up front so that a bad value stops start-up with one clear line.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pool/duplicate_filter.hpp"
#include "pool/load_shedding.hpp"
#include "redis/redis_store.hpp"
#include "server/admission.hpp"
#include "server/ban_book.hpp"
#include "server/log_format.hpp"
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
    // Where shares are verified (server/inline_verify_queue.hpp): on the I/O threads, a
    // session's submits of one read together, or gathered into batches on a thread of
    // their own. auto: the I/O threads for a CPU verifier, the batcher for a device.
    enum class VerifyOn { automatic, io, batcher };
    VerifyOn verify_on = VerifyOn::automatic;
    std::size_t batch_size = 4096;
    std::chrono::microseconds batch_window{500};
    ReplyStyleOption reply_style = ReplyStyleOption::automatic;
    std::size_t max_line_bytes = 10240;
    // Connection defenses (server/admission.hpp, docs/operations.md).
    std::size_t max_connections_per_address = 256;  // rigs behind one NAT share an address
    std::size_t max_connections = 0;                // 0: the file limit less a reserve (kReservedFds)
    std::vector<Cidr> allow;                        // exempt from the per-address cap
    unsigned subscribe_timeout_s = 10;              // a connection must subscribe within this
    std::vector<Cidr> proxies;                      // peers that must, and alone may, send a PROXY header
    // A connection's submit rate limit (server/token_bucket.hpp): refills at this many a
    // second up to the burst; 0: no limit. Allow-listed addresses are not limited.
    unsigned max_submits_per_s = 100;
    unsigned submit_burst = 200;
    // Bans (server/ban_book.hpp); its `allow` is filled from `allow` above.
    BanRules bans;
    // The verifier's queue: past it (and, for the worst records, before it) new shares are
    // "Server busy" (pool/load_shedding.hpp).
    std::size_t max_queued_shares = pool::kDefaultMaxQueuedShares;
    // The share spool (spool/spool.hpp, server/durable_share_store.hpp): where accepted
    // shares go when Redis does not take them within redis_bound; empty: no spool.
    std::string spool_dir = "/var/lib/sharegate/spool";
    std::uint64_t spool_max_bytes = std::uint64_t{1} << 30;
    bool spool_fsync = true;  // fdatasync each group before answering (false: leave it to the OS)
    std::chrono::milliseconds redis_bound{250};
    // The getwork door (HTTP JSON-RPC, docs/protocol.md section 3, server/getwork_door.hpp):
    // its own port (0: no getwork door), sharing the I/O threads and the share path.
    std::uint16_t getwork_port = 8586;
    std::size_t getwork_max_body_bytes = 64 * 1024;
    std::size_t getwork_max_batch = 100;      // calls in one batch array
    unsigned getwork_request_timeout_s = 10;  // a request must arrive whole within this
    unsigned getwork_idle_timeout_s = 120;    // a keep-alive connection idle this long is closed
    bool allow_custom_vardiff = false;        // allowingCustomVardiff's answer
    // The admin HTTP endpoint (server/admin_endpoint.hpp): /metrics, /healthz, /readyz.
    // Loopback by default: the metrics name miners' traffic, and nothing there is for them.
    bool admin_enabled = true;
    std::string admin_host = "127.0.0.1";
    std::uint16_t admin_port = 9193;
    std::string log_level = "info";
    LogFormat log_format = LogFormat::text;  // json: one object a line (server/log_format.hpp)
    unsigned stats_interval_s = 10;
    unsigned renotify_max_s = 60;   // work is sent again between half this and this
    unsigned idle_timeout_s = 600;  // a miner with no share for this long is dropped
    // The duplicate filter's bound: past it a new share is "Server busy" until the challenge
    // changes (pool/duplicate_filter.hpp says why the default never touches an honest pool).
    std::size_t max_shares_per_challenge = pool::kDefaultMaxSharesPerChallenge;
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
