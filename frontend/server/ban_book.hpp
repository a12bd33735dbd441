// Who is banned, and who is about to be: each address's recent conduct over a sliding
// window, the bans in force with their ends, and how often each address offended, so
// that a repeat offender's ban grows (10 min, 1 h, 24 h by default). The server checks
// banned() at accept (with Admission's caps), the sessions report every answered submit
// and every junk line through record(), and bans made by other instances on the same
// Redis come in through apply() (docs/operations.md).
//
// What counts against an address: a share refused as invalid (invalid digest, target
// not met, malformed parameters) and a submit over the rate limit, against its valid
// shares; and junk (a line that is not JSON, or too long). What never counts: stale
// shares, duplicates, low-difficulty shares, and invalid shares in the first seconds
// after a challenge change (a miner still finishing the old work). An allow-listed
// address is never recorded nor banned.
//
// Everything is bounded: at most `max_addresses` conduct records (least recently seen
// dropped first) and as many bans (expired ones, then the soonest to end, dropped first).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/admission.hpp"

namespace sharegate::server {

struct BanRules {
    std::chrono::seconds window{60};  // conduct is judged over the last this long
    std::size_t min_shares = 50;      // no ratio ban with fewer (valid + invalid) in the window
    unsigned invalid_percent = 50;    // ban when at least this share of them was invalid
    std::size_t junk_lines = 5;       // ban at this many junk lines in the window
    // The ban for a first, second, third... offence (the last repeats); empty: never ban.
    std::vector<std::chrono::seconds> ban_times{std::chrono::seconds(600), std::chrono::seconds(3600),
                                                std::chrono::seconds(86400)};
    std::chrono::seconds grace{5};  // after a challenge change, invalid shares do not count
    // How long an offence is remembered after its ban ends, for the next one's length.
    std::chrono::seconds offence_memory{std::chrono::hours(24)};
    std::size_t max_addresses = 65536;  // conduct records, and bans, held at most
    std::vector<Cidr> allow;            // never recorded, never banned
};

enum class Conduct {
    valid,         // an accepted share
    invalid,       // invalid digest, target not met, malformed parameters
    rate_limited,  // a submit over the connection's rate limit
    junk,          // a line that is not JSON, or too long
};

struct Ban {
    // What earned it, for the metrics: a ban made here is for one of the first two.
    enum class Cause : std::uint8_t { invalid_submits, junk_lines, elsewhere };
    IpAddress address;
    std::chrono::system_clock::time_point until;
    unsigned offence = 1;  // 1 for a first ban
    std::string reason;
    std::chrono::seconds length{0};  // for bans made here: how long it was made for
    Cause cause = Cause::elsewhere;
};

class BanBook {
public:
    using Clock = std::chrono::system_clock;

    explicit BanBook(BanRules rules);
    BanBook(const BanBook&) = delete;
    BanBook& operator=(const BanBook&) = delete;

    // All thread-safe.

    // Counts one act of `address`. When it tips the address's record over a threshold,
    // bans the address and returns that ban (once: while banned, nothing more is counted).
    std::optional<Ban> record(const IpAddress& address, Conduct conduct, Clock::time_point now);

    // The ban in force on `address` at `now`, if any.
    std::optional<Ban> banned(const IpAddress& address, Clock::time_point now) const;

    // Invalid shares do not count for `grace` from now.
    void challenge_changed(Clock::time_point now);

    // A ban from elsewhere (another instance, the operator). An `until` at or before `now`
    // lifts the ban and forgets the address's offences. True when it changed what this
    // instance enforces (a new ban, a later end, or a lift).
    bool apply(const Ban& ban, Clock::time_point now);

    bool allowed(const IpAddress& address) const;
    const BanRules& rules() const { return rules_; }
    std::size_t records_held() const;
    std::size_t bans_held() const;  // in force, or remembered offences
    std::size_t bans_in_force(Clock::time_point now) const;

    static constexpr std::size_t kBuckets = 6;  // the window slides in steps of window / kBuckets

private:
    struct Bucket {
        std::int64_t index = -1;  // which window / kBuckets step of the clock it counts
        std::uint32_t valid = 0;
        std::uint32_t invalid = 0;  // with rate-limited submits
        std::uint32_t junk = 0;
    };
    struct Record {
        std::array<Bucket, kBuckets> buckets{};
        std::list<IpAddress>::iterator lru;  // its place in lru_ (front: most recently seen)
    };
    struct Offender {
        Clock::time_point until;   // the ban ends (in the past: only the offence is remembered)
        Clock::time_point forget;  // the offence count is dropped after this
        unsigned offence = 0;
        std::string reason;
    };

    struct Offence {
        Ban::Cause cause;
        std::string reason;
    };
    std::optional<Offence> verdict(const Record& record, std::int64_t step) const;
    Ban ban_locked(const IpAddress& address, Offence offence, Clock::time_point now);
    void make_room_for_offender(Clock::time_point now);
    std::int64_t step_of(Clock::time_point now) const;

    const BanRules rules_;
    mutable std::mutex mutex_;
    std::unordered_map<IpAddress, Record, IpAddressHash> records_;
    std::list<IpAddress> lru_;
    std::unordered_map<IpAddress, Offender, IpAddressHash> offenders_;
    Clock::time_point grace_until_{};
};

// "10 min", "1 h", "24 h", "90 s": for logs and docs.
std::string describe_duration(std::chrono::seconds duration);

}  // namespace sharegate::server
