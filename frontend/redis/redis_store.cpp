// The facade: one CommandPipeline and one Subscriber, wired together. Each owns its
// connection and thread; this file only routes events between them and the caller.
#include "redis/redis_store.hpp"

#include <type_traits>
#include <utility>
#include <variant>

#include "redis/command_pipeline.hpp"
#include "redis/subscriber.hpp"
#include "redis/value_codec.hpp"

namespace sharegate::redis {

namespace {

// Hands a parsed message to the caller's handler for its channel.
void deliver(const Events& events, const Message& message) {
    std::visit(
        [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, Bytes32>) {
                if (events.on_challenge) events.on_challenge(value);
            } else if constexpr (std::is_same_v<T, std::uint64_t>) {
                if (events.on_block) events.on_block(value);
            } else if constexpr (std::is_same_v<T, VarDiffUpdate>) {
                if (events.on_var_diff) events.on_var_diff(value);
            } else {
                static_assert(std::is_same_v<T, BanRecord>);
                if (events.on_ban) events.on_ban(value);
            }
        },
        message);
}

}  // namespace

struct RedisStore::Impl {
    Impl(const Endpoint& endpoint, Events e)
        : events(std::move(e)),
          pipeline(endpoint, events.on_snapshot, events.on_connection, events.on_bans),
          subscriber(
              endpoint, [this](const Message& message) { deliver(events, message); },
              // What was published while the subscriber was away is lost: read the keys again.
              [this] { pipeline.request_snapshot(); }) {}

    const Events events;
    CommandPipeline pipeline;
    Subscriber subscriber;
};

RedisStore::RedisStore(Endpoint endpoint, Events events) : impl_(std::make_unique<Impl>(endpoint, std::move(events))) {}

RedisStore::~RedisStore() { stop(); }

void RedisStore::start() {
    if (impl_->pipeline.start()) impl_->subscriber.start();
}

void RedisStore::stop(std::chrono::milliseconds drain_timeout) {
    // Both are told before either is waited for, so that the drain time runs from now,
    // not from when the subscriber has let go.
    impl_->subscriber.request_stop();
    impl_->pipeline.request_stop(drain_timeout);
    impl_->subscriber.join();
    impl_->pipeline.join();
}

void RedisStore::push_share(std::string json, std::function<void(bool stored)> done) {
    impl_->pipeline.push_share(std::move(json), std::move(done));
}

std::shared_ptr<PushTicket> RedisStore::push_share_once(std::shared_ptr<const ClaimText> text,
                                                        std::function<void(ClaimResult)> done) {
    return impl_->pipeline.push_share_once(std::move(text), std::move(done));
}

std::shared_ptr<PushTicket> RedisStore::push_share_once(std::string key, std::string token, std::string json,
                                                        std::function<void(ClaimResult)> done) {
    return push_share_once(
        std::make_shared<const ClaimText>(ClaimText{std::move(key), std::move(token), std::move(json)}),
        std::move(done));
}

void RedisStore::miner_var_diff(std::string miner, std::function<void(std::optional<std::uint64_t>)> done) {
    impl_->pipeline.miner_var_diff(std::move(miner), std::move(done));
}

void RedisStore::publish_ban(BanRecord ban) { impl_->pipeline.publish_ban(ban); }

void RedisStore::lift_ban(std::string address, std::string by) { impl_->pipeline.lift_ban(address, by); }

bool RedisStore::connected() const { return impl_->pipeline.connected(); }

bool RedisStore::writable() const { return impl_->pipeline.writable(); }

PushLatency RedisStore::push_latency() { return impl_->pipeline.push_latency(); }

Counters RedisStore::counters() const {
    Counters c = impl_->pipeline.counters();
    c.reconnects += impl_->subscriber.reconnects();
    c.messages_ignored = impl_->subscriber.messages_ignored();
    return c;
}

}  // namespace sharegate::redis
