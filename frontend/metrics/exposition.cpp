#include "metrics/exposition.hpp"

#include <prometheus/check_names.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cassert>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

namespace sharegate::metrics {

namespace {

// Only in debug builds (assert): a bad name is a programming error in sharegate, fixed once,
// not something a scrape could cause.
[[maybe_unused]] bool valid_labels(const Labels& labels) {
    std::set<std::string_view> seen;
    for (const auto& label : labels) {
        if (!prometheus::CheckLabelName(label.name) || label.name == "le") return false;
        if (!seen.insert(label.name).second) return false;  // the same label twice in one series
    }
    return true;
}

[[maybe_unused]] bool valid_family_name(const std::string& name, prometheus::MetricType type) {
    if (!prometheus::CheckMetricName(name)) return false;
    constexpr std::string_view kTotal = "_total";
    if (type == prometheus::MetricType::Counter) {
        return name.size() > kTotal.size() && std::string_view(name).substr(name.size() - kTotal.size()) == kTotal;
    }
    return true;
}

// HELP text as the text format wants it: backslash and line feed escaped.
std::string escape_help(const std::string& help) {
    std::string out;
    out.reserve(help.size() + 8);
    for (const char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

prometheus::ClientMetric histogram_metric(Labels labels, const HistogramSnapshot& snapshot) {
    assert(snapshot.cumulative_counts.size() == snapshot.upper_bounds.size() + 1);
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    metric.histogram.sample_count = snapshot.count;
    metric.histogram.sample_sum = snapshot.sum;
    metric.histogram.bucket.reserve(snapshot.upper_bounds.size());
    // The +Inf bucket is left to the serializer, which writes it with the sample count.
    for (std::size_t i = 0; i < snapshot.upper_bounds.size() && i < snapshot.cumulative_counts.size(); ++i) {
        metric.histogram.bucket.push_back({snapshot.cumulative_counts[i], snapshot.upper_bounds[i]});
    }
    return metric;
}

}  // namespace

FamilyBuilder::FamilyBuilder(std::string name, std::string help, prometheus::MetricType type) {
    assert(valid_family_name(name, type));
    family_.name = std::move(name);
    family_.help = std::move(help);
    family_.type = type;
}

FamilyBuilder FamilyBuilder::counter(std::string name, std::string help) {
    return FamilyBuilder(std::move(name), std::move(help), prometheus::MetricType::Counter);
}

FamilyBuilder FamilyBuilder::gauge(std::string name, std::string help) {
    return FamilyBuilder(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}

FamilyBuilder FamilyBuilder::histogram(std::string name, std::string help) {
    return FamilyBuilder(std::move(name), std::move(help), prometheus::MetricType::Histogram);
}

FamilyBuilder& FamilyBuilder::add(Labels labels, double value) {
    assert(valid_labels(labels));
    assert(family_.type == prometheus::MetricType::Counter || family_.type == prometheus::MetricType::Gauge);
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    if (family_.type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
    } else {
        metric.gauge.value = value;
    }
    family_.metric.push_back(std::move(metric));
    return *this;
}

FamilyBuilder& FamilyBuilder::add(Labels labels, const HistogramSnapshot& snapshot) {
    assert(valid_labels(labels));
    assert(family_.type == prometheus::MetricType::Histogram);
    family_.metric.push_back(histogram_metric(std::move(labels), snapshot));
    return *this;
}

prometheus::MetricFamily FamilyBuilder::build() && { return std::move(family_); }

prometheus::MetricFamily counter(std::string name, std::string help, double value, Labels labels) {
    return std::move(FamilyBuilder::counter(std::move(name), std::move(help)).add(std::move(labels), value)).build();
}

prometheus::MetricFamily gauge(std::string name, std::string help, double value, Labels labels) {
    return std::move(FamilyBuilder::gauge(std::move(name), std::move(help)).add(std::move(labels), value)).build();
}

prometheus::MetricFamily histogram(std::string name, std::string help, const HistogramSnapshot& snapshot,
                                   Labels labels) {
    return std::move(FamilyBuilder::histogram(std::move(name), std::move(help)).add(std::move(labels), snapshot))
        .build();
}

std::string render(const std::vector<prometheus::MetricFamily>& families) {
    std::ostringstream out;
    const prometheus::TextSerializer serializer;
    // prometheus-cpp 1.0.1 escapes label values but writes HELP text as it is, although the
    // format wants its backslashes and line breaks escaped (a raw line break would end the
    // HELP line and make the rest a parse error). The families are copied only when one needs it.
    const auto needs_escape = [](const prometheus::MetricFamily& family) {
        return family.help.find_first_of("\\\n") != std::string::npos;
    };
    if (std::none_of(families.begin(), families.end(), needs_escape)) {
        serializer.Serialize(out, families);
    } else {
        std::vector<prometheus::MetricFamily> escaped = families;
        for (auto& family : escaped) family.help = escape_help(family.help);
        serializer.Serialize(out, escaped);
    }
    return std::move(out).str();
}

}  // namespace sharegate::metrics
