// The PROXY protocol parser (frontend/protocol/proxy_header.hpp) against the spec,
// HAProxy's doc/proxy-protocol.txt: what each version accepts, every malformed shape we
// could think of, and the incremental contract the handshake relies on (every prefix of a
// header needs more, anything that can no longer become one is malformed at once).
#include "protocol/proxy_header.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace sharegate_test {
namespace {

using sharegate::protocol::kMaxProxyHeaderBytes;
using sharegate::protocol::kMaxProxyV1Bytes;
using sharegate::protocol::parse_proxy_header;
using sharegate::protocol::ProxyHeader;
using Status = ProxyHeader::Status;
using Bytes16 = std::array<std::uint8_t, 16>;

const std::string kStratumLine =
    R"({"id":1,"method":"mining.subscribe","params":["0xB8f6A4f8C5D83a5CE4fc9D1c1bB7A5FAb07A2f9b","x"]})"
    "\n";

Bytes16 mapped(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return Bytes16{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

// A version 2 header: the signature, version/command, family/transport, the length of
// body and body itself.
std::string v2(std::uint8_t version_command, std::uint8_t family, const std::string& body) {
    std::string out("\r\n\r\n\0\r\nQUIT\n", 12);
    out += static_cast<char>(version_command);
    out += static_cast<char>(family);
    out += static_cast<char>(body.size() >> 8);
    out += static_cast<char>(body.size() & 0xff);
    return out + body;
}

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int value : values) out += static_cast<char>(value);
    return out;
}

// 192.168.0.1:56324 -> 10.0.0.2:9192
const std::string kV4Addresses = bytes({192, 168, 0, 1, 10, 0, 0, 2, 0xdc, 0x04, 0x23, 0xe8});
// 2001:db8::1:56324 -> 2001:db8::2:9192
const std::string kV6Addresses = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    1,    0x20, 0x01,
                                        0x0d, 0xb8, 0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0xdc, 0x04, 0x23, 0xe8});
const Bytes16 kV6Source{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

ProxyHeader complete(std::string_view data) {
    const ProxyHeader header = parse_proxy_header(data);
    EXPECT_EQ(header.status, Status::complete) << "why: " << header.why;
    return header;
}

void expect_malformed(std::string_view data, std::string_view reason_part = {}) {
    const ProxyHeader header = parse_proxy_header(data);
    EXPECT_EQ(header.status, Status::malformed) << testing::PrintToString(std::string(data));
    EXPECT_FALSE(header.why.empty());
    if (!reason_part.empty()) {
        EXPECT_NE(header.why.find(reason_part), std::string::npos) << header.why;
    }
}

// Every proper prefix of a valid header needs more bytes, and none of them claims a source.
void expect_every_prefix_needs_more(std::string_view header) {
    for (std::size_t size = 0; size < header.size(); ++size) {
        const ProxyHeader partial = parse_proxy_header(header.substr(0, size));
        EXPECT_EQ(partial.status, Status::need_more)
            << "prefix of " << size << " bytes: " << testing::PrintToString(std::string(header.substr(0, size)))
            << " why: " << partial.why;
        EXPECT_FALSE(partial.has_source);
    }
}

// ---- version 1 ----

TEST(ProxyV1, Tcp4) {
    const std::string line = "PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\r\n";
    const ProxyHeader header = complete(line);
    EXPECT_EQ(header.version, 1);
    EXPECT_EQ(header.length, line.size());
    EXPECT_TRUE(header.has_source);
    EXPECT_EQ(header.source, mapped(192, 168, 0, 1));
    EXPECT_EQ(header.source_port, 56324);
    expect_every_prefix_needs_more(line);
}

TEST(ProxyV1, Tcp4Extremes) {
    const std::string widest = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
    EXPECT_EQ(widest.size(), 56u);  // the spec's figure
    ProxyHeader header = complete(widest);
    EXPECT_EQ(header.source, mapped(255, 255, 255, 255));
    EXPECT_EQ(header.source_port, 65535);
    header = complete("PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n");
    EXPECT_EQ(header.source, mapped(0, 0, 0, 0));
    EXPECT_EQ(header.source_port, 0);
}

TEST(ProxyV1, Tcp6) {
    const std::string line = "PROXY TCP6 2001:db8::1 2001:db8::2 56324 9192\r\n";
    const ProxyHeader header = complete(line);
    EXPECT_EQ(header.version, 1);
    EXPECT_EQ(header.length, line.size());
    EXPECT_TRUE(header.has_source);
    EXPECT_EQ(header.source, kV6Source);
    EXPECT_EQ(header.source_port, 56324);
    expect_every_prefix_needs_more(line);
}

TEST(ProxyV1, Tcp6Forms) {
    // Eight full groups, mixed case: the longest form, 104 bytes as the spec counts.
    const std::string full =
        "PROXY TCP6 ffff:FFFF:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    EXPECT_EQ(full.size(), 104u);
    Bytes16 ones;
    ones.fill(0xff);
    EXPECT_EQ(complete(full).source, ones);
    expect_every_prefix_needs_more(full);
    EXPECT_EQ(complete("PROXY TCP6 :: ::1 1 2\r\n").source, Bytes16{});
    EXPECT_EQ(complete("PROXY TCP6 1:: ::1 1 2\r\n").source, (Bytes16{0, 1}));
    EXPECT_EQ(complete("PROXY TCP6 1:2:3:4:5:6:7:8 ::1 1 2\r\n").source,
              (Bytes16{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}));
    // "::" standing for one group, and a dotted tail as inet_ntop writes a mapped address.
    EXPECT_EQ(complete("PROXY TCP6 1:2:3:4:5:6:7:: ::1 1 2\r\n").source,
              (Bytes16{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0}));
    EXPECT_EQ(complete("PROXY TCP6 ::ffff:10.1.2.3 ::1 1 2\r\n").source, mapped(10, 1, 2, 3));
    expect_every_prefix_needs_more("PROXY TCP6 ::ffff:10.1.2.3 ::1 1 2\r\n");
}

TEST(ProxyV1, Unknown) {
    for (const std::string_view line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:: ffff:: 65535 65535\r\n",
                                        "PROXY UNKNOWN whatever the sender  likes\r\n"}) {
        const ProxyHeader header = complete(line);
        EXPECT_EQ(header.version, 1);
        EXPECT_EQ(header.length, line.size());
        EXPECT_FALSE(header.has_source);
        EXPECT_EQ(header.source, Bytes16{});
        EXPECT_EQ(header.source_port, 0);
        expect_every_prefix_needs_more(line);
    }
    // The spec's worst case: 107 bytes exactly.
    const std::string worst =
        "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 "
        "65535\r\n";
    ASSERT_EQ(worst.size(), kMaxProxyV1Bytes);
    EXPECT_EQ(complete(worst).length, kMaxProxyV1Bytes);
}

