// The proxy's getwork port: accepts the rigs' TCP connections, caps how many are open at
// once (past the cap a connection is closed at accept, before any byte is read), and runs
// each as the server's own HTTP/1.1 transport (server::HttpConnection: the same limits,
// deadlines and refusals as sharegate's getwork door, so a rig sees the same answers to
// the same bytes). It knows nothing of JSON-RPC: each POST body goes to the owner's
// on_request with the rig it came from, the peer's IP address, which is how the farm view
// tells rigs apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "server/asio.hpp"
#include "server/http_connection.hpp"

namespace sharegate::proxy {

struct ListenerSettings {
    std::string host = "0.0.0.0";  // an IP address literal
    std::uint16_t port = 8586;     // 0: an ephemeral port (see port())
    std::size_t max_connections = 1024;
    server::HttpLimits limits;
};

struct ListenerHandlers {
    // One POST body from `rig` (its IP address as text: "192.168.1.20", "fd00::7"); `respond`
    // as server::HttpHandlers::on_request's: exactly once, from any thread.
    std::function<void(const std::string& rig, std::string body, std::function<void(std::string)> respond)> on_request;
    // A request refused by the HTTP layer (counted by the owner); may be empty.
    std::function<void(const std::string& rig, server::HttpRefusal refusal)> on_refusal;
};

class GetworkListener {
public:
    // Every handler runs on strands of `io`.
    GetworkListener(boost::asio::io_context& io, ListenerSettings settings, ListenerHandlers handlers);
    ~GetworkListener();  // stop()

    GetworkListener(const GetworkListener&) = delete;
    GetworkListener& operator=(const GetworkListener&) = delete;

    // Binds and listens; "" or the reason it cannot, in one line ("cannot listen on
    // 0.0.0.0:8586: Address already in use"). Call once, before start().
    std::string listen();
    std::uint16_t port() const;  // the bound port; 0 before listen()

    // Starts accepting (the accept loop runs on the io_context's threads).
    void start();

    // Thread-safe, idempotent: no more accepts; every open connection reads nothing more,
    // writes the answers it owes and closes.
    void stop();

    // Thread-safe counters, for the statistics line and /metrics.
    std::size_t open_connections() const;
    std::uint64_t accepted_total() const;
    std::uint64_t refused_total() const;  // closed at accept: over --max-connections

private:
    struct Shared;  // what the connections' handlers share with the listener
    std::shared_ptr<Shared> shared_;
};

}  // namespace sharegate::proxy
