#include "server/session.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <bit>
#include <cassert>
#include <random>

#include "server/request_dispatch.hpp"
#include "server/server.hpp"

namespace sharegate::server {

namespace asio = boost::asio;
using protocol::ReplyStyle;
using protocol::Request;
using protocol::StratumError;

namespace {

// Past this much unsent output the session stops reading (the client is not reading
// its replies); past the hard cap, or over the soft cap for too long, it is dropped.
constexpr std::size_t kSoftOutputCap = 1 << 20;
constexpr std::size_t kHardOutputCap = 4 << 20;
constexpr auto kSlowReaderGrace = std::chrono::seconds(10);
// Requests of one connection still being verified or stored: past this many, stop
// reading its new requests. Kept small for fairness: a flooder's backlog waits in its own socket buffer, not in
// the queues an honest miner's share must pass through, so an honest share waits for
// about one round of every connection's few requests, not for the whole flood.
constexpr std::size_t kMaxAwaitingAnswers = 8;
// Lines one connection has handled in one turn of its I/O thread; the rest of what it sent
// waits, copied, for its next turn behind the other connections' (a posted continuation),
// and the first turn's answers with it (one write a read). Verifying on the I/O threads a
// turn is parse, verify and answer, so this is what bounds an honest miner's wait for its
// turn under a flood: a round of every busy connection's few lines, not of every 4 KiB
// read's 14.
constexpr std::size_t kMaxLinesPerTurn = 8;
// Answers ready but not yet written (a client that does not read them): past this many,
// stop reading too; the output caps then decide when it is dropped.
constexpr std::size_t kMaxOpenSlots = 16384;
// How long a connection refused "Server busy" for load is not read (pause_reading).
constexpr auto kShedReadPause = std::chrono::milliseconds(100);
// How long a subscribe waits for the miner's varDiff before work goes out at the default.
constexpr auto kVarDiffWait = std::chrono::milliseconds(2000);

// Spread between half the maximum and the maximum, so that thousands of miners are not
// all sent work in the same instant.
std::chrono::milliseconds renotify_delay(unsigned max_seconds) {
    thread_local std::mt19937 random{std::random_device{}()};
    const int max_ms = static_cast<int>(max_seconds) * 1000;
    return std::chrono::milliseconds(std::uniform_int_distribution<int>(max_ms / 2, max_ms)(random));
}

// The executor of the I/O thread's io_context the socket was opened on (IoThreads): the
// socket's own is type-erased.
asio::io_context::executor_type home_executor(asio::ip::tcp::socket& socket) {
    return static_cast<asio::io_context&>(asio::query(socket.get_executor(), asio::execution::context)).get_executor();
}

// The first bytes of a PROXY header, v1 or v2 (a stratum client's first byte is '{' or a
// newline, never these).
bool looks_like_proxy_header(std::string_view data) {
    constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
    return data.starts_with("PROXY ") || data.starts_with(kV2Signature);
}

}  // namespace

Session::Session(asio::ip::tcp::socket socket, Server& server, Admission::Slot slot, IpAddress peer, std::string remote)
    : socket_(std::move(socket)),
      home_(home_executor(socket_)),
      mailbox_(asio::use_service<ThreadMailbox>(home_.context())),
      server_(server),
      peer_(peer),
      exempt_(server.bans().allowed(peer)),
      remote_(std::move(remote)),
      renotify_timer_(socket_.get_executor()),
      backpressure_timer_(socket_.get_executor()),
      subscribe_timer_(socket_.get_executor()),
      read_pause_timer_(socket_.get_executor()),
      admission_slot_(std::move(slot)),
      framer_(server.options().max_line_bytes),
      replies_(ReplyQueue::Limits{kSoftOutputCap, kHardOutputCap, kMaxAwaitingAnswers, kMaxOpenSlots}),
      last_share_(std::chrono::steady_clock::now()),
      submit_tokens_(server.options().max_submits_per_s, server.options().submit_burst,
                     std::chrono::steady_clock::now()) {}

void Session::start(std::string received) {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this(), received = std::move(received)] {
        boost::system::error_code ec;
        // Answer at once rather than wait for the miner's next packet (protocol.md section 2).
        self->socket_.set_option(asio::ip::tcp::no_delay(true), ec);
        // Reads happen only after a readiness wait; this makes a spurious wake-up harmless.
        self->socket_.non_blocking(true, ec);
        spdlog::debug("{}: connected", self->remote_);
        self->schedule_renotify();
        self->schedule_subscribe_deadline();
        if (received.empty()) return self->do_read();
        self->on_read({}, received);  // then reads on, as after any read
    });
}

