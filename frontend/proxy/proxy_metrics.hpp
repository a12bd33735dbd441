// The proxy's own figures for /metrics and the periodic stats line, gathered from its
// parts: the upstream connection, the work, the getwork calls and the farm's rigs.
// (The process metrics, metrics/process_metrics.hpp, are the binary's to add.)
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <string>
#include <vector>

#include "proxy/farm_stats.hpp"
#include "proxy/proxy_calls.hpp"
#include "proxy/upstream.hpp"
#include "proxy/work.hpp"

namespace sharegate::proxy {

// sharegate_proxy_upstream_up, _upstream_connects_total, _upstream_connect_failures_total,
// _upstream_disconnects_total, _upstream_reply_timeouts_total, _upstream_subscribes_total,
// _upstream_subscribe_refusals_total, _upstream_notifies_total, _upstream_in_flight,
// _upstream_submits_total, _upstream_verdicts_total{verdict}, _work_known, _work_age_seconds,
// _work_difficulty, _getwork_bodies_total, _getwork_bad_bodies_total, _getwork_calls_total,
// _getwork_call_errors_total, then FarmStats::families(). Thread-safe.
std::vector<prometheus::MetricFamily> proxy_families(const Upstream& upstream, const WorkState& work,
                                                     const ProxyCalls& calls, const FarmStats& farm,
                                                     std::chrono::steady_clock::time_point now);

// One line for the log: "upstream up (in flight 3, connects 1, not forwarded 0) work
// 0x6770629a… diff 872 age 12s; " (or "upstream DOWN", "no work yet") followed by
// FarmStats::summary(). Thread-safe.
std::string proxy_stats_line(const Upstream& upstream, const WorkState& work, const FarmStats& farm,
                             std::chrono::steady_clock::time_point now);

}  // namespace sharegate::proxy
