#include "proxy/upstream.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <map>
#include <optional>
#include <utility>

#include "protocol/line_framer.hpp"
#include "protocol/stratum_client.hpp"

namespace sharegate::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// The reply's id as the proxy wrote it: a plain decimal number. Anything else is not ours.
std::optional<std::uint64_t> our_id(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string short_hex(const std::string& hex) { return hex.size() > 10 ? hex.substr(0, 10) + "…" : hex; }

}  // namespace

class Upstream::Impl : public std::enable_shared_from_this<Impl> {
public:
    Impl(asio::io_context& io, UpstreamOptions options, OnWork on_work, OnState on_state)
        : options_(std::move(options)),
          on_work_(std::move(on_work)),
          on_state_(std::move(on_state)),
          strand_(asio::make_strand(io)),
          resolver_(strand_),
          socket_(strand_),
          deadline_timer_(strand_),
          retry_timer_(strand_),
          backoff_(options_.backoff_min),
          framer_(options_.max_line_bytes) {}

    void start() {
        asio::post(strand_, [self = shared_from_this()] {
            if (self->state_ == State::idle) self->connect();
        });
    }

    void stop() {
        if (stopped_.exchange(true)) return;
        // Posted, never run inline: stop() may be called from a verdict's callback, in the
        // middle of reading a line.
        asio::post(strand_, [self = shared_from_this()] { self->shut_down(); });
    }

    void submit(ShareToForward share, std::function<void(Verdict)> done) {
        if (stopped_.load()) return refuse(done, "stopped");
        if (!up_.load()) return refuse(done, "pool unreachable");
        if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
            in_flight_.fetch_sub(1);
            return refuse(done, "busy: too many shares waiting for the pool");
        }
        asio::post(strand_, [self = shared_from_this(), share = std::move(share), done = std::move(done)]() mutable {
            self->send_submit(std::move(share), std::move(done));
        });
    }

    bool up() const { return up_.load(); }
    std::size_t in_flight() const { return in_flight_.load(); }
    const UpstreamOptions& options() const { return options_; }

    UpstreamCounters counters() const {
        UpstreamCounters c;
        c.connects = counters_.connects.load();
        c.connect_failures = counters_.connect_failures.load();
        c.subscribes = counters_.subscribes.load();
        c.subscribe_refusals = counters_.subscribe_refusals.load();
        c.disconnects = counters_.disconnects.load();
        c.reply_timeouts = counters_.reply_timeouts.load();
        c.notifies = counters_.notifies.load();
        c.submits_forwarded = counters_.submits_forwarded.load();
        c.accepted = counters_.accepted.load();
        c.rejected = counters_.rejected.load();
        c.not_forwarded = counters_.not_forwarded.load();
        c.unexpected_lines = counters_.unexpected_lines.load();
        return c;
    }

