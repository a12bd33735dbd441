// The Grafana dashboard (deploy/grafana/sharegate.json) and the Prometheus alert rules
// (deploy/prometheus/sharegate-alerts.yml) against the server they watch. A dashboard or a
// rule that names a metric the server does not serve shows an empty panel or never
// fires, silently; these tests make that a failure:
// - the dashboard's shape: JSON, schemaVersion 36+, the data source and instance
//   variables, every panel with the data source and at least one query, every query
//   filtered by $instance, every query valid PromQL (promtool check rules);
// - against the real binary, after a subscribe, an accepted and a rejected submit (so that
//   the histograms and the labelled counters have series): every metric name the
//   dashboard's and the rules' expressions use is in GET /metrics, and every family
//   /metrics serves is shown on the dashboard or watched by a rule.
// (The rules' own logic is tested by promtool: tests/deploy.)
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "defense_fixture.hpp"
#include "support/http_client.hpp"

namespace {

using namespace sharegate_defense_test;
using sharegate_test::HttpClient;
using sharegate_test::HttpResponse;

const std::filesystem::path kDeployDir = SHAREGATE_DEPLOY_DIR;
const std::filesystem::path kDashboard = kDeployDir / "grafana" / "sharegate.json";
const std::filesystem::path kAlertRules = kDeployDir / "prometheus" / "sharegate-alerts.yml";

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool is_identifier_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':';
}

// The metric names a PromQL expression uses. Not a PromQL parser: every maximal run of
// [a-zA-Z0-9_:] that starts with [a-zA-Z_:] (PromQL's metric name rule) and with
// "sharegate_" or "process_" is taken as a metric name. Good enough here: label names and
// functions never start so, and label values that might (none today) would only make the
// check stricter.
std::set<std::string> metric_names_in(std::string_view expr) {
    std::set<std::string> names;
    for (std::size_t at = 0; at < expr.size();) {
        if (!is_identifier_char(expr[at])) {
            ++at;
            continue;
        }
        std::size_t end = at;
        while (end < expr.size() && is_identifier_char(expr[end])) ++end;
        const std::string_view word = expr.substr(at, end - at);
        const bool starts_right = !(word[0] >= '0' && word[0] <= '9');
        if (starts_right && (word.starts_with("sharegate_") || word.starts_with("process_"))) names.emplace(word);
        at = end;
    }
    return names;
}

// The `expr:` values of a Prometheus rule file: on the line itself (quoted or not), or a
// YAML block scalar (`expr: |`) of the lines indented deeper than the key. The rule file
// is ours and written in only these two forms; promtool checks that it is valid YAML.
std::vector<std::string> rule_expressions(const std::string& yaml) {
    std::vector<std::string> lines;
    std::istringstream in(yaml);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::vector<std::string> exprs;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t indent = lines[i].find_first_not_of(' ');
        if (indent == std::string::npos || lines[i].compare(indent, 5, "expr:") != 0) continue;
        std::string value = lines[i].substr(indent + 5);
        value.erase(0, value.find_first_not_of(' '));
        if (value.starts_with('|') || value.starts_with('>')) {
            value.clear();
            while (i + 1 < lines.size()) {
                const std::size_t next_indent = lines[i + 1].find_first_not_of(' ');
                if (next_indent != std::string::npos && next_indent <= indent) break;
                value += lines[++i] + "\n";
            }
        } else if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
            value = value.substr(1, value.size() - 2);
        }
        exprs.push_back(value);
    }
    return exprs;
}

// Every panel of the dashboard, those inside collapsed rows included.
struct Panel {
    std::string title;
    std::string type;
    std::optional<std::string> datasource_uid;
    std::vector<std::string> exprs;
    bool has_grid_pos = false;
    std::int64_t id = -1;
};

struct Dashboard {
    std::int64_t schema_version = 0;
    std::vector<Panel> panels;
    std::vector<std::string> variable_names;
    std::vector<std::string> variable_types;
    std::vector<std::string> variable_queries;  // a query variable's PromQL (label_values(...))
};

