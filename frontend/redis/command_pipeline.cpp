#include "redis/command_pipeline.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "redis/ban_scan.hpp"
#include "redis/claim_script.hpp"
#include "redis/value_codec.hpp"

namespace sharegate::redis {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxBatch = 10000;
// An abandoned push leaves a stub in the queue; past this many, and past half the
// queue, enqueueing sweeps them out, so stubs never outnumber live commands for long.
constexpr std::int64_t kStubSweepMin = 1024;
// A reply slower than this is treated like a lost connection (reconnect and retry), so a
// hung Redis cannot hold the command thread, or stop(), forever.
constexpr auto kCommandTimeout = std::chrono::milliseconds(5000);

bool is_io_failure(const redisContext* c) { return c->err != 0; }

bool is_no_script(const redisReply& reply) {
    return reply.type == REDIS_REPLY_ERROR && std::string_view(reply.str, reply.len).starts_with("NOSCRIPT");
}

// A ban's end is wall-clock time (unix ms), shared by every instance and sharegate-ctl.
std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

PushTicket::PushTicket(std::shared_ptr<const ClaimText> text, std::function<void(ClaimResult)> done,
                       std::shared_ptr<detail::AbandonTally> tally)
    : text_(std::move(text)), done_(std::move(done)), tally_(std::move(tally)) {}

bool PushTicket::abandon() {
    State expected = State::queued;
    if (!state_.compare_exchange_strong(expected, State::abandoned, std::memory_order_acq_rel)) return false;
    // This thread owns the payload now: free it here, not when the stub leaves the queue
    // (which, while Redis is down, may be a second from now).
    std::function<void(ClaimResult)> done = std::move(done_);
    done_ = nullptr;
    text_.reset();
    tally_->stubs_queued.fetch_add(1);
    tally_->abandoned.fetch_add(1);
    return true;
}

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
    std::function<void(bool)> push_done;
    std::function<void(ClaimResult)> claim_done;
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            const std::int64_t stubs = tally_->stubs_queued.load();
            if (stubs > kStubSweepMin && static_cast<std::size_t>(stubs) * 2 > queue_.size()) drop_abandoned_locked();
            queue_.push_back(std::move(command));
            command.push_done = nullptr;
            command.var_diff_done = nullptr;
        } else if (command.kind == Kind::push || command.kind == Kind::push_once) {
            ++counts_.shares_failed;
        } else if (command.kind == Kind::ban_publish) {
            ++counts_.bans_failed;
        }
    }
    if (command.kind == Kind::push_once && command.ticket) {
        // Refused while stopping: nobody else has seen the ticket yet.
        command.ticket->state_.store(PushTicket::State::finished, std::memory_order_release);
        claim_done = std::move(command.ticket->done_);
    } else {
        push_done = std::move(command.push_done);
    }
    if (push_done) push_done(false);
    if (claim_done) claim_done(ClaimResult::failed);
    if (command.var_diff_done) command.var_diff_done(std::nullopt);
    wake_.notify_all();
}

void CommandPipeline::push_share(std::string json, std::function<void(bool stored)> done) {
    Command command{
        .kind = Kind::push, .arg = std::move(json), .push_done = std::move(done), .queued_at = Clock::now()};
    enqueue(std::move(command));
}

std::shared_ptr<PushTicket> CommandPipeline::push_share_once(std::shared_ptr<const ClaimText> text,
                                                             std::function<void(ClaimResult)> done) {
    auto ticket = std::make_shared<PushTicket>(std::move(text), std::move(done), tally_);
    Command command{.kind = Kind::push_once, .ticket = ticket, .queued_at = Clock::now()};
    enqueue(std::move(command));
    return ticket;
}

void CommandPipeline::miner_var_diff(std::string miner, std::function<void(std::optional<std::uint64_t>)> done) {
    enqueue(Command{.kind = Kind::var_diff_get, .arg = std::move(miner), .var_diff_done = std::move(done)});
}

