// Reading every pool-wide ban Redis holds (docs/protocol.md section 4, "Bans") on a
// blocking hiredis connection: SCAN 0 MATCH sharegate:ban:* COUNT 1000 until the cursor
// is 0, and after each page a pipelined GET of its keys. The command pipeline calls it
// after every (re)connection, sharegate-ctl for its listing; both own the connection and
// call from the one thread that uses it.
#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "redis/redis_store.hpp"

namespace sharegate::redis {

struct BanScan {
    std::vector<BanRecord> bans;    // sorted by address; never a lift
    std::uint64_t ignored = 0;      // keys whose value did not parse, was a lift, or named another address
    std::uint64_t round_trips = 0;  // SCAN pages, each with its GETs
    bool truncated = false;         // stopped after max_keys keys: more bans may be held
};

// Keys that vanish between SCAN and GET (the ban ended) are skipped, as are keys SCAN
// returns twice. At most max_keys distinct keys are read, whatever their values, so
// memory stays bounded. nullopt when the connection failed or Redis answered SCAN with
// an error (LOADING after a restart, say): the caller treats it as a lost connection.
std::optional<BanScan> scan_bans(redisContext* c, std::size_t max_keys = kMaxBansRead);

}  // namespace sharegate::redis