private:
    enum class State : std::uint8_t { idle, connecting, subscribing, up, waiting_retry, stopped };

    struct Pending {
        std::function<void(Verdict)> done;
        Clock::time_point sent;
    };

    struct AtomicCounters {
        std::atomic<std::uint64_t> connects{0}, connect_failures{0}, subscribes{0}, subscribe_refusals{0},
            disconnects{0}, reply_timeouts{0}, notifies{0}, submits_forwarded{0}, accepted{0}, rejected{0},
            not_forwarded{0}, unexpected_lines{0};
    };

    std::string pool_name() const { return options_.host + ":" + std::to_string(options_.port); }

    // A submit answered without reaching the pool (any thread; nothing of the strand's).
    void refuse(const std::function<void(Verdict)>& done, std::string why) {
        counters_.not_forwarded.fetch_add(1);
        done(Verdict{VerdictKind::not_forwarded, 0, std::move(why)});
    }

    // ---- connecting (all on the strand) ----

    void connect() {
        state_ = State::connecting;
        const std::uint64_t generation = ++generation_;
        // Resolved again at each attempt: the pool may have moved (DNS, a failover address).
        set_deadline(Clock::now() + options_.reply_timeout);
        resolver_.async_resolve(
            options_.host, std::to_string(options_.port),
            [self = shared_from_this(), generation](boost::system::error_code error,
                                                    tcp::resolver::results_type found) {
                if (generation != self->generation_ || self->state_ != State::connecting) return;
                if (error) return self->fail("cannot resolve " + self->options_.host + ": " + error.message());
                asio::async_connect(self->socket_, found,
                                    [self, generation](boost::system::error_code connect_error, const tcp::endpoint&) {
                                        if (generation != self->generation_ || self->state_ != State::connecting)
                                            return;
                                        if (connect_error)
                                            return self->fail("cannot connect: " + connect_error.message());
                                        self->on_connected();
                                    });
            });
    }

    void on_connected() {
        counters_.connects.fetch_add(1);
        established_ = true;
        boost::system::error_code ignored;
        // Submits are answered at once rather than after the pool's next packet; a pool
        // that vanished without a FIN (a NAT dropping state) is noticed by keep-alive too.
        socket_.set_option(tcp::no_delay(true), ignored);
        socket_.set_option(asio::socket_base::keep_alive(true), ignored);
        framer_ = protocol::LineFramer(options_.max_line_bytes);
        last_heard_ = Clock::now();
        state_ = State::subscribing;
        subscribe_id_ = next_id_++;
        spdlog::debug("upstream: connected to {}, subscribing as {}", pool_name(), options_.account);
        write(protocol::subscribe_request(
            subscribe_id_, options_.account,
            options_.client_id.empty() ? std::nullopt : std::optional<std::string_view>(options_.client_id)));
        set_deadline(Clock::now() + options_.reply_timeout);
        read();
    }

    // ---- reading ----

    void read() {
        socket_.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this(), generation = generation_](
                                                                boost::system::error_code error, std::size_t bytes) {
            if (generation != self->generation_) return;
            self->last_heard_ = Clock::now();
            if (error) {
                return self->fail(error == asio::error::eof ? std::string("the pool closed the connection")
                                                            : "read failed: " + error.message());
            }
            const bool fits =
                self->framer_.feed(std::string_view(self->read_buffer_.data(), bytes), [&](std::string_view line) {
                    // A line may end this connection (a refused subscribe): the rest of the
                    // read is for a connection that is gone.
                    if (generation == self->generation_) self->on_line(line);
                });
            if (generation != self->generation_) return;
            if (!fits)
                return self->fail("a line from the pool over " + std::to_string(self->options_.max_line_bytes) +
                                  " bytes");
            self->read();
        });
    }

    void on_line(std::string_view line) {
        const protocol::ServerMessage message = parser_.parse(line);
        switch (message.kind) {
            case protocol::ServerMessage::Kind::notify: return on_notify(message.notify);
            case protocol::ServerMessage::Kind::reply: return on_reply(message.reply);
            case protocol::ServerMessage::Kind::unparseable:
                counters_.unexpected_lines.fetch_add(1);
                spdlog::debug("upstream: ignored a line from the pool: {}", line.substr(0, 200));
                return;
        }
    }

    void on_notify(const protocol::ServerNotify& notify) {
        Work work;
        work.challenge = notify.challenge;
        work.challenge_text = to_hex(notify.challenge);
        work.target = notify.target;
        work.target_decimal = notify.target.to_decimal();
        work.difficulty = notify.difficulty;
        work.pool = notify.pool;
        work.received = Clock::now();
        counters_.notifies.fetch_add(1);
        if (work.challenge_text != last_challenge_ || work.difficulty != last_difficulty_) {
            spdlog::info("upstream: work: challenge {} difficulty {}", short_hex(work.challenge_text), work.difficulty);
            last_challenge_ = work.challenge_text;
            last_difficulty_ = work.difficulty;
        }
        if (on_work_ && !stopped_.load()) on_work_(work);
    }

    void on_reply(const protocol::ServerReply& reply) {
        const std::optional<std::uint64_t> id = our_id(reply.id);
        if (id && *id == subscribe_id_) return on_subscribe_reply(reply);
        const auto found = id ? pending_.find(*id) : pending_.end();
        if (found == pending_.end()) {
            // The second line of a pool answering in both shapes, or a reply to nothing we asked.
            counters_.unexpected_lines.fetch_add(1);
            spdlog::debug("upstream: a reply to no waiting request (id {})", reply.id);
            return;
        }
        Verdict verdict;
        if (reply.accepted()) {
            verdict.kind = VerdictKind::accepted;
            counters_.accepted.fetch_add(1);
        } else {
            // An error, or `false`/null without one: either way the pool did not accept it.
            verdict.kind = VerdictKind::rejected;
            verdict.code = reply.has_error ? reply.error_code : 0;
            verdict.message = reply.has_error ? std::string(reply.error_message) : std::string();
            counters_.rejected.fetch_add(1);
        }
        std::function<void(Verdict)> done = std::move(found->second.done);
        pending_.erase(found);
        in_flight_.fetch_sub(1);
        update_deadline();
        done(std::move(verdict));
    }

    void on_subscribe_reply(const protocol::ServerReply& reply) {
        // A pool answering in both shapes sends the verdict twice: the first one counts.
        if (state_ != State::subscribing) return;
        if (!reply.accepted()) {
            counters_.subscribe_refusals.fetch_add(1);
            const std::string why = reply.has_error ? "[" + std::to_string(reply.error_code) + ",\"" +
                                                          std::string(reply.error_message) + "\"]"
                                                    : std::string("no reason given");
            // Once per episode: a pool that refuses the account refuses it at every retry.
            if (!refusal_logged_) {
                spdlog::error("upstream: {} refused the subscribe of {}: {}; retrying with backoff", pool_name(),
                              options_.account, why);
                refusal_logged_ = true;
            }
            return fail("subscribe refused: " + why);
        }
        counters_.subscribes.fetch_add(1);
        state_ = State::up;
        last_heard_ = Clock::now();
        backoff_ = options_.backoff_min;
        refusal_logged_ = false;
        failure_logged_ = false;
        up_.store(true);
        update_deadline();
        spdlog::info("upstream: subscribed to {} as {}", pool_name(), options_.account);
        if (on_state_ && !stopped_.load()) on_state_(true);
    }

    // ---- submitting ----

    void send_submit(ShareToForward share, std::function<void(Verdict)> done) {
        if (state_ != State::up) {
            in_flight_.fetch_sub(1);
            return refuse(done, state_ == State::stopped ? "stopped" : "pool unreachable");
        }
        const std::uint64_t id = next_id_++;
        pending_.emplace(id, Pending{std::move(done), Clock::now()});
        counters_.submits_forwarded.fetch_add(1);
        write(protocol::submit_request(id, share.nonce, share.miner, share.digest, share.difficulty, share.challenge));
        update_deadline();
    }

    // ---- writing: one write at a time, lines queued behind it ----

    void write(std::string line) {
        outbox_ += line;
        if (!writing_) write_next();
    }

    void write_next() {
        if (outbox_.empty()) return;
        writing_ = true;
        sending_.clear();
        std::swap(sending_, outbox_);
        asio::async_write(
            socket_, asio::buffer(sending_),
            [self = shared_from_this(), generation = generation_](boost::system::error_code error, std::size_t) {
                if (generation != self->generation_) return;
                self->writing_ = false;
                if (error) return self->fail("write failed: " + error.message());
                self->write_next();
            });
    }

    // ---- deadlines: the connect, the subscribe, the oldest submit ----

    std::optional<Clock::time_point> due() const {
        switch (state_) {
            case State::connecting:
            case State::subscribing: return phase_deadline_;
            case State::up: {
                std::optional<Clock::time_point> when;
                if (options_.silence_timeout.count() > 0) when = last_heard_ + options_.silence_timeout;
                // Ids grow with time: the first is the oldest.
                if (!pending_.empty()) {
                    const Clock::time_point reply_due = pending_.begin()->second.sent + options_.reply_timeout;
                    if (!when || reply_due < *when) when = reply_due;
                }
                return when;
            }
            default: return std::nullopt;
        }
    }

    void set_deadline(Clock::time_point when) {
        phase_deadline_ = when;
        update_deadline();
    }

    // Keeps the timer at or before the earliest deadline; one that fires early re-arms.
    void update_deadline() {
        const std::optional<Clock::time_point> when = due();
        if (!when) return;  // a timer already armed finds nothing due and stops
        if (armed_ && *armed_ <= *when) return;
        armed_ = when;
        deadline_timer_.expires_at(*when);
        deadline_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
            if (error == asio::error::operation_aborted) return;  // re-armed or stopped: the new wait decides
            self->armed_.reset();
            self->on_deadline();
        });
    }

    void on_deadline() {
        const std::optional<Clock::time_point> when = due();
        if (!when) return;
        if (Clock::now() < *when) return update_deadline();
        if (state_ == State::up) {
            counters_.reply_timeouts.fetch_add(1);
            if (pending_.empty() || Clock::now() < pending_.begin()->second.sent + options_.reply_timeout)
                return fail("nothing from the pool for " + std::to_string(options_.silence_timeout.count()) + " ms");
            return fail("no reply to a submit within " + std::to_string(options_.reply_timeout.count()) + " ms");
        }
        if (state_ == State::subscribing) {
            counters_.reply_timeouts.fetch_add(1);
            return fail("no reply to the subscribe within " + std::to_string(options_.reply_timeout.count()) + " ms");
        }
        fail("connecting timed out after " + std::to_string(options_.reply_timeout.count()) + " ms");
    }

    // ---- losing the connection ----

    // Closes the connection, answers every waiting submit not_forwarded (its verdict will
    // never come: the pool's ids belong to the dead connection) and retries after backoff.
    void fail(const std::string& why) {
        const bool was_up = state_ == State::up;
        close_connection();
        answer_pending("connection lost: " + why);
        if (was_up) {
            up_.store(false);
            if (on_state_ && !stopped_.load()) on_state_(false);
        }
        state_ = State::waiting_retry;
        const auto wait = backoff_;
        backoff_ = std::min(backoff_ * 2, options_.backoff_max);
        // A pool that is down is said once per episode at warning level; each retry after that
        // only at debug, so an outage of hours does not fill the log.
        if (was_up || !failure_logged_) {
            spdlog::warn("upstream: {}: {}; reconnecting in {} ms", pool_name(), why, wait.count());
            failure_logged_ = true;
        } else {
            spdlog::debug("upstream: {}: {}; reconnecting in {} ms", pool_name(), why, wait.count());
        }
        retry_timer_.expires_after(wait);
        retry_timer_.async_wait([self = shared_from_this(), generation = generation_](boost::system::error_code error) {
            if (error || generation != self->generation_ || self->state_ != State::waiting_retry) return;
            self->connect();
        });
    }

    void close_connection() {
        ++generation_;  // every handler of the old connection finds itself stale
        if (established_)
            counters_.disconnects.fetch_add(1);
        else if (state_ == State::connecting)
            counters_.connect_failures.fetch_add(1);
        established_ = false;
        resolver_.cancel();
        boost::system::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
        deadline_timer_.cancel();
        armed_.reset();
        phase_deadline_.reset();
        outbox_.clear();
        sending_.clear();
        writing_ = false;
    }

    void answer_pending(const std::string& why) {
        std::map<std::uint64_t, Pending> pending;
        pending.swap(pending_);
        for (auto& [id, entry] : pending) {
            in_flight_.fetch_sub(1);
            refuse(entry.done, why);
        }
    }

    void shut_down() {
        const bool was_up = state_ == State::up;
        close_connection();
        retry_timer_.cancel();
        state_ = State::stopped;
        up_.store(false);
        answer_pending("stopped");
        if (was_up) spdlog::info("upstream: closed the connection to {}", pool_name());
    }

    const UpstreamOptions options_;
    const OnWork on_work_;
    const OnState on_state_;
    asio::strand<asio::io_context::executor_type> strand_;
    tcp::resolver resolver_;
    tcp::socket socket_;
    asio::steady_timer deadline_timer_;
    asio::steady_timer retry_timer_;

    // Read from any thread.
    std::atomic<bool> stopped_{false};
    std::atomic<bool> up_{false};
    std::atomic<std::size_t> in_flight_{0};  // submits taken by submit() and not yet answered
    AtomicCounters counters_;

    // The strand's own.
    State state_ = State::idle;
    std::uint64_t generation_ = 0;  // one per connection attempt
    bool established_ = false;
    std::uint64_t next_id_ = 1;
    std::uint64_t subscribe_id_ = 0;
    std::map<std::uint64_t, Pending> pending_;
    std::optional<Clock::time_point> phase_deadline_;
    std::optional<Clock::time_point> armed_;
    Clock::time_point last_heard_{};  // the last read from the pool
    std::chrono::milliseconds backoff_;
    bool refusal_logged_ = false;
    bool failure_logged_ = false;
    std::string last_challenge_;
    std::uint64_t last_difficulty_ = 0;
    protocol::LineFramer framer_;
    protocol::StratumClientParser parser_;
    std::array<char, 4096> read_buffer_{};
    std::string outbox_;   // lines waiting for the write in progress
    std::string sending_;  // the lines of the write in progress
    bool writing_ = false;
};

Upstream::Upstream(asio::io_context& io, UpstreamOptions options, OnWork on_work, OnState on_state)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(on_work), std::move(on_state))) {}

Upstream::~Upstream() { impl_->stop(); }

void Upstream::start() { impl_->start(); }
void Upstream::stop() { impl_->stop(); }
void Upstream::submit(ShareToForward share, std::function<void(Verdict)> done) {
    impl_->submit(std::move(share), std::move(done));
}
bool Upstream::up() const { return impl_->up(); }
std::size_t Upstream::in_flight() const { return impl_->in_flight(); }
UpstreamCounters Upstream::counters() const { return impl_->counters(); }
const UpstreamOptions& Upstream::options() const { return impl_->options(); }

}  // namespace sharegate::proxy