// The dashboard as these tests see it; a failure names what could not be read.
std::optional<Dashboard> load_dashboard(std::string& why) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto error = parser.load(kDashboard.string()).get(root)) {
        why = kDashboard.string() + ": " + simdjson::error_message(error);
        return std::nullopt;
    }
    Dashboard dashboard;
    if (root["schemaVersion"].get_int64().get(dashboard.schema_version)) {
        why = "no integer schemaVersion";
        return std::nullopt;
    }
    const auto read_panel = [](simdjson::dom::object panel) {
        Panel p;
        std::string_view text;
        if (!panel["title"].get_string().get(text)) p.title = text;
        if (!panel["type"].get_string().get(text)) p.type = text;
        if (!panel["datasource"]["uid"].get_string().get(text)) p.datasource_uid = std::string(text);
        p.has_grid_pos = panel["gridPos"].is_object();
        std::int64_t id = -1;
        if (!panel["id"].get_int64().get(id)) p.id = id;
        simdjson::dom::array targets;
        if (!panel["targets"].get_array().get(targets)) {
            for (auto target : targets) {
                if (!target["expr"].get_string().get(text)) p.exprs.emplace_back(text);
            }
        }
        return p;
    };
    simdjson::dom::array panels;
    if (root["panels"].get_array().get(panels)) {
        why = "no panels array";
        return std::nullopt;
    }
    for (auto element : panels) {
        simdjson::dom::object panel;
        if (element.get_object().get(panel)) {
            why = "a panel that is not an object";
            return std::nullopt;
        }
        dashboard.panels.push_back(read_panel(panel));
        simdjson::dom::array nested;  // a collapsed row holds its panels
        if (!panel["panels"].get_array().get(nested)) {
            for (auto inner : nested) {
                simdjson::dom::object inner_panel;
                if (!inner.get_object().get(inner_panel)) dashboard.panels.push_back(read_panel(inner_panel));
            }
        }
    }
    simdjson::dom::array variables;
    if (!root["templating"]["list"].get_array().get(variables)) {
        for (auto variable : variables) {
            std::string_view text;
            dashboard.variable_names.emplace_back(variable["name"].get_string().get(text) ? "" : std::string(text));
            dashboard.variable_types.emplace_back(variable["type"].get_string().get(text) ? "" : std::string(text));
            // A query variable's PromQL: {"query": {"query": "…"}} in newer Grafana, a string in older.
            if (dashboard.variable_types.back() == "query" &&
                (!variable["query"]["query"].get_string().get(text) || !variable["query"].get_string().get(text)))
                dashboard.variable_queries.emplace_back(text);
        }
    }
    return dashboard;
}

std::vector<std::string> all_dashboard_exprs(const Dashboard& dashboard) {
    std::vector<std::string> exprs;
    for (const auto& panel : dashboard.panels) exprs.insert(exprs.end(), panel.exprs.begin(), panel.exprs.end());
    exprs.insert(exprs.end(), dashboard.variable_queries.begin(), dashboard.variable_queries.end());
    return exprs;
}

bool promtool_present() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }
constexpr const char* kNoPromtool =
    "promtool was not found: install the Debian package `prometheus` (scripts/install-deps.sh lists it)";