CommandPipeline::Command CommandPipeline::ban_command(Kind kind, std::string arg, std::string json,
                                                      std::int64_t until_unix_ms) {
    return Command{
        .kind = kind, .arg = std::move(arg), .ban_json = std::move(json), .ban_until_unix_ms = until_unix_ms};
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
    // The tally may lag an abandon() by a moment; never let it make the count wrap.
    const std::int64_t stubs =
        std::clamp<std::int64_t>(tally_->stubs_queued.load(), 0, static_cast<std::int64_t>(queue_.size()));
    c.queued = queue_.size() - static_cast<std::size_t>(stubs) + in_flight_;
    c.shares_abandoned = tally_->abandoned.load();
    return c;
}

PushLatency CommandPipeline::push_latency() {
    std::lock_guard lock(mutex_);
    PushLatency out = latency_;
    if (out.samples != 0) out.mean /= static_cast<std::int64_t>(out.samples);
    latency_ = PushLatency{};
    return out;
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
    // Redis is away, so the queue is looked at nowhere else: sweep out the stubs of
    // abandoned pushes (at least once a second, the longest backoff).
    drop_abandoned_locked();
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

// SCRIPT LOAD (one round trip), then SELECT and read what the token watcher wrote (one
// more).
bool CommandPipeline::on_connect(redisContext* c) {
    {
        // This read covers any re-read the subscriber asked for until now.
        std::lock_guard lock(mutex_);
        snapshot_wanted_ = false;
    }
    if (!load_script(c)) return false;
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

// Loaded at every (re)connection: a Redis restarted, flushed or failed over to a replica
// may not hold it. A Redis that refuses it (scripting denied) leaves script_sha_ empty,
// so pushes go by EVAL and are refused, and retried, like any refused write.
bool CommandPipeline::load_script(redisContext* c) {
    script_sha_.clear();
    count(&Counters::round_trips);
    Reply reply(static_cast<redisReply*>(redisCommand(c, "SCRIPT LOAD %s", kClaimAndPushScript)));
    if (!reply) return false;
    if (reply->type == REDIS_REPLY_STRING) {
        script_sha_.assign(reply->str, reply->len);
    } else if (reply->type == REDIS_REPLY_ERROR && std::string_view(reply->str, reply->len).starts_with("LOADING")) {
        return false;  // just restarted: nothing can be read or written yet, so try again later
    } else {
        spdlog::warn("redis: SCRIPT LOAD refused ({}); share claims will use EVAL",
                     reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len) : "unexpected reply");
    }
    return true;
}

void CommandPipeline::append(redisContext* c, const Command& cmd) const {
    switch (cmd.kind) {
        case Kind::push: redisAppendCommand(c, "LPUSH queued_shares_list %b", cmd.arg.data(), cmd.arg.size()); break;
        case Kind::push_once: break;  // always in a claim script call: append_claims
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

// Splits a batch into what goes on the wire: every run of consecutive claims becomes
// one script call (at most kMaxClaimsPerScript each), every other command stays itself,
// in the batch's order.
std::vector<CommandPipeline::WireCommand> CommandPipeline::wire_commands(const std::vector<Command>& batch) {
    std::vector<WireCommand> wire;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const bool claim = batch[i].kind == Kind::push_once;
        if (claim && !wire.empty() && wire.back().claims && wire.back().count < kMaxClaimsPerScript) {
            ++wire.back().count;
        } else {
            wire.push_back(WireCommand{.first = i, .count = 1, .claims = claim});
        }
    }
    return wire;
}

// EVALSHA <sha> <1 + n> queued_shares_list <key>... <ttl> <token> <json> ...: see
// claim_and_push.lua for the arguments.
void CommandPipeline::append_claims(redisContext* c, const Command* claims, std::size_t count) const {
    const bool eval =
        script_sha_.empty() || std::any_of(claims, claims + count, [](const Command& cmd) { return cmd.use_eval; });
    // At least 1 s: SET refuses EX 0, and by then the share would be pushed.
    const std::string ttl = std::to_string(std::max<long long>(1, endpoint_.claim_ttl.count()));
    const std::string key_count = std::to_string(count + 1);
    std::vector<const char*> argv;
    std::vector<std::size_t> argv_len;
    argv.reserve(5 + 3 * count);
    argv_len.reserve(5 + 3 * count);
    const auto add = [&](const std::string& arg) {
        argv.push_back(arg.data());
        argv_len.push_back(arg.size());
    };
    static const std::string kEvalSha = "EVALSHA", kEval = "EVAL", kList = "queued_shares_list";
    static const std::string kScript = kClaimAndPushScript;
    add(eval ? kEval : kEvalSha);
    add(eval ? kScript : script_sha_);
    add(key_count);
    add(kList);
    // On the wire, so each ticket's payload is this thread's until it is finished or back
    // in the queue.
    for (std::size_t i = 0; i < count; ++i) add(claims[i].ticket->text_->key);
    add(ttl);
    for (std::size_t i = 0; i < count; ++i) {
        add(claims[i].ticket->text_->token);
        add(claims[i].ticket->text_->json);
    }
    redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), argv_len.data());
}

