// The share counters: what became of every submit, by outcome. ShareIntake counts the
// shares it answers; the session counts the refusals it answers itself (parameters,
// account, not subscribed, unknown method) in the same array, and the server's
// statistics line reads them. Relaxed atomics, since they only feed logs; the ones every
// submit bumps are striped (sharegate/striped_counter.hpp), since both I/O threads do.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "protocol/stratum.hpp"
#include "sharegate/striped_counter.hpp"

namespace sharegate::pool {

// Rejections are counted by the protocol's own error kinds.
using Rejection = protocol::ErrorKind;

inline constexpr std::array<std::string_view, static_cast<int>(Rejection::count)> kRejectionNames = {
    "params", "account",    "stale",          "low-diff",       "duplicate", "invalid-digest",
    "target", "not-stored", "not-subscribed", "unknown-method", "busy",      "rate-limited"};

struct ShareCounters {
    StripedCounter accepted;                  // verified and stored
    std::atomic<std::uint64_t> solutions{0};  // accepted shares that also meet the network's target
    std::atomic<std::uint64_t> shed{0};       // refused as "Server busy" because the verifier was behind
    // Refused as "Duplicate share" after verification because the store found the share
    // claimed pool-wide: sent to another instance too, or resent after this one restarted.
    // Counted in rejected[duplicate] as well.
    std::atomic<std::uint64_t> duplicates_pool_wide{0};
    std::array<StripedCounter, static_cast<int>(Rejection::count)> rejected{};

    void reject(Rejection r) { rejected[static_cast<int>(r)].fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace sharegate::pool
