#include "redis/redis_store.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "redis/value_codec.hpp"

namespace sharegate::redis {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxBatch = 10000;
constexpr auto kBackoffMin = std::chrono::milliseconds(50);
constexpr auto kBackoffMax = std::chrono::milliseconds(1000);
constexpr auto kConnectTimeout = std::chrono::milliseconds(1000);
// A reply slower than this is treated like a lost connection (reconnect and retry), so a
// hung Redis cannot hold the command thread, or stop(), forever.
constexpr auto kCommandTimeout = std::chrono::milliseconds(5000);
// How often the subscriber looks at the stop flag, and how often an idle command
// connection checks that Redis has not closed it.
constexpr auto kPollInterval = std::chrono::milliseconds(200);

struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
    return tv;
}

Context connect(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
    Context c(redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(timeout)));
    if (!c || c->err != 0) return nullptr;
    return c;
}

bool is_io_failure(const redisContext* c) { return c->err != 0; }

// hiredis writes with write(2): a peer that went away would raise SIGPIPE and kill the
// process. The signal is synchronous, so blocking it in our own threads is enough (the
// write then fails with EPIPE) and leaves the process's disposition alone.
void block_sigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
    Endpoint endpoint;
    std::string_view host = text;
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
        host = text.substr(0, colon);
        const std::string_view port = text.substr(colon + 1);
        if (port.empty() || port.size() > 5) return std::nullopt;
        if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
        const auto value = parse_u64(port);
        if (!value || *value == 0 || *value > 65535) return std::nullopt;
        endpoint.port = static_cast<std::uint16_t>(*value);
    }
    if (host.empty() || host.find(':') != std::string_view::npos) return std::nullopt;
    endpoint.host = std::string(host);
    return endpoint;
}

struct RedisStore::Impl {
    enum class Kind { push, var_diff_get, var_diff_set };
    struct Command {
        Kind kind;
        std::string arg;  // push: the share JSON; otherwise the miner
        std::function<void(bool)> push_done;
        std::function<void(std::optional<std::uint64_t>)> var_diff_done;
    };

    Impl(Endpoint e, Events ev) : endpoint(std::move(e)), events(std::move(ev)) {}

    const Endpoint endpoint;
    const Events events;

    mutable std::mutex mutex;
    std::condition_variable wake;
    std::deque<Command> queue;  // guarded by mutex
    std::size_t in_flight = 0;  // guarded by mutex
    bool started = false;       // guarded by mutex
    bool stopping = false;      // guarded by mutex
    bool stopped = false;       // guarded by mutex
    // The subscriber (re)subscribed: what was published while it was not listening is
    // lost, so the command thread reads the keys again.
    bool snapshot_wanted = false;      // guarded by mutex
    Clock::time_point drain_deadline;  // guarded by mutex
    Counters counts;                   // guarded by mutex; queued is computed on read

    std::atomic<bool> up{false};
    std::atomic<bool> stop_subscriber{false};
    std::thread command_thread;
    std::thread subscriber_thread;

    void count(std::uint64_t Counters::*field, std::uint64_t n = 1) {
        std::lock_guard lock(mutex);
        counts.*field += n;
    }

    static void fail(Command& cmd) {
        if (cmd.push_done) cmd.push_done(false);
        if (cmd.var_diff_done) cmd.var_diff_done(std::nullopt);
    }

    // True when stop() has been asked for and the drain time is up.
    bool give_up_locked() const { return stopping && Clock::now() >= drain_deadline; }

    // Sleeps for the backoff, or less when stop() wants an answer sooner. Returns false
    // when the command thread should give up on what is queued.
    bool backoff_wait(std::chrono::milliseconds& backoff) {
        std::unique_lock lock(mutex);
        auto until = Clock::now() + backoff;
        backoff = std::min(backoff * 2, kBackoffMax);
        // A stop() with nothing queued needs no connection at all.
        while (true) {
            if (stopping && queue.empty()) return false;
            if (give_up_locked()) return false;
            auto limit = stopping ? std::min(until, drain_deadline) : until;
            if (wake.wait_until(lock, limit) == std::cv_status::timeout) {
                return !give_up_locked() && !(stopping && queue.empty());
            }
            if (Clock::now() >= until) return true;
        }
    }

