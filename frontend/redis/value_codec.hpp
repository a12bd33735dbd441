// The values sharegate reads from Redis (docs/protocol.md section 4), parsed without a
// connection: plain keys hold what the original wrote with JSON.stringify, pub/sub
// messages are raw text. Pure functions of their input, so the unit tests and the fuzz
// target call exactly what the store calls; nothing here knows hiredis.
//
// What sharegate writes needs no codec of its own, bans apart: the queued share is the
// text protocol::queued_share_json built (pushed as is), and a new miner's entry is the
// constant kDefaultMinerData. A ban is written by ban_json and read by parse_ban, here
// so that the store, sharegate-ctl and the tests agree on one form.
//
// Numbers follow the one decimal rule of sharegate/decimal.hpp and addresses the one
// address rule of sharegate/address.hpp; the leniencies below (quotes, whitespace,
// integral doubles, unchecked case) are the Redis side's, named where they apply.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "redis/redis_store.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::redis {

// GET challengeNumber (the JSON string "0x…") and the challengeNumber message (raw 0x…):
// "0x" + 64 hex digits of either case. Leniently, spaces, tabs, CR and LF around it are
// ignored and one pair of enclosing double quotes is optional, so that a writer
// switching between the quoted and the raw form does not blind the server. Escapes
// inside the quotes are not decoded (a challenge never needs one).
std::optional<Bytes32> parse_challenge(std::string_view text);

// GET ethBlockNumber (a JSON number) and the ethBlockNumber message (raw decimal): the
// same optional whitespace and quotes as parse_challenge around parse_decimal_u64's
// digits. JSON forms other than a plain integer (5.6e6, -1) are refused.
std::optional<std::uint64_t> parse_block(std::string_view text);

// GET miningTarget: the JSON string of the network target's decimal digits, at most
// 2^256-1; the same optional whitespace and quotes as parse_challenge.
std::optional<U256> parse_decimal_target(std::string_view text);

// The three GETs of a snapshot as Redis answered them (nullopt: the key is absent),
// each parsed as above; a value that does not parse leaves its field empty.
PoolSnapshot parse_snapshot(std::optional<std::string_view> challenge, std::optional<std::string_view> block,
                            std::optional<std::string_view> mining_target);

// HGET miner_data <miner>: a JSON document with a member "varDiff" holding a positive
// integer below 2^64. Deliberately lenient: JSON writers sometimes produce integral
// doubles (4000.0, 4e3), so those are accepted too; every other member is ignored. A
// missing, zero, negative, fractional or non-numeric varDiff, or text that is not JSON,
// gives nullopt (the caller then uses the pool minimum).
std::optional<std::uint64_t> parse_miner_var_diff(std::string_view json);

// The varDiff message: {"miner":"0x…","varDiff":N,"target":"<decimal>"}. "miner" must be
// "0x" + 40 hex digits of any case (Address::parse_any_case: no EIP-55 check, the
// back-end is trusted and lower-cases it itself) and is returned lower-cased; "varDiff"
// as in parse_miner_var_diff. "target" is optional and informative only: a decimal
// string or a JSON integer below 2^64 fills update.target, anything else leaves it empty
// without refusing the message.
std::optional<VarDiffUpdate> parse_var_diff_message(std::string_view json);

// A ban record (docs/protocol.md section 4, "Bans") as the one-line JSON object
// {"address":…,"until":…,"offence":…,"reason":…,"by":…}, members in that order. Strings
// are JSON-escaped; text that is not valid UTF-8 has its non-ASCII bytes written as
// '?', so that what is written always parses again.
std::string ban_json(const BanRecord& ban);

// A ban record, strictly: a JSON object whose "address" is a string holding an address
// in its canonical text (IPv4 dotted quad; IPv6 as inet_ntop writes it, RFC 5952, and
// not IPv4-mapped), "until" an integer from 0 to 2^63-1, "offence" an integer from 0 to
// 2^32-1, "reason" and "by" strings. until 0 (a lift) goes with offence 0 and every
// other until with an offence of at least 1. Other members are ignored (room for later
// fields); anything else (a missing member, a wrong type, a double) gives nullopt.
std::optional<BanRecord> parse_ban(std::string_view json);

// The key of address's ban: "sharegate:ban:" + address.
inline constexpr std::string_view kBanKeyPrefix = "sharegate:ban:";
std::string ban_key(std::string_view address);

// The channels the subscriber listens on, in the order it subscribes to them: the pool
// back-end's three, then sharegate's own bans.
inline constexpr const char* kChallengeChannel = "challengeNumber";
inline constexpr const char* kBlockChannel = "ethBlockNumber";
inline constexpr const char* kVarDiffChannel = "varDiff";
inline constexpr std::array<const char*, 3> kChannels = {kChallengeChannel, kBlockChannel, kVarDiffChannel};
inline constexpr const char* kBanChannel = "sharegate:bans";

// A message on one of kChannels or on kBanChannel, parsed: the new challenge
// (challengeNumber), the new block number (ethBlockNumber), a miner's new difficulty
// (varDiff) or a ban or its lifting (sharegate:bans).
using Message = std::variant<Bytes32, std::uint64_t, VarDiffUpdate, BanRecord>;

// The payload of a message on channel, parsed by that channel's rule above (parse_ban
// for kBanChannel); nullopt for another channel or a payload that does not parse.
std::optional<Message> parse_message(std::string_view channel, std::string_view payload);

}  // namespace sharegate::redis
