// The admin endpoint (frontend/server/admin_endpoint.hpp): route_admin as a plain function,
// then AdminEndpoint on real loopback sockets, with an io_context of two threads and the
// blocking test client (support/http_client.hpp): the pages, HEAD, 404, 405, the refusals
// that close (a body, an oversized header, garbage), the deadline on a silent client, the
// connection cap, stop() with keep-alive connections open, and listen()'s reasons.
// Every wait is for a condition, with a generous deadline only against hangs.
#include "server/admin_endpoint.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/loopback_socket.hpp"

namespace sharegate_test {
namespace {

namespace asio = boost::asio;
using sharegate::server::AdminEndpoint;
using sharegate::server::AdminPages;
using sharegate::server::AdminResponse;
using sharegate::server::kMetricsContentType;
using sharegate::server::kPlainTextContentType;
using sharegate::server::route_admin;
using namespace std::chrono_literals;

constexpr auto kPatience = 10s;  // against hangs only

const std::string kMetricsBody = "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n";

AdminPages test_pages() {
    AdminPages pages;
    pages.metrics = [] { return AdminResponse{200, {}, kMetricsBody, {}}; };
    pages.healthz = [] { return AdminResponse{200, {}, "ok\n", {}}; };
    pages.readyz = [] { return AdminResponse{503, {}, "no challenge known\n", {}}; };
    return pages;
}

std::string get(const std::string& target, const std::string& more_headers = {}) {
    return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + more_headers + "\r\n";
}

// Polls `condition` until it holds or the patience runs out.
template <class Condition>
bool eventually(Condition condition) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// ---- the routing, without sockets ----

TEST(RouteAdmin, ServesThePagesWithTheirContentTypes) {
    const AdminPages pages = test_pages();
    const auto metrics = route_admin("GET", "/metrics", pages);
    EXPECT_EQ(metrics.status, 200u);
    EXPECT_EQ(metrics.content_type, kMetricsContentType);
    EXPECT_EQ(metrics.body, kMetricsBody);
    const auto health = route_admin("GET", "/healthz", pages);
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(health.content_type, kPlainTextContentType);
    EXPECT_EQ(health.body, "ok\n");
    const auto ready = route_admin("GET", "/readyz", pages);
    EXPECT_EQ(ready.status, 503u);
    EXPECT_EQ(ready.body, "no challenge known\n");
}

TEST(RouteAdmin, HeadIsRoutedAsGetAndTheQueryIsIgnored) {
    const AdminPages pages = test_pages();
    EXPECT_EQ(route_admin("HEAD", "/metrics", pages).body, kMetricsBody);
    EXPECT_EQ(route_admin("GET", "/metrics?name[]=x_total", pages).status, 200u);
    EXPECT_EQ(route_admin("GET", "/healthz?", pages).status, 200u);
}

TEST(RouteAdmin, OtherMethodsAre405WithAllow) {
    const AdminPages pages = test_pages();
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
        const auto response = route_admin(method, "/metrics", pages);
        EXPECT_EQ(response.status, 405u) << method;
        EXPECT_EQ(response.allow, "GET, HEAD") << method;
    }
}

TEST(RouteAdmin, UnknownPathsAre404) {
    const AdminPages pages = test_pages();
    for (const char* target : {"/", "/metrics/", "/Metrics", "/metricsx", "metrics", "*", "", "/healthz/x"}) {
        EXPECT_EQ(route_admin("GET", target, pages).status, 404u) << target;
    }
    EXPECT_EQ(route_admin("POST", "/nope", pages).status, 404u);
}

TEST(RouteAdmin, AMissingPageIs404) {
    AdminPages pages = test_pages();
    pages.readyz = nullptr;
    EXPECT_EQ(route_admin("GET", "/readyz", pages).status, 404u);
}

TEST(RouteAdmin, APageContentTypeIsKept) {
    AdminPages pages = test_pages();
    pages.healthz = [] { return AdminResponse{200, "application/json", "{}", {}}; };
    EXPECT_EQ(route_admin("GET", "/healthz", pages).content_type, "application/json");
}

// ---- the endpoint on loopback ----

class AdminEndpointTest : public ::testing::Test {
protected:
    AdminEndpointTest() {
        for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    }
    ~AdminEndpointTest() override {
        endpoint_.reset();  // stop(): the acceptor and every connection close
        work_.reset();
        for (auto& thread : threads_) thread.join();
    }

    void start(AdminEndpoint::Limits limits = {}) {
        AdminPages pages = test_pages();
        pages.metrics = [this] {
            ++metrics_calls_;
            return AdminResponse{200, {}, kMetricsBody, {}};
        };
        endpoint_ = std::make_unique<AdminEndpoint>(
            io_,
            [pages](std::string_view method, std::string_view target) {
                if (target == "/throw") throw std::runtime_error("a page failed");
                if (target == "/bad-type") return AdminResponse{200, "text/plain\r\nX-Injected: 1", "x", {}};
                return route_admin(method, target, pages);
            },
            limits);
        ASSERT_EQ(endpoint_->listen("127.0.0.1", 0), "");
        port_ = endpoint_->port();
        ASSERT_NE(port_, 0);
    }

