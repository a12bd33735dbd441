// The command connection to Redis (docs/protocol.md section 4), on a thread of its own
// so that no I/O thread ever waits on Redis:
// - commands are queued and written in pipelined batches (all queued commands written,
//   then all replies read), so thousands of pushes a second cost a handful of round
//   trips;
// - when Redis goes away or refuses a push, it reconnects with backoff and the commands
//   wait and are retried, so an accepted share is never dropped while Redis is down;
//   a reply slower than kCommandTimeout counts as a lost connection;
// - share claims (push_share_once) run the Lua script claim_and_push.lua, loaded with
//   SCRIPT LOAD at every (re)connection and called with EVALSHA (EVAL when Redis answers
//   NOSCRIPT): the claims that follow one another in a flush go in one call (at most
//   kMaxClaimsPerScript), so a batch of shares costs one command, not one per share;
//   until it is written a claim can be abandoned (PushTicket), and is then dropped;
// - after every (re)connection, and whenever asked to, it reads the pool's keys
//   (challengeNumber, ethBlockNumber, miningTarget) and reports them as a snapshot, then
//   reads the pool-wide bans (sharegate:ban:*, ban_scan.hpp) and reports them;
// - bans and their lifting are queued commands like pushes (SET ... PX or DEL, then
//   PUBLISH), so they too wait out an outage; a ban whose time is up before Redis can
//   take it is dropped instead;
// - stopping drains the queue for a bounded time and fails what is left.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.hpp"
#include "redis/redis_store.hpp"

namespace sharegate::redis {

class CommandPipeline {
public:
    // Called on the pipeline's thread; see Events::on_snapshot, Events::on_connection and
    // Events::on_bans.
    CommandPipeline(Endpoint endpoint, std::function<void(const PoolSnapshot&)> on_snapshot,
                    std::function<void(bool up)> on_connection,
                    std::function<void(std::vector<BanRecord>)> on_bans = nullptr);
    ~CommandPipeline();  // request_stop with no drain time, then join
    CommandPipeline(const CommandPipeline&) = delete;
    CommandPipeline& operator=(const CommandPipeline&) = delete;

    // Starts the thread; false (and nothing started) when already started or stopping.
    bool start();
    // From now on, new commands fail at once; the thread flushes what is queued until
    // drain_timeout from now, then gives up. Only the first call counts. Does not wait.
    void request_stop(std::chrono::milliseconds drain_timeout);
    // Waits for the thread (after request_stop), then fails what is still queued.
    void join();

    // See RedisStore::push_share and RedisStore::miner_var_diff.
    void push_share(std::string json, std::function<void(bool stored)> done);
    // See RedisStore::push_share_once.
    std::shared_ptr<PushTicket> push_share_once(std::shared_ptr<const ClaimText> text,
                                                std::function<void(ClaimResult)> done);
    void miner_var_diff(std::string miner, std::function<void(std::optional<std::uint64_t>)> done);
    // See RedisStore::publish_ban and RedisStore::lift_ban.
    void publish_ban(const BanRecord& ban);
    void lift_ban(const std::string& address, const std::string& by);

    // Reads the keys (and the bans) again soon: what was published while the subscriber
    // was not listening is lost, so after every (re)subscription the snapshot is all
    // there is.
    void request_snapshot();

