// The proxy's one stratum connection to the pool (docs/protocol.md section 2), shared by
// every rig of the farm: it subscribes as the farm's account, turns each mining.notify
// into the proxy's Work, forwards the rigs' shares as pipelined mining.submit requests
// matched to their replies by the proxy's own ids, and when the connection drops (or the
// pool stops answering) it answers every share still waiting "not forwarded" (a rig is
// never told `true` unless the pool said so) and reconnects with exponential backoff.
//
// Everything runs on one strand of the caller's io_context; submit() may be called from
// any thread. The pool may be sharegate (JSON-RPC 2.0 replies when the subscribe carries
// a client id) or the original tokenpool (legacy replies): both shapes are read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "proxy/share_forwarder.hpp"
#include "proxy/work.hpp"
#include "server/asio.hpp"

namespace sharegate::proxy {

struct UpstreamOptions {
    std::string host;  // a name or an address literal; resolved again at each connect
    std::uint16_t port = 0;
    std::string account;  // the farm's payout address, sent as mining.subscribe's params[0]
    // mining.subscribe's params[1], as MVis-tokenminer 2.2+ sends its own: sharegate then
    // answers in the JSON-RPC 2.0 shape only. Empty: a one-parameter subscribe.
    std::string client_id = "sharegate-proxy";
    // Reconnection: the first retry after backoff_min, doubling up to backoff_max; back to
    // backoff_min once a subscribe is accepted.
    std::chrono::milliseconds backoff_min{500};
    std::chrono::milliseconds backoff_max{30000};
    // A connect, a subscribe or a submit without an answer for this long: the connection
    // is taken for dead, its waiting shares answered not_forwarded, and it is made again.
    std::chrono::milliseconds reply_timeout{30000};
    // Nothing at all from the pool for this long: the connection is taken for dead (a pool
    // repeats its notify at most 60 s apart, so a silent one vanished without a FIN, and the
    // rigs would mine a stale challenge until TCP keep-alive noticed, hours later). 0: never.
    std::chrono::milliseconds silence_timeout{180000};
    // Submits sent and not yet answered; past this submit() answers not_forwarded "busy".
    std::size_t max_in_flight = 4096;
    // A line from the pool longer than this closes the connection (a notify is ~300 bytes).
    std::size_t max_line_bytes = 64 * 1024;
};

// Cumulative since construction; read at any time from any thread.
struct UpstreamCounters {
    std::uint64_t connects = 0;            // TCP connections established
    std::uint64_t connect_failures = 0;    // resolve or connect failed (or timed out)
    std::uint64_t subscribes = 0;          // subscribes accepted
    std::uint64_t subscribe_refusals = 0;  // subscribes the pool refused
    std::uint64_t disconnects = 0;         // established connections lost (any reason)
    std::uint64_t reply_timeouts = 0;      // connections dropped because a reply was overdue, or the pool silent
    std::uint64_t notifies = 0;            // mining.notify received and published
    std::uint64_t submits_forwarded = 0;   // mining.submit written
    std::uint64_t accepted = 0;            // verdicts: true
    std::uint64_t rejected = 0;            // verdicts: an error
    std::uint64_t not_forwarded = 0;       // submits answered without a verdict of the pool
    std::uint64_t unexpected_lines = 0;    // lines that were neither a notify nor an awaited reply
};

class Upstream final : public ShareForwarder {
public:
    // Called on the strand: on_work for every valid notify (after it is the newest Work),
    // on_state(true) when a subscribe is accepted, on_state(false) when that connection
    // is lost. Either may be empty. Neither is called after stop() has run.
    using OnWork = std::function<void(const Work&)>;
    using OnState = std::function<void(bool up)>;

    Upstream(boost::asio::io_context& io, UpstreamOptions options, OnWork on_work, OnState on_state);
    ~Upstream() override;  // stop()

    Upstream(const Upstream&) = delete;
    Upstream& operator=(const Upstream&) = delete;

    // Starts connecting (returns at once). Call once.
    void start();

    // Thread-safe, idempotent: closes the connection, cancels the timers, and answers every
    // waiting submit not_forwarded "stopped" (on the strand, while the io_context runs).
    // Later submits are answered not_forwarded at once.
    void stop();

    // Thread-safe. Sends the share as mining.submit when the connection is subscribed;
    // answers not_forwarded at once when it is not ("pool unreachable") or when
    // max_in_flight submits wait already ("busy"). `done` is called exactly once.
    void submit(ShareToForward share, std::function<void(Verdict)> done) override;

    // Subscribed and able to forward (any thread).
    bool up() const;
    // Submits forwarded and not yet answered (any thread).
    std::size_t in_flight() const;
    UpstreamCounters counters() const;
    const UpstreamOptions& options() const;

private:
    class Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace sharegate::proxy
