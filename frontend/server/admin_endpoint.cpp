#include "server/admin_endpoint.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <exception>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>
// Beast after server/asio.hpp (which the header includes first); the pragma as in
// http_connection.hpp: GCC 12 -O2 reports a false -Wmaybe-uninitialized in Beast's parser.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#pragma GCC diagnostic pop

namespace sharegate::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// After an answer that ends the connection, our side is shut and what the client still
// sends is read and dropped, for at most this long and this much, before the close:
// closing with unread bytes makes the kernel send a reset, which can destroy the answer
// (a 431 sent before the rest of the header was read) before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 64 * 1024;
// Accept failed (e.g. out of file descriptors): try again after this, rather than spin.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

AdminResponse plain(unsigned status, std::string body) {
    return AdminResponse{status, std::string(kPlainTextContentType), std::move(body), {}};
}

bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

// The response, headers and body, in one string: one write.
std::string response_text(const AdminResponse& response, unsigned version, bool keep_alive, bool head) {
    const auto reason = http::obsolete_reason(static_cast<http::status>(response.status));
    std::string out;
    out.reserve(200 + (head ? 0 : response.body.size()));
    out += "HTTP/1.1 ";
    out += std::to_string(response.status);
    out += ' ';
    out.append(reason.data(), reason.size());
    out += "\r\nServer: sharegate\r\nContent-Type: ";
    out += response.content_type;
    // HEAD: the length the GET's body would have (RFC 9110 section 8.6), and no body.
    out += "\r\nContent-Length: " + std::to_string(response.body.size());
    // Every page is live state: no cache between Prometheus (or a probe) and us may keep it.
    out += "\r\nCache-Control: no-store\r\n";
    if (!response.allow.empty()) out += "Allow: " + response.allow + "\r\n";
    if (!keep_alive) {
        out += "Connection: close\r\n";
    } else if (version < 11) {
        out += "Connection: keep-alive\r\n";  // HTTP/1.0 closes unless told otherwise
    }
    out += "\r\n";
    if (!head) out += response.body;
    return out;
}

std::string remote_text(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
           std::to_string(endpoint.port());
}

}  // namespace

AdminResponse route_admin(std::string_view method, std::string_view target, const AdminPages& pages) {
    const std::string_view path = target.substr(0, target.find('?'));
    const std::function<AdminResponse()>* page = nullptr;
    std::string_view default_type = kPlainTextContentType;
    if (path == "/metrics") {
        page = &pages.metrics;
        default_type = kMetricsContentType;
    } else if (path == "/healthz") {
        page = &pages.healthz;
    } else if (path == "/readyz") {
        page = &pages.readyz;
    }
    if (page == nullptr || !*page) return plain(404, "not found; try /metrics, /healthz or /readyz\n");
    if (method != "GET" && method != "HEAD") {
        AdminResponse refusal = plain(405, "only GET and HEAD are served here\n");
        refusal.allow = "GET, HEAD";
        return refusal;
    }
    AdminResponse response = (*page)();
    if (response.content_type.empty()) response.content_type = default_type;
    return response;
}

// ---- what the endpoint and its connections share ----

struct AdminEndpoint::Shared : std::enable_shared_from_this<Shared> {
    Shared(asio::io_context& io, AdminRoutes routes, Limits limits)
        : io(io),
          routes(std::move(routes)),
          limits(limits),
          strand(asio::make_strand(io)),
          acceptor(strand),
          retry_timer(strand) {}

    void accept_next();
    void on_accept(const error_code& error, tcp::socket socket);
    void admit(tcp::socket socket);
    void forget(Connection* connection);

    asio::io_context& io;
    const AdminRoutes routes;
    const Limits limits;
    // The acceptor, its retry timer and refused_at_cap are used on this strand only.
    asio::strand<asio::io_context::executor_type> strand;
    tcp::acceptor acceptor;
    asio::steady_timer retry_timer;
    std::uint64_t refused_at_cap = 0;
    std::atomic<std::uint16_t> port{0};

    mutable std::mutex mutex;
    bool stopped = false;                                             // guarded by mutex
    std::unordered_map<Connection*, std::weak_ptr<Connection>> open;  // guarded by mutex
};

// ---- one connection ----

class AdminEndpoint::Connection : public std::enable_shared_from_this<Connection> {
public:
    // `socket`'s executor is a strand: every handler of the connection runs on it.
    Connection(tcp::socket socket, std::shared_ptr<Shared> shared, std::string remote)
        : stream_(std::move(socket)), shared_(std::move(shared)), remote_(std::move(remote)) {}

