// Fuzz target: the PROXY protocol header parser (frontend/protocol/proxy_header.hpp), fed
// the first bytes of a connection. Invariants, whatever the bytes:
// - complete: version 1 or 2, length within the data and within kMaxProxyHeaderBytes (a
//   v1 line within 107 bytes, ending in CRLF; a v2 header at least its 16 fixed bytes);
//   no source named means none is filled in; a v1 source and port read back as the text
//   (the address as inet_pton reads it, the port as it is written);
// - need_more: fewer bytes than kMaxProxyHeaderBytes (a reader never holds more), no source;
// - malformed: a reason, no source;
// - incremental: the handshake re-parses what it has after every read, so every prefix of
//   the data must agree: need_more before a header completes and the same header after;
//   once malformed, malformed for every longer prefix (never a late acceptance);
// - deterministic.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "protocol/proxy_header.hpp"

namespace {

using sharegate::protocol::kMaxProxyHeaderBytes;
using sharegate::protocol::kMaxProxyV1Bytes;
using sharegate::protocol::parse_proxy_header;
using sharegate::protocol::ProxyHeader;
using Status = ProxyHeader::Status;

bool same(const ProxyHeader& a, const ProxyHeader& b) {
    return a.status == b.status && a.length == b.length && a.has_source == b.has_source && a.source == b.source &&
           a.source_port == b.source_port && a.version == b.version && a.why == b.why;
}

bool no_source(const ProxyHeader& header) {
    return !header.has_source && header.source == decltype(header.source){} && header.source_port == 0;
}

// The space-separated field `index` of a v1 line (0 is "PROXY").
std::string_view v1_field(std::string_view line, std::size_t index) {
    for (std::size_t i = 0; i < index; ++i) line.remove_prefix(line.find(' ') + 1);
    return line.substr(0, line.find(' '));
}

// A v1 TCP4/TCP6 source is what the C library reads in the text, and the port its digits.
void check_v1_source(std::string_view line, const ProxyHeader& header) {
    const std::string family(v1_field(line, 1));
    const std::string address(v1_field(line, 2));
    SHAREGATE_FUZZ_CHECK(family == "TCP4" || family == "TCP6");
    std::uint8_t expected[16] = {};
    if (family == "TCP4") {
        expected[10] = expected[11] = 0xff;
        SHAREGATE_FUZZ_CHECK(inet_pton(AF_INET, address.c_str(), expected + 12) == 1);
    } else {
        SHAREGATE_FUZZ_CHECK(inet_pton(AF_INET6, address.c_str(), expected) == 1);
    }
    for (std::size_t i = 0; i < 16; ++i) SHAREGATE_FUZZ_CHECK(header.source[i] == expected[i]);
    SHAREGATE_FUZZ_CHECK(std::to_string(header.source_port) == v1_field(line, 4));
}

void check_alone(std::string_view data, const ProxyHeader& header) {
    switch (header.status) {
        case Status::complete:
            SHAREGATE_FUZZ_CHECK(header.why.empty());
            SHAREGATE_FUZZ_CHECK(header.length > 0 && header.length <= data.size());
            SHAREGATE_FUZZ_CHECK(header.length <= kMaxProxyHeaderBytes);
            if (!header.has_source) SHAREGATE_FUZZ_CHECK(no_source(header));
            if (header.version == 1) {
                const std::string_view line = data.substr(0, header.length);
                SHAREGATE_FUZZ_CHECK(header.length <= kMaxProxyV1Bytes);
                SHAREGATE_FUZZ_CHECK(line.starts_with("PROXY ") && line.ends_with("\r\n"));
                SHAREGATE_FUZZ_CHECK(line.find_first_of("\r\n") == line.size() - 2);
                if (header.has_source) check_v1_source(line.substr(0, line.size() - 2), header);
            } else {
                SHAREGATE_FUZZ_CHECK(header.version == 2);
                SHAREGATE_FUZZ_CHECK(header.length >= 16);
                SHAREGATE_FUZZ_CHECK(data.starts_with(std::string_view("\r\n\r\n\0\r\nQUIT\n", 12)));
            }
            break;
        case Status::need_more:
            SHAREGATE_FUZZ_CHECK(data.size() < kMaxProxyHeaderBytes);
            if (header.version == 1) SHAREGATE_FUZZ_CHECK(data.size() < kMaxProxyV1Bytes);
            SHAREGATE_FUZZ_CHECK(header.why.empty() && header.length == 0 && no_source(header));
            break;
        case Status::malformed:
            SHAREGATE_FUZZ_CHECK(!header.why.empty() && header.length == 0 && no_source(header));
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const std::string_view data(reinterpret_cast<const char*>(bytes), size);
    const ProxyHeader header = parse_proxy_header(data);
    check_alone(data, header);
    SHAREGATE_FUZZ_CHECK(same(header, parse_proxy_header(data)));

    // Every prefix, as a reader that got the bytes one at a time would see them.
    bool malformed_before = false;
    for (std::size_t n = 0; n <= size; ++n) {
        const std::string_view prefix = data.substr(0, n);
        const ProxyHeader partial = parse_proxy_header(prefix);
        check_alone(prefix, partial);
        if (malformed_before) SHAREGATE_FUZZ_CHECK(partial.status == Status::malformed);
        malformed_before = partial.status == Status::malformed;
        switch (header.status) {
            case Status::complete:
                if (n < header.length) SHAREGATE_FUZZ_CHECK(partial.status == Status::need_more);
                if (n >= header.length) SHAREGATE_FUZZ_CHECK(same(partial, header));
                break;
            case Status::need_more: SHAREGATE_FUZZ_CHECK(partial.status == Status::need_more); break;
            case Status::malformed: SHAREGATE_FUZZ_CHECK(partial.status != Status::complete); break;
        }
    }
    return 0;
}