void Session::notify() {
    // While the varDiff lookup is out, its answer sends the work (with the right difficulty).
    if (!subscribed_ || phase_ == Phase::closed || phase_ == Phase::awaiting_var_diff) return;
    // A session that read the new challenge between the server storing and announcing it
    // has sent this work already.
    if (server_.pool().challenge() == notified_challenge_) return;
    send_notify();
}

void Session::post_var_diff(std::string miner, std::uint64_t var_diff) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), miner = std::move(miner), var_diff] {
        if (!self->subscribed_ || self->phase_ == Phase::closed || self->phase_ == Phase::awaiting_var_diff ||
            self->miner_ != miner)
            return;
        self->var_diff_ = std::max(var_diff, self->server_.options().min_share_difficulty);
        spdlog::debug("{}: varDiff of {} is now {}", self->remote_, miner, self->var_diff_);
        self->send_notify();
    });
}

void Session::post_drain(std::function<void()> acknowledged) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), acknowledged = std::move(acknowledged)] {
        if (self->phase_ != Phase::closed && self->phase_ != Phase::draining) self->enter(Phase::draining);
        self->drop_held_lines();
        acknowledged();
        self->flush();
    });
}

void Session::post_close(std::string why) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), why = std::move(why)] { self->close(why); });
}

ReplyStyle Session::style() const {
    return reply_style(server_.options().reply_style, subscribed_, client_id_.has_value());
}

// ---- phases ----

std::string_view Session::name(Phase phase) {
    switch (phase) {
        case Phase::reading: return "reading";
        case Phase::awaiting_var_diff: return "awaiting varDiff";
        case Phase::finishing: return "finishing";
        case Phase::answering_then_close: return "answering then close";
        case Phase::draining: return "draining";
        case Phase::closed: return "closed";
    }
    return "?";
}

void Session::enter(Phase next) {
    bool allowed = false;
    switch (phase_) {
        case Phase::reading: allowed = next != Phase::reading; break;
        case Phase::awaiting_var_diff:
            allowed =
                next == Phase::reading || next == Phase::finishing || next == Phase::draining || next == Phase::closed;
            break;
        case Phase::finishing:
            allowed = next == Phase::awaiting_var_diff || next == Phase::answering_then_close ||
                      next == Phase::draining || next == Phase::closed;
            break;
        case Phase::answering_then_close: allowed = next == Phase::draining || next == Phase::closed; break;
        case Phase::draining: allowed = next == Phase::closed; break;
        case Phase::closed: break;
    }
    if (!allowed) {
        // A mistake in this file, not anything a client can cause: keep the phase, loudly.
        spdlog::error("{}: no step from phase {} to {}", remote_, name(phase_), name(next));
        assert(false && "Session::enter: a step the phases do not allow");
        return;
    }
    spdlog::trace("{}: phase {} -> {}", remote_, name(phase_), name(next));
    phase_ = next;
}

// ---- reading ----

void Session::do_read() {
    read_in_flight_ = true;
    // An idle miner holds no read buffer: wait until the socket is readable, then read
    // into the I/O thread's buffer. 10 000 idle miners would otherwise pin 40 MiB.
    socket_.async_wait(asio::ip::tcp::socket::wait_read,
                       with_memory(read_memory_, [self = shared_from_this()](const boost::system::error_code& error) {
                           self->read_in_flight_ = false;
                           if (error) return self->on_read(error, {});
                           // Small on purpose (about 15 submits): one read is one connection's turn, see
                           // kMaxAwaitingAnswers.
                           thread_local std::array<char, 4096> buffer;
                           boost::system::error_code read_error;
                           const std::size_t bytes = self->socket_.read_some(asio::buffer(buffer), read_error);
                           if (read_error == asio::error::would_block || read_error == asio::error::try_again) {
                               self->maybe_read();  // a spurious wake-up
                               return;
                           }
                           self->on_read(read_error, std::string_view(buffer.data(), bytes));
                       }));
}