    ~Connection() {
        // Destroyed unclosed (its io_context went away with work pending): still leaves the open set.
        if (!closed_) shared_->forget(this);
    }

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void start() {
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            spdlog::debug("admin {}: connected", self->remote_);
            self->read_request();
        });
    }

    // Any thread: closes now, cutting a response being written.
    void post_close() {
        asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close("the endpoint stops"); });
    }

private:
    void read_request() {
        if (closed_) return;
        parser_.emplace();
        parser_->header_limit(
            static_cast<std::uint32_t>(std::min<std::size_t>(shared_->limits.max_header_bytes, UINT32_MAX)));
        // No page takes a body: any body at all is refused (413) before it is read.
        parser_->body_limit(0);
        // One deadline covers the wait for the request and its arrival (slowloris).
        stream_.expires_after(shared_->limits.request_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](const error_code& error, std::size_t) { self->on_read(error); });
    }

    void on_read(const error_code& error) {
        if (closed_) return;
        if (error == http::error::end_of_stream) return close("the client closed");
        if (error == beast::error::timeout) {
            return close("no whole request within " + std::to_string(shared_->limits.request_timeout.count()) + " ms");
        }
        if (error == http::error::header_limit) {
            return refuse(plain(431, "header over " + std::to_string(shared_->limits.max_header_bytes) + " bytes\n"),
                          "header too large");
        }
        if (error == http::error::body_limit) return refuse(plain(413, "no request body is accepted\n"), "a body");
        if (error.category() == http::make_error_code(http::error::end_of_stream).category()) {
            return refuse(plain(400, "malformed HTTP request\n"), "malformed request: " + error.message());
        }
        if (error) return close(error.message());

        const auto& request = parser_->get();
        const unsigned version = request.version();
        const bool keep_alive = request.keep_alive();
        const bool head = request.method() == http::verb::head;
        const auto method = request.method_string();
        const auto target = request.target();
        write(response_text(answer({method.data(), method.size()}, {target.data(), target.size()}), version, keep_alive,
                            head),
              !keep_alive);
    }

    // The routes' answer; a route that throws, or answers what cannot be sent, costs a 500.
    AdminResponse answer(std::string_view method, std::string_view target) {
        AdminResponse response;
        try {
            if (!shared_->routes) return plain(404, "not found\n");
            response = shared_->routes(method, target);
        } catch (const std::exception& e) {
            spdlog::warn("admin {}: {} {} failed: {}", remote_, method, target, e.what());
            return plain(500, "internal error\n");
        } catch (...) {
            spdlog::warn("admin {}: {} {} failed", remote_, method, target);
            return plain(500, "internal error\n");
        }
        if (response.status < 100 || response.status > 599 || has_line_break(response.content_type) ||
            has_line_break(response.allow)) {
            spdlog::warn("admin {}: {} {}: the route answered an unsendable response (status {})", remote_, method,
                         target, response.status);
            return plain(500, "internal error\n");
        }
        if (response.content_type.empty()) response.content_type = kPlainTextContentType;
        return response;
    }

    // Answers, then closes: the stream can not be trusted to be at a request's start.
    void refuse(const AdminResponse& response, std::string why) {
        spdlog::debug("admin {}: refused ({}): {}", remote_, response.status, why);
        write(response_text(response, 11, false, false), true);
    }

    void write(std::string text, bool close_after) {
        out_ = std::move(text);
        stream_.expires_after(shared_->limits.request_timeout);
        asio::async_write(stream_, asio::buffer(out_),
                          [self = shared_from_this(), close_after](const error_code& error, std::size_t) {
                              self->on_written(error, close_after);
                          });
    }

    void on_written(const error_code& error, bool close_after) {
        if (closed_) return;
        out_.clear();
        out_.shrink_to_fit();
        if (error) return close("write: " + error.message());
        if (close_after) return close_gracefully();
        read_request();
    }

    void close_gracefully() {
        error_code error;
        stream_.socket().shutdown(tcp::socket::shutdown_send, error);
        if (error) return close(error.message());
        stream_.expires_after(
            std::min<std::chrono::steady_clock::duration>(kLingerTime, shared_->limits.request_timeout));
        linger();
    }

    void linger() {
        stream_.async_read_some(asio::buffer(discard_),
                                [self = shared_from_this()](const error_code& error, std::size_t bytes) {
                                    if (self->closed_) return;
                                    self->lingered_ += bytes;
                                    if (error || self->lingered_ > kLingerBytes) return self->close("finished");
                                    self->linger();
                                });
    }

    void close(const std::string& why) {
        if (closed_) return;
        closed_ = true;
        spdlog::debug("admin {}: disconnected ({})", remote_, why);
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();  // cancels the reads, the writes and the deadline
        shared_->forget(this);
    }

    beast::tcp_stream stream_;
    const std::shared_ptr<Shared> shared_;
    const std::string remote_;
    beast::flat_buffer buffer_{shared_->limits.max_header_bytes + 1024};
    std::optional<http::request_parser<http::string_body>> parser_;
    std::string out_;
    std::array<char, 4096> discard_{};
    std::size_t lingered_ = 0;
    bool closed_ = false;
};

