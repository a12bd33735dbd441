// Upstream (frontend/proxy/upstream.hpp) against a fake stratum pool on real loopback
// sockets. The fake is driven step by step from the test's thread with blocking sockets
// (accept, read the proxy's next line, answer, stay silent, hang up), while the Upstream
// runs on an io_context thread of its own: the subscribe and its account, notifies turned
// into Work, pipelined submits matched to replies out of order, both reply shapes, a lost
// connection answering every waiting share not_forwarded, reconnection and resubscription,
// the reply timeout, the in-flight bound, a refused subscribe, and stop().
#include "proxy/upstream.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "metrics/exposition.hpp"
#include "protocol/stratum.hpp"
#include "proxy/proxy_calls.hpp"
#include "proxy/proxy_metrics.hpp"
#include "sharegate/seed_share.hpp"

namespace sharegate::proxy {
namespace {

using namespace std::chrono_literals;
namespace seed = sharegate::seed;
namespace errors = protocol::errors;
using protocol::ReplyStyle;
using protocol::Request;

// Generous: only there so that a broken proxy fails the test instead of hanging it.
constexpr auto kPatience = 10s;

// For what nothing notifies (the Upstream's counters): checked every few milliseconds
// until it holds or kPatience has passed.
bool poll_until(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

constexpr const char* kAccount = "0x00000000000000000000000000000000000000fa";

// One accepted connection of the fake pool, read and written with blocking calls.
class PoolConnection {
public:
    explicit PoolConnection(int fd) : fd_(fd) {}
    ~PoolConnection() { close(); }
    PoolConnection(const PoolConnection&) = delete;
    PoolConnection& operator=(const PoolConnection&) = delete;

    // The proxy's next line (without '\n'); nullopt when it closed or nothing came in time.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = kPatience) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            if (const auto newline = buffer_.find('\n'); newline != std::string::npos) {
                std::string line = buffer_.substr(0, newline);
                buffer_.erase(0, newline + 1);
                return line;
            }
            if (!wait_readable(deadline)) return std::nullopt;
            char chunk[4096];
            const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
            if (got <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(got));
        }
    }

    // The proxy's next line parsed as the server parses it.
    Request read_request() {
        const std::optional<std::string> line = read_line();
        EXPECT_TRUE(line) << "no line from the proxy";
        return parser_.parse(line.value_or(""));
    }

    // True when the proxy closed its end (EOF or reset) within the timeout.
    bool wait_closed(std::chrono::milliseconds timeout = kPatience) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (wait_readable(deadline)) {
            char chunk[4096];
            const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
            if (got <= 0) return true;
            buffer_.append(chunk, static_cast<std::size_t>(got));
        }
        return false;
    }

    void send(const std::string& text) {
        std::size_t sent = 0;
        while (sent < text.size()) {
            const ssize_t n = ::send(fd_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                ADD_FAILURE() << "the fake pool could not send";
                return;
            }
            sent += static_cast<std::size_t>(n);
        }
    }

    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    bool wait_readable(std::chrono::steady_clock::time_point deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd poll_fd{fd_, POLLIN, 0};
        return ::poll(&poll_fd, 1, static_cast<int>(left.count())) == 1;
    }

    int fd_;
    std::string buffer_;
    protocol::StratumParser parser_;
};

