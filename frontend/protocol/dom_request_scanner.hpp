// Any JSON request line read with simdjson's DOM: what the flat scanner
// (flat_request_scanner.hpp) leaves to it. One simdjson parser and padded buffer a
// thread, which every connection on that thread shares: a parser that has parsed holds
// its depth stack (about 9 KiB), and one a session was most of an idle connection's memory.
#pragma once

#include <string_view>

#include "protocol/request_fields.hpp"

namespace sharegate::protocol {

// True, with `out` filled, when `line` is JSON (and UTF-8); false when it is not. Strings
// in `out` point into this thread's parser: valid until its next call on this thread.
bool scan_dom_request(std::string_view line, RequestFields& out);

}  // namespace sharegate::protocol