// Counts an acknowledged push and its latency, then calls its done, and after it lets a
// ticket's text go (done may use what the text keeps alive: RedisStore::push_share_once).
void CommandPipeline::finish_push(Command& cmd, std::uint64_t Counters::*field, ClaimResult result) {
    const auto waited = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - cmd.queued_at);
    {
        std::lock_guard lock(mutex_);
        ++(counts_.*field);
        ++latency_.samples;
        latency_.last = waited;
        latency_.max = std::max(latency_.max, waited);
        latency_.mean += waited;
    }
    std::function<void(bool)> done = std::move(cmd.push_done);
    std::function<void(ClaimResult)> claim_done;
    std::shared_ptr<const ClaimText> text;
    if (cmd.ticket) {
        PushTicket& t = *cmd.ticket;
        claim_done = std::move(t.done_);
        t.done_ = nullptr;
        text = std::move(t.text_);
        // Before done runs, so that an abandon() from within done answers false.
        t.state_.store(PushTicket::State::finished, std::memory_order_release);
    }
    if (done) done(true);
    if (claim_done) claim_done(result);
}

CommandPipeline::Outcome CommandPipeline::complete_claims(Command* claims, std::size_t n, const redisReply& reply) {
    // Redis restarted, flushed its scripts or failed over since SCRIPT LOAD.
    if (is_no_script(reply)) return Outcome::no_script;
    // Refused (OOM, READONLY, WRONGTYPE...): the script wrote nothing, all are sent again.
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != n) return Outcome::refused;
    for (std::size_t i = 0; i < n; ++i) {
        const redisReply* r = reply.element[i];
        if (r == nullptr || r->type != REDIS_REPLY_INTEGER || r->integer < 0 || r->integer > 2) return Outcome::refused;
    }
    count(&Counters::claim_scripts);
    for (std::size_t i = 0; i < n; ++i) {
        switch (reply.element[i]->integer) {
            case 1: finish_push(claims[i], &Counters::shares_pushed); break;
            case 2: finish_push(claims[i], &Counters::shares_already_pushed); break;
            default: finish_push(claims[i], &Counters::shares_claimed_elsewhere, ClaimResult::claimed_elsewhere); break;
        }
    }
    return Outcome::done;
}