// A listening socket on 127.0.0.1 and an ephemeral port.
class FakePool {
public:
    FakePool() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            ADD_FAILURE() << "the fake pool cannot listen";
            return;
        }
        port_ = ntohs(address.sin_port);
    }
    ~FakePool() {
        if (fd_ >= 0) ::close(fd_);
    }
    FakePool(const FakePool&) = delete;
    FakePool& operator=(const FakePool&) = delete;

    std::uint16_t port() const { return port_; }

    // The proxy's next connection; null when none came in time.
    std::unique_ptr<PoolConnection> accept(std::chrono::milliseconds timeout = kPatience) {
        pollfd poll_fd{fd_, POLLIN, 0};
        if (::poll(&poll_fd, 1, static_cast<int>(timeout.count())) != 1) return nullptr;
        const int connection = ::accept(fd_, nullptr, nullptr);
        if (connection < 0) return nullptr;
        return std::make_unique<PoolConnection>(connection);
    }

    // Accepts, reads the subscribe and accepts it (JSON-RPC 2.0, as sharegate answers a
    // subscribe with a client id), then sends the seed's work.
    std::unique_ptr<PoolConnection> accept_subscribed(std::uint64_t difficulty = seed::kDifficulty) {
        auto connection = accept();
        if (!connection) {
            ADD_FAILURE() << "the proxy did not connect";
            return nullptr;
        }
        const Request subscribe = connection->read_request();
        EXPECT_EQ(subscribe.kind, Request::Kind::subscribe);
        connection->send(protocol::reply_true(subscribe.id, ReplyStyle::jsonrpc2));
        connection->send(notify_line(seed::kChallenge, difficulty));
        return connection;
    }

    static std::string notify_line(const char* challenge, std::uint64_t difficulty) {
        // 0xBitcoin's 2^234, as the seed's target is.
        return protocol::notify(*parse_hex32(challenge), sharegate::share_target(234, difficulty), difficulty,
                                *Address::parse(seed::kPool));
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// Whatever the Upstream reports from its strand, and the submits' verdicts, for the test
// thread to wait on.
class Events {
    // First, for the deduction of its return type in the members below.
    template <typename F>
    auto locked(F&& f) {
        std::lock_guard lock(mutex_);
        return f();
    }

public:
    void on_work(const Work& work) {
        std::lock_guard lock(mutex_);
        works_.push_back(work);
        changed_.notify_all();
    }
    void on_state(bool up) {
        std::lock_guard lock(mutex_);
        states_.push_back(up);
        changed_.notify_all();
    }
    // A verdict callback for the submit named `key`.
    std::function<void(Verdict)> verdict_for(int key) {
        return [this, key](Verdict verdict) {
            std::lock_guard lock(mutex_);
            EXPECT_FALSE(verdicts_.contains(key)) << "share " << key << " answered twice";
            verdicts_.emplace(key, std::move(verdict));
            changed_.notify_all();
        };
    }

    bool wait(const std::function<bool()>& condition) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, kPatience, condition);
    }
    std::size_t work_count() {
        return locked([&] { return works_.size(); });
    }
    Work last_work() {
        return locked([&] { return works_.back(); });
    }
    std::vector<bool> states() {
        return locked([&] { return states_; });
    }
    bool has_verdict(int key) {
        return locked([&] { return verdicts_.contains(key); });
    }
    std::optional<Verdict> verdict(int key) {
        return locked([&]() -> std::optional<Verdict> {
            const auto found = verdicts_.find(key);
            return found == verdicts_.end() ? std::nullopt : std::optional<Verdict>(found->second);
        });
    }
    // Waits for the verdict of share `key`.
    std::optional<Verdict> await_verdict(int key) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, kPatience, [&] { return verdicts_.contains(key); });
        const auto found = verdicts_.find(key);
        return found == verdicts_.end() ? std::nullopt : std::optional<Verdict>(found->second);
    }
    bool await_states(std::size_t count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, kPatience, [&] { return states_.size() >= count; });
    }
    bool await_works(std::size_t count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, kPatience, [&] { return works_.size() >= count; });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Work> works_;
    std::vector<bool> states_;
    std::map<int, Verdict> verdicts_;
};

// A share whose nonce tells it apart (its last byte is `key`).
ShareToForward share_numbered(int key) {
    char last[3];
    std::snprintf(last, sizeof last, "%02x", key & 0xff);
    ShareToForward share;
    share.nonce = std::string(seed::kNonce).substr(0, 64) + last;
    share.miner = seed::kMiner;
    share.digest = seed::kDigest;
    share.difficulty = seed::kDifficulty;
    share.challenge = seed::kChallenge;
    return share;
}

// The key of a submit the fake pool read: the nonce's last byte.
int key_of(const Request& submit) { return submit.submit.nonce[31]; }

UpstreamOptions options_for(const FakePool& pool) {
    UpstreamOptions options;
    options.host = "127.0.0.1";
    options.port = pool.port();
    options.account = kAccount;
    // Quick retries, so that the reconnecting tests do not wait; the reply timeout far
    // beyond any test's step unless the test is about it.
    options.backoff_min = 20ms;
    options.backoff_max = 200ms;
    options.reply_timeout = 60s;
    return options;
}

