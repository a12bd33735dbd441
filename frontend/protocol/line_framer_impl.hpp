// LineFramer::feed, included by line_framer.hpp (a template over the callback).
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#include "line_framer.hpp"

namespace sharegate::protocol {

namespace detail {

inline std::string_view strip_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

}  // namespace detail

template <typename OnLine>
bool LineFramer::feed(std::string_view bytes, OnLine&& on_line) {
    const char* const begin = bytes.data();
    const char* const end = begin + bytes.size();
    const char* cursor = begin;

    // Complete lines are delivered as views into `bytes`; only a line that straddles
    // reads is copied, so a burst of many small lines costs one pass with memchr.
    while (cursor != end) {
        const void* found = std::memchr(cursor, '\n', static_cast<std::size_t>(end - cursor));
        if (found == nullptr) break;
        const char* const newline = static_cast<const char*>(found);
        // A complete line is held to the same limit as an unterminated one, however the
        // reads split it (the '\r' of a "\r\n" ending is counted too).
        if (partial_.size() + static_cast<std::size_t>(newline - cursor) > max_line_bytes_) return false;
        if (partial_.empty()) {
            on_line(detail::strip_cr(std::string_view(cursor, static_cast<std::size_t>(newline - cursor))));
        } else {
            partial_.append(cursor, newline);
            // Cleared even if on_line throws, so a later feed does not glue onto a
            // delivered line; clear() keeps the capacity for the next straddling line.
            struct ClearOnExit {
                std::string& s;
                ~ClearOnExit() { s.clear(); }
            } clear_on_exit{partial_};
            on_line(detail::strip_cr(partial_));
        }
        cursor = newline + 1;
    }

    partial_.append(cursor, end);
    // Complete lines, however many, were handed on: only the rest is held.
    return partial_.size() <= max_line_bytes_;
}

}  // namespace sharegate::protocol
