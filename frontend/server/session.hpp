// One stratum connection: bytes, lines, parsing, replies and timers. A well-formed submit
// goes to the pool's ShareIntake, whose answer is posted back here. All of its state lives
// on its I/O thread (server/io_threads.hpp); other threads (the verifier, Redis, the
// server's broadcasts) reach it only by posting there. Replies go out in request order
// although submits complete asynchronously (ReplyQueue).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pool/load_shedding.hpp"
#include "pool/share_intake.hpp"
#include "protocol/line_framer.hpp"
#include "protocol/stratum.hpp"
#include "server/admission.hpp"
#include "server/asio.hpp"
#include "server/ban_book.hpp"
#include "server/handler_memory.hpp"
#include "server/reply_queue.hpp"
#include "server/thread_mailbox.hpp"
#include "server/token_bucket.hpp"

namespace sharegate::server {

class Server;

class Session : public std::enable_shared_from_this<Session> {
public:
    // `slot` is its count in the server's Admission, given back when the connection closes;
    // `peer` the miner's address (the PROXY header's when it came through a proxy), and
    // `remote` how logs name the connection.
    Session(boost::asio::ip::tcp::socket socket, Server& server, Admission::Slot slot, IpAddress peer,
            std::string remote);

    // `received` is what was read past a PROXY header: the first stratum bytes.
    void start(std::string received = {});

    const IpAddress& peer() const { return peer_; }  // immutable: any thread
    // The session's I/O thread (immutable: any thread).
    const boost::asio::io_context::executor_type& home() const { return home_; }

    // The challenge changed: sends the new work, unless the session has it already or waits
    // for its varDiff (whose answer sends it). On the session's own I/O thread only: the
    // server's fan-out runs there (Server::notify_chunk).
    void notify();

    // Thread-safe: each posts to the session's I/O thread.
    void post_var_diff(std::string miner, std::uint64_t var_diff);  // a miner's varDiff changed
    void post_drain(std::function<void()> acknowledged);            // shutdown: stop reading, finish replies
    void post_close(std::string why = "shutting down");

private:
    // Where the connection is in its life; set only through enter(), which checks that
    // the step is one of those listed there.
    enum class Phase {
        reading,               // handles requests and reads more while the reply queue has room
        awaiting_var_diff,     // a subscribe was answered: later requests wait, unread, for the varDiff
        finishing,             // the miner sent EOF: handles what it sent, closes once all is answered
        answering_then_close,  // a bad subscribe: handles nothing more, closes once its answer is written
        draining,              // shutdown: reads and handles nothing more, closes once all is answered
        closed,
    };
    static std::string_view name(Phase phase);
    void enter(Phase next);

    void do_read();
    void on_read(const boost::system::error_code& error, std::string_view data);
    void process_lines();
    void handle_held_lines();
    void continue_next_turn();
    bool has_held_lines() const { return held_next_ < held_text_.size(); }
    void hold_line(std::string_view line);
    std::string_view next_held_line();
    void drop_held_lines();
    // Lines handled while one lives: their submits are verified together and their
    // answers written together as it ends (ShareIntake::Group, holding_writes_).
    class Batch {
    public:
        explicit Batch(Session& session);

    private:
        struct HoldWrites {
            explicit HoldWrites(Session& s) : session(s) {
                session.holding_writes_ = true;
                session.turn_time_ = std::chrono::steady_clock::now();
            }
            ~HoldWrites() {
                session.holding_writes_ = false;
                session.turn_time_ = {};
            }
            HoldWrites(const HoldWrites&) = delete;
            HoldWrites& operator=(const HoldWrites&) = delete;
            Session& session;
        };
        HoldWrites hold_;                 // ends last
        pool::ShareIntake::Group group_;  // ends first: the verdicts are answered with writes held
    };
    void maybe_read();
    void handle(std::string_view line);
    void handle_subscribe(protocol::Request& request, std::string reply);
    void handle_submit(protocol::Request& request);
    void on_var_diff_answer(std::optional<std::uint64_t> var_diff, std::uint64_t lookup);
    void on_var_diff_loaded(std::optional<std::uint64_t> var_diff);
    void answer_submit(ReplyQueue::Ticket ticket, const std::string& id,
                       const std::optional<protocol::StratumError>& error, protocol::ReplyStyle style,
                       std::chrono::steady_clock::time_point received);

