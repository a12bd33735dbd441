// A line copied into a reusable buffer with simdjson's padding after it, for both sides
// of the wire (StratumParser on the server, StratumClientParser in the clients): simdjson
// reads past the end of its input, and a connection's steady state should allocate
// nothing per line.
#pragma once

#include <simdjson.h>

#include <cstring>
#include <string_view>
#include <vector>

namespace sharegate::protocol {

class PaddedLine {
public:
    // The copy of `line`, valid until the next call; its size() is line.size().
    std::string_view copy(std::string_view line) {
        const std::size_t needed = line.size() + simdjson::SIMDJSON_PADDING;
        if (buffer_.size() < needed) buffer_.resize(needed);
        if (!line.empty()) std::memcpy(buffer_.data(), line.data(), line.size());
        std::memset(buffer_.data() + line.size(), 0, simdjson::SIMDJSON_PADDING);
        return {buffer_.data(), line.size()};
    }
    // The copy, writable (the server neutralises unrepresentable numbers in place).
    char* data() { return buffer_.data(); }

private:
    std::vector<char> buffer_;
};

}  // namespace sharegate::protocol
