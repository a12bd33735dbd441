#include "server/reply_queue.hpp"

namespace sharegate::server {

ReplyQueue::Ticket ReplyQueue::reserve() {
    borrow_spare(places_);
    places_.emplace_back();
    ++awaiting_;
    return first_ + open_places() - 1;
}

void ReplyQueue::pop_place() {
    Place& place = places_[head_];
    if (!place.text.empty()) place.text = std::string();
    ++head_;
    ++first_;
    // Left places go: all of them at once when none is open (the usual case), else once
    // they are the larger part, so the vector never grows with a connection's age.
    if (head_ == places_.size()) {
        places_.clear();
        head_ = 0;
    } else if (head_ > 16 && 2 * head_ > places_.size()) {
        places_.erase(places_.begin(), places_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

void ReplyQueue::absorb_filled_places() {
    while (!ready_closes_ && open_places() > 0 && places_[head_].filled) {
        Place& place = places_[head_];
        borrow_spare(ready_);
        ready_ += place.text;
        ++ready_answers_;
        const bool close_after = place.close_after;
        pop_place();
        if (close_after) end_after_ready();
    }
}

std::string_view ReplyQueue::take_ready() {
    if (writing_ || ended_ || ready_.empty()) return {};
    // The two buffers trade places: the next answers go into the one just written.
    writing_buffer_.swap(ready_);
    ready_.clear();
    ready_answers_ = 0;
    writing_ = true;
    writing_last_ = ended_ = ready_closes_;
    return writing_buffer_;
}

bool ReplyQueue::written() {
    writing_ = false;
    unsent_bytes_ -= writing_buffer_.size();
    writing_buffer_.clear();
    release_buffers_when_idle();
    return writing_last_;
}

void ReplyQueue::release_buffers_when_idle() {
    // An idle connection keeps no buffer: its next reply is a while away, and thousands of
    // idle miners would each hold their largest write so far. The thread keeps them for
    // the connections still busy.
    if (open_places() != 0 || !ready_.empty() || writing_) return;
    return_spare(writing_buffer_);
    return_spare(ready_);
    return_spare(places_);
    head_ = 0;
}

void ReplyQueue::clear() {
    first_ += open_places();
    places_.clear();
    head_ = 0;
    awaiting_ = 0;
    ready_.clear();
    ready_answers_ = 0;
    unsent_bytes_ = writing_ ? writing_buffer_.size() : 0;
    release_buffers_when_idle();
}

}  // namespace sharegate::server
