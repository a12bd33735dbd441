// The workloads: what each sends, and the reply docs/protocol.md prescribes for it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/stratum_client.hpp"

namespace sharegate::loadgen {

// target_miss: a right digest (one Keccak each, over random nonces) that almost surely
// misses the share's target, the cheapest share the server must hash and then refuse.
enum class Kind : std::uint8_t { valid, invalid_digest, stale, garbage, duplicate, target_miss };
constexpr std::size_t kKinds = 6;
constexpr std::array<std::string_view, kKinds> kKindNames = {"valid",   "invalid-digest", "stale",
                                                             "garbage", "duplicate",      "target-miss"};

// The reply docs/protocol.md prescribes for what was sent.
enum class Expect : std::uint8_t {
    accepted,        // {"result":true}
    invalid_digest,  // [20,"Invalid digest"]
    stale,           // [21,"Wrong challenge number"]
    duplicate,       // [22,"Duplicate share"]
    target_not_met,  // [23,"Target not met"]
    bad_params,      // [20,"Invalid share parameters"]
    unknown_method,  // [20,"Unknown stratum method"]
    close,           // no reply: the server closes the connection
};

// The garbage workload cycles through these, one of each per three garbage lines on a
// connection, so that counts over a run are known in advance.
enum class Garbage : std::uint8_t { bad_params, not_object, not_json };

struct Share {
    std::string nonce, digest, challenge;
};

// True when the reply is what `e` expects.
bool reply_matches(Expect e, const protocol::ServerReply& reply);

// Valid shares, one JSON object a line with nonce, digest and challenge.
std::vector<Share> load_corpus(const std::string& path);

}  // namespace sharegate::loadgen