    // SELECT, then read what the token watcher wrote; one round trip.
    bool on_connect(redisContext* c) {
        {
            // This read covers any re-read the subscriber asked for until now.
            std::lock_guard lock(mutex);
            snapshot_wanted = false;
        }
        const bool select = endpoint.database != 0;
        if (select) redisAppendCommand(c, "SELECT %d", endpoint.database);
        return read_snapshot(c, select);
    }

    // One round trip; with_select: a SELECT is already appended and its reply comes first.
    bool read_snapshot(redisContext* c, bool with_select) {
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
        std::optional<std::string> values[3];
        for (auto& value : values) {
            void* raw = nullptr;
            if (redisGetReply(c, &raw) != REDIS_OK) return false;
            Reply reply(static_cast<redisReply*>(raw));
            // Typically LOADING after a restart: what we would read is not there yet.
            if (reply->type == REDIS_REPLY_ERROR) return false;
            if (reply->type == REDIS_REPLY_STRING) value = std::string(reply->str, reply->len);
        }
        PoolSnapshot snapshot;
        if (values[0]) snapshot.challenge = parse_challenge(*values[0]);
        if (values[1]) snapshot.eth_block = parse_block(*values[1]);
        if (values[2]) snapshot.mining_target = parse_decimal_target(*values[2]);
        if (events.on_snapshot) events.on_snapshot(snapshot);
        return true;
    }

    void append(redisContext* c, const Command& cmd) {
        switch (cmd.kind) {
            case Kind::push:
                redisAppendCommand(c, "LPUSH queued_shares_list %b", cmd.arg.data(), cmd.arg.size());
                break;
            case Kind::var_diff_get: redisAppendCommand(c, "HGET miner_data %b", cmd.arg.data(), cmd.arg.size()); break;
            case Kind::var_diff_set:
                redisAppendCommand(c, "HSET miner_data %b %s", cmd.arg.data(), cmd.arg.size(), kDefaultMinerData);
                break;
        }
    }