// An Upstream on an io_context thread of its own.
class UpstreamRun {
public:
    // `work`, when given, gets every notify before `events` hears of it (as the proxy wires it).
    UpstreamRun(UpstreamOptions options, Events& events, WorkState* work = nullptr)
        : upstream_(std::make_unique<Upstream>(
              io_, std::move(options),
              [&events, work](const Work& notified) {
                  if (work) work->publish(notified);
                  events.on_work(notified);
              },
              [&events](bool up) { events.on_state(up); })) {
        upstream_->start();
        thread_ = std::thread([this] { io_.run(); });
    }

    // stop(), then the io_context must run out of work by itself: a handler left behind
    // after stop() would hang here (and ctest's timeout would report it).
    ~UpstreamRun() {
        upstream_->stop();
        guard_.reset();
        thread_.join();
        upstream_.reset();
    }

    Upstream& operator*() { return *upstream_; }
    Upstream* operator->() { return upstream_.get(); }

private:
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{io_.get_executor()};
    std::unique_ptr<Upstream> upstream_;
    std::thread thread_;
};

TEST(Upstream, SubscribesAsTheAccountAndPublishesTheNotify) {
    FakePool pool;
    Events events;
    UpstreamRun upstream(options_for(pool), events);

    auto connection = pool.accept();
    ASSERT_TRUE(connection);
    const Request subscribe = connection->read_request();
    ASSERT_EQ(subscribe.kind, Request::Kind::subscribe);
    EXPECT_EQ(subscribe.subscribe.miner.normalized(), kAccount);
    // A client id, as MVis-tokenminer 2.2+ sends: sharegate answers it in one shape.
    EXPECT_EQ(subscribe.subscribe.client_id, "sharegate-proxy");
    EXPECT_FALSE(upstream->up());

    connection->send(protocol::reply_true(subscribe.id, ReplyStyle::jsonrpc2));
    ASSERT_TRUE(events.await_states(1));
    EXPECT_EQ(events.states(), std::vector<bool>{true});
    EXPECT_TRUE(upstream->up());

    connection->send(FakePool::notify_line(seed::kChallenge, seed::kDifficulty));
    ASSERT_TRUE(events.await_works(1));
    const Work work = events.last_work();
    EXPECT_EQ(work.challenge_text, seed::kChallenge);
    EXPECT_EQ(work.challenge, *parse_hex32(seed::kChallenge));
    EXPECT_EQ(work.target_decimal, seed::kTarget);
    EXPECT_EQ(work.target, *U256::from_decimal(seed::kTarget));
    EXPECT_EQ(work.difficulty, seed::kDifficulty);
    EXPECT_EQ(work.pool.checksummed(), seed::kPool);

    // An upper-case challenge is published in lower case.
    std::string upper = FakePool::notify_line(seed::kChallenge, 4000);
    const std::string lower_challenge = std::string(seed::kChallenge).substr(2);
    std::string upper_challenge = lower_challenge;
    for (char& c : upper_challenge) c = static_cast<char>(std::toupper(c));
    upper.replace(upper.find(lower_challenge), lower_challenge.size(), upper_challenge);
    connection->send(upper);
    ASSERT_TRUE(events.await_works(2));
    EXPECT_EQ(events.last_work().challenge_text, seed::kChallenge);
    EXPECT_EQ(events.last_work().difficulty, 4000u);

    const UpstreamCounters counters = upstream->counters();
    EXPECT_EQ(counters.connects, 1u);
    EXPECT_EQ(counters.subscribes, 1u);
    EXPECT_EQ(counters.notifies, 2u);
}

TEST(Upstream, OneParameterSubscribeWithoutClientId) {
    FakePool pool;
    Events events;
    UpstreamOptions options = options_for(pool);
    options.client_id.clear();
    UpstreamRun upstream(options, events);
    auto connection = pool.accept();
    ASSERT_TRUE(connection);
    const Request subscribe = connection->read_request();
    ASSERT_EQ(subscribe.kind, Request::Kind::subscribe);
    EXPECT_FALSE(subscribe.subscribe.client_id.has_value());
    // The original tokenpool's legacy reply.
    connection->send(protocol::reply_true(subscribe.id, ReplyStyle::legacy));
    ASSERT_TRUE(events.await_states(1));
    EXPECT_TRUE(upstream->up());
}