    // An answer's place filled, its text appended by write(std::string&) (straight into the
    // next write when it comes in order: ReplyQueue::fill_with), and written unless held.
    template <class Write>
    void answer_with(ReplyQueue::Ticket ticket, Write&& write, bool close_after = false) {
        if (phase_ == Phase::closed) return;
        replies_.fill_with(ticket, std::forward<Write>(write), close_after);
        after_answer();
    }
    void after_answer();
    void answer(ReplyQueue::Ticket ticket, std::string_view text, bool close_after = false) {
        answer_with(
            ticket, [text](std::string& out) { out += text; }, close_after);
    }
    void push_ready(std::string_view text, bool close_after = false) { answer(replies_.reserve(), text, close_after); }
    void flush();
    void on_written(const boost::system::error_code& error);
    void check_backpressure();

    void send_notify();
    const std::string& notify_text(const Bytes32& challenge) const;
    void schedule_renotify();
    void schedule_subscribe_deadline();
    void close(std::string_view why);

    protocol::ReplyStyle style() const;

    // The defenses' view of this connection: its conduct goes to the server's BanBook
    // (which may ban its address), and its recent record to load shedding.
    void report(Conduct conduct);
    void note_answer(bool invalid);
    pool::Standing standing() const;
    bool over_rate_limit();
    void pause_reading();

    boost::asio::ip::tcp::socket socket_;
    boost::asio::io_context::executor_type home_;  // the socket's I/O thread, not type-erased
    ThreadMailbox& mailbox_;                       // home_'s: answers from threads that are not I/O threads
    Server& server_;
    const IpAddress peer_;
    const bool exempt_;   // allow-listed: never rate-limited, never recorded for bans
    std::string remote_;  // address:port, for logs
    boost::asio::steady_timer renotify_timer_;
    boost::asio::steady_timer backpressure_timer_;
    boost::asio::steady_timer subscribe_timer_;   // closes a connection that never subscribes
    boost::asio::steady_timer read_pause_timer_;  // reads again after a refusal for load
    Admission::Slot admission_slot_;
    protocol::LineFramer framer_;
    protocol::StratumParser parser_;
    // Framed but not yet handled (past a turn's lines, or waiting on a varDiff lookup), each
    // ended by a newline, from held_next_ on: one buffer for a read's rest rather than a
    // string a line, released once empty (most sessions never hold a line).
    std::string held_text_;
    std::size_t held_next_ = 0;
    std::size_t turn_lines_ = 0;        // lines handled in this turn (kMaxLinesPerTurn)
    bool continuation_posted_ = false;  // the held lines' next turn is queued
    ReplyQueue replies_;

    Phase phase_ = Phase::reading;
    Phase after_var_diff_ = Phase::reading;  // where the varDiff wait returns to: reading, or finishing after EOF
    bool read_in_flight_ = false;
    // Each of these operations is in flight at most once (read_in_flight_, a write at a
    // time, continuation_posted_): asio builds them here rather than on the heap, where
    // they were most of a flood's allocations. Sizes: what Boost 1.74 needs on x86-64
    // (a wait 128 bytes, a send inside async_write 200, a post 56), with some room.
    HandlerMemory<160> read_memory_;
    HandlerMemory<240> write_memory_;
    HandlerMemory<80> continuation_memory_;
    bool read_before_ = false;  // the first bytes are checked for a misdirected PROXY header
    bool read_paused_ = false;  // refused for load a moment ago: not reading (pause_reading)
    bool backpressure_armed_ = false;
    bool holding_writes_ = false;  // within process_lines: answers are written together at its end

    bool subscribed_ = false;
    std::optional<std::string> client_id_;
    std::string miner_;  // "0x" + lower case
    std::uint64_t var_diff_ = 0;
    std::optional<Bytes32> notified_challenge_;  // the challenge of the last notify sent
    std::uint64_t var_diff_lookup_ = 0;          // numbers the subscribe's varDiff lookups
    std::chrono::steady_clock::time_point last_share_;
    // When the lines being handled were read (set while a Batch lives, else unset): one
    // clock read a read, not several a submit (received time, rate limit, last share).
    std::chrono::steady_clock::time_point turn_time_{};
    std::chrono::steady_clock::time_point now() const {
        return turn_time_ != std::chrono::steady_clock::time_point{} ? turn_time_ : std::chrono::steady_clock::now();
    }

    TokenBucket submit_tokens_;
    bool rate_limit_logged_ = false;         // once per connection, not once per submit
    std::uint64_t recent_invalid_bits_ = 0;  // the last 64 answered submits, 1 = invalid
    unsigned recent_answers_ = 0;            // how many of those 64 bits are real (at most 64)
};

}  // namespace sharegate::server