    asio::io_context io_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
    std::vector<std::thread> threads_;
    std::unique_ptr<AdminEndpoint> endpoint_;
    std::uint16_t port_ = 0;
    std::atomic<int> metrics_calls_{0};
};

TEST_F(AdminEndpointTest, GetMetricsThenHealthzOnOneKeepAliveConnection) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send(get("/metrics")));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, kMetricsBody);
    EXPECT_EQ(response->headers["content-type"], kMetricsContentType);
    EXPECT_EQ(response->headers["content-length"], std::to_string(kMetricsBody.size()));
    EXPECT_EQ(response->headers["cache-control"], "no-store");
    EXPECT_EQ(response->headers.count("connection"), 0u);
    EXPECT_EQ(metrics_calls_.load(), 1);

    ASSERT_TRUE(client.send(get("/healthz?probe=1")));
    response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "ok\n");
    EXPECT_EQ(response->headers["content-type"], kPlainTextContentType);

    ASSERT_TRUE(client.send(get("/readyz")));
    response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 503);
    EXPECT_EQ(response->body, "no challenge known\n");
    EXPECT_EQ(response->headers["cache-control"], "no-store");
}

TEST_F(AdminEndpointTest, PipelinedRequestsAreAnsweredInOrder) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send(get("/healthz") + get("/metrics") + get("/nope")));
    for (int expected : {200, 200, 404}) {
        const auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, expected);
    }
}

TEST_F(AdminEndpointTest, HeadHasTheLengthButNoBody) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send("HEAD /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    ASSERT_TRUE(client.closed_by_server(kPatience));
    const std::string& text = client.unread();
    EXPECT_EQ(text.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << text;
    EXPECT_NE(text.find("Content-Length: " + std::to_string(kMetricsBody.size()) + "\r\n"), std::string::npos) << text;
    EXPECT_NE(text.find("Connection: close\r\n"), std::string::npos) << text;
    // The head ends the stream: no body.
    ASSERT_GE(text.size(), 4u);
    EXPECT_EQ(text.find("\r\n\r\n"), text.size() - 4) << text;
}

TEST_F(AdminEndpointTest, UnknownPathIs404AndTheConnectionStays) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send(get("/admin")));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404);
    ASSERT_TRUE(client.send(get("/healthz")));
    response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(AdminEndpointTest, PostIs405WithAllow) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send("POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 405);
    EXPECT_EQ(response->headers["allow"], "GET, HEAD");
    EXPECT_EQ(metrics_calls_.load(), 0);
    ASSERT_TRUE(client.send(get("/healthz")));
    response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(AdminEndpointTest, ABodyIsRefused413AndClosed) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
    EXPECT_EQ(response->headers.at("connection"), "close");
    EXPECT_TRUE(client.closed_by_server(kPatience));
    EXPECT_EQ(metrics_calls_.load(), 0);
}

TEST_F(AdminEndpointTest, AChunkedBodyIsRefused) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send(
        "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
    EXPECT_TRUE(client.closed_by_server(kPatience));
}

TEST_F(AdminEndpointTest, OversizedHeaderIs431AndClosed) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send(get("/metrics", "X-Padding: " + std::string(10 * 1024, 'a') + "\r\n")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 431);
    EXPECT_TRUE(client.closed_by_server(kPatience));
    EXPECT_EQ(metrics_calls_.load(), 0);
}

TEST_F(AdminEndpointTest, GarbageIs400AndClosed) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send("GARBAGE GARBAGE GARBAGE\r\n\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400);
    EXPECT_TRUE(client.closed_by_server(kPatience));
}

TEST_F(AdminEndpointTest, Http10WithoutKeepAliveCloses) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send("GET /healthz HTTP/1.0\r\n\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->headers.at("connection"), "close");
    EXPECT_TRUE(client.closed_by_server(kPatience));
}

