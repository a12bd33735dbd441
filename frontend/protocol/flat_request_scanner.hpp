// The fast way in for a stratum request: the flat form miners send, e.g.
//   {"id":4,"method":"mining.submit","params":["0x…","0x…","0x…",1024,"0x…"]}
// read in one pass over the line, without simdjson's copy into a padded buffer, its two
// stages and its tape. "Flat" is a strict subset of JSON: one object of members in any
// order, with any JSON whitespace; values that are strings without escapes or bytes
// outside printable ASCII, integers of up to 18 digits (no "-0", no fraction or
// exponent), true, false, null, or an array of those. Anything else (nesting, escapes,
// UTF-8, big or real numbers, and every malformed line) is refused here and left to
// simdjson (dom_request_scanner.hpp), whose verdict stands; for what is accepted, the
// fields are exactly those simdjson's DOM would give.
#pragma once

#include <string_view>

#include "protocol/request_fields.hpp"

namespace sharegate::protocol {

// True, with `out` filled, when `line` is flat JSON; false (out then partly filled)
// otherwise. `out` must be default-constructed: it is filled, not cleared first (clearing
// it again was a sixth of the scan).
bool scan_flat_request(std::string_view line, RequestFields& out);

}  // namespace sharegate::protocol