// Runs a shell command; its exit status and what it printed (stdout and stderr).
std::pair<int, std::string> run(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return {-1, "popen failed"};
    char chunk[4096];
    while (std::size_t n = std::fread(chunk, 1, sizeof chunk, pipe)) output.append(chunk, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// What GET /metrics serves, by name: the families (# TYPE lines, with their type) and the
// sample names (histograms' _bucket, _sum and _count among them).
struct Exposition {
    std::set<std::string> samples;
    std::map<std::string, std::string> family_types;

    // A name an expression may use: a sample's, a family's, or a histogram family's with
    // one of its series suffixes.
    bool serves(const std::string& name) const {
        if (samples.contains(name) || family_types.contains(name)) return true;
        for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
            if (!name.ends_with(suffix)) continue;
            const auto family = family_types.find(name.substr(0, name.size() - suffix.size()));
            if (family != family_types.end() && family->second == "histogram") return true;
        }
        return false;
    }
};

Exposition parse_exposition(const std::string& text) {
    Exposition exposition;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        if (line.starts_with("# TYPE ")) {
            std::istringstream words(line.substr(7));
            std::string name, type;
            words >> name >> type;
            exposition.family_types[name] = type;
        } else if (line[0] != '#') {
            exposition.samples.insert(line.substr(0, line.find_first_of("{ ")));
        }
    }
    return exposition;
}

// One GET to the admin endpoint on a fresh connection.
std::optional<HttpResponse> admin_get(std::uint16_t port, const std::string& path) {
    HttpClient client(port);
    if (!client.connected()) return std::nullopt;
    if (!client.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) return std::nullopt;
    return client.read_response();
}

TEST(DashboardShape, EveryPanelHasTheDataSourceAndAQueryFilteredByInstance) {
    std::string why;
    const auto dashboard = load_dashboard(why);
    ASSERT_TRUE(dashboard) << why;
    EXPECT_GE(dashboard->schema_version, 36);

    // The data source is chosen at import (a datasource variable), the instances shown by
    // a query variable.
    bool datasource_variable = false;
    bool instance_variable = false;
    for (std::size_t i = 0; i < dashboard->variable_names.size(); ++i) {
        if (dashboard->variable_names[i] == "DS_PROMETHEUS" && dashboard->variable_types[i] == "datasource")
            datasource_variable = true;
        if (dashboard->variable_names[i] == "instance" && dashboard->variable_types[i] == "query")
            instance_variable = true;
    }
    EXPECT_TRUE(datasource_variable) << "no datasource variable DS_PROMETHEUS";
    EXPECT_TRUE(instance_variable) << "no query variable instance";

    std::set<std::int64_t> ids;
    std::size_t queried_panels = 0;
    for (const auto& panel : dashboard->panels) {
        EXPECT_TRUE(ids.insert(panel.id).second) << "panel id " << panel.id << " twice (" << panel.title << ")";
        EXPECT_TRUE(panel.has_grid_pos) << panel.title;
        if (panel.type == "row") continue;
        ++queried_panels;
        EXPECT_EQ(panel.datasource_uid.value_or("<none>"), "${DS_PROMETHEUS}") << panel.title;
        EXPECT_FALSE(panel.exprs.empty()) << panel.title << " has no query";
        for (const auto& expr : panel.exprs) {
            EXPECT_NE(expr.find("instance=~\"$instance\""), std::string::npos)
                << panel.title << ": not filtered by the instance variable: " << expr;
            EXPECT_FALSE(metric_names_in(expr).empty()) << panel.title << ": names no sharegate metric: " << expr;
        }
    }
    EXPECT_GE(queried_panels, 20u);
}

// Every query is PromQL promtool accepts, once Grafana's variables are replaced by what
// Grafana would put there.
TEST(DashboardShape, EveryQueryIsValidPromQL) {
    ASSERT_TRUE(promtool_present()) << kNoPromtool;
    std::string why;
    const auto dashboard = load_dashboard(why);
    ASSERT_TRUE(dashboard) << why;
    const auto substitute = [](std::string expr) {
        for (const auto& [variable, value] :
             {std::pair<std::string, std::string>{"$__rate_interval", "1m"}, {"$instance", ".+"}}) {
            for (auto at = expr.find(variable); at != std::string::npos; at = expr.find(variable, at + value.size()))
                expr.replace(at, variable.size(), value);
        }
        return expr;
    };
    // As recording rules: promtool parses each rule's expression and names the bad one.
    std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
    std::size_t n = 0;
    for (const auto& panel : dashboard->panels) {
        for (const auto& expr : panel.exprs) {
            std::string quoted;
            for (char c : substitute(expr)) {
                if (c == '"' || c == '\\') quoted += '\\';
                quoted += c;
            }
            rules += "      - record: dashboard:query_" + std::to_string(n++) + "\n        expr: \"" + quoted + "\"\n";
        }
    }
    ASSERT_GT(n, 0u);
    const auto file =
        std::filesystem::temp_directory_path() / ("sharegate-dashboard-" + std::to_string(::getpid()) + "-rules.yml");
    std::ofstream(file) << rules;
    const auto [status, output] = run("promtool check rules " + file.string());
    std::filesystem::remove(file);
    EXPECT_EQ(status, 0) << output << "\nthe rules were:\n" << rules;
}

