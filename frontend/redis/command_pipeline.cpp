#include "redis/command_pipeline.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "redis/ban_scan.hpp"
#include "redis/value_codec.hpp"

namespace sharegate::redis {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxBatch = 10000;
// A reply slower than this is treated like a lost connection (reconnect and retry), so a
// hung Redis cannot hold the command thread, or stop(), forever.
constexpr auto kCommandTimeout = std::chrono::milliseconds(5000);

bool is_io_failure(const redisContext* c) { return c->err != 0; }

// A ban's end is wall-clock time (unix ms), shared by every instance and sharegate-ctl.
std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

CommandPipeline::CommandPipeline(Endpoint endpoint, std::function<void(const PoolSnapshot&)> on_snapshot,
                                 std::function<void(bool up)> on_connection,
                                 std::function<void(std::vector<BanRecord>)> on_bans)
    : endpoint_(std::move(endpoint)),
      on_snapshot_(std::move(on_snapshot)),
      on_connection_(std::move(on_connection)),
      on_bans_(std::move(on_bans)) {}

CommandPipeline::~CommandPipeline() {
    request_stop(std::chrono::milliseconds(0));
    join();
}

bool CommandPipeline::start() {
    std::lock_guard lock(mutex_);
    if (started_ || stopping_) return false;
    started_ = true;
    thread_ = std::thread([this] { run(); });
    return true;
}

void CommandPipeline::request_stop(std::chrono::milliseconds drain_timeout) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
        drain_deadline_ = Clock::now() + drain_timeout;
    }
    wake_.notify_all();
}

void CommandPipeline::join() {
    std::thread thread;
    {
        std::lock_guard lock(mutex_);
        thread = std::move(thread_);
    }
    if (thread.joinable()) thread.join();
    // Never started, or commands queued while the thread was exiting.
    fail_queued();
}

void CommandPipeline::enqueue(Command command) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            queue_.push_back(std::move(command));
            command.push_done = nullptr;
            command.var_diff_done = nullptr;
        } else if (command.kind == Kind::push) {
            ++counts_.shares_failed;
        } else if (command.kind == Kind::ban_publish) {
            ++counts_.bans_failed;
        }
    }
    if (command.push_done) command.push_done(false);
    if (command.var_diff_done) command.var_diff_done(std::nullopt);
    wake_.notify_all();
}

void CommandPipeline::push_share(std::string json, std::function<void(bool stored)> done) {
    enqueue(Command{Kind::push, std::move(json), std::move(done), {}, {}, 0});
}

void CommandPipeline::miner_var_diff(std::string miner, std::function<void(std::optional<std::uint64_t>)> done) {
    enqueue(Command{Kind::var_diff_get, std::move(miner), {}, std::move(done), {}, 0});
}

CommandPipeline::Command CommandPipeline::ban_command(Kind kind, std::string arg, std::string json,
                                                      std::int64_t until_unix_ms) {
    return Command{kind, std::move(arg), {}, {}, std::move(json), until_unix_ms};
}

// Two commands queued back to back; whatever is queued meanwhile may come between them,
// which only delays the message by one flush.
void CommandPipeline::publish_ban(const BanRecord& ban) {
    std::string json = ban_json(ban);
    enqueue(ban_command(Kind::ban_set, ban_key(ban.address), json, ban.until_unix_ms));
    enqueue(ban_command(Kind::ban_publish, std::move(json), {}, ban.until_unix_ms));
}

void CommandPipeline::lift_ban(const std::string& address, const std::string& by) {
    BanRecord lift;
    lift.address = address;
    lift.reason = "lifted";
    lift.by = by;
    enqueue(ban_command(Kind::ban_del, ban_key(address), {}, 0));
    enqueue(ban_command(Kind::ban_publish, ban_json(lift), {}, 0));
}

