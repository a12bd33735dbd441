// Newline framing for stratum. The limit applies to each line, complete or not, never to
// a burst of complete ones: a miner that pipelines forty submits in one write is fine,
// a client that sends one line of more than 10 KiB is not, however the reads split it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sharegate::protocol {

class LineFramer {
public:
    explicit LineFramer(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

    // Splits bytes into lines (without the '\n'; a trailing '\r' is dropped too) and
    // calls on_line(std::string_view) for each complete one, in order. Returns false,
    // having delivered the complete lines before it, when a line (complete, or the
    // unterminated rest) is longer than the limit: the caller should close the connection.
    template <typename OnLine>
    bool feed(std::string_view bytes, OnLine&& on_line);

    // Bytes held of the current unterminated line.
    std::size_t pending() const { return partial_.size(); }

private:
    std::size_t max_line_bytes_;
    std::string partial_;
};

}  // namespace sharegate::protocol

#include "line_framer_impl.hpp"