TEST(Upstream, PipelinedSubmitsMatchedByIdOutOfOrder) {
    FakePool pool;
    Events events;
    UpstreamRun upstream(options_for(pool), events);
    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_states(1));

    for (int key = 1; key <= 4; ++key) upstream->submit(share_numbered(key), events.verdict_for(key));
    std::map<int, Request> submits;
    for (int i = 0; i < 4; ++i) {
        Request submit = connection->read_request();
        ASSERT_EQ(submit.kind, Request::Kind::submit);
        submits.emplace(key_of(submit), std::move(submit));
    }
    ASSERT_EQ(submits.size(), 4u);
    // Forwarded as given: the rig's address (credited by the pool), its claimed difficulty.
    const Request& first = submits.at(1);
    EXPECT_EQ(first.submit.nonce_text, share_numbered(1).nonce);
    EXPECT_EQ(first.submit.miner.normalized(), seed::kMiner);
    EXPECT_EQ(first.submit.digest_text, seed::kDigest);
    EXPECT_EQ(first.submit.difficulty, seed::kDifficulty);
    EXPECT_EQ(first.submit.challenge_text, seed::kChallenge);
    // The proxy's own ids, one per submit.
    std::set<std::string> ids;
    for (const auto& [key, submit] : submits) ids.insert(submit.id);
    EXPECT_EQ(ids.size(), 4u);
    EXPECT_EQ(upstream->in_flight(), 4u);

    // Answered in reverse, in both shapes.
    connection->send(protocol::reply_error(submits.at(4).id, errors::kDuplicateShare, ReplyStyle::jsonrpc2));
    connection->send(protocol::reply_true(submits.at(3).id, ReplyStyle::legacy));
    connection->send(protocol::reply_error(submits.at(2).id, errors::kLowDifficulty, ReplyStyle::legacy));
    connection->send(protocol::reply_true(submits.at(1).id, ReplyStyle::jsonrpc2));
    for (int key = 1; key <= 4; ++key) ASSERT_TRUE(events.await_verdict(key)) << key;

    EXPECT_EQ(events.verdict(1)->kind, VerdictKind::accepted);
    EXPECT_EQ(events.verdict(2)->kind, VerdictKind::rejected);
    EXPECT_EQ(events.verdict(2)->code, 23);
    EXPECT_EQ(events.verdict(2)->message, "Low difficulty share");
    EXPECT_EQ(events.verdict(3)->kind, VerdictKind::accepted);
    EXPECT_EQ(events.verdict(4)->kind, VerdictKind::rejected);
    EXPECT_EQ(events.verdict(4)->code, 22);
    EXPECT_EQ(events.verdict(4)->message, "Duplicate share");
    EXPECT_EQ(upstream->in_flight(), 0u);
    const UpstreamCounters counters = upstream->counters();
    EXPECT_EQ(counters.submits_forwarded, 4u);
    EXPECT_EQ(counters.accepted, 2u);
    EXPECT_EQ(counters.rejected, 2u);
}

TEST(Upstream, BothShapesOfOneRefusalGiveOneVerdict) {
    FakePool pool;
    Events events;
    UpstreamRun upstream(options_for(pool), events);
    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_states(1));

    upstream->submit(share_numbered(1), events.verdict_for(1));
    upstream->submit(share_numbered(2), events.verdict_for(2));
    const Request one = connection->read_request();
    const Request two = connection->read_request();
    // sharegate's --reply-style both: the legacy line, then the JSON-RPC 2.0 line.
    connection->send(protocol::reply_error(one.id, errors::kTargetNotMet, ReplyStyle::both));
    connection->send("this is not json\n");
    connection->send(R"({"id":"someone else's","result":true})"
                     "\n");
    connection->send(protocol::reply_true(two.id, ReplyStyle::legacy));
    ASSERT_TRUE(events.await_verdict(key_of(one)));
    ASSERT_TRUE(events.await_verdict(key_of(two)));
    EXPECT_EQ(events.verdict(key_of(one))->kind, VerdictKind::rejected);
    EXPECT_EQ(events.verdict(key_of(one))->message, "Target not met");
    EXPECT_EQ(events.verdict(key_of(two))->kind, VerdictKind::accepted);
    // The junk and the second line of the refusal are ignored; the connection stays up.
    EXPECT_TRUE(upstream->up());
    EXPECT_EQ(upstream->counters().unexpected_lines, 3u);
    EXPECT_EQ(upstream->counters().connects, 1u);
}