// A ban that is over needs neither its key (Redis would refuse PX 0 anyway) nor its
// message; a lift (until 0) never expires.
bool CommandPipeline::expired(const Command& cmd, std::int64_t now_unix_ms) {
    return (cmd.kind == Kind::ban_set || cmd.kind == Kind::ban_publish) && cmd.ban_until_unix_ms != 0 &&
           cmd.ban_until_unix_ms <= now_unix_ms;
}

void CommandPipeline::request_snapshot() {
    {
        std::lock_guard lock(mutex_);
        snapshot_wanted_ = true;
    }
    wake_.notify_all();
}

Counters CommandPipeline::counters() const {
    std::lock_guard lock(mutex_);
    Counters c = counts_;
    c.queued = queue_.size() + in_flight_;
    return c;
}

void CommandPipeline::count(std::uint64_t Counters::*field) {
    std::lock_guard lock(mutex_);
    ++(counts_.*field);
}

// True when stop has been asked for and the drain time is up.
bool CommandPipeline::give_up_locked() const { return stopping_ && Clock::now() >= drain_deadline_; }

// Sleeps for the backoff, or less when stopping wants an answer sooner. Returns false
// when the thread should give up on what is queued.
bool CommandPipeline::backoff_wait(std::chrono::milliseconds& backoff) {
    std::unique_lock lock(mutex_);
    auto until = Clock::now() + backoff;
    backoff = next_backoff(backoff);
    // A stop with nothing queued needs no connection at all.
    while (true) {
        if (stopping_ && queue_.empty()) return false;
        if (give_up_locked()) return false;
        auto limit = stopping_ ? std::min(until, drain_deadline_) : until;
        if (wake_.wait_until(lock, limit) == std::cv_status::timeout) {
            return !give_up_locked() && !(stopping_ && queue_.empty());
        }
        if (Clock::now() >= until) return true;
    }
}

// SELECT, then read what the token watcher wrote; one round trip.
bool CommandPipeline::on_connect(redisContext* c) {
    {
        // This read covers any re-read the subscriber asked for until now.
        std::lock_guard lock(mutex_);
        snapshot_wanted_ = false;
    }
    const bool select = endpoint_.database != 0;
    if (select) redisAppendCommand(c, "SELECT %d", endpoint_.database);
    return read_snapshot(c, select) && read_bans(c);
}

// One round trip; with_select: a SELECT is already appended and its reply comes first.
bool CommandPipeline::read_snapshot(redisContext* c, bool with_select) {
    redisAppendCommand(c, "GET challengeNumber");
    redisAppendCommand(c, "GET ethBlockNumber");
    redisAppendCommand(c, "GET miningTarget");
    count(&Counters::round_trips);
    if (with_select) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK) return false;
        Reply reply(static_cast<redisReply*>(raw));
        if (reply->type == REDIS_REPLY_ERROR) return false;
    }
    Reply replies[3];
    std::optional<std::string_view> values[3];
    for (std::size_t i = 0; i < 3; ++i) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK) return false;
        replies[i].reset(static_cast<redisReply*>(raw));
        // Typically LOADING after a restart: what we would read is not there yet.
        if (replies[i]->type == REDIS_REPLY_ERROR) return false;
        if (replies[i]->type == REDIS_REPLY_STRING) values[i] = std::string_view(replies[i]->str, replies[i]->len);
    }
    const PoolSnapshot snapshot = parse_snapshot(values[0], values[1], values[2]);
    if (on_snapshot_) on_snapshot_(snapshot);
    return true;
}

// Reads the bans right after a snapshot, so that a (re)connected instance refuses what
// the others refuse; false when the connection is unusable.
bool CommandPipeline::read_bans(redisContext* c) {
    if (!on_bans_) return true;
    auto scan = scan_bans(c, kMaxBansRead);
    if (!scan) return false;
    {
        std::lock_guard lock(mutex_);
        counts_.round_trips += scan->round_trips;
        counts_.bans_read += scan->bans.size();
        counts_.bans_ignored += scan->ignored;
    }
    if (scan->truncated) {
        spdlog::warn("redis: more than {} keys {}*; only the bans among the first {} are enforced until the next read",
                     kMaxBansRead, kBanKeyPrefix, kMaxBansRead);
    }
    on_bans_(std::move(scan->bans));
    return true;
}