    bool connected() const { return up_.load(); }
    // See RedisStore::writable.
    bool writable() const { return up_.load() && !refusing_writes_.load(); }
    // Every field but messages_ignored (the subscriber's); reconnects counts this
    // connection's only.
    Counters counters() const;
    // See RedisStore::push_latency.
    PushLatency push_latency();

private:
    // A ban is two commands, ban_set then ban_publish; a lift is ban_del then ban_publish.
    // push_once keeps its text and done in its ticket (so that abandon() lets them go),
    // and uses EVAL instead of EVALSHA once Redis answered it NOSCRIPT.
    enum class Kind { push, push_once, var_diff_get, var_diff_set, ban_set, ban_del, ban_publish };
    using Clock = std::chrono::steady_clock;
    struct Command {
        Kind kind{};
        std::string arg{};  // push: the share JSON; var_diff_*: the miner; ban_*: the key, or the JSON to publish
        std::function<void(bool)> push_done{};
        std::function<void(std::optional<std::uint64_t>)> var_diff_done{};
        std::string ban_json{};                // ban_set: the value
        std::int64_t ban_until_unix_ms{};      // ban_set, ban_publish: when the ban ends; 0 for a lift
        std::shared_ptr<PushTicket> ticket{};  // push_once
        bool use_eval = false;                 // push_once
        Clock::time_point queued_at{};         // push, push_once: for the latency
    };
    static Command ban_command(Kind kind, std::string arg, std::string json, std::int64_t until_unix_ms);
    static bool expired(const Command& cmd, std::int64_t now_unix_ms);

    void run();
    void enqueue(Command command);
    void count(std::uint64_t Counters::*field);
    bool give_up_locked() const;
    bool backoff_wait(std::chrono::milliseconds& backoff);
    bool on_connect(redisContext* c);
    bool read_snapshot(redisContext* c, bool with_select);
    bool read_bans(redisContext* c);
    bool load_script(redisContext* c);
    // What goes out as one command: one queued command, or a run of push_once claims
    // (batch[first], ..., batch[first + count - 1]) as one script call.
    struct WireCommand {
        std::size_t first = 0;
        std::size_t count = 1;
        bool claims = false;
    };
    static std::vector<WireCommand> wire_commands(const std::vector<Command>& batch);
    void append(redisContext* c, const Command& cmd) const;
    void append_claims(redisContext* c, const Command* claims, std::size_t count) const;
    // What became of a command Redis answered.
    enum class Outcome { done, refused, no_script };
    Outcome complete(Command& cmd, const redisReply& reply, std::vector<Command>& follow_ups);
    // The answer to a claim script call: one outcome for all of them (the call was refused,
    // or NOSCRIPT) or done, each claim finished with its own result.
    Outcome complete_claims(Command* claims, std::size_t count, const redisReply& reply);
    void finish_push(Command& cmd, std::uint64_t Counters::*field, ClaimResult result = ClaimResult::stored);
    static bool is_write(Kind kind);
    static bool abandoned(const Command& cmd);
    void drop_abandoned_locked();
    static void back_to_queue(Command& cmd);
    void set_up(bool now_up);
    void fail_queued();

    const Endpoint endpoint_;
    const std::function<void(const PoolSnapshot&)> on_snapshot_;
    const std::function<void(bool)> on_connection_;
    const std::function<void(std::vector<BanRecord>)> on_bans_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Command> queue_;  // guarded by mutex_; may hold abandoned pushes (tally_->stubs_queued)
    std::size_t in_flight_ = 0;  // guarded by mutex_
    bool started_ = false;       // guarded by mutex_
    bool stopping_ = false;      // guarded by mutex_
    // The subscriber (re)subscribed: the keys are to be read again.
    bool snapshot_wanted_ = false;                          // guarded by mutex_
    std::chrono::steady_clock::time_point drain_deadline_;  // guarded by mutex_
    Counters counts_;                                       // guarded by mutex_; queued is computed on read
    std::thread thread_;                                    // guarded by mutex_ (moved out to be joined)
    PushLatency latency_;                                   // guarded by mutex_; mean holds the sum until read
    const std::shared_ptr<detail::AbandonTally> tally_ = std::make_shared<detail::AbandonTally>();

    // The SHA1 SCRIPT LOAD gave on this connection; empty: use EVAL. Pipeline thread only.
    std::string script_sha_;

    std::atomic<bool> up_{false};
    // A write was refused and none has gone through since (see writable()).
    std::atomic<bool> refusing_writes_{false};
};

}  // namespace sharegate::redis
