// The counters of the periodic statistics line and of /metrics: the share counters
// (pool/share_counters.hpp, kept by ShareIntake, plus the refusals the sessions answer
// themselves), the same outcomes by door with each answer's latency, and the connection
// counters, shared by every session. Relaxed atomics and lock-free histograms: they are
// touched once or twice a submit on every I/O thread, and only feed logs and scrapes (the
// per-submit ones striped by thread: sharegate/striped_counter.hpp).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "metrics/histogram.hpp"
#include "pool/share_counters.hpp"
#include "protocol/stratum.hpp"
#include "sharegate/striped_counter.hpp"

namespace sharegate::server {

using pool::kRejectionNames;
using pool::Rejection;

// The server's two listening ports, the doors a share comes in by.
enum class Door : std::uint8_t { stratum, getwork };
inline constexpr std::array<std::string_view, 2> kDoorNames = {"stratum", "getwork"};

// What one door's submits became, and how long each waited for its answer (from the
// request's arrival to the answer handed to the connection's writer).
struct DoorSubmits {
    StripedCounter accepted;
    std::array<StripedCounter, static_cast<int>(Rejection::count)> rejected{};
    metrics::Histogram reply_seconds{metrics::latency_bounds()};
};

struct Stats : pool::ShareCounters {
    // A submit's answer, by door (the reasons are also counted, door-blind, by the
    // ShareCounters above for the statistics line).
    void answered_submit(Door door, const std::optional<protocol::StratumError>& error,
                         std::chrono::steady_clock::time_point received) {
        DoorSubmits& counters = submits[static_cast<std::size_t>(door)];
        if (error)
            counters.rejected[static_cast<std::size_t>(error->kind)].fetch_add(1, std::memory_order_relaxed);
        else
            counters.accepted.fetch_add(1, std::memory_order_relaxed);
        counters.reply_seconds.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count());
    }

    std::array<DoorSubmits, 2> submits;  // by Door
    std::atomic<std::uint64_t> subscribes{0};
    std::atomic<std::uint64_t> notifies{0};  // mining.notify lines queued (new work and re-sends)
    std::atomic<std::uint64_t> challenge_changes{0};
    // Verification (server/batcher.hpp) and the store (server/durable_share_store.hpp).
    metrics::Histogram batch_shares{metrics::batch_size_bounds()};
    metrics::Histogram verify_seconds{metrics::latency_bounds()};
    metrics::Histogram redis_push_seconds{metrics::latency_bounds()};

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
    std::atomic<std::uint64_t> bans{0};          // made here (the two below by why)
    std::atomic<std::uint64_t> bans_junk{0};     // for lines that were not JSON or too long
    std::atomic<std::uint64_t> bans_invalid{0};  // for invalid (or rate-limited) submits
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
