// What the command pipeline and the subscriber both need of hiredis: owning handles,
// connecting with a time limit, the shared reconnect timing, and SIGPIPE kept away from
// the process. Blocking hiredis only; each connection lives on one thread.
// Endpoint::parse (declared with Endpoint in redis_store.hpp) is defined with them.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>

#include "redis/redis_store.hpp"

namespace sharegate::redis {

struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Reconnecting waits from kBackoffMin, doubling up to kBackoffMax, so a Redis that is
// down is not hammered and one that is back is found again within a second.
inline constexpr auto kBackoffMin = std::chrono::milliseconds(50);
inline constexpr auto kBackoffMax = std::chrono::milliseconds(1000);
inline constexpr auto kConnectTimeout = std::chrono::milliseconds(1000);
// How often the subscriber looks at the stop flag, and how often an idle command
// connection checks that Redis has not closed it.
inline constexpr auto kPollInterval = std::chrono::milliseconds(200);

// The next wait after one of backoff: doubled, at most kBackoffMax.
std::chrono::milliseconds next_backoff(std::chrono::milliseconds backoff);

timeval to_timeval(std::chrono::milliseconds ms);

// A connected context, or nullptr when Redis cannot be reached within timeout.
Context connect(const Endpoint& endpoint, std::chrono::milliseconds timeout);

// hiredis writes with write(2): a peer that went away would raise SIGPIPE and kill the
// process. The signal is synchronous, so blocking it in our own threads is enough (the
// write then fails with EPIPE) and leaves the process's disposition alone. Called first
// thing on every thread that talks to Redis.
void block_sigpipe();

}  // namespace sharegate::redis
