// Everything sharegate says to Redis (docs/protocol.md section 4), on threads of its
// own so that no I/O thread ever waits on Redis:
// - a command connection that pipelines: all queued commands are written, then all
//   replies read, so thousands of pushes a second cost a handful of round trips;
// - a subscriber connection for challengeNumber, ethBlockNumber, varDiff and the
//   pool-wide bans of sharegate:bans;
// - both reconnect with backoff when Redis goes away; queued commands wait and are
//   retried, so an accepted share is never dropped while Redis is down, nor a ban;
// - a share claim (push_share_once): a share is pushed once pool-wide, however many
//   instances or retries send it, batched one script call per flush; a caller may
//   abandon it while it still waits in the queue, to keep the share elsewhere (a disk
//   spool) instead.
#pragma once

#include <atomic>
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

// How long a share's claim key (push_share_once) lives: well past any challenge, since
// a share only counts in its own challenge and the pool's duplicates are resends within
// one; yet short, since every key costs Redis memory for every accepted share
// (docs/scaling.md). A spooled share replayed after its claim expired is pushed again;
// the back-end drops a digest it has seen (docs/protocol.md section 4).
inline constexpr std::chrono::seconds kDefaultClaimTtl = std::chrono::hours(6);

struct Endpoint {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    int database = 0;
    std::chrono::seconds claim_ttl = kDefaultClaimTtl;  // see kDefaultClaimTtl
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

// The most shares one call of the claim script carries: Lua's unpack() of the LPUSH
// arguments is bounded (about 8 000 values), and a call holds Redis for its whole run.
inline constexpr std::size_t kMaxClaimsPerScript = 1000;

// What became of a push_share_once.
enum class ClaimResult {
    stored,             // pushed now, or found pushed under its own token (a retry, a replay)
    claimed_elsewhere,  // another push holds the claim (another instance, an earlier submit): not pushed
    failed,             // given up (only at shutdown with Redis unreachable)
};

struct Counters {
    std::uint64_t shares_pushed = 0;             // LPUSHes acknowledged (by push_share or push_share_once)
    std::uint64_t shares_already_pushed = 0;     // push_share_once found its own claim: not pushed again
    std::uint64_t shares_claimed_elsewhere = 0;  // push_share_once found another's claim: a duplicate
    std::uint64_t claim_scripts = 0;             // claim script calls, each for a batch of push_share_once
    std::uint64_t shares_abandoned = 0;          // push_share_once dropped from the queue by abandon()
    std::uint64_t shares_failed = 0;             // given up (only at shutdown with Redis unreachable)
    std::uint64_t reconnects = 0;
    std::uint64_t round_trips = 0;       // pipelined flushes (and the reads at each connection)
    std::size_t queued = 0;              // commands waiting now (abandoned pushes not included)
    std::uint64_t messages_ignored = 0;  // pub/sub messages that did not parse (ban messages included)
    std::uint64_t bans_published = 0;    // bans written (SET ... PX) and published, acknowledged
    std::uint64_t bans_lifted = 0;       // lifts deleted and published, acknowledged
    std::uint64_t bans_expired = 0;      // bans not written: over before Redis could take them
    std::uint64_t bans_failed = 0;       // bans and lifts given up (only at shutdown with Redis unreachable)
    std::uint64_t bans_read = 0;         // records handed to on_bans, all reads together
    std::uint64_t bans_ignored = 0;      // ban keys whose value did not parse, or named another address
};

// How long acknowledged pushes (push_share and push_share_once) took, from the call to
// Redis's answer (queueing, retries and the round trip together), over the pushes
// acknowledged since the previous read; all zero when there were none.
struct PushLatency {
    std::uint64_t samples = 0;
    std::chrono::microseconds last{0};
    std::chrono::microseconds max{0};
    std::chrono::microseconds mean{0};
};

namespace detail {
// Shared by a store's queue and every ticket it handed out, so that a ticket abandoned
// after the store is gone touches nothing freed.
struct AbandonTally {
    std::atomic<std::int64_t> stubs_queued{0};  // abandoned commands still in the queue (dropped lazily)
    std::atomic<std::uint64_t> abandoned{0};    // abandon() calls that succeeded, ever
};
}  // namespace detail

class CommandPipeline;

// The text of one share claim (push_share_once): the key, the token, the queued-share
// JSON. Read-only once handed over, and shared rather than copied: the caller may keep
// it too (the server's spool-bound record of the share holds the same text, and hands
// the push an aliasing pointer into itself), so a share's text is built once.
struct ClaimText {
    std::string key;
    std::string token;
    std::string json;
};

// The caller's handle on one push_share_once. The push's text (its reference to it) and
// done live here while it waits, so abandoning it lets them go at once; the queue then
// holds only a small stub, dropped the next time the queue is looked at (at least once a
// second while Redis is down).
class PushTicket {
public:
    // True: the push had not been written to Redis (it was waiting in the queue, first
    // or after a lost connection sent it back there); it is dropped, its done is never
    // called, and it never reaches Redis from here. False: it is on the wire now, or
    // done (or was abandoned before); done is called (or was), unless a later abandon(),
    // once the push is back in the queue, returns true. Thread-safe; never blocks.
    bool abandon();

