#include "redis/subscriber.hpp"

#include <poll.h>

#include <cerrno>
#include <iterator>
#include <string_view>
#include <utility>

namespace sharegate::redis {

namespace {

// The pool back-end's channels, then sharegate's own bans.
constexpr std::size_t kSubscribedChannels = kChannels.size() + 1;

}  // namespace

Subscriber::Subscriber(Endpoint endpoint, std::function<void(const Message&)> on_message,
                       std::function<void()> on_subscribed)
    : endpoint_(std::move(endpoint)), on_message_(std::move(on_message)), on_subscribed_(std::move(on_subscribed)) {}

Subscriber::~Subscriber() {
    request_stop();
    join();
}

void Subscriber::start() {
    std::lock_guard lock(mutex_);
    if (started_ || stopping_.load()) return;
    started_ = true;
    thread_ = std::thread([this] { run(); });
}

void Subscriber::request_stop() {
    {
        // Under the mutex, so that a backoff wait cannot miss it between its check and
        // its sleep.
        std::lock_guard lock(mutex_);
        stopping_.store(true);
    }
    wake_.notify_all();
}

void Subscriber::join() {
    std::thread thread;
    {
        std::lock_guard lock(mutex_);
        thread = std::move(thread_);
    }
    if (thread.joinable()) thread.join();
}

void Subscriber::dispatch(const redisReply& reply) {
    // ["subscribe", channel, count] or ["message", channel, payload]
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) return;
    const redisReply* kind = reply.element[0];
    const redisReply* channel = reply.element[1];
    const redisReply* payload = reply.element[2];
    if (kind->type != REDIS_REPLY_STRING) return;
    const std::string_view type(kind->str, kind->len);
    if (type == "subscribe" && payload->type == REDIS_REPLY_INTEGER &&
        payload->integer == static_cast<long long>(kSubscribedChannels)) {
        confirmed_ = true;
        if (on_subscribed_) on_subscribed_();
        return;
    }
    if (type != "message") return;
    if (channel->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING) {
        ++messages_ignored_;
        return;
    }
    const auto message =
        parse_message(std::string_view(channel->str, channel->len), std::string_view(payload->str, payload->len));
    if (!message) {
        ++messages_ignored_;
        return;
    }
    if (on_message_) on_message_(*message);
}

// Reads what has arrived; false when the connection is lost or unusable.
bool Subscriber::pump(redisContext* c) {
    pollfd pfd{c->fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(kPollInterval.count()));
    if (ready < 0) return errno == EINTR;
    if (ready == 0) return true;
    if (redisBufferRead(c) != REDIS_OK) return false;
    while (true) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(c, &raw) != REDIS_OK) return false;
        if (raw == nullptr) return !refused_;
        Reply reply(static_cast<redisReply*>(raw));
        // E.g. LOADING: SUBSCRIBE did not take, so this connection would hear nothing.
        if (reply->type == REDIS_REPLY_ERROR) refused_ = true;
        dispatch(*reply);
    }
}

void Subscriber::run() {
    block_sigpipe();
    auto backoff = kBackoffMin;
    bool ever_subscribed = false;
    while (!stopping_.load()) {
        confirmed_ = false;
        refused_ = false;
        Context ctx = connect(endpoint_, kConnectTimeout);
        if (ctx) {
            const char* argv[1 + kSubscribedChannels] = {"SUBSCRIBE"};
            for (std::size_t i = 0; i < kChannels.size(); ++i) argv[1 + i] = kChannels[i];
            argv[kSubscribedChannels] = kBanChannel;
            redisAppendCommandArgv(ctx.get(), static_cast<int>(std::size(argv)), argv, nullptr);
            int done = 0;
            while (ctx && !done) {
                if (redisBufferWrite(ctx.get(), &done) != REDIS_OK) ctx.reset();
            }
        }
        bool counted = false;
        while (ctx && !stopping_.load() && pump(ctx.get())) {
            if (confirmed_ && !counted) {
                counted = true;
                backoff = kBackoffMin;
                if (ever_subscribed) ++reconnects_;
                ever_subscribed = true;
            }
        }
        // A connection that worked until now is tried again at once.
        if (confirmed_) continue;
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, backoff, [&] { return stopping_.load(); });
        backoff = next_backoff(backoff);
    }
}

}  // namespace sharegate::redis