void Session::on_read(const boost::system::error_code& error, std::string_view data) {
    if (phase_ == Phase::closed) return;
    if (error) {
        if (error == asio::error::eof) {
            // The miner finished sending; answer what it asked, then close.
            if (phase_ == Phase::reading) enter(Phase::finishing);
            if (phase_ == Phase::awaiting_var_diff) after_var_diff_ = Phase::finishing;
            process_lines();
        } else {
            close(error.message());
        }
        return;
    }
    if (phase_ != Phase::reading) return;  // draining: read nothing more
    if (!read_before_ && (read_before_ = true) && looks_like_proxy_header(data)) {
        // A load balancer that sends PROXY headers but is not in --proxy: a set-up mistake,
        // not junk, so no ban (that would ban the balancer, and every miner behind it).
        server_.stats().refused_proxy.fetch_add(1, std::memory_order_relaxed);
        if (server_.first_misdirected_proxy(peer_)) {
            spdlog::warn(
                "{}: closed: a PROXY header from a peer not in --proxy (add it to --proxy if it is a load "
                "balancer; logged once an address)",
                remote_);
        } else {
            spdlog::debug("{}: closed: a PROXY header from a peer not in --proxy", remote_);
        }
        return close("PROXY header from a peer not in --proxy");
    }
    bool within_limit = true;
    {
        const Batch batch(*this);
        // A line is handled where the framer found it, uncopied, unless earlier ones wait
        // (for a varDiff) or the session no longer handles lines as they come: then it
        // waits its turn behind them, as a copy.
        turn_lines_ = 0;
        within_limit = framer_.feed(data, [this](std::string_view line) {
            if (phase_ == Phase::reading && !has_held_lines() && turn_lines_ < kMaxLinesPerTurn) {
                ++turn_lines_;
                return handle(line);
            }
            if (phase_ != Phase::closed) hold_line(line);
        });
        handle_held_lines();
    }
    // A read whose lines go on in a later turn leaves its answers to that turn's write: one
    // write a read, as when the turn had taken the whole read (kMaxLinesPerTurn).
    if (!continuation_posted_) flush();
    if (!within_limit && phase_ != Phase::closed) {
        server_.stats().closed_flooding.fetch_add(1, std::memory_order_relaxed);
        // One miner's junk: counted in the stats line and toward a ban, logged here at debug.
        spdlog::debug("{}: closed: a line longer than {} bytes", remote_, server_.options().max_line_bytes);
        close("line too long");
        report(Conduct::junk);
        return;
    }
    maybe_read();
}

// The submits handled while a Batch lives are verified together as it ends (with the
// verifier on the I/O threads, within its destructor, before the caller's flush), and
// their answers, held until then, leave in one write.
Session::Batch::Batch(Session& session) : hold_(session), group_(session.server_.intake().group()) {}

void Session::process_lines() {
    {
        const Batch batch(*this);
        handle_held_lines();
    }
    flush();
}

void Session::handle_held_lines() {
    while (has_held_lines() && phase_ != Phase::awaiting_var_diff && phase_ != Phase::closed) {
        // After a bad subscribe, or at shutdown, nothing more is handled.
        if (phase_ != Phase::reading && phase_ != Phase::finishing) {
            next_held_line();
            continue;
        }
        if (turn_lines_ >= kMaxLinesPerTurn) {
            continue_next_turn();
            return;
        }
        ++turn_lines_;
        handle(next_held_line());
    }
    if (!has_held_lines()) drop_held_lines();
}

void Session::hold_line(std::string_view line) {
    borrow_spare(held_text_);
    held_text_.append(line);
    held_text_.push_back('\n');
}

