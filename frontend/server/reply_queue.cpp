#include "server/reply_queue.hpp"

namespace sharegate::server {

ReplyQueue::Ticket ReplyQueue::reserve() {
    places_.emplace_back();
    ++awaiting_;
    return first_ + places_.size() - 1;
}

void ReplyQueue::fill(Ticket ticket, std::string text, bool close_after) {
    if (ticket < first_ || ticket - first_ >= places_.size()) return;
    Place& place = places_[ticket - first_];
    if (!place.ready) --awaiting_;
    place.ready = true;
    place.close_after = close_after;
    unsent_bytes_ += text.size();
    place.text = std::move(text);
}

std::string_view ReplyQueue::take_ready() {
    if (writing_ || ended_) return {};
    writing_buffer_.clear();
    while (!places_.empty() && places_.front().ready) {
        Place& place = places_.front();
        writing_buffer_ += place.text;
        const bool close_after = place.close_after;
        places_.pop_front();
        ++first_;
        if (close_after) {
            writing_last_ = true;
            ended_ = true;
            break;
        }
    }
    if (writing_buffer_.empty()) return {};
    writing_ = true;
    return writing_buffer_;
}

bool ReplyQueue::written() {
    writing_ = false;
    unsent_bytes_ -= writing_buffer_.size();
    writing_buffer_.clear();
    return writing_last_;
}

void ReplyQueue::clear() {
    first_ += places_.size();
    places_.clear();
    awaiting_ = 0;
    unsent_bytes_ = writing_ ? writing_buffer_.size() : 0;
}

}  // namespace sharegate::server
