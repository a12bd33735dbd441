// The values sharegate reads from Redis (docs/protocol.md section 4), parsed without a
// connection: plain keys hold what the original wrote with JSON.stringify, pub/sub
// messages are raw text. Pure functions of their input, so the unit tests and the fuzz
// target call exactly what the store calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "redis/redis_store.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::redis {

// Decimal digits only, no sign, 0 .. 2^64-1; leading zeros allowed. No surrounding
// whitespace: callers that read Redis values trim first.
std::optional<std::uint64_t> parse_u64(std::string_view text);

// GET challengeNumber (the JSON string "0x…") and the challengeNumber message (raw 0x…):
// "0x" + 64 hex digits of either case. Leniently, spaces, tabs, CR and LF around it are
// ignored and one pair of enclosing double quotes is optional, so that a writer
// switching between the quoted and the raw form does not blind the server. Escapes
// inside the quotes are not decoded (a challenge never needs one).
std::optional<Bytes32> parse_challenge(std::string_view text);

// GET ethBlockNumber (a JSON number) and the ethBlockNumber message (raw decimal): the
// same optional whitespace and quotes as parse_challenge around decimal digits that fit
// in 64 bits. JSON forms other than a plain integer (5.6e6, -1) are refused.
std::optional<std::uint64_t> parse_block(std::string_view text);

// GET miningTarget: the JSON string of the network target's decimal digits, at most
// 2^256-1; the same optional whitespace and quotes as parse_challenge.
std::optional<U256> parse_decimal_target(std::string_view text);

// HGET miner_data <miner>: a JSON document with a member "varDiff" holding a positive
// integer below 2^64. Deliberately lenient: JSON writers sometimes produce integral
// doubles (4000.0, 4e3), so those are accepted too; every other member is ignored. A
// missing, zero, negative, fractional or non-numeric varDiff, or text that is not JSON,
// gives nullopt (the caller then uses the pool minimum).
std::optional<std::uint64_t> parse_miner_var_diff(std::string_view json);

// The varDiff message: {"miner":"0x…","varDiff":N,"target":"<decimal>"}. "miner" must be
// "0x" + 40 hex digits of any case (no EIP-55 check: the back-end is trusted and
// lower-cases it itself) and is returned lower-cased; "varDiff" as in
// parse_miner_var_diff. "target" is optional and informative only: a decimal string or
// a JSON integer below 2^64 fills update.target, anything else leaves it empty without
// refusing the message.
std::optional<VarDiffUpdate> parse_var_diff_message(std::string_view json);

}  // namespace sharegate::redis
