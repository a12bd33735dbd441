// Builders of Prometheus metric families (prometheus-cpp's data model) from plain values
// and histogram snapshots, and the text exposition format (0.0.4) of a set of families,
// written by prometheus-cpp's TextSerializer. The scrape builds its families afresh from
// sharegate's own counters each time; nothing here is shared between threads.
//
// Names are checked in debug builds (an assert): metric and label names must be valid
// Prometheus names, a counter's name must end in _total, and no series may use the label
// "le" (the histogram's own). Label values may be any text; the serializer escapes them.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <string>
#include <vector>

#include "metrics/histogram.hpp"

namespace sharegate::metrics {

// {{"door", "stratum"}, {"verdict", "accepted"}}: name, value pairs, in the order written.
using Labels = std::vector<prometheus::ClientMetric::Label>;

// A family of one series.
prometheus::MetricFamily counter(std::string name, std::string help, double value, Labels labels = {});
prometheus::MetricFamily gauge(std::string name, std::string help, double value, Labels labels = {});
prometheus::MetricFamily histogram(std::string name, std::string help, const HistogramSnapshot& snapshot,
                                   Labels labels = {});

// A family of several series, one per label set:
//   auto submits = FamilyBuilder::counter("sharegate_submits_total", "Submits answered.");
//   submits.add({{"door", "stratum"}, {"verdict", "accepted"}}, 12);
//   families.push_back(std::move(submits).build());
// A family with no series is still written (its HELP and TYPE lines), which Prometheus accepts.
class FamilyBuilder {
public:
    static FamilyBuilder counter(std::string name, std::string help);
    static FamilyBuilder gauge(std::string name, std::string help);
    static FamilyBuilder histogram(std::string name, std::string help);

    FamilyBuilder& add(Labels labels, double value);                       // counter or gauge
    FamilyBuilder& add(Labels labels, const HistogramSnapshot& snapshot);  // histogram

    bool empty() const { return family_.metric.empty(); }
    prometheus::MetricFamily build() &&;

private:
    FamilyBuilder(std::string name, std::string help, prometheus::MetricType type);

    prometheus::MetricFamily family_;
};

// The text exposition format, version 0.0.4 (Content-Type "text/plain; version=0.0.4").
std::string render(const std::vector<prometheus::MetricFamily>& families);

}  // namespace sharegate::metrics