// ---- accepting ----

void AdminEndpoint::Shared::accept_next() {
    acceptor.async_accept(asio::make_strand(io),
                          [self = shared_from_this()](const error_code& error, tcp::socket socket) {
                              self->on_accept(error, std::move(socket));
                          });
}

void AdminEndpoint::Shared::on_accept(const error_code& error, tcp::socket socket) {
    if (error == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (error) {
        spdlog::warn("admin endpoint: accept: {}", error.message());
        retry_timer.expires_after(kAcceptRetry);
        retry_timer.async_wait([self = shared_from_this()](const error_code& e) {
            if (!e && self->acceptor.is_open()) self->accept_next();
        });
        return;
    }
    admit(std::move(socket));
    accept_next();
}

void AdminEndpoint::Shared::admit(tcp::socket socket) {
    error_code error;
    const auto peer = socket.remote_endpoint(error);
    if (error) return;  // gone already; the socket closes here
    const std::string remote = remote_text(peer);
    std::shared_ptr<Connection> connection;
    {
        std::lock_guard lock(mutex);
        if (stopped) return;
        if (open.size() >= limits.max_connections) {
            // Closed unread: the endpoint must not be a way to exhaust file descriptors.
            if (refused_at_cap++ == 0) {
                spdlog::warn(
                    "admin endpoint: {} closed: {} admin connections are open already (further refusals "
                    "are logged at debug level)",
                    remote, limits.max_connections);
            } else {
                spdlog::debug("admin endpoint: {} closed: {} admin connections are open already", remote,
                              limits.max_connections);
            }
            socket.close(error);
            return;
        }
        connection = std::make_shared<Connection>(std::move(socket), shared_from_this(), remote);
        open.emplace(connection.get(), connection);
    }
    connection->start();
}

void AdminEndpoint::Shared::forget(Connection* connection) {
    std::lock_guard lock(mutex);
    open.erase(connection);
}

// ---- the endpoint ----

AdminEndpoint::AdminEndpoint(asio::io_context& io, AdminRoutes routes)
    : AdminEndpoint(io, std::move(routes), Limits{}) {}

AdminEndpoint::AdminEndpoint(asio::io_context& io, AdminRoutes routes, Limits limits)
    : shared_(std::make_shared<Shared>(io, std::move(routes), limits)) {}

AdminEndpoint::~AdminEndpoint() { stop(); }

std::string AdminEndpoint::listen(const std::string& host, std::uint16_t port) {
    error_code error;
    const auto address = asio::ip::make_address(host, error);
    if (error) return "admin endpoint: \"" + host + "\" is not an IP address";
    const tcp::endpoint endpoint(address, port);
    const std::string where = remote_text(endpoint);
    {
        std::lock_guard lock(shared_->mutex);
        if (shared_->stopped) return "admin endpoint: stopped";
    }
    // No handler of the acceptor is out yet: it may be used from this thread.
    tcp::acceptor& acceptor = shared_->acceptor;
    if (acceptor.is_open()) return "admin endpoint: already listening";
    acceptor.open(endpoint.protocol(), error);
    if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor.bind(endpoint, error);
    if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
    tcp::endpoint bound;
    if (!error) bound = acceptor.local_endpoint(error);
    if (error) {
        error_code ignored;
        acceptor.close(ignored);
        return "cannot listen on " + where + " (admin endpoint): " + error.message();
    }
    shared_->port.store(bound.port());
    asio::post(shared_->strand, [shared = shared_] { shared->accept_next(); });
    return "";
}

std::uint16_t AdminEndpoint::port() const { return shared_->port.load(); }

void AdminEndpoint::stop() {
    std::vector<std::shared_ptr<Connection>> open;
    {
        std::lock_guard lock(shared_->mutex);
        if (shared_->stopped) return;
        shared_->stopped = true;
        open.reserve(shared_->open.size());
        for (const auto& [key, weak] : shared_->open) {
            if (auto connection = weak.lock()) open.push_back(std::move(connection));
        }
    }
    asio::post(shared_->strand, [shared = shared_] {
        error_code ignored;
        shared->retry_timer.cancel();
        shared->acceptor.close(ignored);
    });
    for (const auto& connection : open) connection->post_close();
}

std::size_t AdminEndpoint::open_connections() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->open.size();
}

}  // namespace sharegate::server
