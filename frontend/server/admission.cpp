#include "server/admission.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

namespace sharegate::server {

namespace {

constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// A decimal number of at most `max`, no sign, no leading zero (so "08" is refused, not read as 8).
std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) {
    if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
    return value;
}

std::optional<std::uint32_t> parse_v4(std::string_view text) {
    std::uint32_t value = 0;
    for (int part = 0; part < 4; ++part) {
        const auto dot = text.find('.');
        if ((dot == std::string_view::npos) != (part == 3)) return std::nullopt;
        const auto octet = parse_decimal(text.substr(0, dot), 255);
        if (!octet) return std::nullopt;
        value = (value << 8) | *octet;
        text = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    }
    return value;
}

}  // namespace

// ---- addresses ----

IpAddress IpAddress::v4(std::uint32_t host_order) {
    IpAddress address;
    std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), address.bytes.begin());
    for (int i = 0; i < 4; ++i) address.bytes[12 + i] = static_cast<std::uint8_t>(host_order >> (24 - 8 * i));
    return address;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) {
    IpAddress address;
    address.bytes = bytes;
    return address;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.find(':') == std::string_view::npos) {
        auto value = parse_v4(text);
        if (!value) return std::nullopt;
        return v4(*value);
    }
    // inet_pton takes RFC 4291 text only (no zone, no brackets); it needs a terminated copy.
    if (text.size() > INET6_ADDRSTRLEN) return std::nullopt;
    char copy[INET6_ADDRSTRLEN + 1] = {};
    std::memcpy(copy, text.data(), text.size());
    IpAddress address;
    if (::inet_pton(AF_INET6, copy, address.bytes.data()) != 1) return std::nullopt;
    return address;
}

bool IpAddress::is_v4_mapped() const {
    return std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes.begin());
}

std::string IpAddress::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (is_v4_mapped()) {
        ::inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
    } else {
        ::inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
    }
    return text;
}

std::size_t IpAddressHash::operator()(const IpAddress& address) const {
    // FNV-1a: the keys are peers' addresses, spread enough without a keyed hash.
    std::uint64_t hash = 1469598103934665603ull;
    for (std::uint8_t byte : address.bytes) hash = (hash ^ byte) * 1099511628211ull;
    return static_cast<std::size_t>(hash);
}

// ---- ranges ----

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* why) {
    const auto refuse = [why](const char* reason) -> std::optional<Cidr> {
        if (why) *why = reason;
        return std::nullopt;
    };
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return refuse("expects ADDRESS/PREFIX");
    const std::string_view address_text = text.substr(0, slash);
    const bool is_v4 = address_text.find(':') == std::string_view::npos;
    auto address = IpAddress::parse(address_text);
    if (!address) return refuse(is_v4 ? "is not an IPv4 address before the /" : "is not an IPv6 address before the /");
    auto prefix = parse_decimal(text.substr(slash + 1), is_v4 ? 32 : 128);
    if (!prefix)
        return refuse(is_v4 ? "expects a prefix length from 0 to 32" : "expects a prefix length from 0 to 128");
    Cidr cidr;
    cidr.network = *address;
    cidr.prefix = *prefix + (is_v4 ? 96 : 0);
    // The host bits must be zero: 10.0.0.1/8 is a typo for a host or for a range.
    for (unsigned bit = cidr.prefix; bit < 128; ++bit) {
        if (cidr.network.bytes[bit / 8] & (0x80u >> (bit % 8))) return refuse("has bits set past its prefix");
    }
    return cidr;
}

bool Cidr::contains(const IpAddress& address) const {
    const unsigned whole = prefix / 8;
    if (!std::equal(network.bytes.begin(), network.bytes.begin() + whole, address.bytes.begin())) return false;
    const unsigned rest = prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
    return (network.bytes[whole] & mask) == (address.bytes[whole] & mask);
}

std::string Cidr::to_string() const {
    if (network.is_v4_mapped() && prefix >= 96) return network.to_string() + "/" + std::to_string(prefix - 96);
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET6, network.bytes.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(prefix);
}

// ---- admission ----

std::string_view name(Admission::Verdict verdict) {
    switch (verdict) {
        case Admission::Verdict::admitted: return "admitted";
        case Admission::Verdict::over_address_cap: return "address cap";
        case Admission::Verdict::over_total_cap: return "total cap";
    }
    return "?";
}

std::size_t default_max_connections(std::uint64_t file_limit) {
    if (file_limit <= kReservedFds + 1) return 1;
    return static_cast<std::size_t>(std::min<std::uint64_t>(file_limit - kReservedFds, SIZE_MAX));
}

Admission::Admission(Limits limits, RefusalEpisode on_episode)
    : limits_(std::move(limits)), on_episode_(std::move(on_episode)) {}

bool in_any(const std::vector<Cidr>& ranges, const IpAddress& address) {
    for (const Cidr& range : ranges) {
        if (range.contains(address)) return true;
    }
    return false;
}

bool Admission::allowed(const IpAddress& address) const { return in_any(limits_.allow, address); }

Admission::Verdict Admission::admit(const IpAddress& address) {
    const bool exempt = allowed(address);
    Verdict verdict = Verdict::admitted;
    bool first_of_episode = false;
    std::size_t open = 0;
    {
        std::lock_guard lock(mutex_);
        if (open_total_ >= limits_.total) {
            // The total protects the process itself, so it is checked first and spares no one.
            verdict = Verdict::over_total_cap;
            first_of_episode = !refusing_total_;
            refusing_total_ = true;
            open = open_total_;
        } else if (exempt) {
            ++open_total_;
        } else {
            // Looked up without inserting: a refused address must not grow the map.
            auto found = by_address_.find(address);
            if (found != by_address_.end() && found->second.open >= limits_.per_address) {
                verdict = Verdict::over_address_cap;
                first_of_episode = !found->second.refusing;
                found->second.refusing = true;
                open = found->second.open;
            } else {
                if (found == by_address_.end()) found = by_address_.emplace(address, PerAddress{}).first;
                ++found->second.open;
                ++open_total_;
            }
        }
    }
    if (first_of_episode && on_episode_) {
        on_episode_(verdict, address, open, verdict == Verdict::over_total_cap ? limits_.total : limits_.per_address);
    }
    return verdict;
}

void Admission::release(const IpAddress& address) {
    const bool exempt = allowed(address);
    std::lock_guard lock(mutex_);
    if (open_total_ > 0) --open_total_;
    if (open_total_ < limits_.total) refusing_total_ = false;
    if (exempt) return;
    auto found = by_address_.find(address);
    if (found == by_address_.end()) return;
    if (--found->second.open == 0) {
        by_address_.erase(found);
    } else if (found->second.open < limits_.per_address) {
        found->second.refusing = false;
    }
}

std::size_t Admission::open_total() const {
    std::lock_guard lock(mutex_);
    return open_total_;
}

std::size_t Admission::open_from(const IpAddress& address) const {
    std::lock_guard lock(mutex_);
    auto found = by_address_.find(address);
    return found == by_address_.end() ? 0 : found->second.open;
}

std::size_t Admission::tracked_addresses() const {
    std::lock_guard lock(mutex_);
    return by_address_.size();
}

Admission::Slot& Admission::Slot::operator=(Slot&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = other.owner_;
        address_ = other.address_;
        other.owner_ = nullptr;
    }
    return *this;
}

void Admission::Slot::release() {
    if (owner_) std::exchange(owner_, nullptr)->release(address_);
}

}  // namespace sharegate::server
