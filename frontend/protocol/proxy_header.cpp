#include "protocol/proxy_header.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

namespace sharegate::protocol {

namespace {

using Status = ProxyHeader::Status;
using Ipv6Bytes = std::array<std::uint8_t, 16>;

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::uint8_t kV2CommandLocal = 0x0;
constexpr std::uint8_t kV2CommandProxy = 0x1;
constexpr std::uint8_t kFamilyUnspec = 0x0;
constexpr std::uint8_t kFamilyInet = 0x1;
constexpr std::uint8_t kFamilyInet6 = 0x2;
constexpr std::uint8_t kFamilyUnix = 0x3;
constexpr std::uint8_t kTransportUnspec = 0x0;
constexpr std::uint8_t kTransportDgram = 0x2;
// The longest text form of an IPv6 address (with a dotted-quad tail), INET6_ADDRSTRLEN - 1.
constexpr std::size_t kMaxIpv6TextBytes = 45;

ProxyHeader need_more(int version) {
    ProxyHeader header;
    header.version = version;
    return header;
}

ProxyHeader malformed(int version, std::string why) {
    ProxyHeader header;
    header.status = Status::malformed;
    header.version = version;
    header.why = std::move(why);
    return header;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

Ipv6Bytes v4_mapped(const std::array<std::uint8_t, 4>& quad) {
    Ipv6Bytes bytes{};
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    std::copy(quad.begin(), quad.end(), bytes.begin() + 12);
    return bytes;
}

// ---- version 1 fields: each as a whole, and as a prefix that more bytes may complete ----

// A decimal number of at most max_digits without a leading zero (the spec forbids them,
// so that nobody reads an octal number), at most max_value.
std::optional<unsigned> parse_decimal(std::string_view text, std::size_t max_digits, unsigned max_value) {
    if (text.empty() || text.size() > max_digits || (text.size() > 1 && text[0] == '0')) return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (!is_digit(c)) return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > max_value) return std::nullopt;
    return value;
}

bool could_start_decimal(std::string_view text, std::size_t max_digits, unsigned max_value) {
    return text.empty() || parse_decimal(text, max_digits, max_value).has_value();
}

// Exactly four decimal quads in 0..255 separated by single dots.
std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view text) {
    std::array<std::uint8_t, 4> quad{};
    for (std::size_t part = 0; part < 4; ++part) {
        const std::size_t dot = text.find('.');
        if ((part < 3) == (dot == std::string_view::npos)) return std::nullopt;
        const auto value = parse_decimal(text.substr(0, dot), 3, 255);
        if (!value) return std::nullopt;
        quad[part] = static_cast<std::uint8_t>(*value);
        text = part < 3 ? text.substr(dot + 1) : std::string_view{};
    }
    return quad;
}

bool could_start_ipv4(std::string_view text) {
    std::size_t dots = 0;
    while (true) {
        const std::size_t dot = text.find('.');
        if (dot == std::string_view::npos) return could_start_decimal(text, 3, 255);
        if (++dots > 3 || !parse_decimal(text.substr(0, dot), 3, 255)) return false;
        text.remove_prefix(dot + 1);
    }
}

// Colon-separated groups of one to four hex digits, the last of which may be a dotted
// quad (two groups). Appends to words; false if malformed or past eight groups.
bool parse_ipv6_groups(std::string_view text, bool may_end_in_quad, std::array<std::uint16_t, 8>& words,
                       std::size_t& count) {
    while (true) {
        const std::size_t colon = text.find(':');
        const std::string_view group = text.substr(0, colon);
        if (colon == std::string_view::npos && may_end_in_quad && group.find('.') != std::string_view::npos) {
            const auto quad = parse_ipv4(group);
            if (!quad || count + 2 > words.size()) return false;
            words[count++] = static_cast<std::uint16_t>((*quad)[0] << 8 | (*quad)[1]);
            words[count++] = static_cast<std::uint16_t>((*quad)[2] << 8 | (*quad)[3]);
            return true;
        }
        if (group.empty() || group.size() > 4 || count == words.size()) return false;
        std::uint16_t word = 0;
        for (char c : group) {
            const int digit = hex_value(c);
            if (digit < 0) return false;
            word = static_cast<std::uint16_t>(word << 4 | digit);
        }
        words[count++] = word;
        if (colon == std::string_view::npos) return true;
        text.remove_prefix(colon + 1);
    }
}

// RFC 4291 text: eight groups, or fewer around one "::"; an IPv4 tail is allowed, as
// inet_ntop writes a v4-mapped address (::ffff:10.0.0.1).
std::optional<Ipv6Bytes> parse_ipv6(std::string_view text) {
    if (text.size() > kMaxIpv6TextBytes) return std::nullopt;
    std::array<std::uint16_t, 8> head{};
    std::array<std::uint16_t, 8> tail{};
    std::size_t head_count = 0;
    std::size_t tail_count = 0;
    const std::size_t gap = text.find("::");
    if (gap == std::string_view::npos) {
        if (!parse_ipv6_groups(text, true, head, head_count) || head_count != 8) return std::nullopt;
    } else {
        const std::string_view before = text.substr(0, gap);
        const std::string_view after = text.substr(gap + 2);
        if (after.find("::") != std::string_view::npos) return std::nullopt;
        if (!before.empty() && !parse_ipv6_groups(before, false, head, head_count)) return std::nullopt;
        if (!after.empty() && !parse_ipv6_groups(after, true, tail, tail_count)) return std::nullopt;
        // "::" stands for at least one group of zeros.
        if (head_count + tail_count > 7) return std::nullopt;
    }
    Ipv6Bytes bytes{};
    auto put = [&bytes](std::size_t index, std::uint16_t word) {
        bytes[2 * index] = static_cast<std::uint8_t>(word >> 8);
        bytes[2 * index + 1] = static_cast<std::uint8_t>(word & 0xff);
    };
    for (std::size_t i = 0; i < head_count; ++i) put(i, head[i]);
    for (std::size_t i = 0; i < tail_count; ++i) put(8 - tail_count + i, tail[i]);
    return bytes;
}

// Loose on purpose (a prefix that passes may still never complete): it only has to stop
// what plainly is not an address; the whole field is checked once its CRLF arrives.
bool could_start_ipv6(std::string_view text) {
    if (text.size() > kMaxIpv6TextBytes || text.find(":::") != std::string_view::npos) return false;
    const std::size_t gap = text.find("::");
    if (gap != std::string_view::npos && text.find("::", gap + 1) != std::string_view::npos) return false;
    if (text.size() >= 2 && text[0] == ':' && text[1] != ':') return false;
    const std::size_t last_colon = text.rfind(':');
    const std::string_view head =
        last_colon == std::string_view::npos ? std::string_view{} : text.substr(0, last_colon);
    const std::string_view last = last_colon == std::string_view::npos ? text : text.substr(last_colon + 1);
    if (head.find('.') != std::string_view::npos) return false;
    for (std::size_t start = 0; start < head.size();) {
        const std::size_t end = std::min(head.find(':', start), head.size());
        if (end - start > 4) return false;
        for (std::size_t i = start; i < end; ++i)
            if (hex_value(head[i]) < 0) return false;
        start = end + 1;
    }
    if (last.find('.') != std::string_view::npos) return could_start_ipv4(last);
    if (last.size() > 4) return false;
    return std::all_of(last.begin(), last.end(), [](char c) { return hex_value(c) >= 0; });
}

enum class V1Family { tcp4, tcp6 };

std::optional<Ipv6Bytes> parse_v1_address(V1Family family, std::string_view text) {
    if (family == V1Family::tcp6) return parse_ipv6(text);
    const auto quad = parse_ipv4(text);
    if (!quad) return std::nullopt;
    return v4_mapped(*quad);
}

bool could_start_v1_address(V1Family family, std::string_view text) {
    return family == V1Family::tcp4 ? could_start_ipv4(text) : could_start_ipv6(text);
}

// The fields after "PROXY " of one line without its CRLF. whole: the CRLF has arrived, so
// the line must be complete; otherwise more bytes may still follow and only what is
// already there must fit.
ProxyHeader parse_v1_fields(std::string_view fields, bool whole, std::size_t length) {
    constexpr std::string_view kUnknown = "UNKNOWN";
    const std::size_t family_end = fields.find(' ');
    const std::string_view family_name = fields.substr(0, family_end);
    if (family_name == kUnknown) {
        // The spec: the receiver ignores whatever follows "UNKNOWN" up to the CRLF.
        if (!whole) return need_more(1);
        ProxyHeader header = need_more(1);
        header.status = Status::complete;
        header.length = length;
        return header;
    }
    if (family_name != "TCP4" && family_name != "TCP6") {
        const bool could_grow =
            family_end == std::string_view::npos && !whole &&
            (std::string_view("TCP4").starts_with(family_name) || std::string_view("TCP6").starts_with(family_name) ||
             kUnknown.starts_with(family_name));
        return could_grow ? need_more(1) : malformed(1, "unknown protocol family");
    }
    const V1Family family = family_name == "TCP4" ? V1Family::tcp4 : V1Family::tcp6;
    if (family_end == std::string_view::npos) return whole ? malformed(1, "no source address") : need_more(1);

    // Source address, destination address, source port, destination port: one space
    // before each, none after the last.
    static constexpr const char* kFieldNames[] = {"source address", "destination address", "source port",
                                                  "destination port"};
    ProxyHeader header = need_more(1);
    std::string_view rest = fields.substr(family_end + 1);
    for (std::size_t field = 0; field < 4; ++field) {
        const std::size_t space = rest.find(' ');
        const std::string_view text = rest.substr(0, space);
        const bool last_so_far = space == std::string_view::npos;
        const std::string name = kFieldNames[field];
        if (last_so_far && !whole) {
            const bool fits = field < 2 ? could_start_v1_address(family, text) : could_start_decimal(text, 5, 65535);
            return fits ? need_more(1) : malformed(1, "bad " + name);
        }
        if (text.empty()) return malformed(1, (last_so_far ? "no " : "two spaces before the ") + name);
        if (field < 2) {
            const auto address = parse_v1_address(family, text);
            if (!address) return malformed(1, "bad " + name);
            if (field == 0) header.source = *address;
        } else {
            const auto port = parse_decimal(text, 5, 65535);
            if (!port) return malformed(1, "bad " + name);
            if (field == 2) header.source_port = static_cast<std::uint16_t>(*port);
        }
        if (field == 3) {
            if (!last_so_far) return malformed(1, "extra field after the destination port");
            break;
        }
        if (last_so_far) return malformed(1, "no " + std::string(kFieldNames[field + 1]));
        rest.remove_prefix(space + 1);
    }
    header.status = Status::complete;
    header.length = length;
    header.has_source = true;
    return header;
}

ProxyHeader parse_v1(std::string_view data) {
    if (data.size() < kV1Prefix.size() || !data.starts_with(kV1Prefix))
        return kV1Prefix.starts_with(data) ? need_more(1) : malformed(0, "not a PROXY header");
    const std::string_view window = data.substr(0, kMaxProxyV1Bytes);
    const std::size_t end = window.find_first_of("\r\n");
    if (end == std::string_view::npos) {
        if (data.size() >= kMaxProxyV1Bytes) return malformed(1, "no CRLF within 107 bytes");
        return parse_v1_fields(data.substr(kV1Prefix.size()), false, 0);
    }
    if (window[end] == '\n') return malformed(1, "LF without CR");
    if (end + 2 > kMaxProxyV1Bytes) return malformed(1, "no CRLF within 107 bytes");
    if (end + 1 < data.size() && data[end + 1] != '\n') return malformed(1, "CR without LF");
    const std::string_view line = data.substr(kV1Prefix.size(), end - kV1Prefix.size());
    ProxyHeader header = parse_v1_fields(line, true, end + 2);
    // Only the LF is missing: the line is complete and valid, or already malformed.
    if (end + 1 == data.size() && header.status == Status::complete) return need_more(1);
    return header;
}

// ---- version 2 ----

std::uint8_t byte_at(std::string_view data, std::size_t index) { return static_cast<std::uint8_t>(data[index]); }

ProxyHeader parse_v2(std::string_view data) {
    const std::size_t signature_seen = std::min(data.size(), kV2Signature.size());
    if (data.substr(0, signature_seen) != kV2Signature.substr(0, signature_seen))
        return malformed(0, "not a PROXY header");
    if (data.size() <= kV2Signature.size()) return need_more(2);

    const std::uint8_t version_command = byte_at(data, 12);
    if (version_command >> 4 != 2) return malformed(2, "version is not 2");
    const std::uint8_t command = version_command & 0x0f;
    if (command != kV2CommandLocal && command != kV2CommandProxy) return malformed(2, "unknown command");
    if (data.size() < 14) return need_more(2);

    // What the address block must hold, and whether it names the client. LOCAL (a
    // health check by the proxy itself) ignores the family byte, as the spec says.
    std::size_t address_bytes = 0;
    bool has_source = false;
    const std::uint8_t family = byte_at(data, 13) >> 4;
    const std::uint8_t transport = byte_at(data, 13) & 0x0f;
    if (command == kV2CommandProxy) {
        if (family > kFamilyUnix || transport > kTransportDgram)
            return malformed(2, "unknown address family or transport");
        if (family == kFamilyUnspec || transport == kTransportUnspec) {
            // Unspecified: the proxy could not say; use the connection's own address.
        } else if (transport == kTransportDgram) {
            return malformed(2, "a datagram (UDP) connection");
        } else if (family == kFamilyInet) {
            address_bytes = 12;
            has_source = true;
        } else if (family == kFamilyInet6) {
            address_bytes = 36;
            has_source = true;
        } else {
            address_bytes = 216;  // a UNIX stream: two 108-byte paths, no address to use
        }
    }
    if (data.size() < kProxyV2FixedBytes) return need_more(2);

    const std::size_t payload = std::size_t{byte_at(data, 14)} << 8 | byte_at(data, 15);
    if (payload > kMaxProxyV2PayloadBytes)
        return malformed(2, "length " + std::to_string(payload) + " over " + std::to_string(kMaxProxyV2PayloadBytes));
    if (payload < address_bytes) return malformed(2, "address block too short for its family");
    if (data.size() < kProxyV2FixedBytes + payload) return need_more(2);

    // Past the addresses come TLVs; the spec lets a receiver skip them, and this one has
    // no use for any.
    ProxyHeader header = need_more(2);
    header.status = Status::complete;
    header.length = kProxyV2FixedBytes + payload;
    header.has_source = has_source;
    const std::string_view addresses = data.substr(kProxyV2FixedBytes);
    if (has_source && family == kFamilyInet) {
        std::array<std::uint8_t, 4> quad{};
        for (std::size_t i = 0; i < 4; ++i) quad[i] = byte_at(addresses, i);
        header.source = v4_mapped(quad);
        header.source_port = static_cast<std::uint16_t>(byte_at(addresses, 8) << 8 | byte_at(addresses, 9));
    } else if (has_source) {
        for (std::size_t i = 0; i < 16; ++i) header.source[i] = byte_at(addresses, i);
        header.source_port = static_cast<std::uint16_t>(byte_at(addresses, 32) << 8 | byte_at(addresses, 33));
    }
    return header;
}

}  // namespace

ProxyHeader parse_proxy_header(std::string_view data) {
    if (data.empty()) return need_more(0);
    if (data[0] == kV1Prefix[0]) return parse_v1(data);
    if (data[0] == kV2Signature[0]) return parse_v2(data);
    return malformed(0, "not a PROXY header");
}

}  // namespace sharegate::protocol
