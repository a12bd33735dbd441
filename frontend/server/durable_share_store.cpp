#include "server/durable_share_store.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

namespace sharegate::server {

namespace {

// A spool record: the key, a space, the claim token, a newline, the queued_shares_list
// JSON (which holds no newline). Records spooled before claims had tokens lack the space
// and the token: their replay takes any claim for its own, as it did then.
std::string spool_record(const std::string& key, const std::string& token, const std::string& json) {
    return key + " " + token + "\n" + json;
}

struct SpoolRecord {
    std::string key, token, json;
};

std::optional<SpoolRecord> parse_spool_record(const std::string& payload) {
    const auto newline = payload.find('\n');
    if (newline == std::string::npos) return std::nullopt;
    SpoolRecord record;
    const std::string_view head(payload.data(), newline);
    const auto space = head.find(' ');
    record.key = std::string(head.substr(0, space));
    if (space != std::string_view::npos) record.token = std::string(head.substr(space + 1));
    record.json = payload.substr(newline + 1);
    if (record.key.empty()) return std::nullopt;
    return record;
}

// 64 random bits in hex: with the count after it, a token no other process (here or on
// another host, now or after a restart) issues.
std::string random_token_prefix() {
    std::random_device device;
    const std::uint64_t bits = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
    return text;
}

pool::StoreResult store_result(redis::ClaimResult result) {
    switch (result) {
        case redis::ClaimResult::stored: return pool::StoreResult::stored;
        case redis::ClaimResult::claimed_elsewhere: return pool::StoreResult::duplicate;
        case redis::ClaimResult::failed: break;
    }
    return pool::StoreResult::not_stored;
}

// How many spooled shares the drain has in flight to Redis at once.
constexpr std::size_t kDrainBatch = 512;

// The spool counts as drained (and spooling may be logged again) once it has been empty,
// with nothing newly spooled, for this long: a Redis that is merely slow would otherwise
// write a pair of lines for every push that missed the bound.
constexpr std::chrono::seconds kQuietBeforeDrained{5};

std::int64_t steady_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

// One share from push() until its miner is answered. Its text is built here once and
// shared with its Redis push (an aliasing pointer: the push keeps the record alive until
// its done has returned), and spooled from here if Redis does not take it in time. The
// record holds its push weakly: the push's queue owns it, and a finished push needs no
// abandoning.
struct DurableShareStore::Pending {
    redis::ClaimText text;
    pool::StoreDone done;
    std::chrono::steady_clock::time_point pushed_at;
    std::chrono::steady_clock::time_point deadline;
    std::weak_ptr<redis::PushTicket> ticket;
    std::atomic<bool> answered{false};

