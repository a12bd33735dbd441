// A connection's answers, in request order although they become known out of order (a
// submit is answered when the verifier and Redis are done, a refusal at once). Each
// request takes a place in line; a place is filled when its answer is known; the filled
// prefix goes out in one gathered write, one write at a time. Modelled on the queue of
// Boost.Beast's advanced server (http_session::queue): "is it full?" decides whether the
// connection reads more requests. No I/O and no locking: the session's I/O thread owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sharegate::server {

class ReplyQueue {
public:
    struct Limits {
        std::size_t soft_output_cap;       // unwritten bytes past which the output is stalled
        std::size_t hard_output_cap;       // unwritten bytes past which the reader is hopeless
        std::size_t max_awaiting_answers;  // places not yet filled past which the queue is full
        std::size_t max_open_places;       // places not yet written past which the output is stalled
    };
    using Ticket = std::uint64_t;

    explicit ReplyQueue(Limits limits) : limits_(limits) {}

    // A place in line for an answer not known yet.
    Ticket reserve();
    // Its answer. close_after: the connection ends once this answer is written, and
    // nothing after it is. A ticket from before clear() is ignored.
    void fill(Ticket ticket, std::string text, bool close_after = false);
    // An answer known at once, in line after every place reserved so far.
    void add(std::string text, bool close_after = false) { fill(reserve(), std::move(text), close_after); }

    // Read no more requests: too many answers awaited, or the output is stalled.
    bool is_full() const { return awaiting_ > limits_.max_awaiting_answers || output_stalled(); }
    // Answers pile up unwritten: the client is not reading them.
    bool output_stalled() const {
        return unsent_bytes_ > limits_.soft_output_cap || open_places() > limits_.max_open_places;
    }
    bool over_soft_cap() const { return unsent_bytes_ > limits_.soft_output_cap; }
    bool over_hard_cap() const { return unsent_bytes_ > limits_.hard_output_cap; }

    // The filled prefix, as one buffer to write, valid until written(); empty while a write
    // is in flight, when the first place is still awaited, or after a close-after answer
    // went out.
    std::string_view take_ready();
    // The write of take_ready()'s buffer finished. True when it ended with a close-after
    // answer: close the connection now. Otherwise take_ready() again, and read again
    // unless is_full().
    bool written();

    // Every place answered and written, and no write in flight.
    bool finished() const { return open_places() == 0 && !writing_; }
    bool writing() const { return writing_; }
    std::size_t awaiting() const { return awaiting_; }
    std::size_t unsent_bytes() const { return unsent_bytes_; }

    // The connection closed: every place is dropped, and later fills are ignored.
    void clear();

private:
    struct Place {
        bool ready = false;
        bool close_after = false;
        std::string text;
    };

    Limits limits_;
    std::size_t open_places() const { return places_.size() - head_; }

    // The open places are places_[head_ ...], places_[head_ + i] with ticket first_ + i. A
    // vector and an index rather than a deque: an empty deque holds a 512-byte block, and
    // an idle connection (most of them) holds no place at all.
    std::vector<Place> places_;
    std::size_t head_ = 0;
    Ticket first_ = 0;
    std::string writing_buffer_;
    bool writing_ = false;
    bool writing_last_ = false;     // the write in flight ends with a close-after answer
    bool ended_ = false;            // a close-after answer was taken: nothing more goes out
    std::size_t awaiting_ = 0;      // places reserved, not yet filled
    std::size_t unsent_bytes_ = 0;  // filled places not yet written, plus the write in flight
};

}  // namespace sharegate::server
