// One stratum connection. All of its state lives on its strand; other threads (the
// verifier, Redis, the server's broadcasts) reach it only by posting there. Replies go
// out in request order although submits complete asynchronously: each request takes a
// slot in a FIFO, a slot is filled when its answer is known, and the filled prefix is
// written in one gathered write.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "protocol/line_framer.hpp"
#include "protocol/stratum.hpp"
#include "server/asio.hpp"

namespace sharegate::server {

class Server;

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(boost::asio::ip::tcp::socket socket, Server& server);

    void start();

    // Thread-safe: each posts to the session's strand.
    void post_notify();                                             // the challenge changed
    void post_var_diff(std::string miner, std::uint64_t var_diff);  // a miner's varDiff changed
    void post_drain(std::function<void()> acknowledged);            // shutdown: stop reading, finish replies
    void post_close();

private:
    struct Slot {
        bool ready = false;
        bool close_after = false;
        std::string text;
    };

    void do_read();
    void on_read(const boost::system::error_code& error, std::string_view data);
    void process_lines();
    void maybe_read();
    bool output_stalled() const;
    void handle(std::string_view line);
    void handle_subscribe(protocol::Request& request, std::string reply);
    void handle_submit(protocol::Request& request);
    void on_var_diff_answer(std::optional<std::uint64_t> var_diff, std::uint64_t lookup);
    void on_var_diff_loaded(std::optional<std::uint64_t> var_diff);
    void reject(std::uint64_t slot, const std::string& id, protocol::StratumError error);

    std::uint64_t reserve_slot();
    void fill(std::uint64_t slot, std::string text, bool close_after = false);
    void push_ready(std::string text, bool close_after = false) { fill(reserve_slot(), std::move(text), close_after); }
    void flush();
    void on_written(const boost::system::error_code& error);
    void check_backpressure();

    void send_notify();
    void schedule_renotify();
    void close(std::string_view why);

    protocol::ReplyStyle style() const;

    boost::asio::ip::tcp::socket socket_;
    Server& server_;
    std::string remote_address_;  // for per-address counts
    std::string remote_;          // address:port, for logs
    boost::asio::steady_timer renotify_timer_;
    boost::asio::steady_timer backpressure_timer_;
    protocol::LineFramer framer_;
    protocol::StratumParser parser_;
    std::deque<std::string> held_lines_;  // framed but not yet handled (waiting on a varDiff lookup)

    // Reply FIFO: slots_[i] has sequence number first_slot_ + i.
    std::deque<Slot> slots_;
    std::uint64_t first_slot_ = 0;
    std::string writing_buffer_;
    std::size_t awaiting_answers_ = 0;  // reserved slots not yet filled
    std::size_t unsent_bytes_ = 0;      // filled slots not yet written plus the write in flight
    bool writing_ = false;
    bool close_after_write_ = false;  // a bad subscribe: close once its answer is written
    bool backpressure_armed_ = false;

    bool reading_ = false;
    bool closing_ = false;    // no more requests are handled (bad subscribe, EOF, shutdown)
    bool draining_ = false;   // shutdown: read nothing more
    bool finishing_ = false;  // EOF or shutdown: close once every slot is answered and written
    bool closed_ = false;
    bool awaiting_var_diff_ = false;

    bool subscribed_ = false;
    std::optional<std::string> client_id_;
    std::string miner_;  // "0x" + lower case
    std::uint64_t var_diff_ = 0;
    std::optional<Bytes32> notified_challenge_;  // the challenge of the last notify sent
    std::uint64_t var_diff_lookup_ = 0;          // numbers the subscribe's varDiff lookups
    std::chrono::steady_clock::time_point last_share_;
};

}  // namespace sharegate::server
