#include "proxy/proxy_metrics.hpp"

#include <utility>

#include "metrics/exposition.hpp"

namespace sharegate::proxy {

namespace {

double seconds_since(std::chrono::steady_clock::time_point then, std::chrono::steady_clock::time_point now) {
    return now > then ? std::chrono::duration<double>(now - then).count() : 0.0;
}

}  // namespace

std::vector<prometheus::MetricFamily> proxy_families(const Upstream& upstream, const WorkState& work,
                                                     const ProxyCalls& calls, const FarmStats& farm,
                                                     std::chrono::steady_clock::time_point now) {
    using metrics::counter;
    using metrics::gauge;
    const UpstreamCounters up = upstream.counters();
    std::vector<prometheus::MetricFamily> families;
    families.push_back(gauge("sharegate_proxy_upstream_up",
                             "1 while the stratum connection to the pool is subscribed and forwarding shares.",
                             upstream.up() ? 1 : 0));
    families.push_back(counter("sharegate_proxy_upstream_connects_total", "TCP connections to the pool established.",
                               static_cast<double>(up.connects)));
    families.push_back(counter("sharegate_proxy_upstream_connect_failures_total",
                               "Attempts to connect to the pool that failed (resolve, connect, or timed out).",
                               static_cast<double>(up.connect_failures)));
    families.push_back(counter("sharegate_proxy_upstream_disconnects_total",
                               "Established connections to the pool that were lost, whatever the reason.",
                               static_cast<double>(up.disconnects)));
    families.push_back(counter("sharegate_proxy_upstream_reply_timeouts_total",
                               "Connections dropped because the pool did not answer a subscribe or a submit in time.",
                               static_cast<double>(up.reply_timeouts)));
    families.push_back(counter("sharegate_proxy_upstream_subscribes_total", "Subscribes the pool accepted.",
                               static_cast<double>(up.subscribes)));
    families.push_back(counter("sharegate_proxy_upstream_subscribe_refusals_total", "Subscribes the pool refused.",
                               static_cast<double>(up.subscribe_refusals)));
    families.push_back(counter("sharegate_proxy_upstream_notifies_total", "mining.notify messages received.",
                               static_cast<double>(up.notifies)));
    families.push_back(counter("sharegate_proxy_upstream_submits_total", "mining.submit requests sent to the pool.",
                               static_cast<double>(up.submits_forwarded)));
    families.push_back(gauge("sharegate_proxy_upstream_in_flight", "Shares sent to the pool and not yet answered.",
                             static_cast<double>(upstream.in_flight())));
    auto verdicts = metrics::FamilyBuilder::counter(
        "sharegate_proxy_upstream_verdicts_total",
        "Shares given to the upstream connection, by outcome: accepted or rejected by the pool, or not forwarded "
        "(pool unreachable, busy, or the connection lost before the verdict).");
    verdicts.add({{"verdict", "accepted"}}, static_cast<double>(up.accepted));
    verdicts.add({{"verdict", "rejected"}}, static_cast<double>(up.rejected));
    verdicts.add({{"verdict", "not_forwarded"}}, static_cast<double>(up.not_forwarded));
    families.push_back(std::move(verdicts).build());

    const std::shared_ptr<const Work> current = work.current();
    families.push_back(
        gauge("sharegate_proxy_work_known", "1 once the pool has sent work (a mining.notify).", current ? 1 : 0));
    families.push_back(gauge("sharegate_proxy_work_age_seconds",
                             "Seconds since the last mining.notify (0 before the first).",
                             current ? seconds_since(current->received, now) : 0.0));
    families.push_back(gauge("sharegate_proxy_work_difficulty",
                             "The share difficulty the pool asks of the farm's account (0 before any work).",
                             current ? static_cast<double>(current->difficulty) : 0.0));

    const ProxyCallsCounters getwork = calls.counters();
    families.push_back(counter("sharegate_proxy_getwork_bodies_total", "getwork HTTP bodies handled.",
                               static_cast<double>(getwork.bodies)));
    families.push_back(counter("sharegate_proxy_getwork_bad_bodies_total",
                               "getwork bodies answered with one JSON-RPC error (not JSON, too deep, batch too large).",
                               static_cast<double>(getwork.bad_bodies)));
    families.push_back(counter("sharegate_proxy_getwork_calls_total", "getwork JSON-RPC calls received.",
                               static_cast<double>(getwork.calls)));
    families.push_back(counter("sharegate_proxy_getwork_call_errors_total",
                               "getwork calls answered with a JSON-RPC error (unknown method, bad params).",
                               static_cast<double>(getwork.call_errors)));

    for (prometheus::MetricFamily& family : farm.families()) families.push_back(std::move(family));
    return families;
}

std::string proxy_stats_line(const Upstream& upstream, const WorkState& work, const FarmStats& farm,
                             std::chrono::steady_clock::time_point now) {
    const UpstreamCounters up = upstream.counters();
    std::string line = upstream.up() ? "upstream up" : "upstream DOWN";
    line += " (in flight " + std::to_string(upstream.in_flight()) + ", connects " + std::to_string(up.connects) +
            ", not forwarded " + std::to_string(up.not_forwarded) + ")";
    if (const std::shared_ptr<const Work> current = work.current()) {
        line += " work " + current->challenge_text.substr(0, 10) + "… diff " + std::to_string(current->difficulty) +
                " age " + std::to_string(static_cast<long long>(seconds_since(current->received, now))) + "s";
    } else {
        line += " no work yet";
    }
    line += "; " + farm.summary();
    return line;
}

}  // namespace sharegate::proxy