TEST(Upstream, ALostConnectionAnswersItsSharesNotForwardedAndReconnects) {
    FakePool pool;
    Events events;
    UpstreamRun upstream(options_for(pool), events);
    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_states(1));

    upstream->submit(share_numbered(1), events.verdict_for(1));
    upstream->submit(share_numbered(2), events.verdict_for(2));
    ASSERT_EQ(connection->read_request().kind, Request::Kind::submit);
    ASSERT_EQ(connection->read_request().kind, Request::Kind::submit);
    connection->close();  // the pool goes away with two verdicts owed

    // Never a guess: both are "not forwarded", never true.
    ASSERT_TRUE(events.await_verdict(1));
    ASSERT_TRUE(events.await_verdict(2));
    EXPECT_EQ(events.verdict(1)->kind, VerdictKind::not_forwarded);
    EXPECT_EQ(events.verdict(2)->kind, VerdictKind::not_forwarded);
    ASSERT_TRUE(events.await_states(2));
    EXPECT_EQ(events.states(), (std::vector<bool>{true, false}));

    // It comes back, subscribes again as the account, and forwards again.
    auto again = pool.accept();
    ASSERT_TRUE(again);
    const Request subscribe = again->read_request();
    ASSERT_EQ(subscribe.kind, Request::Kind::subscribe);
    EXPECT_EQ(subscribe.subscribe.miner.normalized(), kAccount);
    again->send(protocol::reply_true(subscribe.id, ReplyStyle::jsonrpc2));
    ASSERT_TRUE(events.await_states(3));
    EXPECT_EQ(events.states(), (std::vector<bool>{true, false, true}));

    upstream->submit(share_numbered(3), events.verdict_for(3));
    const Request submit = again->read_request();
    ASSERT_EQ(submit.kind, Request::Kind::submit);
    again->send(protocol::reply_true(submit.id, ReplyStyle::jsonrpc2));
    ASSERT_TRUE(events.await_verdict(3));
    EXPECT_EQ(events.verdict(3)->kind, VerdictKind::accepted);

    const UpstreamCounters counters = upstream->counters();
    EXPECT_EQ(counters.connects, 2u);
    EXPECT_EQ(counters.subscribes, 2u);
    EXPECT_EQ(counters.disconnects, 1u);
    EXPECT_EQ(counters.not_forwarded, 2u);
}

TEST(Upstream, ALateReplyOfALostConnectionIsNeverTaken) {
    FakePool pool;
    Events events;
    UpstreamRun upstream(options_for(pool), events);
    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_states(1));
    upstream->submit(share_numbered(1), events.verdict_for(1));
    const Request lost = connection->read_request();
    connection->close();
    ASSERT_TRUE(events.await_verdict(1));
    EXPECT_EQ(events.verdict(1)->kind, VerdictKind::not_forwarded);

    // The new connection's pool answers the old id: it matches nothing.
    auto again = pool.accept_subscribed();
    ASSERT_TRUE(again);
    ASSERT_TRUE(events.await_states(3));
    again->send(protocol::reply_true(lost.id, ReplyStyle::jsonrpc2));
    upstream->submit(share_numbered(2), events.verdict_for(2));
    const Request submit = again->read_request();
    EXPECT_NE(submit.id, lost.id);
    again->send(protocol::reply_error(submit.id, errors::kInvalidDigest, ReplyStyle::jsonrpc2));
    ASSERT_TRUE(events.await_verdict(2));
    EXPECT_EQ(events.verdict(2)->kind, VerdictKind::rejected);
    EXPECT_EQ(events.verdict(1)->kind, VerdictKind::not_forwarded);
    EXPECT_GE(upstream->counters().unexpected_lines, 1u);
}

