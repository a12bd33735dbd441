// Everything sharegate says to Redis (docs/protocol.md section 4), on threads of its
// own so that no I/O thread ever waits on Redis:
// - a command connection that pipelines: all queued commands are written, then all
//   replies read, so thousands of pushes a second cost a handful of round trips;
// - a subscriber connection for challengeNumber, ethBlockNumber, varDiff and the
//   pool-wide bans of sharegate:bans;
// - both reconnect with backoff when Redis goes away; queued commands wait and are
//   retried, so an accepted share is never dropped while Redis is down, nor a ban.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::redis {

struct Endpoint {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    int database = 0;
    // Parses "HOST:PORT" (or "HOST", port 6379); nullopt when malformed.
    static std::optional<Endpoint> parse(std::string_view text);
};

// What the token watcher last wrote; any field Redis does not hold (or holds in a form
// that does not parse) is empty.
struct PoolSnapshot {
    std::optional<Bytes32> challenge;        // GET challengeNumber: JSON string "0x…"
    std::optional<std::uint64_t> eth_block;  // GET ethBlockNumber: JSON number
    std::optional<U256> mining_target;       // GET miningTarget: JSON string of decimal digits
};

struct VarDiffUpdate {
    std::string miner;  // "0x" + lower case
    std::uint64_t var_diff = 0;
    std::optional<U256> target;  // the message's decimal target, when present and valid
};

// A pool-wide ban (docs/protocol.md section 4, "Bans"): the value of the key
// sharegate:ban:<address> and the message on sharegate:bans. until_unix_ms 0 (with
// offence 0) is no ban but its lifting, and only ever a message.
struct BanRecord {
    std::string address;  // IPv4 dotted quad, or IPv6 in RFC 5952 form (lower case, compressed)
    std::int64_t until_unix_ms = 0;
    unsigned offence = 0;  // 1 for a first ban, 2 for the next, ...
    std::string reason;
    std::string by;  // the instance (or tool) that wrote it

    bool is_lift() const { return until_unix_ms == 0; }
    friend bool operator==(const BanRecord&, const BanRecord&) = default;
};

// Called on the store's threads; handlers must be quick and thread-safe (post the
// work to where it belongs).
struct Events {
    // After every (re)connection of the command connection, with what Redis holds now;
    // also after every (re)subscription, since messages published while the subscriber
    // was away are lost. So it may repeat the values it gave last time.
    std::function<void(const PoolSnapshot&)> on_snapshot;
    std::function<void(const Bytes32&)> on_challenge;       // PUBLISH challengeNumber
    std::function<void(std::uint64_t)> on_block;            // PUBLISH ethBlockNumber
    std::function<void(const VarDiffUpdate&)> on_var_diff;  // PUBLISH varDiff
    std::function<void(bool up)> on_connection;             // the command connection went up or down
    // PUBLISH sharegate:bans: a ban, or a lift (until_unix_ms 0). This store's own
    // publications come back here too.
    std::function<void(const BanRecord&)> on_ban;
    // Every ban Redis holds now (never a lift), sorted by address: after every
    // (re)connection of the command connection and every (re)subscription, next to
    // on_snapshot, since ban messages published meanwhile are lost. At most
    // kMaxBansRead records; so it may repeat what it gave last time.
    std::function<void(std::vector<BanRecord>)> on_bans;
};

// Reading the bans stops (with a warning) after this many: memory an attacker's
// addresses cannot grow without bound, far above any real pool's ban list.
inline constexpr std::size_t kMaxBansRead = 100000;

struct Counters {
    std::uint64_t shares_pushed = 0;  // LPUSHes acknowledged
    std::uint64_t shares_failed = 0;  // given up (only at shutdown with Redis unreachable)
    std::uint64_t reconnects = 0;
    std::uint64_t round_trips = 0;       // pipelined flushes
    std::size_t queued = 0;              // commands waiting now
    std::uint64_t messages_ignored = 0;  // pub/sub messages that did not parse (ban messages included)
    std::uint64_t bans_published = 0;    // bans written (SET ... PX) and published, acknowledged
    std::uint64_t bans_lifted = 0;       // lifts deleted and published, acknowledged
    std::uint64_t bans_expired = 0;      // bans not written: over before Redis could take them
    std::uint64_t bans_failed = 0;       // bans and lifts given up (only at shutdown with Redis unreachable)
    std::uint64_t bans_read = 0;         // records handed to on_bans, all reads together
    std::uint64_t bans_ignored = 0;      // ban keys whose value did not parse, or named another address
};

class RedisStore {
public:
    RedisStore(Endpoint endpoint, Events events);
    ~RedisStore();  // stop()s
    RedisStore(const RedisStore&) = delete;
    RedisStore& operator=(const RedisStore&) = delete;

    // Starts the threads; returns at once (connecting happens in the background).
    void start();
    // Stops subscribing, flushes queued commands for up to drain_timeout, then fails
    // what is left (done(false)) and joins the threads.
    void stop(std::chrono::milliseconds drain_timeout = std::chrono::seconds(5));

    // LPUSH queued_shares_list <json>. done(true) once Redis acknowledged it; done(false)
    // only if stop() gave up on it. Called on the store's thread.
    void push_share(std::string json, std::function<void(bool stored)> done);

    // HGET miner_data <miner>; when absent, HSET the original's default entry and answer
    // 4000. done(nullopt) if the entry holds no usable varDiff (then
    // the caller uses the pool minimum). miner is "0x" + lower case.
    void miner_var_diff(std::string miner, std::function<void(std::optional<std::uint64_t>)> done);

    // SET sharegate:ban:<address> <json> PX <ms left>, then PUBLISH sharegate:bans <json>.
    // Queued like a push: never blocks, retried across reconnects; a ban whose time has
    // passed by the time Redis could take it is dropped (counted in bans_expired). The
    // caller fills every field; ban.until_unix_ms must be > 0 and ban.offence >= 1.
    void publish_ban(BanRecord ban);
    // DEL sharegate:ban:<address>, then PUBLISH the lift {"until":0,"offence":0,
    // "reason":"lifted","by":by}, whether a ban was there or not. Queued the same way.
    void lift_ban(std::string address, std::string by);

    bool connected() const;
    Counters counters() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The default miner_data entry the original writes for a new miner.
inline constexpr const char* kDefaultMinerData =
    R"({"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":4000,"validSubmittedSolutionsCount":0})";
inline constexpr std::uint64_t kDefaultVarDiff = 4000;

}  // namespace sharegate::redis