    // Answers one replied-to command; may queue a follow-up (the default miner entry).
    // Returns false for a push that Redis refused (LOADING, OOM, ...): it must be retried.
    bool complete(Command& cmd, const redisReply& reply, std::vector<Command>& follow_ups) {
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
                    follow_ups.push_back(Command{Kind::var_diff_set, std::move(cmd.arg), {}, {}});
                    var_diff = kDefaultVarDiff;
                } else if (reply.type == REDIS_REPLY_STRING) {
                    var_diff = parse_miner_var_diff(std::string_view(reply.str, reply.len));
                }
                if (cmd.var_diff_done) cmd.var_diff_done(var_diff);
                break;
            }
            case Kind::var_diff_set: break;  // best effort: the back-end writes it too
        }
        return true;
    }

    void set_up(bool now_up) {
        if (up.exchange(now_up) != now_up && events.on_connection) events.on_connection(now_up);
    }

    void command_loop() {
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
                    std::lock_guard lock(mutex);
                    if ((stopping && queue.empty()) || give_up_locked()) break;
                }
                ctx = connect(endpoint, kConnectTimeout);
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
                std::unique_lock lock(mutex);
                while (queue.empty() && !stopping && !snapshot_wanted) {
                    if (wake.wait_for(lock, kPollInterval) == std::cv_status::timeout && queue.empty() &&
                        !snapshot_wanted) {
                        // Redis writes nothing unasked on this connection: readable means closed.
                        pollfd pfd{ctx->fd, POLLIN, 0};
                        if (::poll(&pfd, 1, 0) != 0) break;
                    }
                }
                if (snapshot_wanted && !stopping) {
                    snapshot_wanted = false;
                    lock.unlock();
                    if (!read_snapshot(ctx.get(), false)) {
                        ctx.reset();
                        set_up(false);
                    }
                    continue;
                }
                if (queue.empty() && !stopping) {
                    lock.unlock();
                    ctx.reset();
                    set_up(false);
                    continue;
                }
                if (queue.empty() || give_up_locked()) break;
                const std::size_t n = std::min(queue.size(), kMaxBatch);
                batch.clear();
                for (std::size_t i = 0; i < n; ++i) {
                    batch.push_back(std::move(queue.front()));
                    queue.pop_front();
                }
                in_flight = n;
                ++counts.round_trips;
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
                std::lock_guard lock(mutex);
                --in_flight;
            }

            std::unique_lock lock(mutex);
            in_flight = 0;
            // Internal follow-ups go first so a miner's default entry is written before
            // whatever was queued meanwhile.
            for (auto it = follow_ups.rbegin(); it != follow_ups.rend(); ++it) queue.push_front(std::move(*it));
            if (done < batch.size() || is_io_failure(ctx.get()) || !refused.empty()) {
                // Unanswered and refused commands go back to the front, in order, to be sent
                // again after reconnecting (with backoff). Redis may have executed some of
                // the unanswered ones before the connection broke, so a share can be pushed
                // twice; the back-end drops a digest it has already seen.
                for (std::size_t i = batch.size(); i > done; --i) queue.push_front(std::move(batch[i - 1]));
                for (auto it = refused.rbegin(); it != refused.rend(); ++it) queue.push_front(std::move(*it));
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
        up.store(false);
        fail_queued();
    }

    void fail_queued() {
        std::deque<Command> left;
        {
            std::lock_guard lock(mutex);
            left.swap(queue);
            for (const auto& cmd : left) {
                if (cmd.kind == Kind::push) ++counts.shares_failed;
            }
        }
        for (auto& cmd : left) fail(cmd);
    }

    void dispatch(const redisReply& reply) {
        // ["message", channel, payload]
        if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) return;
        const redisReply* kind = reply.element[0];
        const redisReply* channel = reply.element[1];
        const redisReply* payload = reply.element[2];
        if (kind->type != REDIS_REPLY_STRING) return;
        const std::string_view type(kind->str, kind->len);
        if (type == "subscribe" && payload->type == REDIS_REPLY_INTEGER && payload->integer == 3) {
            sub_confirmed = true;
            {
                std::lock_guard lock(mutex);
                snapshot_wanted = true;
            }
            wake.notify_all();
            return;
        }
        if (type != "message") return;
        if (channel->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING) {
            count(&Counters::messages_ignored);
            return;
        }
        const std::string_view name(channel->str, channel->len);
        const std::string_view text(payload->str, payload->len);
        bool ok = false;
        if (name == "challengeNumber") {
            if (auto challenge = parse_challenge(text)) {
                ok = true;
                if (events.on_challenge) events.on_challenge(*challenge);
            }
        } else if (name == "ethBlockNumber") {
            if (auto block = parse_block(text)) {
                ok = true;
                if (events.on_block) events.on_block(*block);
            }
        } else if (name == "varDiff") {
            if (auto update = parse_var_diff_message(text)) {
                ok = true;
                if (events.on_var_diff) events.on_var_diff(*update);
            }
        }
        if (!ok) count(&Counters::messages_ignored);
    }

    bool sub_confirmed = false;  // subscriber thread only: all three channels confirmed
    bool sub_refused = false;    // subscriber thread only: Redis answered with an error

    // Reads what has arrived; false when the connection is lost or unusable.
    bool pump(redisContext* c) {
        pollfd pfd{c->fd, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(kPollInterval.count()));
        if (ready < 0) return errno == EINTR;
        if (ready == 0) return true;
        if (redisBufferRead(c) != REDIS_OK) return false;
        while (true) {
            void* raw = nullptr;
            if (redisGetReplyFromReader(c, &raw) != REDIS_OK) return false;
            if (raw == nullptr) return !sub_refused;
            Reply reply(static_cast<redisReply*>(raw));
            // E.g. LOADING: SUBSCRIBE did not take, so this connection would hear nothing.
            if (reply->type == REDIS_REPLY_ERROR) sub_refused = true;
            dispatch(*reply);
        }
    }

    void subscriber_loop() {
        block_sigpipe();
        auto backoff = kBackoffMin;
        bool ever_subscribed = false;
        while (!stop_subscriber.load()) {
            sub_confirmed = false;
            sub_refused = false;
            Context ctx = connect(endpoint, kConnectTimeout);
            if (ctx) {
                redisAppendCommand(ctx.get(), "SUBSCRIBE challengeNumber ethBlockNumber varDiff");
                int done = 0;
                while (ctx && !done) {
                    if (redisBufferWrite(ctx.get(), &done) != REDIS_OK) ctx.reset();
                }
            }
            bool counted = false;
            while (ctx && !stop_subscriber.load() && pump(ctx.get())) {
                if (sub_confirmed && !counted) {
                    counted = true;
                    backoff = kBackoffMin;
                    if (ever_subscribed) count(&Counters::reconnects);
                    ever_subscribed = true;
                }
            }
            // A connection that worked until now is tried again at once.
            if (sub_confirmed) continue;
            std::unique_lock lock(mutex);
            wake.wait_for(lock, backoff, [&] { return stop_subscriber.load(); });
            backoff = std::min(backoff * 2, kBackoffMax);
        }
    }
};

