// Reading the PROXY protocol header (protocol/proxy_header.hpp) that a load balancer sends
// before the first stratum byte, so that caps and bans see the miner behind it rather
// than the balancer. The caller decides who must send one (the configured proxies); this
// only reads it, within a deadline, and hands the connection back.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "server/asio.hpp"

namespace sharegate::server {

struct ProxyHandshakeResult {
    bool ok = false;
    // The client the proxy relays; nullopt for LOCAL or UNKNOWN (a health check, or a
    // family it cannot name): use the connection's own peer address.
    std::optional<std::array<std::uint8_t, 16>> source;  // IPv6 form, IPv4 v4-mapped
    std::uint16_t source_port = 0;
    std::string leftover;  // bytes read past the header: the first stratum bytes, for the session
    // !ok: "malformed PROXY header: ...", "no PROXY header within N s", "closed before a
    // PROXY header", or the socket error.
    std::string why;
};

using ProxyHandshakeDone = std::function<void(boost::asio::ip::tcp::socket, ProxyHandshakeResult)>;

// Takes the socket and reads until the header is complete, malformed, the peer closes or
// the deadline passes; then calls done exactly once, on the socket's executor (never from
// inside this call), handing the socket back open whatever the outcome: closing it is the
// caller's decision. The socket is left in non-blocking mode, as Session wants it.
//
// Memory: a pending handshake holds only the bytes received so far (under
// kMaxProxyHeaderBytes while the header is incomplete); reads go through a per-thread
// buffer after a readiness wait, so an idle connection holds no read buffer. At most one
// read's worth past the header comes back as leftover; the rest stays in the socket.
void read_proxy_header(boost::asio::ip::tcp::socket socket, std::chrono::milliseconds deadline,
                       ProxyHandshakeDone done);

}  // namespace sharegate::server