TEST(Upstream, SubmitWhileDownIsAnsweredAtOnce) {
    FakePool pool;
    Events events;
    UpstreamRun upstream(options_for(pool), events);
    // Connected but the subscribe not answered yet: nothing may be sent.
    auto connection = pool.accept();
    ASSERT_TRUE(connection);
    ASSERT_EQ(connection->read_request().kind, Request::Kind::subscribe);
    upstream->submit(share_numbered(1), events.verdict_for(1));
    // Answered within submit(), on this thread.
    ASSERT_TRUE(events.has_verdict(1));
    EXPECT_EQ(events.verdict(1)->kind, VerdictKind::not_forwarded);
    EXPECT_EQ(events.verdict(1)->message, "pool unreachable");
    EXPECT_FALSE(connection->read_line(100ms).has_value());
}

TEST(Upstream, NoPoolListeningKeepsRetrying) {
    std::uint16_t closed_port = 0;
    {
        FakePool gone;  // a port that was just free: nobody listens there now
        closed_port = gone.port();
    }
    Events events;
    UpstreamOptions options;
    options.host = "127.0.0.1";
    options.port = closed_port;
    options.account = kAccount;
    options.backoff_min = 1ms;
    options.backoff_max = 5ms;
    UpstreamRun upstream(options, events);
    upstream->submit(share_numbered(1), events.verdict_for(1));
    ASSERT_TRUE(events.has_verdict(1));
    EXPECT_EQ(events.verdict(1)->kind, VerdictKind::not_forwarded);
    ASSERT_TRUE(poll_until([&] { return upstream->counters().connect_failures >= 3; }));
    EXPECT_EQ(upstream->counters().connects, 0u);
    EXPECT_TRUE(events.states().empty());
}

TEST(Upstream, AnUnresolvableHostIsRetriedToo) {
    Events events;
    UpstreamOptions options;
    options.host = "no-such-host.invalid";
    options.port = 9192;
    options.account = kAccount;
    options.backoff_min = 1ms;
    options.backoff_max = 5ms;
    UpstreamRun upstream(options, events);
    ASSERT_TRUE(poll_until([&] { return upstream->counters().connect_failures >= 2; }));
    EXPECT_FALSE(upstream->up());
}

TEST(Upstream, ASilentPoolIsTakenForDeadAfterTheReplyTimeout) {
    FakePool pool;
    Events events;
    UpstreamOptions options = options_for(pool);
    options.reply_timeout = 300ms;
    UpstreamRun upstream(options, events);
    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_states(1));

    upstream->submit(share_numbered(1), events.verdict_for(1));
    ASSERT_EQ(connection->read_request().kind, Request::Kind::submit);
    // The pool reads it and never answers.
    ASSERT_TRUE(events.await_verdict(1));
    EXPECT_EQ(events.verdict(1)->kind, VerdictKind::not_forwarded);
    EXPECT_TRUE(connection->wait_closed());
    EXPECT_EQ(upstream->counters().reply_timeouts, 1u);

    // And the connection is made again.
    auto again = pool.accept_subscribed();
    ASSERT_TRUE(again);
    ASSERT_TRUE(events.await_states(3));
    EXPECT_TRUE(upstream->up());
}

TEST(Upstream, ASilentSubscribeIsTimedOutToo) {
    FakePool pool;
    Events events;
    UpstreamOptions options = options_for(pool);
    options.reply_timeout = 200ms;
    UpstreamRun upstream(options, events);
    auto connection = pool.accept();
    ASSERT_TRUE(connection);
    ASSERT_EQ(connection->read_request().kind, Request::Kind::subscribe);
    EXPECT_TRUE(connection->wait_closed());
    auto again = pool.accept();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->read_request().kind, Request::Kind::subscribe);
    EXPECT_GE(upstream->counters().reply_timeouts, 1u);
    EXPECT_TRUE(events.states().empty());
}

TEST(Upstream, APoolSilentForTooLongIsTakenForDead) {
    FakePool pool;
    Events events;
    UpstreamOptions options = options_for(pool);
    options.silence_timeout = 300ms;
    UpstreamRun upstream(options, events);
    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_states(1));
    // No submit in flight, and the pool sends nothing more.
    EXPECT_TRUE(connection->wait_closed());
    ASSERT_TRUE(events.await_states(2));
    EXPECT_EQ(upstream->counters().reply_timeouts, 1u);
    auto again = pool.accept_subscribed();
    ASSERT_TRUE(again);
    ASSERT_TRUE(events.await_states(3));
}

