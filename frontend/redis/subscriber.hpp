// The pub/sub connection to Redis (docs/protocol.md section 4), on a thread of its own:
// it subscribes to kChannels (challengeNumber, ethBlockNumber, varDiff) and kBanChannel
// (sharegate:bans), hands each message that parses to on_message and counts the others
// (a ban message that fails parse_ban too), and after a drop connects
// and subscribes again with backoff. Messages published while it was not listening are
// lost, so every confirmed (re)subscription calls on_subscribed: the owner then reads
// the keys again on the command connection (CommandPipeline::request_snapshot), since a
// subscribed connection can issue no GET.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "redis/connection.hpp"
#include "redis/redis_store.hpp"
#include "redis/value_codec.hpp"

namespace sharegate::redis {

class Subscriber {
public:
    // Both are called on the subscriber's thread and must be quick.
    Subscriber(Endpoint endpoint, std::function<void(const Message&)> on_message, std::function<void()> on_subscribed);
    ~Subscriber();  // request_stop, then join
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    // Starts the thread; nothing happens when already started or stopping.
    void start();
    // Asks the thread to close its connection and end; it notices within kPollInterval
    // (or a connect timeout). Does not wait.
    void request_stop();
    void join();

    // Subscriptions made again after a drop (the first one is no reconnect).
    std::uint64_t reconnects() const { return reconnects_.load(); }
    // Messages on our channels (the ban channel included) that did not parse, or were
    // not strings.
    std::uint64_t messages_ignored() const { return messages_ignored_.load(); }

private:
    void run();
    bool pump(redisContext* c);
    void dispatch(const redisReply& reply);

    const Endpoint endpoint_;
    const std::function<void(const Message&)> on_message_;
    const std::function<void()> on_subscribed_;

    std::mutex mutex_;
    std::condition_variable wake_;  // ends a backoff wait early on request_stop
    bool started_ = false;          // guarded by mutex_
    std::thread thread_;            // guarded by mutex_ (moved out to be joined)
    std::atomic<bool> stopping_{false};

    bool confirmed_ = false;  // subscriber thread only: all channels confirmed
    bool refused_ = false;    // subscriber thread only: Redis answered with an error

    std::atomic<std::uint64_t> reconnects_{0};
    std::atomic<std::uint64_t> messages_ignored_{0};
};

}  // namespace sharegate::redis