// Valid until the held lines are dropped (only when none is left, after its handling).
std::string_view Session::next_held_line() {
    const std::size_t end = held_text_.find('\n', held_next_);
    const std::string_view line(held_text_.data() + held_next_, end - held_next_);
    held_next_ = end + 1;
    return line;
}

// The held lines go on in a later turn, behind what the I/O threads have queued meanwhile
// (the other connections' reads); reading waits until they are all handled (maybe_read).
void Session::continue_next_turn() {
    if (continuation_posted_) return;
    continuation_posted_ = true;
    // On home_, not the socket's type-erased executor: only the concrete io_context
    // executor builds the posted function with the handler's allocator.
    asio::post(home_, with_memory(continuation_memory_, [self = shared_from_this()] {
                   self->continuation_posted_ = false;
                   if (self->phase_ == Phase::closed) return;
                   self->turn_lines_ = 0;
                   self->process_lines();
                   self->maybe_read();
               }));
}

void Session::drop_held_lines() {
    return_spare(held_text_);  // no idle buffer: the thread keeps it for a busy connection
    held_next_ = 0;
}

void Session::maybe_read() {
    if (read_in_flight_ || phase_ != Phase::reading || has_held_lines()) return;
    if (replies_.output_stalled()) return check_backpressure();
    if (replies_.is_full()) return;  // too many answers awaited (kMaxAwaitingAnswers)
    if (read_paused_) return;        // refused for load: the pause timer reads again
    do_read();
}

// A connection whose share was refused for load is not read for a moment: what it sends
// meanwhile waits in its own socket buffer, costing the server nothing, instead of taking
// the I/O threads' turns from connections whose shares are still taken. Without this an
// overload of hundreds of connections keeps the I/O threads busy answering "Server busy"
// and an honest miner's submit waits its turn behind all of them.
void Session::pause_reading() {
    if (read_paused_) return;
    read_paused_ = true;
    read_pause_timer_.expires_after(kShedReadPause);
    read_pause_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
        self->read_paused_ = false;
        if (error || self->phase_ == Phase::closed) return;
        self->maybe_read();
    });
}

// ---- requests ----

void Session::handle(std::string_view line) {
    Decision decision = decide(parser_, line, {server_.options().reply_style, subscribed_, client_id_.has_value()});
    Request& request = decision.request;
    switch (decision.action) {
        case Decision::Action::none: break;
        case Decision::Action::subscribe: handle_subscribe(request, std::move(decision.reply)); break;
        case Decision::Action::check_submit:
            if (over_rate_limit()) {
                server_.stats().reject(protocol::errors::kRateLimited.kind);
                server_.stats().answered_submit(Door::stratum, protocol::errors::kRateLimited, now());
                answer_with(replies_.reserve(), [&](std::string& out) {
                    append_submit_reply(out, request.id, protocol::errors::kRateLimited, style());
                });
                note_answer(true);
                report(Conduct::rate_limited);
                break;
            }
            handle_submit(request);
            break;
        case Decision::Action::reply:
            server_.stats().reject(decision.error.kind);
            if (request.kind == Request::Kind::bad_submit)
                server_.stats().answered_submit(Door::stratum, decision.error, now());
            if (decision.error.kind == protocol::ErrorKind::invalid_parameters) {
                note_answer(true);
                report(Conduct::invalid);
            }
            if (decision.close_after) {
                spdlog::debug("{}: rejected subscribe: {}", remote_, decision.error.message);
                enter(Phase::answering_then_close);
            } else {
                spdlog::debug("{}: rejected id {}: [{},\"{}\"]", remote_, request.id, decision.error.code,
                              decision.error.message);
            }
            push_ready(std::move(decision.reply), decision.close_after);
            break;
        case Decision::Action::close_not_json:
            server_.stats().closed_not_json.fetch_add(1, std::memory_order_relaxed);
            spdlog::debug("{}: closed: a line that is not JSON", remote_);
            close("not JSON");
            report(Conduct::junk);
            break;
    }
}

