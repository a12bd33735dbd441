// The PROXY protocol header (HAProxy's doc/proxy-protocol.txt, versions 1 and 2) that a
// load balancer puts before the first byte of a connection, naming the client it relays.
// A pure parser over the bytes received so far: it says whether they hold a complete
// header, may still become one, or never can. No sockets here; server/proxy_handshake.hpp
// reads the bytes.
//
// Strict, as the spec asks ("any sequence which does not exactly match the protocol must
// be discarded"): anything that is not a prefix of a valid header is malformed as soon as
// the byte that breaks it arrives, so a client that speaks stratum straight away is
// refused at its first byte rather than after a timeout.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sharegate::protocol {

// Version 1: one text line, at most 107 bytes with its CRLF (the spec's worst case).
inline constexpr std::size_t kMaxProxyV1Bytes = 107;
// Version 2: a 16-byte fixed part, then as many bytes as its length field says. The spec
// allows 65 535; HAProxy's addresses and TLVs take a few hundred at most (AF_UNIX: 216),
// so a longer header is refused rather than buffered.
inline constexpr std::size_t kProxyV2FixedBytes = 16;
inline constexpr std::size_t kMaxProxyV2PayloadBytes = 1024;
// The most bytes a header can take: a reader never needs to hold more to decide.
inline constexpr std::size_t kMaxProxyHeaderBytes = kProxyV2FixedBytes + kMaxProxyV2PayloadBytes;

struct ProxyHeader {
    enum class Status { need_more, complete, malformed };
    Status status = Status::need_more;
    std::size_t length = 0;  // bytes the header takes (complete only); the rest is stratum data
    // False for v1 "PROXY UNKNOWN", v2 LOCAL, v2 AF_UNSPEC and AF_UNIX: the connection's
    // own peer address stands.
    bool has_source = false;
    std::array<std::uint8_t, 16> source{};  // IPv6 form; IPv4 stored v4-mapped (::ffff:a.b.c.d)
    std::uint16_t source_port = 0;
    int version = 0;  // 1 or 2 once recognised
    std::string why;  // malformed: a few words for the log
};

// data: everything received on the connection so far, from its first byte.
ProxyHeader parse_proxy_header(std::string_view data);

}  // namespace sharegate::protocol
