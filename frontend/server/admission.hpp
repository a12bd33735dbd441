// Who may open a connection, decided at accept before any byte is read: a cap on the
// connections one address holds open, a cap on all of them, and an allow-list of CIDR
// ranges exempt from the per-address cap. A connection that is refused never becomes a
// Session. The future ban list plugs in here too (Miningcore's design: one narrow check
// at accept). Every address is held in its IPv6 form, IPv4 as ::ffff:a.b.c.d, so that a
// dual-stack listener's view of an IPv4 peer matches an IPv4 range (docs/operations.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sharegate::server {

// An IPv4 or IPv6 address, IPv4 stored v4-mapped.
struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};

    // Dotted quad or RFC 4291 text, nothing else: no zone ("%eth0"), no prefix, no
    // shortened IPv4 ("10.1"), no leading zeros in a quad.
    static std::optional<IpAddress> parse(std::string_view text);
    static IpAddress v4(std::uint32_t host_order);
    static IpAddress v6(const std::array<std::uint8_t, 16>& bytes);

    bool is_v4_mapped() const;
    std::string to_string() const;  // IPv4 (mapped or not) as a dotted quad

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct IpAddressHash {
    std::size_t operator()(const IpAddress& address) const;
};

// A range such as 10.0.0.0/8 or ::1/128. An IPv4 range is the IPv6 range of its mapped
// addresses (prefix + 96), so ::ffff:10.0.0.1 is in 10.0.0.0/8 and ::/0 holds all of IPv4.
struct Cidr {
    IpAddress network;
    unsigned prefix = 0;  // in the IPv6 form: 96..128 for an IPv4 range

    // "ADDRESS/PREFIX" with both parts required and bits past the prefix zero
    // (10.0.0.1/8 is refused: it is a typo for a host or for a range). Nothing on
    // success, else why not, in a few words.
    static std::optional<Cidr> parse(std::string_view text, std::string* why = nullptr);

    bool contains(const IpAddress& address) const;
    std::string to_string() const;
};

// Whether any of `ranges` holds `address` (the allow-list, the proxies).
bool in_any(const std::vector<Cidr>& ranges, const IpAddress& address);

class Admission {
public:
    enum class Verdict { admitted, over_address_cap, over_total_cap };

    struct Limits {
        std::size_t per_address = 256;
        std::size_t total = 1;
        std::vector<Cidr> allow;  // exempt from the per-address cap, not from the total
    };

    // Called once at the first refusal of an episode, for an address or for the total; the
    // episode ends when that count drops below its cap again. `open` is what is held
    // open then, `cap` the cap it met. Runs outside the lock, on the accepting thread.
    using RefusalEpisode =
        std::function<void(Verdict verdict, const IpAddress& address, std::size_t open, std::size_t cap)>;

    Admission(Limits limits, RefusalEpisode on_episode);
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;

    // Thread-safe. Admitted: one connection of `address` is counted until release().
    Verdict admit(const IpAddress& address);
    void release(const IpAddress& address);

    bool allowed(const IpAddress& address) const;
    std::size_t open_total() const;
    std::size_t open_from(const IpAddress& address) const;
    std::size_t tracked_addresses() const;  // entries held: only addresses with connections open

    // One admitted connection's count, released once: by release() or on destruction.
    class Slot {
    public:
        Slot() = default;
        Slot(Admission& owner, const IpAddress& address) : owner_(&owner), address_(address) {}
        Slot(Slot&& other) noexcept : owner_(other.owner_), address_(other.address_) { other.owner_ = nullptr; }
        Slot& operator=(Slot&& other) noexcept;
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        ~Slot() { release(); }
        void release();

    private:
        Admission* owner_ = nullptr;
        IpAddress address_;
    };

private:
    struct PerAddress {
        std::size_t open = 0;
        bool refusing = false;  // an episode was reported and has not ended
    };

    const Limits limits_;
    const RefusalEpisode on_episode_;
    mutable std::mutex mutex_;
    std::size_t open_total_ = 0;
    bool refusing_total_ = false;
    std::unordered_map<IpAddress, PerAddress, IpAddressHash> by_address_;
};

// File descriptors kept back from the total cap for everything that is not a miner:
// Redis, the log, the listener, the future admin port.
constexpr std::size_t kReservedFds = 64;

// The total cap when none is configured: the file limit less kReservedFds (at least 1).
std::size_t default_max_connections(std::uint64_t file_limit);

// "admitted", "address cap", "total cap".
std::string_view name(Admission::Verdict verdict);

}  // namespace sharegate::server