void Session::handle_subscribe(Request& request, std::string reply) {
    miner_ = request.subscribe.miner.normalized();
    client_id_ = request.subscribe.client_id;
    subscribed_ = true;
    subscribe_timer_.cancel();
    server_.stats().subscribes.fetch_add(1, std::memory_order_relaxed);
    push_ready(std::move(reply));
    if (phase_ == Phase::closed) return;  // its reply went over the hard output cap
    // Requests after the subscribe wait until the miner's varDiff is known, so that a
    // pipelined submit is checked against the right difficulty.
    after_var_diff_ = phase_;
    enter(Phase::awaiting_var_diff);
    const std::uint64_t lookup = ++var_diff_lookup_;
    std::weak_ptr<Session> weak = weak_from_this();
    auto executor = socket_.get_executor();
    server_.redis().miner_var_diff(miner_, [weak, executor, lookup](std::optional<std::uint64_t> var_diff) {
        if (auto self = weak.lock()) {
            asio::post(executor, [self, var_diff, lookup] { self->on_var_diff_answer(var_diff, lookup); });
        }
    });
    // With Redis down the lookup waits for the reconnect; the miner gets work at the
    // default varDiff meanwhile rather than sit idle, and its own when Redis answers.
    auto timer = std::make_shared<asio::steady_timer>(executor, kVarDiffWait);
    timer->async_wait([weak, timer, lookup](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (error || !self || self->phase_ != Phase::awaiting_var_diff || self->var_diff_lookup_ != lookup) return;
        // Per miner: a Redis that is down or slow is logged once as such (server.cpp).
        spdlog::debug("{}: no varDiff for {} from Redis within {} ms; sending work at {} until it answers",
                      self->remote_, self->miner_, kVarDiffWait.count(), redis::kDefaultVarDiff);
        self->on_var_diff_loaded(redis::kDefaultVarDiff);
    });
}

void Session::on_var_diff_answer(std::optional<std::uint64_t> var_diff, std::uint64_t lookup) {
    if (phase_ == Phase::closed || lookup != var_diff_lookup_) return;
    if (phase_ == Phase::awaiting_var_diff) return on_var_diff_loaded(var_diff);
    // Redis answered after the wait gave up: the miner's own varDiff replaces the default.
    if (!var_diff) return;
    const std::uint64_t value = std::max(*var_diff, server_.options().min_share_difficulty);
    if (value == var_diff_) return;
    var_diff_ = value;
    spdlog::debug("{}: varDiff of {} arrived late: {}", remote_, miner_, var_diff_);
    send_notify();
}

// Only while awaiting it (the callers check).
void Session::on_var_diff_loaded(std::optional<std::uint64_t> var_diff) {
    std::uint64_t minimum = server_.options().min_share_difficulty;
    var_diff_ = std::max(var_diff.value_or(minimum), minimum);
    enter(after_var_diff_);
    spdlog::debug("{}: subscribed {} at varDiff {}", remote_, miner_, var_diff_);
    send_notify();
    process_lines();
    maybe_read();
}

void Session::handle_submit(Request& request) {
    const ReplyQueue::Ticket ticket = replies_.reserve();
    // The intake answers on this thread when the pool's state refuses the share or the
    // verifier runs on the I/O threads (nearly every answer), otherwise from the verifier's
    // thread or Redis's, whose answers come through this thread's mailbox (a burst of them
    // one post). The check is asio::dispatch's, without the type-erased executor's
    // wrapping of every answer into a function object.
    auto answer = [self = shared_from_this(), ticket, id = request.id, reply_style = style(),
                   received = now()](std::optional<StratumError> error) {
        if (self->home_.running_in_this_thread()) return self->answer_submit(ticket, id, error, reply_style, received);
        self->mailbox_.add([self, ticket, id, error, reply_style, received] {
            self->answer_submit(ticket, id, error, reply_style, received);
        });
    };
    // Measured before this submit takes its place in the reply queue.
    const pool::MinerContext miner{var_diff_, standing()};
    if (server_.intake().submit(std::move(request.submit), miner, std::move(answer)) ==
        pool::ShareIntake::Taken::verifying) {
        last_share_ = now();
    }
}