    // The miner's answer: from Redis or from the spool, whichever comes first.
    void answer(pool::StoreResult result) {
        if (!answered.exchange(true)) done(result);
    }
};

DurableShareStore::DurableShareStore(redis::RedisStore& redis, spool::Spool* spool,
                                     std::chrono::milliseconds redis_bound, metrics::Histogram* redis_push_seconds)
    : redis_(redis),
      spool_(spool),
      bound_(redis_bound),
      push_seconds_(redis_push_seconds),
      token_prefix_(random_token_prefix()) {}

DurableShareStore::~DurableShareStore() { stop(); }

void DurableShareStore::start() {
    if (!spool_) return;
    watcher_ = std::thread([this] { watch_loop(); });
    drainer_ = std::thread([this] { drain_loop(); });
}

bool DurableShareStore::backlog() const {
    // In this order: an append counts in records_waiting() before its callback lowers spooling_.
    return spool_ && (spooling_.load(std::memory_order_acquire) > 0 || spool_->records_waiting() > 0);
}

SpoolCounters DurableShareStore::counters() const {
    return {spooled_.load(std::memory_order_relaxed), replayed_.load(std::memory_order_relaxed),
            replay_duplicates_.load(std::memory_order_relaxed), refused_.load(std::memory_order_relaxed)};
}

void DurableShareStore::push(std::string key, std::string json, pool::StoreDone done) {
    auto pending = std::make_shared<Pending>();
    pending->pushed_at = std::chrono::steady_clock::now();
    char count[17];
    std::snprintf(count, sizeof count, "%llx",
                  static_cast<unsigned long long>(tokens_issued_.fetch_add(1, std::memory_order_relaxed)));
    std::string& token = pending->text.token;
    token.reserve(token_prefix_.size() + 1 + sizeof count);  // one allocation
    token += token_prefix_;
    token.push_back('.');
    token += count;
    pending->text.key = std::move(key);
    pending->text.json = std::move(json);
    pending->done = std::move(done);
    if (!spool_) {
        push_to_redis(pending);
        return;
    }
    // Behind shares already spooled (a miner's order), or straight there while Redis is
    // down. A full spool with Redis back is the exception: the share goes to Redis out of
    // order rather than be refused while Redis could take it.
    const bool writable = redis_.writable();
    if (!writable) return to_spool(pending, SpoolReason::redis_down);
    if (backlog() && !spool_->full()) return to_spool(pending, SpoolReason::behind_spooled);
    {
        std::lock_guard lock(mutex_);
        // Shutting down: the spool keeps it for the next start.
        if (stopping_) return to_spool(pending, SpoolReason::shutting_down);
    }
    pending->deadline = std::chrono::steady_clock::now() + bound_;
    push_to_redis(pending);
    bool first = false;
    {
        std::lock_guard lock(mutex_);
        first = watched_.empty();
        watched_.push_back(std::move(pending));
    }
    if (first) wake_.notify_all();
}

// The push holds the record (through its text) until its done has returned, so done can
// reach the record by a plain pointer: two pointers, which std::function keeps without
// allocating.
void DurableShareStore::push_to_redis(const std::shared_ptr<Pending>& pending) {
    pending->ticket = redis_.push_share_once(std::shared_ptr<const redis::ClaimText>(pending, &pending->text),
                                             [this, record = pending.get()](redis::ClaimResult result) {
                                                 if (result != redis::ClaimResult::failed)
                                                     observe_push(record->pushed_at);
                                                 record->answer(store_result(result));
                                             });
}

void DurableShareStore::observe_push(std::chrono::steady_clock::time_point pushed_at) {
    if (push_seconds_)
        push_seconds_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - pushed_at).count());
}

void DurableShareStore::note_spooling(SpoolReason why) {
    last_spooled_ns_.store(steady_now_ns(), std::memory_order_relaxed);
    if (spooling_logged_.exchange(true, std::memory_order_acq_rel)) return;
    replayed_before_episode_.store(replayed_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    switch (why) {
        case SpoolReason::redis_down:
            spdlog::warn("spool: Redis takes no writes; accepted shares go to the spool until it does");
            break;
        case SpoolReason::redis_slow:
            spdlog::warn(
                "spool: Redis did not take a share within {} ms; accepted shares go to the spool until it keeps up",
                bound_.count());
            break;
        case SpoolReason::behind_spooled:
            spdlog::info("spool: new shares queue behind the spooled ones being replayed into Redis");
            break;
        case SpoolReason::shutting_down:
            spdlog::info("spool: shutting down; what Redis has not acknowledged stays in the spool for the next start");
            break;
    }
}

// On the drain thread, when it found nothing to send.
void DurableShareStore::note_drained_if_done() {
    if (!spooling_logged_.load(std::memory_order_acquire) || backlog()) return;
    if (steady_now_ns() - last_spooled_ns_.load(std::memory_order_relaxed) <
        std::chrono::duration_cast<std::chrono::nanoseconds>(kQuietBeforeDrained).count())
        return;
    if (!spooling_logged_.exchange(false, std::memory_order_acq_rel)) return;
    spdlog::info("spool: drained; {} spooled shares replayed into Redis, new shares go straight to Redis again",
                 replayed_.load(std::memory_order_relaxed) - replayed_before_episode_.load(std::memory_order_relaxed));
}

void DurableShareStore::to_spool(const std::shared_ptr<Pending>& pending, SpoolReason why) {
    note_spooling(why);
    spooling_.fetch_add(1, std::memory_order_acq_rel);
    spool_->append(spool_record(pending->text.key, pending->text.token, pending->text.json),
                   [this, pending](bool durable) {
                       if (durable) {
                           spooled_.fetch_add(1, std::memory_order_relaxed);
                       } else {
                           refused_.fetch_add(1, std::memory_order_relaxed);
                       }
                       spooling_.fetch_sub(1, std::memory_order_acq_rel);
                       pending->answer(durable ? pool::StoreResult::stored : pool::StoreResult::not_stored);
                   });
}

// Moves every push Redis did not answer within the bound to the spool. One still waiting
// in Redis's queue is abandoned there; one already written to Redis stays, and whichever
// answers first answers the miner (the key keeps the list to one copy).
void DurableShareStore::watch_loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        std::vector<std::shared_ptr<Pending>> overdue;
        while (!watched_.empty() && (stopping_ || watched_.front()->deadline <= now || watched_.front()->answered)) {
            if (!watched_.front()->answered) overdue.push_back(watched_.front());
            watched_.pop_front();
        }
        const bool stop = stopping_ && watched_.empty();
        const SpoolReason why = stopping_ ? SpoolReason::shutting_down : SpoolReason::redis_slow;
        lock.unlock();
        for (auto& pending : overdue) {
            if (const auto ticket = pending->ticket.lock()) ticket->abandon();
            to_spool(pending, why);
        }
        lock.lock();
        if (stop) return;
        if (watched_.empty()) {
            wake_.wait(lock);
        } else {
            wake_.wait_until(lock, watched_.front()->deadline);
        }
    }
}