RedisStore::RedisStore(Endpoint endpoint, Events events)
    : impl_(std::make_unique<Impl>(std::move(endpoint), std::move(events))) {}

RedisStore::~RedisStore() { stop(); }

void RedisStore::start() {
    std::lock_guard lock(impl_->mutex);
    if (impl_->started || impl_->stopping) return;
    impl_->started = true;
    impl_->command_thread = std::thread([impl = impl_.get()] { impl->command_loop(); });
    impl_->subscriber_thread = std::thread([impl = impl_.get()] { impl->subscriber_loop(); });
}

void RedisStore::stop(std::chrono::milliseconds drain_timeout) {
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->stopped) return;
        impl_->stopped = true;
        impl_->stopping = true;
        impl_->drain_deadline = Clock::now() + drain_timeout;
        impl_->stop_subscriber.store(true);
    }
    impl_->wake.notify_all();
    if (impl_->subscriber_thread.joinable()) impl_->subscriber_thread.join();
    if (impl_->command_thread.joinable()) impl_->command_thread.join();
    // Never started, or commands queued while the thread was exiting.
    impl_->fail_queued();
}

void RedisStore::push_share(std::string json, std::function<void(bool stored)> done) {
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->stopped) {
            impl_->queue.push_back(Impl::Command{Impl::Kind::push, std::move(json), std::move(done), {}});
            done = nullptr;
        } else {
            ++impl_->counts.shares_failed;
        }
    }
    if (done) {
        done(false);
        return;
    }
    impl_->wake.notify_all();
}

void RedisStore::miner_var_diff(std::string miner, std::function<void(std::optional<std::uint64_t>)> done) {
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->stopped) {
            impl_->queue.push_back(Impl::Command{Impl::Kind::var_diff_get, std::move(miner), {}, std::move(done)});
            done = nullptr;
        }
    }
    if (done) {
        done(std::nullopt);
        return;
    }
    impl_->wake.notify_all();
}

bool RedisStore::connected() const { return impl_->up.load(); }

Counters RedisStore::counters() const {
    std::lock_guard lock(impl_->mutex);
    Counters c = impl_->counts;
    c.queued = impl_->queue.size() + impl_->in_flight;
    return c;
}

}  // namespace sharegate::redis