// On the session's thread, whichever thread produced the answer.
void Session::answer_submit(ReplyQueue::Ticket ticket, const std::string& id, const std::optional<StratumError>& error,
                            ReplyStyle style, std::chrono::steady_clock::time_point received) {
    server_.stats().answered_submit(Door::stratum, error, received);
    if (error) spdlog::debug("{}: rejected id {}: [{},\"{}\"]", remote_, id, error->code, error->message);
    if (!error) {
        note_answer(false);
        report(Conduct::valid);
    } else if (error->kind == protocol::ErrorKind::invalid_digest ||
               error->kind == protocol::ErrorKind::target_not_met) {
        note_answer(true);
        report(Conduct::invalid);
    } else if (error->kind == protocol::ErrorKind::server_busy) {
        pause_reading();
    }
    answer_with(ticket, [&](std::string& out) { append_submit_reply(out, id, error, style); });
}

// ---- defenses ----

bool Session::over_rate_limit() {
    if (exempt_ || submit_tokens_.take(now())) return false;
    if (!rate_limit_logged_) {
        rate_limit_logged_ = true;
        spdlog::info("{}: over the submit rate limit ({}/s, burst {}); answering \"Rate limit exceeded\"", remote_,
                     server_.options().max_submits_per_s, server_.options().submit_burst);
    }
    return true;
}

void Session::report(Conduct conduct) {
    if (exempt_) return;
    if (auto ban = server_.bans().record(peer_, conduct, BanBook::Clock::now())) server_.on_ban(*ban);
}

void Session::note_answer(bool invalid) {
    recent_invalid_bits_ = (recent_invalid_bits_ << 1) | (invalid ? 1u : 0u);
    if (recent_answers_ < 64) ++recent_answers_;
}

pool::Standing Session::standing() const {
    pool::Standing standing;
    standing.in_flight = replies_.awaiting();
    standing.in_flight_cap = kMaxAwaitingAnswers;
    // With a prior of half invalid over kPriorAnswers: a connection with no record is not
    // taken for a proven miner (a flood from fresh connections would otherwise look
    // spotless), and an established honest miner's record soon outweighs it.
    constexpr double kPriorAnswers = 4;
    standing.invalid_fraction = (static_cast<double>(std::popcount(recent_invalid_bits_)) + kPriorAnswers / 2) /
                                (static_cast<double>(recent_answers_) + kPriorAnswers);
    return standing;
}

// ---- replies ----

void Session::after_answer() {
    check_backpressure();
    if (!holding_writes_) flush();
}

void Session::flush() {
    if (phase_ == Phase::closed) return;
    const std::string_view ready = replies_.take_ready();
    if (ready.empty()) {
        // After EOF or at shutdown, the connection ends once every request is answered.
        if ((phase_ == Phase::finishing || phase_ == Phase::draining) && replies_.finished() && !has_held_lines())
            close("finished");
        return;
    }
    asio::async_write(
        socket_, asio::buffer(ready.data(), ready.size()),
        with_memory(write_memory_, [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
            self->on_written(error);
        }));
}

void Session::on_written(const boost::system::error_code& error) {
    const bool answered_last = replies_.written();
    if (phase_ == Phase::closed) return;
    if (error) return close(error.message());
    if (answered_last) return close("answered a bad subscribe");
    flush();
    if (!replies_.over_soft_cap()) {
        backpressure_armed_ = false;
        backpressure_timer_.cancel();
    }
    maybe_read();
}

void Session::check_backpressure() {
    if (replies_.over_hard_cap()) {
        server_.stats().closed_slow_reader.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("{}: closed: {} bytes of replies unread", remote_, replies_.unsent_bytes());
        return close("output over hard cap");
    }
    if (replies_.output_stalled() && !backpressure_armed_) {
        backpressure_armed_ = true;
        backpressure_timer_.expires_after(kSlowReaderGrace);
        backpressure_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
            if (error || self->phase_ == Phase::closed || !self->backpressure_armed_) return;
            self->backpressure_armed_ = false;
            if (self->replies_.output_stalled()) {
                self->server_.stats().closed_slow_reader.fetch_add(1, std::memory_order_relaxed);
                spdlog::debug("{}: closed: replies unread for {} s", self->remote_, kSlowReaderGrace.count());
                self->close("slow reader");
            }
        });
    }
}

