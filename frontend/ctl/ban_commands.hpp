// What sharegate-ctl does once its command line is understood: each action speaks to
// Redis on a connected blocking hiredis context, prints its outcome (stdout) or its
// one-line reason (stderr) and gives the exit status: 0 done, 1 not done (no such ban,
// Redis refused). Addresses come in already in their canonical text.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>

namespace sharegate::ctl {

// Prints every active ban, one a line, sorted by address:
// "ADDRESS<TAB>SECONDSs<TAB>offence N<TAB>REASON<TAB>by NAME" ("no bans" when none).
int list_bans(redisContext* c, std::int64_t now_unix_ms);

// DEL the ban's key and PUBLISH the lift record; 1 when there was no ban (the lift is
// published all the same, so that instances drop a copy the key no longer backs).
int lift_ban(redisContext* c, const std::string& address, const std::string& by);

// SET the ban's key for `seconds` and PUBLISH it; the offence is one more than the ban
// held now, else 1.
int ban(redisContext* c, const std::string& address, std::int64_t seconds, const std::string& reason,
        const std::string& by, std::int64_t now_unix_ms);

}  // namespace sharegate::ctl
