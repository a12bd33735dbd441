// The counters of the periodic statistics line: the share counters (pool/share_counters.hpp,
// kept by ShareIntake, plus the refusals the sessions answer themselves) and the
// connection counters, shared by every session. Relaxed atomics, since they only feed logs.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "pool/share_counters.hpp"

namespace sharegate::server {

using pool::kRejectionNames;
using pool::Rejection;

struct Stats : pool::ShareCounters {
    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> connections_total{0};
    std::atomic<std::uint64_t> closed_not_json{0};
    std::atomic<std::uint64_t> closed_flooding{0};
    std::atomic<std::uint64_t> closed_slow_reader{0};
    std::atomic<std::uint64_t> closed_idle{0};
    std::atomic<std::uint64_t> closed_no_subscribe{0};  // no valid mining.subscribe within the deadline
    // Closed at accept, before any read (server/admission.hpp).
    std::atomic<std::uint64_t> refused_address_cap{0};
    std::atomic<std::uint64_t> refused_total_cap{0};
    std::atomic<std::uint64_t> refused_banned{0};
    std::atomic<std::uint64_t> refused_proxy{0};  // a PROXY header missing, malformed or from a peer not in --proxy
    // Bans (server/ban_book.hpp): made here, and learnt from other instances through Redis.
    std::atomic<std::uint64_t> bans{0};
    std::atomic<std::uint64_t> bans_learnt{0};
    std::atomic<std::uint64_t> closed_banned{0};  // connections closed because their address was banned
    // The getwork door (server/getwork_door.hpp). Its shares' outcomes are counted above,
    // with the stratum door's, by the same reasons.
    std::atomic<std::uint64_t> getwork_connections_open{0};
    std::atomic<std::uint64_t> getwork_connections_total{0};
    std::atomic<std::uint64_t> getwork_requests{0};  // HTTP requests with a body to answer
    std::atomic<std::uint64_t> getwork_calls{0};     // JSON-RPC calls in them
    // Bodies answered whole with an error, by getwork::BodyError (not JSON, too deep, not a
    // request, batch too large; index 0, none, unused).
    std::array<std::atomic<std::uint64_t>, 5> getwork_bad_bodies{};
    // Calls answered with a JSON-RPC error: -32600, -32601, -32602.
    std::array<std::atomic<std::uint64_t>, 3> getwork_call_errors{};
    std::array<std::atomic<std::uint64_t>, 5> getwork_http_refused{};  // by HttpRefusal
};

}  // namespace sharegate::server
