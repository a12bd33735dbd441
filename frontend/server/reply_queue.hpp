// A connection's answers, in request order although they become known out of order (a
// submit is answered when the verifier and Redis are done, a refusal at once). Each
// request takes a place in line; a place is filled when its answer is known; the filled
// prefix goes out in one write, one write at a time. Modelled on the queue of
// Boost.Beast's advanced server (http_session::queue): "is it full?" decides whether the
// connection reads more requests. No I/O and no locking: the session's I/O thread owns it.
//
// An answer that comes in order (every earlier one known: the usual case) is written
// straight into the text of the next write, so that a steady stream of answers allocates
// nothing; only one known before an earlier one is kept aside in its place. The buffers
// are the I/O thread's spares (spare_buffers.hpp) while the connection is busy, and none
// while it is idle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/spare_buffers.hpp"

namespace sharegate::server {

class ReplyQueue {
public:
    struct Limits {
        std::size_t soft_output_cap;       // unwritten bytes past which the output is stalled
        std::size_t hard_output_cap;       // unwritten bytes past which the reader is hopeless
        std::size_t max_awaiting_answers;  // places not yet filled past which the queue is full
        std::size_t max_open_places;       // answers not yet written past which the output is stalled
    };
    using Ticket = std::uint64_t;

    explicit ReplyQueue(Limits limits) : limits_(limits) {}

    // A place in line for an answer not known yet.
    Ticket reserve();
    // Its answer. close_after: the connection ends once this answer is written, and
    // nothing after it is. A ticket from before clear() is ignored.
    void fill(Ticket ticket, std::string_view text, bool close_after = false) {
        fill_with(
            ticket, [text](std::string& out) { out += text; }, close_after);
    }
    // The same, the answer's text appended to a string by write(std::string&): into the
    // next write itself when the answer comes in order.
    template <class Write>
    void fill_with(Ticket ticket, Write&& write, bool close_after = false);
    // An answer known at once, in line after every place reserved so far.
    void add(std::string_view text, bool close_after = false) { fill(reserve(), text, close_after); }

    // Read no more requests: too many answers awaited, or the output is stalled.
    bool is_full() const { return awaiting_ > limits_.max_awaiting_answers || output_stalled(); }
    // Answers pile up unwritten: the client is not reading them.
    bool output_stalled() const {
        return unsent_bytes_ > limits_.soft_output_cap || unwritten_answers() > limits_.max_open_places;
    }
    bool over_soft_cap() const { return unsent_bytes_ > limits_.soft_output_cap; }
    bool over_hard_cap() const { return unsent_bytes_ > limits_.hard_output_cap; }

    // The answers ready in order, as one buffer to write, valid until written(); empty
    // while a write is in flight, when the first place is still awaited, or after a
    // close-after answer went out.
    std::string_view take_ready();
    // The write of take_ready()'s buffer finished. True when it ended with a close-after
    // answer: close the connection now. Otherwise take_ready() again, and read again
    // unless is_full().
    bool written();

    // Every place answered and written, and no write in flight.
    bool finished() const { return open_places() == 0 && ready_answers_ == 0 && !writing_; }
    bool writing() const { return writing_; }
    std::size_t awaiting() const { return awaiting_; }
    std::size_t unsent_bytes() const { return unsent_bytes_; }

    // The connection closed: every place is dropped, and later fills are ignored.
    void clear();

private:
    // A place whose answer is not yet in ready_: awaited, or known before an earlier one.
    struct Place {
        bool filled = false;
        bool close_after = false;
        std::string text;
    };

    std::size_t open_places() const { return places_.size() - head_; }
    std::size_t unwritten_answers() const { return open_places() + ready_answers_; }
    // Moves the filled places at the head of the line into ready_, in order.
    void absorb_filled_places();
    // The first place's answer is in ready_: it leaves the line.
    void pop_place();
    void end_after_ready() { ready_closes_ = true; }
    // The thread's spares back, when nothing is left to write.
    void release_buffers_when_idle();

    Limits limits_;
    // The places are places_[head_ ...], places_[head_ + i] with ticket first_ + i. A vector
    // and an index rather than a deque: an empty deque holds a 512-byte block.
    std::vector<Place> places_;
    std::size_t head_ = 0;
    Ticket first_ = 0;
    std::string ready_;              // answers known in order, not yet taken to write
    std::size_t ready_answers_ = 0;  // how many answers ready_ holds
    bool ready_closes_ = false;      // ready_ ends with a close-after answer: nothing joins it
    std::string writing_buffer_;
    bool writing_ = false;
    bool writing_last_ = false;     // the write in flight ends with a close-after answer
    bool ended_ = false;            // a close-after answer was taken: nothing more goes out
    std::size_t awaiting_ = 0;      // places reserved, not yet filled
    std::size_t unsent_bytes_ = 0;  // filled answers not yet written, plus the write in flight
};

template <class Write>
void ReplyQueue::fill_with(Ticket ticket, Write&& write, bool close_after) {
    if (ticket < first_ || ticket - first_ >= open_places()) return;
    Place& place = places_[head_ + (ticket - first_)];
    if (place.filled) return;
    --awaiting_;
    if (ticket == first_ && !ready_closes_) {
        // In order: straight into the next write.
        borrow_spare(ready_);
        const std::size_t before = ready_.size();
        write(ready_);
        unsent_bytes_ += ready_.size() - before;
        ++ready_answers_;
        pop_place();
        if (close_after) return end_after_ready();
        absorb_filled_places();
        return;
    }
    place.filled = true;
    place.close_after = close_after;
    write(place.text);
    unsent_bytes_ += place.text.size();
}

}  // namespace sharegate::server