TEST(Upstream, TheInFlightBoundAnswersBusy) {
    FakePool pool;
    Events events;
    UpstreamOptions options = options_for(pool);
    options.max_in_flight = 2;
    UpstreamRun upstream(options, events);
    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_states(1));

    upstream->submit(share_numbered(1), events.verdict_for(1));
    upstream->submit(share_numbered(2), events.verdict_for(2));
    upstream->submit(share_numbered(3), events.verdict_for(3));
    ASSERT_TRUE(events.has_verdict(3));
    EXPECT_EQ(events.verdict(3)->kind, VerdictKind::not_forwarded);
    EXPECT_NE(events.verdict(3)->message.find("busy"), std::string::npos);

    const Request one = connection->read_request();
    const Request two = connection->read_request();
    connection->send(protocol::reply_true(one.id, ReplyStyle::jsonrpc2));
    ASSERT_TRUE(events.await_verdict(key_of(one)));
    // A slot is free again.
    ASSERT_TRUE(poll_until([&] { return upstream->in_flight() < 2; }));
    upstream->submit(share_numbered(4), events.verdict_for(4));
    const Request four = connection->read_request();
    EXPECT_EQ(key_of(four), 4);
    connection->send(protocol::reply_true(two.id, ReplyStyle::jsonrpc2));
    connection->send(protocol::reply_true(four.id, ReplyStyle::jsonrpc2));
    ASSERT_TRUE(events.await_verdict(4));
    EXPECT_EQ(events.verdict(4)->kind, VerdictKind::accepted);
}

TEST(Upstream, ARefusedSubscribeIsRetriedWithBackoff) {
    FakePool pool;
    Events events;
    UpstreamRun upstream(options_for(pool), events);
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto connection = pool.accept();
        ASSERT_TRUE(connection) << attempt;
        const Request subscribe = connection->read_request();
        ASSERT_EQ(subscribe.kind, Request::Kind::subscribe);
        // As sharegate refuses a bad account: both shapes, then it hangs up.
        connection->send(protocol::reply_error(subscribe.id, errors::kInvalidAccount, ReplyStyle::both));
        EXPECT_TRUE(connection->wait_closed());
    }
    EXPECT_GE(upstream->counters().subscribe_refusals, 3u);
    EXPECT_EQ(upstream->counters().subscribes, 0u);
    EXPECT_TRUE(events.states().empty());
    EXPECT_FALSE(upstream->up());
}

TEST(Upstream, AnOverlongLineDropsTheConnection) {
    FakePool pool;
    Events events;
    UpstreamOptions options = options_for(pool);
    options.max_line_bytes = 1024;
    UpstreamRun upstream(options, events);
    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_states(1));
    connection->send(std::string(4096, 'x'));
    EXPECT_TRUE(connection->wait_closed());
    ASSERT_TRUE(events.await_states(2));
    EXPECT_FALSE(events.states()[1]);
    auto again = pool.accept_subscribed();
    ASSERT_TRUE(again);
    ASSERT_TRUE(events.await_states(3));
}

TEST(Upstream, StopAnswersEveryWaitingShare) {
    FakePool pool;
    Events events;
    UpstreamRun upstream(options_for(pool), events);
    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_states(1));
    upstream->submit(share_numbered(1), events.verdict_for(1));
    upstream->submit(share_numbered(2), events.verdict_for(2));
    ASSERT_EQ(connection->read_request().kind, Request::Kind::submit);
    ASSERT_EQ(connection->read_request().kind, Request::Kind::submit);

    upstream->stop();
    ASSERT_TRUE(events.await_verdict(1));
    ASSERT_TRUE(events.await_verdict(2));
    EXPECT_EQ(events.verdict(1)->kind, VerdictKind::not_forwarded);
    EXPECT_EQ(events.verdict(2)->kind, VerdictKind::not_forwarded);
    EXPECT_TRUE(connection->wait_closed());
    EXPECT_FALSE(upstream->up());
    // After stop, at once; and no state change is reported for it.
    upstream->submit(share_numbered(3), events.verdict_for(3));
    ASSERT_TRUE(events.has_verdict(3));
    EXPECT_EQ(events.verdict(3)->kind, VerdictKind::not_forwarded);
    EXPECT_EQ(events.states(), std::vector<bool>{true});
    upstream->stop();  // idempotent
}