// ---- work ----

// A new challenge goes to every session at once, nearly all at one of a few varDiffs: the
// text (a Keccak for the checksummed pool address, a 78-digit decimal target) is built once
// a thread for the last work asked for, and copied for the next session that wants the same.
const std::string& Session::notify_text(const Bytes32& challenge) const {
    // Everything the text depends on is its key (the options too: tests run servers with
    // different ones, one after another, in one process).
    struct LastNotify {
        Bytes32 challenge{};
        std::uint64_t var_diff = 0;
        unsigned max_target_bits = 0;
        Address pool;
        std::string text;
    };
    thread_local LastNotify last;
    const Options& options = server_.options();
    if (last.text.empty() || last.challenge != challenge || last.var_diff != var_diff_ ||
        last.max_target_bits != options.max_target_bits || last.pool != options.pool) {
        last.text =
            protocol::notify(challenge, share_target(options.max_target_bits, var_diff_), var_diff_, options.pool);
        last.challenge = challenge;
        last.var_diff = var_diff_;
        last.max_target_bits = options.max_target_bits;
        last.pool = options.pool;
    }
    return last.text;
}

void Session::send_notify() {
    std::optional<Bytes32> challenge = server_.pool().challenge();
    if (!challenge) {
        server_.pool().note_no_challenge();
    } else {
        push_ready(notify_text(*challenge));
        server_.stats().notifies.fetch_add(1, std::memory_order_relaxed);
        notified_challenge_ = challenge;
    }
    schedule_renotify();
}

void Session::schedule_renotify() {
    renotify_timer_.expires_after(renotify_delay(server_.options().renotify_max_s));
    renotify_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
        if (error || self->phase_ == Phase::closed) return;
        // A miner that submitted nothing for this long is dropped when its notify comes due.
        const auto idle_limit = std::chrono::seconds(self->server_.options().idle_timeout_s);
        if (std::chrono::steady_clock::now() - self->last_share_ > idle_limit) {
            self->server_.stats().closed_idle.fetch_add(1, std::memory_order_relaxed);
            spdlog::debug("{}: closed: no share for {} s", self->remote_, idle_limit.count());
            return self->close("idle");
        }
        if (self->subscribed_ && self->phase_ != Phase::awaiting_var_diff) {
            self->send_notify();
        } else {
            self->schedule_renotify();
        }
    });
}

// A connection that has not sent a valid mining.subscribe by then is closed: it holds a
// file descriptor and a slot of its address's cap while doing nothing a miner does.
void Session::schedule_subscribe_deadline() {
    const auto deadline = std::chrono::seconds(server_.options().subscribe_timeout_s);
    subscribe_timer_.expires_after(deadline);
    subscribe_timer_.async_wait([self = shared_from_this(), deadline](const boost::system::error_code& error) {
        if (error || self->subscribed_) return;
        // Closing already, or at shutdown: not a connection that failed to subscribe.
        if (self->phase_ == Phase::closed || self->phase_ == Phase::draining ||
            self->phase_ == Phase::answering_then_close)
            return;
        self->server_.stats().closed_no_subscribe.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("{}: closed: no valid mining.subscribe within {} s", self->remote_, deadline.count());
        self->close("no subscribe");
    });
}

void Session::close(std::string_view why) {
    if (phase_ == Phase::closed) return;
    enter(Phase::closed);
    spdlog::debug("{}: disconnected ({})", remote_, why);
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    renotify_timer_.cancel();
    backpressure_timer_.cancel();
    subscribe_timer_.cancel();
    read_pause_timer_.cancel();
    // Skipped, not freed: close() may run within the handling of a held line, which reads
    // the buffer; it goes with the session.
    held_next_ = held_text_.size();
    replies_.clear();
    admission_slot_.release();
    server_.remove_session(this);
}

}  // namespace sharegate::server
