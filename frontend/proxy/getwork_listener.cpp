#include "proxy/getwork_listener.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/admission.hpp"

namespace sharegate::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// Accept failed (e.g. out of file descriptors): try again after this, rather than spin.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

// The rig: its IP address, an IPv4 peer of a dual-stack listener as a dotted quad (the
// same rig whichever way the listener was bound).
std::string rig_of(const asio::ip::address& address) {
    const server::IpAddress ip = address.is_v4() ? server::IpAddress::v4(address.to_v4().to_uint())
                                                 : server::IpAddress::v6(address.to_v6().to_bytes());
    return ip.to_string();
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
           std::to_string(endpoint.port());
}

}  // namespace

struct GetworkListener::Shared : std::enable_shared_from_this<Shared> {
    Shared(asio::io_context& io, ListenerSettings settings, ListenerHandlers handlers)
        : io(io),
          settings(std::move(settings)),
          handlers(std::move(handlers)),
          strand(asio::make_strand(io)),
          acceptor(strand),
          retry_timer(strand) {}

    void accept_next();
    void on_accept(const error_code& error, tcp::socket socket);
    void admit(tcp::socket socket);

    asio::io_context& io;
    const ListenerSettings settings;
    const ListenerHandlers handlers;
    asio::strand<asio::io_context::executor_type> strand;  // the acceptor's and its timer's
    tcp::acceptor acceptor;
    asio::steady_timer retry_timer;
    std::atomic<std::uint16_t> port{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> refused{0};

    mutable std::mutex mutex;
    bool stopped = false;
    bool refusing = false;  // an episode of refusals at the cap is under way (logged once)
    std::unordered_map<const server::HttpConnection*, std::weak_ptr<server::HttpConnection>> open;
};

void GetworkListener::Shared::accept_next() {
    acceptor.async_accept(asio::make_strand(io),
                          [self = shared_from_this()](const error_code& error, tcp::socket socket) {
                              self->on_accept(error, std::move(socket));
                          });
}

void GetworkListener::Shared::on_accept(const error_code& error, tcp::socket socket) {
    if (error == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (error) {
        spdlog::warn("getwork: accept: {}", error.message());
        retry_timer.expires_after(kAcceptRetry);
        retry_timer.async_wait([self = shared_from_this()](const error_code& e) {
            if (!e && self->acceptor.is_open()) self->accept_next();
        });
        return;
    }
    admit(std::move(socket));
    accept_next();
}

void GetworkListener::Shared::admit(tcp::socket socket) {
    error_code error;
    const auto peer = socket.remote_endpoint(error);
    if (error) return;  // gone already (reset before it was accepted); the socket closes here
    const std::string rig = rig_of(peer.address());
    const std::string remote = endpoint_text(peer);
    std::shared_ptr<server::HttpConnection> connection;
    {
        std::lock_guard lock(mutex);
        if (stopped) return;
        if (open.size() >= settings.max_connections) {
            // Closed unread: a runaway rig (or a scan) must not exhaust the file descriptors.
            refused.fetch_add(1, std::memory_order_relaxed);
            if (!refusing) {
                refusing = true;
                spdlog::warn("getwork: refusing connections: {} open (--max-connections; first refused: {})",
                             open.size(), remote);
            }
            socket.close(error);
            return;
        }
        refusing = false;
        server::HttpHandlers http;
        auto self = shared_from_this();
        http.on_request = [self, rig](std::string body, std::function<void(std::string)> respond) {
            self->handlers.on_request(rig, std::move(body), std::move(respond));
        };
        http.on_refusal = [self, rig, remote](server::HttpRefusal refusal) {
            spdlog::debug("{}: getwork: {}", remote, server::name(refusal));
            if (self->handlers.on_refusal) self->handlers.on_refusal(rig, refusal);
        };
        // Filled below, before start(): no handler runs before it.
        auto key = std::make_shared<const server::HttpConnection*>(nullptr);
        http.on_closed = [self, key] {
            std::lock_guard lock(self->mutex);
            self->open.erase(*key);
        };
        connection =
            std::make_shared<server::HttpConnection>(std::move(socket), settings.limits, std::move(http), remote);
        *key = connection.get();
        open.emplace(connection.get(), connection);
    }
    accepted.fetch_add(1, std::memory_order_relaxed);
    connection->start();
}

GetworkListener::GetworkListener(asio::io_context& io, ListenerSettings settings, ListenerHandlers handlers)
    : shared_(std::make_shared<Shared>(io, std::move(settings), std::move(handlers))) {}

GetworkListener::~GetworkListener() { stop(); }

std::string GetworkListener::listen() {
    const ListenerSettings& settings = shared_->settings;
    error_code error;
    const auto address = asio::ip::make_address(settings.host, error);
    if (error) return "--listen: \"" + settings.host + "\" is not an IP address";
    const tcp::endpoint endpoint(address, settings.port);
    // No handler of the acceptor is out yet: it may be used from this thread.
    tcp::acceptor& acceptor = shared_->acceptor;
    if (acceptor.is_open()) return "getwork: already listening";
    acceptor.open(endpoint.protocol(), error);
    if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor.bind(endpoint, error);
    if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
    tcp::endpoint bound;
    if (!error) bound = acceptor.local_endpoint(error);
    if (error) {
        error_code ignored;
        acceptor.close(ignored);
        return "cannot listen on " + endpoint_text(endpoint) + " (getwork): " + error.message();
    }
    shared_->port.store(bound.port());
    return "";
}

std::uint16_t GetworkListener::port() const { return shared_->port.load(); }

void GetworkListener::start() {
    asio::post(shared_->strand, [shared = shared_] {
        if (shared->acceptor.is_open()) shared->accept_next();
    });
}

void GetworkListener::stop() {
    std::vector<std::shared_ptr<server::HttpConnection>> open;
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

std::size_t GetworkListener::open_connections() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->open.size();
}

std::uint64_t GetworkListener::accepted_total() const { return shared_->accepted.load(std::memory_order_relaxed); }

std::uint64_t GetworkListener::refused_total() const { return shared_->refused.load(std::memory_order_relaxed); }

}  // namespace sharegate::proxy