// The real server, a subscribe, an accepted and a rejected submit: every metric an
// expression names is served, and every family served is shown or watched.
class DashboardTest : public DefenseTest {};

TEST_F(DashboardTest, EveryMetricTheDashboardAndTheRulesUseIsServed) {
    std::string why;
    const auto dashboard = load_dashboard(why);
    ASSERT_TRUE(dashboard) << why;
    const std::string rules_text = read_file(kAlertRules);
    const auto rule_exprs = rule_expressions(rules_text);
    ASSERT_GE(rule_exprs.size(), 10u) << "the expressions of " << kAlertRules << " were not found";

    ASSERT_NO_FATAL_FAILURE(start_server({}));
    const auto d1 = load_d1();
    ASSERT_FALSE(d1.empty());
    LineClient miner(port_);
    miner.send(subscribe_request(1, kMinerD1));
    ASSERT_EQ(miner.read_message(), accepted(1));
    ASSERT_TRUE(miner.read_message().is_notify());
    miner.send(d1_submit(2, d1[0]));
    ASSERT_EQ(miner.read_message(), accepted(2));
    miner.send(d1_submit(3, d1[0]));
    ASSERT_EQ(miner.read_message(), sharegate_test::refused(3, 22, "Duplicate share"));

    // Ready (Redis up, a challenge known, the verifier tested) and the submits counted.
    std::optional<HttpResponse> ready;
    std::optional<HttpResponse> metrics;
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    for (;;) {
        ready = admin_get(server_.admin_port(), "/readyz");
        metrics = admin_get(server_.admin_port(), "/metrics");
        const bool done = ready && ready->status == 200 && metrics && metrics->status == 200 &&
                          metrics->body.find("verdict=\"rejected\"") != std::string::npos;
        if (done || std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(ready) << "no answer from the admin endpoint on 127.0.0.1:" << server_.admin_port();
    EXPECT_EQ(ready->status, 200) << ready->body;
    ASSERT_TRUE(metrics);
    ASSERT_EQ(metrics->status, 200) << metrics->body;
    const Exposition exposition = parse_exposition(metrics->body);

    std::set<std::string> used;  // by the dashboard or the rules
    for (const auto& [source, exprs] : {std::pair{std::string("dashboard"), all_dashboard_exprs(*dashboard)},
                                        std::pair{std::string("alert rules"), rule_exprs}}) {
        for (const auto& expr : exprs) {
            for (const auto& name : metric_names_in(expr)) {
                used.insert(name);
                EXPECT_TRUE(exposition.serves(name))
                    << "the " << source << " use " << name << ", which /metrics does not serve, in: " << expr;
            }
        }
    }

    // The converse: a metric the server gained is put on the dashboard (or in a rule).
    for (const auto& [family, type] : exposition.family_types) {
        bool shown = used.contains(family);
        if (type == "histogram") {
            for (const std::string_view suffix : {"_bucket", "_sum", "_count"})
                shown = shown || used.contains(family + std::string(suffix));
        }
        EXPECT_TRUE(shown) << "/metrics serves " << family << " (" << type
                           << "), which neither deploy/grafana/sharegate.json nor the alert rules use";
    }
}

}  // namespace