void CommandPipeline::append(redisContext* c, const Command& cmd) {
    switch (cmd.kind) {
        case Kind::push: redisAppendCommand(c, "LPUSH queued_shares_list %b", cmd.arg.data(), cmd.arg.size()); break;
        case Kind::var_diff_get: redisAppendCommand(c, "HGET miner_data %b", cmd.arg.data(), cmd.arg.size()); break;
        case Kind::var_diff_set:
            redisAppendCommand(c, "HSET miner_data %b %s", cmd.arg.data(), cmd.arg.size(), kDefaultMinerData);
            break;
        case Kind::ban_set: {
            // At least 1: the batch dropped what had expired a moment ago (expired()).
            const auto ms_left = std::max<std::int64_t>(1, cmd.ban_until_unix_ms - unix_ms_now());
            redisAppendCommand(c, "SET %b %b PX %lld", cmd.arg.data(), cmd.arg.size(), cmd.ban_json.data(),
                               cmd.ban_json.size(), static_cast<long long>(ms_left));
            break;
        }
        case Kind::ban_del: redisAppendCommand(c, "DEL %b", cmd.arg.data(), cmd.arg.size()); break;
        case Kind::ban_publish:
            redisAppendCommand(c, "PUBLISH %s %b", kBanChannel, cmd.arg.data(), cmd.arg.size());
            break;
    }
}

// Answers one replied-to command; may queue a follow-up (the default miner entry).
// Returns false for a push that Redis refused (LOADING, OOM, ...): it must be retried.
bool CommandPipeline::complete(Command& cmd, const redisReply& reply, std::vector<Command>& follow_ups) {
    switch (cmd.kind) {
        case Kind::push: {
            if (reply.type != REDIS_REPLY_INTEGER) return false;
            count(&Counters::shares_pushed);
            if (cmd.push_done) cmd.push_done(true);
            break;
        }
        case Kind::var_diff_get: {
            std::optional<std::uint64_t> var_diff;
            if (reply.type == REDIS_REPLY_NIL) {
                follow_ups.push_back(Command{Kind::var_diff_set, std::move(cmd.arg), {}, {}, {}, 0});
                var_diff = kDefaultVarDiff;
            } else if (reply.type == REDIS_REPLY_STRING) {
                var_diff = parse_miner_var_diff(std::string_view(reply.str, reply.len));
            }
            if (cmd.var_diff_done) cmd.var_diff_done(var_diff);
            break;
        }
        case Kind::var_diff_set: break;  // best effort: the back-end writes it too
        case Kind::ban_set:
            if (reply.type != REDIS_REPLY_STATUS) return false;
            break;
        case Kind::ban_del:
            if (reply.type != REDIS_REPLY_INTEGER) return false;
            break;
        case Kind::ban_publish:
            if (reply.type != REDIS_REPLY_INTEGER) return false;
            count(cmd.ban_until_unix_ms == 0 ? &Counters::bans_lifted : &Counters::bans_published);
            break;
    }
    return true;
}

void CommandPipeline::set_up(bool now_up) {
    if (up_.exchange(now_up) != now_up && on_connection_) on_connection_(now_up);
}

