#include "server/reply_queue.hpp"

namespace sharegate::server {

ReplyQueue::Ticket ReplyQueue::reserve() {
    places_.emplace_back();
    ++awaiting_;
    return first_ + open_places() - 1;
}

void ReplyQueue::fill(Ticket ticket, std::string text, bool close_after) {
    if (ticket < first_ || ticket - first_ >= open_places()) return;
    Place& place = places_[head_ + (ticket - first_)];
    if (!place.ready) --awaiting_;
    place.ready = true;
    place.close_after = close_after;
    unsent_bytes_ += text.size();
    place.text = std::move(text);
}

std::string_view ReplyQueue::take_ready() {
    if (writing_ || ended_) return {};
    writing_buffer_.clear();
    while (open_places() > 0 && places_[head_].ready) {
        Place& place = places_[head_];
        writing_buffer_ += place.text;
        const bool close_after = place.close_after;
        place.text = std::string();
        ++head_;
        ++first_;
        if (close_after) {
            writing_last_ = true;
            ended_ = true;
            break;
        }
    }
    // Taken places go: all of them at once when none is left (the usual case), else once
    // they are the larger part, so the vector never grows with a connection's age.
    if (head_ == places_.size()) {
        places_.clear();
        head_ = 0;
    } else if (head_ > 16 && 2 * head_ > places_.size()) {
        places_.erase(places_.begin(), places_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
    if (writing_buffer_.empty()) return {};
    writing_ = true;
    return writing_buffer_;
}

bool ReplyQueue::written() {
    writing_ = false;
    unsent_bytes_ -= writing_buffer_.size();
    writing_buffer_.clear();
    // An idle connection keeps no buffer: its next reply is a while away, and thousands of
    // idle miners would each hold their largest write so far.
    if (open_places() == 0) {
        std::string().swap(writing_buffer_);
        std::vector<Place>().swap(places_);
        head_ = 0;
    }
    return writing_last_;
}

void ReplyQueue::clear() {
    first_ += open_places();
    places_.clear();
    head_ = 0;
    awaiting_ = 0;
    unsent_bytes_ = writing_ ? writing_buffer_.size() : 0;
}

}  // namespace sharegate::server