    // Made by CommandPipeline only; public for std::make_shared.
    PushTicket(std::shared_ptr<const ClaimText> text, std::function<void(ClaimResult)> done,
               std::shared_ptr<detail::AbandonTally> tally);

private:
    friend class CommandPipeline;
    // queued -> on_wire (written) -> queued (connection lost or refused: sent again)
    // or finished (done called); queued -> abandoned by abandon(). Whoever moves the
    // state out of queued owns text_ and done_ until it moves it back.
    enum class State { queued, on_wire, finished, abandoned };
    std::atomic<State> state_{State::queued};
    std::shared_ptr<const ClaimText> text_;
    std::function<void(ClaimResult)> done_;
    const std::shared_ptr<detail::AbandonTally> tally_;
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

    // Claims the share pool-wide and pushes it when the claim is new: the key names the
    // share ("sharegate:pushed:<challenge hex>:<nonce hex>", lower-case hex), the token
    // this push of it (unique; kept with the share when it is spooled, so that a retry or
    // a replay finds its own claim; empty: any claim is its own, for records spooled
    // before tokens). The claims queued by a flush go in one call of the script
    // claim_and_push.lua (docs/protocol.md section 4, "Share claims"), at most
    // kMaxClaimsPerScript shares each: when the key is absent it LPUSHes the JSON onto
    // queued_shares_list and SETs key = token with expiry endpoint.claim_ttl. done, once,
    // on the store's thread: stored (pushed now: shares_pushed; or its own claim found:
    // shares_already_pushed), claimed_elsewhere (another token holds the key: a duplicate,
    // not pushed), failed (only if stop() gave up on it). The push holds its reference to
    // the text until done has returned (or it is abandoned), so done may use what the text
    // keeps alive. See PushTicket::abandon.
    std::shared_ptr<PushTicket> push_share_once(std::shared_ptr<const ClaimText> text,
                                                std::function<void(ClaimResult)> done);
    // The same, the text made from these.
    std::shared_ptr<PushTicket> push_share_once(std::string key, std::string token, std::string json,
                                                std::function<void(ClaimResult)> done);

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
    // Connected, and no write (push or ban) refused since the last one that went through:
    // false while Redis is down or refuses writes (OOM, READONLY, MISCONF...), so a caller
    // can keep shares elsewhere at once rather than wait. Queued pushes are retried on
    // their own meanwhile, and one going through makes it true again. A Redis that
    // stopped answering counts as down only after the command timeout (5 s).
    bool writable() const;
    Counters counters() const;
    // The latency of the pushes acknowledged since the previous call (which it resets):
    // meant for one reader, such as the periodic stats line.
    PushLatency push_latency();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The default miner_data entry the original writes for a new miner.
inline constexpr const char* kDefaultMinerData =
    R"({"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":4000,"validSubmittedSolutionsCount":0})";
inline constexpr std::uint64_t kDefaultVarDiff = 4000;

}  // namespace sharegate::redis
