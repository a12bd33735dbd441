// A TCP connection to a loopback port for the end-to-end test clients (line_client.hpp,
// http_client.hpp): optionally from a chosen source address, so that one test can be many
// peers (the whole of 127.0.0.0/8 is loopback), with Nagle off.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace sharegate_test {

// The connected socket, or -1. `source_address`: an IPv4 address such as 127.0.0.2; empty:
// the kernel's choice.
inline int connect_loopback(std::uint16_t port, const std::string& source_address = {}) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (!source_address.empty()) {
        // The port is chosen at connect, per destination: thousands of peers need not each
        // hold an ephemeral port of their own.
        int one = 1;
        ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in source{};
        source.sin_family = AF_INET;
        if (::inet_pton(AF_INET, source_address.c_str(), &source.sin_addr) != 1 ||
            ::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
            ::close(fd);
            return -1;
        }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

}  // namespace sharegate_test
