// The farm's view: per rig (a client's IP address as text) how many shares it submitted
// through the proxy, how many the pool accepted, and how many were refused and why,
// whether by the proxy itself (stale, bad parameters, no work yet, pool unreachable) or
// by the pool (its stratum error, mapped to a short label). Read by the periodic stats
// line and by /metrics. The number of rigs tracked is bounded so that a LAN scanner or a
// spoofing neighbour cannot grow it without limit: past the bound, new rigs are counted
// together under the rig "other".
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sharegate::proxy {

enum class RejectReason : std::uint8_t {
    // Refused by the proxy without asking the pool.
    stale,          // the submit's challenge is not the current Work's
    bad_params,     // malformed parameters or address, as the getwork parser says
    no_work,        // no mining.notify received yet
    not_forwarded,  // the pool unreachable, the connection lost before the verdict, or busy
    // Refused by the pool (its stratum error: docs/protocol.md section 2, protocol/stratum.hpp).
    pool_stale,       // 21 Wrong challenge number (the challenge changed on the way)
    duplicate,        // 22 Duplicate share
    low_difficulty,   // 23 Low difficulty share
    target_not_met,   // 23 Target not met
    invalid_digest,   // 20 Invalid digest
    pool_bad_params,  // 20 Invalid share parameters
    invalid_account,  // 20 Invalid ETH account
    not_stored,       // 20 Share could not be stored
    pool_busy,        // 20 Server busy
    rate_limited,     // 20 Rate limit exceeded
    not_subscribed,   // 25 Not subscribed
    pool_other,       // anything else the pool says
    count,
};

// The label in the stats line and in /metrics: "stale", "pool_other", ...
std::string_view to_label(RejectReason reason);

// The reason of a pool's refusal, from its stratum error: the message when it is one of
// the protocol's table (sharegate and the original send the same texts), else the code
// (21 pool_stale, 22 duplicate, 23 low_difficulty, 25 not_subscribed), else pool_other.
RejectReason reason_for_pool_error(int code, std::string_view message);

struct RigCounts {
    std::uint64_t submitted = 0;  // submitShare calls received (counted on arrival)
    std::uint64_t accepted = 0;   // answered true: the pool accepted
    std::array<std::uint64_t, static_cast<std::size_t>(RejectReason::count)> rejected{};

    std::uint64_t rejected_total() const;
    std::uint64_t rejected_by(RejectReason reason) const { return rejected[static_cast<std::size_t>(reason)]; }
};

struct FarmSnapshot {
    // Every rig tracked (with "other" if it was used), most submitted first, then by name.
    std::vector<std::pair<std::string, RigCounts>> rigs;
    RigCounts total;  // the sum over all rigs
};

class FarmStats {
public:
    static constexpr std::string_view kOtherRig = "other";
    static constexpr std::size_t kDefaultMaxRigs = 4096;

    explicit FarmStats(std::size_t max_rigs = kDefaultMaxRigs);

    // Thread-safe counting; `rig` is the client's address as text ("192.168.1.20").
    void submitted(std::string_view rig);
    void accepted(std::string_view rig);
    void rejected(std::string_view rig, RejectReason reason);

    // Thread-safe copy of every count.
    FarmSnapshot snapshot() const;

    // For the periodic stats line: "rigs 12 submitted 340 accepted 331 rejected 9
    // (stale 5, duplicate 4) top: 192.168.1.20 41/40/1, ..." with at most `top_rigs` rigs.
    std::string summary(std::size_t top_rigs = 5) const;

    // sharegate_proxy_rigs (gauge), sharegate_proxy_rig_submits_total{rig},
    // sharegate_proxy_rig_accepted_total{rig}, sharegate_proxy_rig_rejected_total{rig,reason}
    // (only the reasons a rig has: a farm of 100 rigs would otherwise write 1600 zeros).
    std::vector<prometheus::MetricFamily> families() const;

private:
    RigCounts& rig_locked(std::string_view rig);  // with mutex_ held

    const std::size_t max_rigs_;
    mutable std::mutex mutex_;
    std::map<std::string, RigCounts, std::less<>> rigs_;
};

}  // namespace sharegate::proxy
