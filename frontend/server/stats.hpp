// Counters shared by every session and the periodic statistics line; relaxed atomics,
// since they only feed logs.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "protocol/stratum.hpp"

namespace sharegate::server {

// Rejections are counted by the protocol's own error kinds.
using Rejection = protocol::ErrorKind;

inline constexpr std::array<std::string_view, static_cast<int>(Rejection::count)> kRejectionNames = {
    "params",         "account", "stale",      "low-diff",       "duplicate",
    "invalid-digest", "target",  "not-stored", "not-subscribed", "unknown-method"};

struct Stats {
    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> connections_total{0};
    std::atomic<std::uint64_t> closed_not_json{0};
    std::atomic<std::uint64_t> closed_flooding{0};
    std::atomic<std::uint64_t> closed_slow_reader{0};
    std::atomic<std::uint64_t> closed_idle{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> solutions{0};
    std::array<std::atomic<std::uint64_t>, static_cast<int>(Rejection::count)> rejected{};

    void reject(Rejection r) { rejected[static_cast<int>(r)].fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace sharegate::server