void CommandPipeline::run() {
    block_sigpipe();
    Context ctx;
    auto backoff = kBackoffMin;
    bool ever_connected = false;
    std::vector<Command> batch;
    std::vector<Command> follow_ups;
    std::vector<Command> refused;

    while (true) {
        if (!ctx) {
            {
                std::lock_guard lock(mutex_);
                if ((stopping_ && queue_.empty()) || give_up_locked()) break;
            }
            ctx = connect(endpoint_, kConnectTimeout);
            if (ctx) {
                redisSetTimeout(ctx.get(), to_timeval(kCommandTimeout));
                if (!on_connect(ctx.get())) ctx.reset();
            }
            if (!ctx) {
                if (!backoff_wait(backoff)) break;
                continue;
            }
            if (ever_connected) count(&Counters::reconnects);
            ever_connected = true;
            set_up(true);
        }

        {
            std::unique_lock lock(mutex_);
            while (queue_.empty() && !stopping_ && !snapshot_wanted_) {
                if (wake_.wait_for(lock, kPollInterval) == std::cv_status::timeout && queue_.empty() &&
                    !snapshot_wanted_) {
                    // Redis writes nothing unasked on this connection: readable means closed.
                    pollfd pfd{ctx->fd, POLLIN, 0};
                    if (::poll(&pfd, 1, 0) != 0) break;
                }
            }
            if (snapshot_wanted_ && !stopping_) {
                snapshot_wanted_ = false;
                lock.unlock();
                if (!read_snapshot(ctx.get(), false) || !read_bans(ctx.get())) {
                    ctx.reset();
                    set_up(false);
                }
                continue;
            }
            if (queue_.empty() && !stopping_) {
                lock.unlock();
                ctx.reset();
                set_up(false);
                continue;
            }
            if (queue_.empty() || give_up_locked()) break;
            const std::size_t n = std::min(queue_.size(), kMaxBatch);
            const std::int64_t now_unix_ms = unix_ms_now();
            batch.clear();
            for (std::size_t i = 0; i < n; ++i) {
                if (expired(queue_.front(), now_unix_ms)) {
                    if (queue_.front().kind == Kind::ban_set) ++counts_.bans_expired;
                } else {
                    batch.push_back(std::move(queue_.front()));
                }
                queue_.pop_front();
            }
            in_flight_ = batch.size();
            if (batch.empty()) continue;
            ++counts_.round_trips;
        }

        for (const auto& cmd : batch) append(ctx.get(), cmd);
        std::size_t done = 0;
        follow_ups.clear();
        refused.clear();
        for (; done < batch.size(); ++done) {
            void* raw = nullptr;
            if (redisGetReply(ctx.get(), &raw) != REDIS_OK || raw == nullptr) break;
            Reply reply(static_cast<redisReply*>(raw));
            if (!complete(batch[done], *reply, follow_ups)) refused.push_back(std::move(batch[done]));
            std::lock_guard lock(mutex_);
            --in_flight_;
        }

        std::unique_lock lock(mutex_);
        in_flight_ = 0;
        // Internal follow-ups go first so a miner's default entry is written before
        // whatever was queued meanwhile.
        for (auto it = follow_ups.rbegin(); it != follow_ups.rend(); ++it) queue_.push_front(std::move(*it));
        if (done < batch.size() || is_io_failure(ctx.get()) || !refused.empty()) {
            // Unanswered and refused commands go back to the front, in order, to be sent
            // again after reconnecting (with backoff). Redis may have executed some of
            // the unanswered ones before the connection broke, so a share can be pushed
            // twice; the back-end drops a digest it has already seen.
            for (std::size_t i = batch.size(); i > done; --i) queue_.push_front(std::move(batch[i - 1]));
            for (auto it = refused.rbegin(); it != refused.rend(); ++it) queue_.push_front(std::move(*it));
            lock.unlock();
            ctx.reset();
            set_up(false);
            // Backoff is only reset by a batch that went through, so a Redis that keeps
            // refusing is not hammered.
            if (!refused.empty() && !backoff_wait(backoff)) break;
        } else {
            backoff = kBackoffMin;
        }
    }

    ctx.reset();
    up_.store(false);
    fail_queued();
}

void CommandPipeline::fail_queued() {
    std::deque<Command> left;
    {
        std::lock_guard lock(mutex_);
        left.swap(queue_);
        for (const auto& cmd : left) {
            if (cmd.kind == Kind::push) ++counts_.shares_failed;
            if (cmd.kind == Kind::ban_publish) ++counts_.bans_failed;
        }
    }
    for (auto& cmd : left) {
        if (cmd.push_done) cmd.push_done(false);
        if (cmd.var_diff_done) cmd.var_diff_done(std::nullopt);
    }
}

}  // namespace sharegate::redis
