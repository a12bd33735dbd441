// The server's share store: an accepted share goes to Redis (claimed pool-wide by its
// challenge and nonce, and pushed only when this push's claim is the first), and when Redis does not take it within a
// short bound, or is known to be down, to the local spool (spool/spool.hpp), whose group commit makes it durable; the
// miner hears "true" from whichever holds it first. A drain thread moves the spool's shares into Redis in order as soon
// as Redis takes writes again; while the spool holds any, new shares queue behind them there, so that a miner's spooled
// shares reach the list before its later ones (unless the spool is full while Redis takes writes: then a share goes
// straight to Redis rather than be refused). Without a spool it is the plain Redis push.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "metrics/histogram.hpp"
#include "pool/share_store.hpp"
#include "redis/redis_store.hpp"
#include "spool/spool.hpp"

namespace sharegate::server {

struct SpoolCounters {
    std::uint64_t spooled = 0;   // shares answered from the spool (Redis too slow or down)
    std::uint64_t replayed = 0;  // spooled shares delivered to Redis by the drain
    // Spooled shares the drain found claimed by another push (another instance took the
    // same share while Redis was away from this one): answered already, not pushed.
    std::uint64_t replay_duplicates = 0;
    std::uint64_t refused = 0;  // shares the spool could not take (full, or a write failed)
};

class DurableShareStore final : public pool::ShareStore {
public:
    // `spool` may be null: no spool, every share waits for Redis as before.
    // `redis_push_seconds` (may be null) records each push from its hand-over to Redis to
    // Redis's acknowledgement, for /metrics.
    DurableShareStore(redis::RedisStore& redis, spool::Spool* spool, std::chrono::milliseconds redis_bound,
                      metrics::Histogram* redis_push_seconds = nullptr);
    ~DurableShareStore() override;
    DurableShareStore(const DurableShareStore&) = delete;
    DurableShareStore& operator=(const DurableShareStore&) = delete;

    void start();
    // Shutdown: every push Redis has not acknowledged goes to the spool (and is answered
    // from there), then the threads end. Call before RedisStore::stop.
    void stop();

    // Each push claims the share under a token of its own (kept with it in the spool), so
    // that its retries and replays find their own claim, and another instance's finds
    // someone else's.
    void push(std::string key, std::string queued_share_json, pool::StoreDone done) override;

    SpoolCounters counters() const;
    // The spool holds shares not yet in Redis, or is writing some: a share arriving now
    // queues behind them there (a miner's spooled shares reach the list before its later ones).
    bool backlog() const;

private:
    struct Pending;
    // Why a share goes to the spool, for the one line that says spooling has begun.
    enum class SpoolReason { redis_down, redis_slow, behind_spooled, shutting_down };
    void push_to_redis(const std::shared_ptr<Pending>& pending);
    void to_spool(const std::shared_ptr<Pending>& pending, SpoolReason why);
    void note_spooling(SpoolReason why);
    void note_drained_if_done();
    void observe_push(std::chrono::steady_clock::time_point pushed_at);
    void watch_loop();
    void drain_loop();

    redis::RedisStore& redis_;
    spool::Spool* const spool_;
    const std::chrono::milliseconds bound_;
    metrics::Histogram* const push_seconds_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Pending>> watched_;  // pushed to Redis, not yet answered, oldest first
    bool stopping_ = false;
    std::thread watcher_;
    std::thread drainer_;

    std::atomic<std::uint64_t> spooled_{0}, replayed_{0}, replay_duplicates_{0}, refused_{0};
    // Claim tokens: a random prefix drawn at start, unique to this process, and a count.
    const std::string token_prefix_;
    std::atomic<std::uint64_t> tokens_issued_{0};
    // One line when shares start going to the spool and one when it has been empty for a
    // while again (kQuietBeforeDrained), not a pair for every push that missed the bound.
    std::atomic<bool> spooling_logged_{false};
    std::atomic<std::int64_t> last_spooled_ns_{0};
    std::atomic<std::uint64_t> replayed_before_episode_{0};
    // Appends to the spool not answered yet: not counted in its records_waiting() until
    // they are durable, and a share pushed straight to Redis meanwhile would overtake them.
    std::atomic<std::int64_t> spooling_{0};
};

}  // namespace sharegate::server