TEST_F(AdminEndpointTest, Http10KeepAliveIsHonoured) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->headers["connection"], "keep-alive");
    ASSERT_TRUE(client.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(AdminEndpointTest, ARouteThatThrowsIs500AndTheConnectionStays) {
    start();
    HttpClient client(port_);
    ASSERT_TRUE(client.send(get("/throw")));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
    ASSERT_TRUE(client.send(get("/bad-type")));  // a header injection is not sent
    response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
    EXPECT_EQ(response->headers.count("x-injected"), 0u);
    ASSERT_TRUE(client.send(get("/healthz")));
    response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(AdminEndpointTest, ASilentClientIsClosedAfterTheDeadline) {
    AdminEndpoint::Limits limits;
    limits.request_timeout = 200ms;
    start(limits);
    HttpClient silent(port_);
    HttpClient slow(port_);
    ASSERT_TRUE(slow.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"));  // never finished
    EXPECT_TRUE(silent.closed_by_server(kPatience));
    EXPECT_TRUE(slow.closed_by_server(kPatience));
    EXPECT_TRUE(eventually([&] { return endpoint_->open_connections() == 0; }));
    EXPECT_EQ(metrics_calls_.load(), 0);
}

TEST_F(AdminEndpointTest, AnIdleKeepAliveConnectionIsClosedAfterTheDeadline) {
    AdminEndpoint::Limits limits;
    limits.request_timeout = 200ms;
    start(limits);
    HttpClient client(port_);
    ASSERT_TRUE(client.send(get("/healthz")));
    ASSERT_TRUE(client.read_response());
    EXPECT_TRUE(client.closed_by_server(kPatience));
}

TEST_F(AdminEndpointTest, ConnectionsOverTheCapAreClosedAtAccept) {
    AdminEndpoint::Limits limits;
    limits.max_connections = 3;
    start(limits);
    std::vector<std::unique_ptr<HttpClient>> admitted;
    for (int i = 0; i < 3; ++i) {
        admitted.push_back(std::make_unique<HttpClient>(port_));
        // Answered: accepted and counted.
        ASSERT_TRUE(admitted.back()->send(get("/healthz")));
        const auto response = admitted.back()->read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 200);
    }
    EXPECT_EQ(endpoint_->open_connections(), 3u);
    for (int i = 0; i < 5; ++i) {
        HttpClient extra(port_);
        ASSERT_TRUE(extra.connected());  // the kernel completes the handshake; the endpoint then closes it
        EXPECT_TRUE(extra.closed_by_server(kPatience));
        EXPECT_EQ(extra.unread(), "");
    }
    // One leaves: a place opens.
    admitted.pop_back();
    ASSERT_TRUE(eventually([&] { return endpoint_->open_connections() == 2; }));
    HttpClient next(port_);
    ASSERT_TRUE(next.send(get("/healthz")));
    const auto response = next.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    // The ones admitted first are still served.
    ASSERT_TRUE(admitted.front()->send(get("/healthz")));
    EXPECT_TRUE(admitted.front()->read_response());
}

TEST_F(AdminEndpointTest, TheDefaultLimits) {
    const AdminEndpoint::Limits limits;
    EXPECT_EQ(limits.max_connections, 64u);
    EXPECT_EQ(limits.max_header_bytes, 8u * 1024);
    EXPECT_EQ(limits.request_timeout, 10s);
}

TEST_F(AdminEndpointTest, StopClosesKeepAliveConnectionsAndTheAcceptor) {
    start();
    HttpClient first(port_);
    HttpClient second(port_);
    for (HttpClient* client : {&first, &second}) {
        ASSERT_TRUE(client->send(get("/healthz")));
        ASSERT_TRUE(client->read_response());
    }
    EXPECT_EQ(endpoint_->open_connections(), 2u);
    endpoint_->stop();
    EXPECT_TRUE(first.closed_by_server(kPatience));
    EXPECT_TRUE(second.closed_by_server(kPatience));
    EXPECT_TRUE(eventually([&] { return endpoint_->open_connections() == 0; }));
    // The port no longer accepts.
    EXPECT_TRUE(eventually([&] {
        const int fd = connect_loopback(port_);
        if (fd >= 0) ::close(fd);
        return fd < 0;
    }));
    endpoint_->stop();                                 // idempotent
    EXPECT_NE(endpoint_->listen("127.0.0.1", 0), "");  // stopped for good
}

TEST_F(AdminEndpointTest, APortTakenIsAReason) {
    start();
    AdminEndpoint second(io_, [](std::string_view, std::string_view) { return AdminResponse{}; });
    const std::string reason = second.listen("127.0.0.1", port_);
    EXPECT_NE(reason, "");
    EXPECT_NE(reason.find(std::to_string(port_)), std::string::npos) << reason;
    EXPECT_NE(reason.find("in use"), std::string::npos) << reason;
    EXPECT_EQ(reason.find('\n'), std::string::npos) << reason;
    EXPECT_EQ(second.port(), 0);
    // The first still serves.
    HttpClient client(port_);
    ASSERT_TRUE(client.send(get("/healthz")));
    EXPECT_TRUE(client.read_response());
}

TEST_F(AdminEndpointTest, ABadAddressIsAReason) {
    AdminEndpoint endpoint(io_, [](std::string_view, std::string_view) { return AdminResponse{}; });
    for (const char* host : {"localhost.invalid", "", "256.1.1.1", "127.0.0.1:9193"}) {
        const std::string reason = endpoint.listen(host, 0);
        EXPECT_NE(reason, "") << host;
        EXPECT_EQ(reason.find('\n'), std::string::npos) << reason;
    }
    // An address this machine does not have.
    EXPECT_NE(endpoint.listen("192.0.2.1", 0), "");
}

TEST_F(AdminEndpointTest, Ipv6Loopback) {
    AdminEndpoint endpoint(io_, [](std::string_view, std::string_view) { return AdminResponse{200, {}, "ok", {}}; });
    const std::string reason = endpoint.listen("::1", 0);
    if (!reason.empty()) GTEST_SKIP() << "no IPv6 loopback here: " << reason;
    EXPECT_NE(endpoint.port(), 0);
}

}  // namespace
}  // namespace sharegate_test