// Answers one replied-to command; may queue a follow-up (the default miner entry).
// refused: Redis refused a write (LOADING, OOM, ...), it must be retried; no_script:
// the push is to be sent again at once with EVAL.
CommandPipeline::Outcome CommandPipeline::complete(Command& cmd, const redisReply& reply,
                                                   std::vector<Command>& follow_ups) {
    switch (cmd.kind) {
        case Kind::push: {
            if (reply.type != REDIS_REPLY_INTEGER) return Outcome::refused;
            finish_push(cmd, &Counters::shares_pushed);
            break;
        }
        case Kind::push_once: return Outcome::refused;  // never alone on the wire: complete_claims
        case Kind::var_diff_get: {
            std::optional<std::uint64_t> var_diff;
            if (reply.type == REDIS_REPLY_NIL) {
                follow_ups.push_back(Command{.kind = Kind::var_diff_set, .arg = std::move(cmd.arg)});
                var_diff = kDefaultVarDiff;
            } else if (reply.type == REDIS_REPLY_STRING) {
                var_diff = parse_miner_var_diff(std::string_view(reply.str, reply.len));
            }
            if (cmd.var_diff_done) cmd.var_diff_done(var_diff);
            break;
        }
        case Kind::var_diff_set: break;  // best effort: the back-end writes it too
        case Kind::ban_set:
            if (reply.type != REDIS_REPLY_STATUS) return Outcome::refused;
            break;
        case Kind::ban_del:
            if (reply.type != REDIS_REPLY_INTEGER) return Outcome::refused;
            break;
        case Kind::ban_publish:
            if (reply.type != REDIS_REPLY_INTEGER) return Outcome::refused;
            count(cmd.ban_until_unix_ms == 0 ? &Counters::bans_lifted : &Counters::bans_published);
            break;
    }
    return Outcome::done;
}

// The commands whose refusal says Redis takes no writes now (writable()). The default
// miner entry is best effort and a PUBLISH works even on a read-only replica.
bool CommandPipeline::is_write(Kind kind) {
    return kind == Kind::push || kind == Kind::push_once || kind == Kind::ban_set || kind == Kind::ban_del;
}

bool CommandPipeline::abandoned(const Command& cmd) {
    return cmd.kind == Kind::push_once &&
           cmd.ticket->state_.load(std::memory_order_acquire) == PushTicket::State::abandoned;
}

void CommandPipeline::drop_abandoned_locked() {
    if (tally_->stubs_queued.load() <= 0) return;
    const std::size_t dropped = std::erase_if(queue_, abandoned);
    tally_->stubs_queued.fetch_sub(static_cast<std::int64_t>(dropped));
}

