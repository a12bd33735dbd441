#include "proxy/proxy.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <thread>
#include <utility>

#include "metrics/exposition.hpp"
#include "metrics/process_metrics.hpp"
#include "proxy/proxy_metrics.hpp"

namespace sharegate::proxy {

namespace asio = boost::asio;

namespace {

// At a stop, how long shares already forwarded may wait for the pool's verdicts before
// they are answered false, and how long the rigs' connections may take to write their
// last answers.
constexpr auto kVerdictDrain = std::chrono::seconds(5);
constexpr auto kAnswerDrain = std::chrono::seconds(3);

std::string host_port(const std::string& host, std::uint16_t port) {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

UpstreamOptions upstream_options(const ProxyOptions& options) {
    UpstreamOptions upstream;
    upstream.host = options.pool_host;
    upstream.port = options.pool_port;
    // Lower case, as the rigs' own addresses go upstream: the pool keys miners that way.
    upstream.account = options.account.normalized();
    upstream.backoff_min = std::chrono::milliseconds(options.reconnect_min_ms);
    upstream.backoff_max = std::chrono::seconds(options.reconnect_max_s);
    upstream.reply_timeout = std::chrono::seconds(options.pool_reply_timeout_s);
    return upstream;
}

ListenerSettings listener_settings(const ProxyOptions& options) {
    ListenerSettings settings;
    settings.host = options.listen_host;
    settings.port = options.listen_port;
    settings.max_connections = options.max_connections;
    settings.limits.max_body_bytes = options.getwork_max_body_bytes;
    settings.limits.request_timeout = std::chrono::seconds(options.getwork_request_timeout_s);
    settings.limits.idle_timeout = std::chrono::seconds(options.getwork_idle_timeout_s);
    return settings;
}

ProxyCallsOptions calls_options(const ProxyOptions& options) {
    ProxyCallsOptions calls;
    calls.max_batch = options.getwork_max_batch;
    calls.allow_custom_vardiff = options.allow_custom_vardiff;
    return calls;
}

// Waits, up to `limit`, for `done` to hold.
template <typename Condition>
void wait_until(Condition done, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

Proxy::Proxy(ProxyOptions options)
    : options_(std::move(options)),
      io_(static_cast<int>(options_.threads)),
      // Each notify becomes the work every poll is answered from. (The upstream logs its
      // own events: work changes, subscribes, losses.)
      upstream_(
          io_, upstream_options(options_), [this](const Work& work) { work_.publish(work); }, nullptr),
      calls_(work_, upstream_, farm_, calls_options(options_)),
      listener_(
          io_, listener_settings(options_),
          ListenerHandlers{[this](const std::string& rig, std::string body, std::function<void(std::string)> respond) {
                               calls_.handle(rig, body, std::move(respond));
                           },
                           [this](const std::string&, server::HttpRefusal refusal) { count_refusal(refusal); }}),
      stats_timer_(io_) {}

Proxy::~Proxy() {
    // Each holds handlers that call into this object: none may run once it is gone.
    listener_.stop();
    upstream_.stop();
    if (admin_) admin_->stop();
}

void Proxy::count_refusal(server::HttpRefusal refusal) {
    const auto index = static_cast<std::size_t>(refusal);
    if (index < http_refused_.size()) http_refused_[index].fetch_add(1, std::memory_order_relaxed);
}

Proxy::Readiness Proxy::readiness() const {
    Readiness readiness;
    if (stopping_.load(std::memory_order_relaxed)) readiness.reasons.push_back("shutting down");
    if (!upstream_.up())
        readiness.reasons.push_back("pool unreachable (" + host_port(options_.pool_host, options_.pool_port) + ")");
    if (!work_.current()) readiness.reasons.push_back("no work from the pool yet");
    readiness.ready = readiness.reasons.empty();
    return readiness;
}

std::string Proxy::metrics_page() const {
    std::vector<prometheus::MetricFamily> families =
        proxy_families(upstream_, work_, calls_, farm_, std::chrono::steady_clock::now());
    families.push_back(metrics::gauge("sharegate_proxy_ready",
                                      "1 when the pool is subscribed and work is known (what /readyz says).",
                                      readiness().ready ? 1 : 0));
    families.push_back(metrics::gauge("sharegate_proxy_connections_open", "Rig connections open now.",
                                      static_cast<double>(listener_.open_connections())));
    families.push_back(metrics::counter("sharegate_proxy_connections_total", "Rig connections accepted.",
                                        static_cast<double>(listener_.accepted_total())));
    families.push_back(metrics::counter("sharegate_proxy_connections_refused_total",
                                        "Rig connections closed at accept: --max-connections were open.",
                                        static_cast<double>(listener_.refused_total())));
    auto refused = metrics::FamilyBuilder::counter("sharegate_proxy_http_refused_total",
                                                   "HTTP requests refused before JSON-RPC, by reason.");
    for (std::size_t i = 0; i < http_refused_.size(); ++i) {
        refused.add({{"reason", std::string(server::name(static_cast<server::HttpRefusal>(i)))}},
                    static_cast<double>(http_refused_[i].load(std::memory_order_relaxed)));
    }
    families.push_back(std::move(refused).build());
    for (auto& family : metrics::process_metrics()) families.push_back(std::move(family));
    return metrics::render(families);
}

bool Proxy::start_admin() {
    if (!options_.admin_enabled) return true;
    server::AdminPages pages;
    pages.metrics = [this] { return server::AdminResponse{200, {}, metrics_page(), {}}; };
    pages.healthz = [] { return server::AdminResponse{200, {}, "ok\n", {}}; };
    pages.readyz = [this] {
        const Readiness ready = readiness();
        if (ready.ready) return server::AdminResponse{200, {}, "ready\n", {}};
        std::string body;
        for (const std::string& reason : ready.reasons) body += "not ready: " + reason + "\n";
        return server::AdminResponse{503, {}, std::move(body), {}};
    };
    admin_ = std::make_unique<server::AdminEndpoint>(io_, [pages](std::string_view method, std::string_view target) {
        return server::route_admin(method, target, pages);
    });
    const std::string why = admin_->listen(options_.admin_host, options_.admin_port);
    if (!why.empty()) {
        spdlog::error("admin endpoint: {} (--admin-listen; off turns it off)", why);
        return false;
    }
    return true;
}

void Proxy::schedule_stats() {
    stats_timer_.expires_after(std::chrono::seconds(options_.stats_interval_s));
    stats_timer_.async_wait([this](const boost::system::error_code& error) {
        if (error) return;
        log_stats();
        schedule_stats();
    });
}

void Proxy::log_stats() {
    spdlog::info("stats: {}; rig connections {} open, {} refused at the cap",
                 proxy_stats_line(upstream_, work_, farm_, std::chrono::steady_clock::now()),
                 listener_.open_connections(), listener_.refused_total());
}

int Proxy::run() {
    boost::system::error_code error;
    asio::ip::make_address(options_.listen_host, error);
    if (error) {
        spdlog::error("--listen {}: not an IP address", options_.listen_host);
        return 2;
    }
    if (const std::string why = listener_.listen(); !why.empty()) {
        spdlog::error("{}", why);
        return 1;
    }
    if (!start_admin()) return 1;

    std::promise<int> signalled;
    asio::signal_set signals(io_, SIGINT, SIGTERM);
    signals.async_wait([&signalled](const boost::system::error_code& e, int signal) {
        if (!e) signalled.set_value(signal);
    });

    upstream_.start();
    listener_.start();
    schedule_stats();
    spdlog::info(
        "sharegate-proxy {} started: getwork {} (at most {} connections); pool {} as {}; admin {}; {} I/O threads",
        SHAREGATE_VERSION, host_port(options_.listen_host, listener_.port()), options_.max_connections,
        host_port(options_.pool_host, options_.pool_port), options_.account.checksummed(),
        admin_ ? "http://" + host_port(options_.admin_host, admin_->port()) + " (/metrics, /healthz, /readyz)"
               : std::string("off"),
        options_.threads);

    auto guard = asio::make_work_guard(io_);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < options_.threads; ++i) threads.emplace_back([this] { io_.run(); });

    const int signal = signalled.get_future().get();
    spdlog::info("signal {}: shutting down", signal);
    stopping_.store(true, std::memory_order_relaxed);
    shutdown();
    guard.reset();
    io_.stop();
    for (auto& thread : threads) thread.join();
    log_stats();
    spdlog::info("stopped");
    return 0;
}

void Proxy::shutdown() {
    // 1. No new connection, no new request; what was read is answered.
    listener_.stop();
    // 2. Shares already with the pool get its verdict, for a while; the rest are answered
    // false by the stop (never true: the pool did not accept them).
    wait_until([this] { return upstream_.in_flight() == 0; }, kVerdictDrain);
    upstream_.stop();
    // 3. The rigs' connections write their last answers and close.
    wait_until([this] { return listener_.open_connections() == 0; }, kAnswerDrain);
    // /readyz said "shutting down" while the rest drained.
    if (admin_) admin_->stop();
    asio::post(io_, [this] { stats_timer_.cancel(); });
}

}  // namespace sharegate::proxy