// The core wired as the proxy wires it: the Upstream's notifies into the WorkState, the
// getwork calls forwarding through the Upstream, and the figures of all of them.
TEST(Upstream, GetworkThroughTheUpstream) {
    FakePool pool;
    Events events;
    WorkState work;
    FarmStats farm;
    UpstreamRun upstream(options_for(pool), events, &work);
    ProxyCalls calls(work, *upstream, farm);

    auto connection = pool.accept_subscribed();
    ASSERT_TRUE(connection);
    ASSERT_TRUE(events.await_works(1));
    std::optional<std::string> answer;
    calls.handle("10.1.1.1", R"({"jsonrpc":"2.0","id":1,"method":"getChallengeNumber"})",
                 [&](std::string text) { answer = std::move(text); });
    EXPECT_EQ(answer, std::string(R"({"jsonrpc":"2.0","id":1,"result":")") + seed::kChallenge + "\"}");

    Events answers;  // the HTTP answers, which come on the upstream's strand
    auto ask = [&](int key, const std::string& nonce) {
        calls.handle("10.1.1.1",
                     std::string(R"({"jsonrpc":"2.0","id":)") + std::to_string(key) +
                         R"(,"method":"submitShare","params":[")" + nonce + R"(",")" + seed::kMiner + R"(",")" +
                         seed::kDigest + R"(",872,")" + seed::kChallenge + R"("]})",
                     [&answers, key](std::string text) {
                         answers.verdict_for(key)(Verdict{VerdictKind::accepted, 0, std::move(text)});
                     });
    };
    // The seed share twice (the proxy hashes each share before forwarding it, so it must be
    // a real one; the pool, not the proxy, finds the second a duplicate).
    ask(1, seed::kNonce);
    ask(2, seed::kNonce);
    const Request one = connection->read_request();
    const Request two = connection->read_request();
    connection->send(protocol::reply_error(two.id, errors::kDuplicateShare, ReplyStyle::jsonrpc2));
    connection->send(protocol::reply_true(one.id, ReplyStyle::jsonrpc2));
    // Forwarded in the order asked: the first request is rig call 1, the second rig call 2.
    ASSERT_TRUE(answers.await_verdict(1));
    ASSERT_TRUE(answers.await_verdict(2));
    EXPECT_EQ(answers.verdict(1)->message, R"({"jsonrpc":"2.0","id":1,"result":true})");
    EXPECT_EQ(answers.verdict(2)->message, R"({"jsonrpc":"2.0","id":2,"result":false})");

    const std::string text =
        metrics::render(proxy_families(*upstream, work, calls, farm, std::chrono::steady_clock::now()));
    EXPECT_NE(text.find("sharegate_proxy_upstream_up 1"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_proxy_upstream_verdicts_total{verdict=\"accepted\"} 1"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_proxy_work_difficulty 872"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_proxy_rig_submits_total{rig=\"10.1.1.1\"} 2"), std::string::npos) << text;
    EXPECT_NE(text.find("sharegate_proxy_rig_rejected_total{rig=\"10.1.1.1\",reason=\"duplicate\"} 1"),
              std::string::npos)
        << text;
    const std::string line = proxy_stats_line(*upstream, work, farm, std::chrono::steady_clock::now());
    EXPECT_EQ(line.rfind("upstream up (in flight 0, connects 1, not forwarded 0) work 0x6770629a", 0), 0u) << line;
    EXPECT_NE(line.find("rigs 1 submitted 2 accepted 1 rejected 1 (duplicate 1)"), std::string::npos) << line;

    // The pool gone: the next share is false at once, and the figures say so.
    connection->close();
    ASSERT_TRUE(events.await_states(2));
    ask(3, seed::kNonce);
    ASSERT_TRUE(answers.await_verdict(3));
    EXPECT_EQ(answers.verdict(3)->message, R"({"jsonrpc":"2.0","id":3,"result":false})");
    EXPECT_EQ(proxy_stats_line(*upstream, work, farm, std::chrono::steady_clock::now()).rfind("upstream DOWN", 0), 0u);
}

}  // namespace
}  // namespace sharegate::proxy