TEST(ProxyV1, FollowedByStratumTakesOnlyTheHeader) {
    const std::string line = "PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\r\n";
    const ProxyHeader header = complete(line + kStratumLine + kStratumLine);
    EXPECT_EQ(header.length, line.size());
    EXPECT_EQ(header.source, mapped(192, 168, 0, 1));
    // Stratum bytes past the 107th byte change nothing.
    EXPECT_EQ(complete(line + std::string(500, 'x')).length, line.size());
    EXPECT_EQ(complete("PROXY UNKNOWN\r\n" + kStratumLine).length, 15u);
}

TEST(ProxyV1, Malformed) {
    const std::string_view kValidTail = " 10.0.0.2 56324 9192\r\n";
    struct Case {
        std::string data;
        std::string_view reason;
    };
    const std::vector<Case> cases = {
        {"proxy TCP4 192.168.0.1 10.0.0.2 56324 9192\r\n", "not a PROXY header"},
        {"PROXY tcp4 192.168.0.1 10.0.0.2 56324 9192\r\n", "family"},
        {"PROXY TCP5 192.168.0.1 10.0.0.2 56324 9192\r\n", "family"},
        {"PROXY UDP4 192.168.0.1 10.0.0.2 56324 9192\r\n", "family"},
        {"PROXY unknown\r\n", "family"},
        {"PROXY UNKNOWNX\r\n", "family"},
        {"PROXY \r\n", "family"},
        {"PROXY\r\n", "not a PROXY header"},
        {"PROXY  TCP4 192.168.0.1 10.0.0.2 56324 9192\r\n", "family"},
        {"PROXY TCP4  192.168.0.1 10.0.0.2 56324 9192\r\n", "two spaces"},
        {"PROXY TCP4 192.168.0.1  10.0.0.2 56324 9192\r\n", "two spaces"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2  56324 9192\r\n", "two spaces"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 56324  9192\r\n", "two spaces"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192 \r\n", "extra field"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192 1\r\n", "extra field"},
        {"PROXY\tTCP4 192.168.0.1 10.0.0.2 56324 9192\r\n", "not a PROXY header"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 56324\r\n", "no destination port"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2\r\n", "no source port"},
        {"PROXY TCP4 192.168.0.1\r\n", "no destination address"},
        {"PROXY TCP4\r\n", "no source address"},
        {"PROXY TCP4 \r\n", "no source address"},
        // Addresses.
        {"PROXY TCP4 192.168.0.01" + std::string(kValidTail), "source address"},
        {"PROXY TCP4 192.168.000.1" + std::string(kValidTail), "source address"},
        {"PROXY TCP4 256.168.0.1" + std::string(kValidTail), "source address"},
        {"PROXY TCP4 1000.168.0.1" + std::string(kValidTail), "source address"},
        {"PROXY TCP4 192.168.0" + std::string(kValidTail), "source address"},
        {"PROXY TCP4 192.168.0.1.5" + std::string(kValidTail), "source address"},
        {"PROXY TCP4 192.168..1" + std::string(kValidTail), "source address"},
        {"PROXY TCP4 .192.168.0.1" + std::string(kValidTail), "source address"},
        {"PROXY TCP4 192.168.0.1." + std::string(kValidTail), "source address"},
        {"PROXY TCP4 -1.168.0.1" + std::string(kValidTail), "source address"},
        {"PROXY TCP4 192.168.0.1 010.0.0.2 56324 9192\r\n", "destination address"},
        {"PROXY TCP4 ::1 10.0.0.2 56324 9192\r\n", "source address"},
        {"PROXY TCP6 192.168.0.1 ::1 56324 9192\r\n", "source address"},
        {"PROXY TCP6 ::1 10.0.0.2 56324 9192\r\n", "destination address"},
        {"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 1::2::3 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 1:::2 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 12345::1 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 :1::1 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 1::1: ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 g::1 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 1:2:3:4:5:6:7:8:: ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 1.2.3.4:: ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 ::1.2.3.4:5 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 ::ffff:10.1.2.03 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "source address"},
        {"PROXY TCP6 [::1] ::1 1 2\r\n", "source address"},
        // Ports.
        {"PROXY TCP4 192.168.0.1 10.0.0.2 056324 9192\r\n", "source port"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 00 9192\r\n", "source port"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 65536 9192\r\n", "source port"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 99999 9192\r\n", "source port"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 -1 9192\r\n", "source port"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 +1 9192\r\n", "source port"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 0x10 9192\r\n", "source port"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 56324 09192\r\n", "destination port"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 56324 100000\r\n", "destination port"},
        // Line ends.
        {"PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\n", "LF without CR"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\rX", "CR without LF"},
        {"PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\r\r\n", "CR without LF"},
        {"PROXY TCP4 192.168.0.1\r\n10.0.0.2 56324 9192\r\n", "no destination address"},
        {"PROXY UNKNOWN\n", "LF without CR"},
        {"PROXY UNKNOWN\rX\r\n", "CR without LF"},
        // Not a PROXY header at all: refused at its first byte.
        {kStratumLine, "not a PROXY header"},
        {"{", "not a PROXY header"},
        {"GET / HTTP/1.1\r\n", "not a PROXY header"},
        {"PROXZ", "not a PROXY header"},
        {"PR0", "not a PROXY header"},
        {std::string(1, '\0'), "not a PROXY header"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(testing::PrintToString(c.data));
        expect_malformed(c.data, c.reason);
    }
}

TEST(ProxyV1, MalformedAsSoonAsTheBreakingByteArrives) {
    // Each is a valid header's prefix plus one byte that no header can have there.
    for (const std::string_view prefix : {
             "PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\r",  // anything but LF, a second CR too
             "PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192",    // a space: no field follows
             "PROXY TCP4 192.168.0.1 10.0.0.2 56324 ",        // a second space
             "PROXY TCP4 192.168.0.1 10.0.0.2 0",             // a digit after a lone 0
             "PROXY TCP4 192.168.0.1 10.0.0.2 6553",          // 6, making 65536
             "PROXY TCP4 192.168.0.1 10.0.0.",                // a dot: an empty quad
             "PROXY TCP4 25",                                 // 6, making 256
             "PROXY TCP4 1.2.3.4",                            // a fifth quad
             "PROXY TCP",                                     // not 4 or 6
             "PROXY TCP6 1::",                                // a third colon
             "PROXY TCP6 1234",                               // a fifth hex digit
         }) {
        SCOPED_TRACE(prefix);
        const ProxyHeader before = parse_proxy_header(prefix);
        EXPECT_EQ(before.status, Status::need_more) << before.why;
    }
    expect_malformed("PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\rA");
    expect_malformed("PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192 ");
    expect_malformed("PROXY TCP4 192.168.0.1 10.0.0.2 56324  ");
    expect_malformed("PROXY TCP4 192.168.0.1 10.0.0.2 01");
    expect_malformed("PROXY TCP4 192.168.0.1 10.0.0.2 65536");
    expect_malformed("PROXY TCP4 192.168.0.1 10.0.0..");
    expect_malformed("PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\r\r");
    expect_malformed("PROXY TCP4 256");
    expect_malformed("PROXY TCP4 1.2.3.4.");
    expect_malformed("PROXY TCP5");
    expect_malformed("PROXY TCP6 1:::");
    expect_malformed("PROXY TCP6 12345");
    // Only an LF may follow a CR, so the line before it must already be whole.
    EXPECT_EQ(parse_proxy_header("PROXY TCP4 192.168.0.1").status, Status::need_more);
    expect_malformed("PROXY TCP4 192.168.0.1\r", "no destination address");
}

TEST(ProxyV1, LengthLimit) {
    // The UNKNOWN line may carry anything, but its CRLF must come within 107 bytes.
    const std::string start = "PROXY UNKNOWN ";
    const std::string at_limit = start + std::string(kMaxProxyV1Bytes - start.size() - 2, 'x') + "\r\n";
    ASSERT_EQ(at_limit.size(), kMaxProxyV1Bytes);
    EXPECT_EQ(complete(at_limit).length, kMaxProxyV1Bytes);

    const std::string over = start + std::string(kMaxProxyV1Bytes - start.size() - 1, 'x') + "\r\n";
    expect_malformed(over, "107");
    // Malformed as soon as the 107th byte is not the LF, without waiting for more.
    expect_malformed(over.substr(0, kMaxProxyV1Bytes), "107");
    EXPECT_EQ(parse_proxy_header(over.substr(0, kMaxProxyV1Bytes - 1)).status, Status::need_more);
    expect_malformed(start + std::string(200, 'x'), "107");
    // A TCP6 line with addresses written too long for the limit.
    expect_malformed(
        "PROXY TCP6 0000:0000:0000:0000:0000:ffff:10.10.10.10 0000:0000:0000:0000:0000:ffff:10.10.10.10 65535 "
        "65535\r\n");
}

// ---- version 2 ----

TEST(ProxyV2, ProxyTcp4) {
    const std::string header_bytes = v2(0x21, 0x11, kV4Addresses);
    const ProxyHeader header = complete(header_bytes);
    EXPECT_EQ(header.version, 2);
    EXPECT_EQ(header.length, 28u);
    EXPECT_TRUE(header.has_source);
    EXPECT_EQ(header.source, mapped(192, 168, 0, 1));
    EXPECT_EQ(header.source_port, 56324);
    expect_every_prefix_needs_more(header_bytes);
}

TEST(ProxyV2, ProxyTcp6) {
    const std::string header_bytes = v2(0x21, 0x21, kV6Addresses);
    const ProxyHeader header = complete(header_bytes);
    EXPECT_EQ(header.version, 2);
    EXPECT_EQ(header.length, 52u);
    EXPECT_TRUE(header.has_source);
    EXPECT_EQ(header.source, kV6Source);
    EXPECT_EQ(header.source_port, 56324);
    expect_every_prefix_needs_more(header_bytes);
}

TEST(ProxyV2, TlvsAreSkipped) {
    // PP2_TYPE_ALPN "stratum", PP2_TYPE_NOOP of 0 bytes, PP2_TYPE_UNIQUE_ID of 128 bytes.
    const std::string tlvs =
        bytes({0x01, 0, 7}) + "stratum" + bytes({0x04, 0, 0}) + bytes({0x05, 0, 128}) + std::string(128, '\x5a');
    for (const auto& [family, addresses] : {std::pair{0x11, kV4Addresses}, std::pair{0x21, kV6Addresses}}) {
        const std::string header_bytes = v2(0x21, static_cast<std::uint8_t>(family), addresses + tlvs);
        const ProxyHeader header = complete(header_bytes + kStratumLine);
        EXPECT_EQ(header.length, 16 + addresses.size() + tlvs.size());
        EXPECT_TRUE(header.has_source);
        EXPECT_EQ(header.source_port, 56324);
        expect_every_prefix_needs_more(header_bytes);
    }
}

TEST(ProxyV2, LocalUsesThePeerAddress) {
    // A health check: no addresses, and the family byte ignored whatever it says.
    for (const std::string& header_bytes :
         {v2(0x20, 0x00, ""), v2(0x20, 0x11, kV4Addresses), v2(0x20, 0x11, ""), v2(0x20, 0xff, "abc")}) {
        const ProxyHeader header = complete(header_bytes + kStratumLine);
        EXPECT_EQ(header.version, 2);
        EXPECT_EQ(header.length, header_bytes.size());
        EXPECT_FALSE(header.has_source);
        EXPECT_EQ(header.source, Bytes16{});
        EXPECT_EQ(header.source_port, 0);
        expect_every_prefix_needs_more(header_bytes);
    }
}

TEST(ProxyV2, UnspecAndUnixUseThePeerAddress) {
    for (const std::string& header_bytes :
         {v2(0x21, 0x00, ""), v2(0x21, 0x00, kV4Addresses), v2(0x21, 0x10, kV4Addresses), v2(0x21, 0x01, ""),
          v2(0x21, 0x31, std::string(216, '/'))}) {
        const ProxyHeader header = complete(header_bytes);
        EXPECT_EQ(header.length, header_bytes.size());
        EXPECT_FALSE(header.has_source);
        expect_every_prefix_needs_more(header_bytes);
    }
}

TEST(ProxyV2, Malformed) {
    struct Case {
        std::string data;
        std::string_view reason;
    };
    std::string bad_signature = v2(0x21, 0x11, kV4Addresses);
    bad_signature[11] = 'X';
    const std::vector<Case> cases = {
        {bad_signature, "not a PROXY header"},
        {v2(0x11, 0x11, kV4Addresses), "version"},
        {v2(0x31, 0x11, kV4Addresses), "version"},
        {v2(0x01, 0x11, kV4Addresses), "version"},
        {v2(0x22, 0x11, kV4Addresses), "command"},
        {v2(0x2f, 0x11, kV4Addresses), "command"},
        {v2(0x21, 0x12, kV4Addresses), "UDP"},
        {v2(0x21, 0x22, kV6Addresses), "UDP"},
        {v2(0x21, 0x32, std::string(216, '/')), "UDP"},
        {v2(0x21, 0x41, kV4Addresses), "family"},
        {v2(0x21, 0x13, kV4Addresses), "family"},
        {v2(0x21, 0x11, kV4Addresses.substr(0, 11)), "too short"},
        {v2(0x21, 0x11, ""), "too short"},
        {v2(0x21, 0x21, kV6Addresses.substr(0, 35)), "too short"},
        {v2(0x21, 0x21, kV4Addresses), "too short"},
        {v2(0x21, 0x31, std::string(215, '/')), "too short"},
        {v2(0x21, 0x11, kV4Addresses + std::string(1024 - 12 + 1, '\0')), "over 1024"},
        {v2(0x20, 0x00, std::string(1025, '\0')), "over 1024"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(testing::PrintToString(c.data.substr(0, 16)));
        expect_malformed(c.data, c.reason);
    }
}

TEST(ProxyV2, MalformedWithoutWaitingForTheBody) {
    // The length field alone is enough to refuse: no need to receive what it announces.
    const std::string too_long = v2(0x21, 0x11, std::string(0xffff, '\0')).substr(0, 16);
    expect_malformed(too_long, "over 1024");
    expect_malformed(v2(0x21, 0x11, std::string(4, '\0')).substr(0, 16), "too short");
    // The version/command and family bytes are refused as they arrive.
    expect_malformed(v2(0x11, 0x11, kV4Addresses).substr(0, 13), "version");
    expect_malformed(v2(0x21, 0x12, kV4Addresses).substr(0, 14), "UDP");
    // A signature broken at any byte is refused at that byte.
    const std::string good = v2(0x21, 0x11, kV4Addresses);
    for (std::size_t at = 1; at < 12; ++at) {
        std::string broken = good.substr(0, at + 1);
        broken[at] = static_cast<char>(broken[at] ^ 0x40);
        expect_malformed(broken, "not a PROXY header");
    }
}

TEST(ProxyV2, LengthBound) {
    const std::string at_bound = v2(0x21, 0x11, kV4Addresses + std::string(1024 - 12, '\0'));
    ASSERT_EQ(at_bound.size(), kMaxProxyHeaderBytes);
    EXPECT_EQ(complete(at_bound).length, kMaxProxyHeaderBytes);
    EXPECT_EQ(parse_proxy_header(std::string_view(at_bound).substr(0, kMaxProxyHeaderBytes - 1)).status,
              Status::need_more);
}

TEST(ProxyHeader, EmptyNeedsMore) {
    const ProxyHeader header = parse_proxy_header("");
    EXPECT_EQ(header.status, Status::need_more);
    EXPECT_EQ(header.version, 0);
}

}  // namespace
}  // namespace sharegate_test
