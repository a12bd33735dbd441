// What each getwork JSON-RPC call gets from the proxy: the queries answered from the last
// mining.notify (WorkState), without a round trip upstream, and submitShare checked
// locally (work known, the current challenge, well-formed parameters) and then forwarded
// through the ShareForwarder (the Upstream), answered `true` only when the pool accepted
// it. The parsing and the answers' texts are the server's getwork door's
// (protocol/getwork.hpp), so a rig sees the same shapes and types from either. It never
// sees a socket: the proxy's HTTP side hands it a body and a way to answer, and it answers
// once every call of the body has its answer. Every submit's outcome is counted in
// FarmStats under the rig that sent it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/getwork.hpp"
#include "proxy/farm_stats.hpp"
#include "proxy/share_forwarder.hpp"
#include "proxy/work.hpp"

namespace sharegate::proxy {

struct ProxyCallsOptions {
    std::size_t max_batch = protocol::getwork::kDefaultMaxBatch;  // larger batches: -32600
    bool allow_custom_vardiff = false;                            // allowingCustomVardiff's answer
};

// Cumulative since construction, for /metrics.
struct ProxyCallsCounters {
    std::uint64_t bodies = 0;      // HTTP bodies handled
    std::uint64_t bad_bodies = 0;  // bodies answered with one JSON-RPC error (not JSON, too deep, batch too large, ...)
    std::uint64_t calls = 0;       // calls run or refused, of the bodies that parsed
    std::uint64_t call_errors = 0;  // calls answered with a JSON-RPC error (unknown method, bad params)
};

class ProxyCalls {
public:
    // All three must outlive the ProxyCalls and every answer still to come.
    ProxyCalls(const WorkState& work, ShareForwarder& forwarder, FarmStats& farm, ProxyCallsOptions options = {});

    // One HTTP body from `rig` (the client's IP address as text). `respond` gets the whole
    // answer once (empty: nothing to answer, every call a notification: HTTP 204), from
    // this thread or a later one (the forwarder's). Thread-safe.
    void handle(std::string_view rig, std::string_view body, std::function<void(std::string)> respond);

    ProxyCallsCounters counters() const;  // thread-safe

private:
    struct Exchange;  // one body's answers, until the last comes
    void submit(const std::string& rig, const std::shared_ptr<Exchange>& exchange, const protocol::getwork::Call& call);

    const WorkState& work_;
    ShareForwarder& forwarder_;
    FarmStats& farm_;
    const ProxyCallsOptions options_;
    std::atomic<std::uint64_t> bodies_{0}, bad_bodies_{0}, calls_{0}, call_errors_{0};
};

}  // namespace sharegate::proxy