// Delivers the spool's shares to Redis in order, a batch at a time; a share Redis refused
// goes back to the spool's queue and the drain waits a moment. At shutdown what is still
// out is abandoned: it stays in the spool for the next start.
void DurableShareStore::drain_loop() {
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (stopping_) return;
        }
        std::vector<spool::Entry> entries;
        if (redis_.writable()) entries = spool_->next(kDrainBatch);
        if (entries.empty()) {
            note_drained_if_done();
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; });
            continue;
        }
        struct Batch {
            std::mutex mutex;
            std::condition_variable done;
            std::size_t left = 0;
            bool failed = false;
        };
        auto batch = std::make_shared<Batch>();
        std::vector<std::shared_ptr<redis::PushTicket>> tickets;
        tickets.reserve(entries.size());
        for (auto& entry : entries) {
            auto record = parse_spool_record(entry.payload);
            if (!record) {
                // Not a record this store wrote: never deliverable, so not kept waiting.
                spdlog::error("spool: record {} has no key; dropped", entry.id);
                spool_->acknowledge(entry.id);
                continue;
            }
            {
                std::lock_guard lock(batch->mutex);
                ++batch->left;
            }
            tickets.push_back(
                redis_.push_share_once(std::move(record->key), std::move(record->token), std::move(record->json),
                                       [this, batch, id = entry.id](redis::ClaimResult result) {
                                           switch (result) {
                                               case redis::ClaimResult::stored:
                                                   spool_->acknowledge(id);
                                                   replayed_.fetch_add(1, std::memory_order_relaxed);
                                                   break;
                                               case redis::ClaimResult::claimed_elsewhere:
                                                   // Its miner heard "accepted" from the spool, but another push
                                                   // holds the claim (the same share sent to another instance while
                                                   // this one could not reach Redis): credited once, there.
                                                   spool_->acknowledge(id);
                                                   replay_duplicates_.fetch_add(1, std::memory_order_relaxed);
                                                   break;
                                               case redis::ClaimResult::failed: spool_->requeue(id); break;
                                           }
                                           std::lock_guard lock(batch->mutex);
                                           if (result == redis::ClaimResult::failed) batch->failed = true;
                                           if (--batch->left == 0) batch->done.notify_all();
                                       }));
        }
        for (;;) {
            {
                std::unique_lock lock(batch->mutex);
                if (batch->done.wait_for(lock, std::chrono::milliseconds(100), [&] { return batch->left == 0; })) break;
            }
            std::lock_guard lock(mutex_);
            if (stopping_) {
                // Those not yet written stay in the spool (replayed at the next start); one on
                // the wire still acknowledges its record when Redis answers.
                for (auto& ticket : tickets) ticket->abandon();
                return;
            }
        }
        if (batch->failed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void DurableShareStore::stop() {
    {
        // A healthy Redis answers what is in flight within the bound: give it that long
        // rather than spool shares it is about to store.
        std::unique_lock lock(mutex_);
        const auto until = std::chrono::steady_clock::now() + bound_;
        while (std::chrono::steady_clock::now() < until) {
            bool all_answered = true;
            for (const auto& pending : watched_) all_answered = all_answered && pending->answered;
            if (all_answered) break;
            lock.unlock();
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            lock.lock();
        }
        if (stopping_ && !watcher_.joinable() && !drainer_.joinable()) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (watcher_.joinable()) watcher_.join();
    if (drainer_.joinable()) drainer_.join();
}

}  // namespace sharegate::server