// A push that was written but not answered (or refused) waits again, and can be
// abandoned again: thanks to its key, a copy the caller spools instead is still pushed
// only once, even if Redis ran this one.
void CommandPipeline::back_to_queue(Command& cmd) {
    if (cmd.kind == Kind::push_once) cmd.ticket->state_.store(PushTicket::State::queued, std::memory_order_release);
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
    std::vector<Command> no_script;

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
            {
                // A refused write still queued is sent first and decides writable();
                // with none (abandoned, or given up), there is nothing left to say Redis
                // refuses, and a new push will tell.
                std::lock_guard lock(mutex_);
                const bool write_waits = std::any_of(queue_.begin(), queue_.end(), [](const Command& cmd) {
                    return is_write(cmd.kind) && !abandoned(cmd);
                });
                if (!write_waits) refusing_writes_.store(false);
            }
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
                Command& front = queue_.front();
                if (expired(front, now_unix_ms)) {
                    if (front.kind == Kind::ban_set) ++counts_.bans_expired;
                } else if (front.kind == Kind::push_once) {
                    // From here on abandon() answers false: the push is on the wire.
                    auto expected = PushTicket::State::queued;
                    if (front.ticket->state_.compare_exchange_strong(expected, PushTicket::State::on_wire,
                                                                     std::memory_order_acq_rel)) {
                        batch.push_back(std::move(front));
                    } else {
                        tally_->stubs_queued.fetch_sub(1);  // abandoned: its payload is gone already
                    }
                } else {
                    batch.push_back(std::move(front));
                }
                queue_.pop_front();
            }
            in_flight_ = batch.size();
            if (batch.empty()) continue;
            ++counts_.round_trips;
        }

        const std::vector<WireCommand> wire = wire_commands(batch);
        for (const WireCommand& w : wire) {
            if (w.claims) {
                append_claims(ctx.get(), &batch[w.first], w.count);
            } else {
                append(ctx.get(), batch[w.first]);
            }
        }
        std::size_t done = 0;  // the commands of the batch answered
        follow_ups.clear();
        refused.clear();
        no_script.clear();
        bool wrote = false;
        for (const WireCommand& w : wire) {
            void* raw = nullptr;
            if (redisGetReply(ctx.get(), &raw) != REDIS_OK || raw == nullptr) break;
            Reply reply(static_cast<redisReply*>(raw));
            const Outcome outcome = w.claims ? complete_claims(&batch[w.first], w.count, *reply)
                                             : complete(batch[w.first], *reply, follow_ups);
            for (std::size_t i = w.first; i < w.first + w.count; ++i) {
                Command& cmd = batch[i];
                switch (outcome) {
                    case Outcome::done: wrote = wrote || is_write(cmd.kind); break;
                    case Outcome::refused: refused.push_back(std::move(cmd)); break;
                    case Outcome::no_script:
                        cmd.use_eval = true;
                        no_script.push_back(std::move(cmd));
                        break;
                }
            }
            done += w.count;
            std::lock_guard lock(mutex_);
            in_flight_ -= w.count;
        }
        if (std::any_of(refused.begin(), refused.end(), [](const Command& cmd) { return is_write(cmd.kind); })) {
            refusing_writes_.store(true);
        } else if (wrote) {
            refusing_writes_.store(false);
        }

        std::unique_lock lock(mutex_);
        in_flight_ = 0;
        // Pushes Redis answered NOSCRIPT go again at once, by EVAL, on this connection.
        for (auto it = no_script.rbegin(); it != no_script.rend(); ++it) {
            back_to_queue(*it);
            queue_.push_front(std::move(*it));
        }
        // Internal follow-ups go first so a miner's default entry is written before
        // whatever was queued meanwhile.
        for (auto it = follow_ups.rbegin(); it != follow_ups.rend(); ++it) queue_.push_front(std::move(*it));
        if (done < batch.size() || is_io_failure(ctx.get()) || !refused.empty()) {
            // Unanswered and refused commands go back to the front, in order, to be sent
            // again after reconnecting (with backoff). Redis may have executed some of
            // the unanswered ones before the connection broke: a push_share_once is then
            // found by its key and not pushed again; a plain push_share can land twice,
            // and the back-end drops a digest it has already seen.
            for (std::size_t i = batch.size(); i > done; --i) {
                back_to_queue(batch[i - 1]);
                queue_.push_front(std::move(batch[i - 1]));
            }
            for (auto it = refused.rbegin(); it != refused.rend(); ++it) {
                back_to_queue(*it);
                queue_.push_front(std::move(*it));
            }
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
    std::vector<std::function<void(ClaimResult)>> claims_left;
    {
        std::lock_guard lock(mutex_);
        left.swap(queue_);
        for (auto& cmd : left) {
            if (cmd.kind == Kind::push_once) {
                // An abandoned push is the caller's business, not a failure.
                auto expected = PushTicket::State::queued;
                if (!cmd.ticket->state_.compare_exchange_strong(expected, PushTicket::State::finished,
                                                                std::memory_order_acq_rel)) {
                    cmd.ticket.reset();
                    continue;
                }
                claims_left.push_back(std::move(cmd.ticket->done_));
                cmd.ticket->done_ = nullptr;
            }
            if (cmd.kind == Kind::push || cmd.kind == Kind::push_once) ++counts_.shares_failed;
            if (cmd.kind == Kind::ban_publish) ++counts_.bans_failed;
        }
        tally_->stubs_queued.store(0);
    }
    for (auto& cmd : left) {
        if (cmd.push_done) cmd.push_done(false);
        if (cmd.var_diff_done) cmd.var_diff_done(std::nullopt);
    }
    for (auto& done : claims_left) {
        if (done) done(ClaimResult::failed);
    }
}

}  // namespace sharegate::redis
