#include "server/ban_book.hpp"

#include <algorithm>
#include <utility>

namespace sharegate::server {

BanBook::BanBook(BanRules rules) : rules_(std::move(rules)) {}

bool BanBook::allowed(const IpAddress& address) const { return in_any(rules_.allow, address); }

std::int64_t BanBook::step_of(Clock::time_point now) const {
    const auto step_ms = std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(rules_.window).count() / std::int64_t{kBuckets});
    return std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() / step_ms;
}

std::optional<Ban> BanBook::record(const IpAddress& address, Conduct conduct, Clock::time_point now) {
    if (rules_.ban_times.empty() || allowed(address)) return std::nullopt;
    std::lock_guard lock(mutex_);
    if (auto offender = offenders_.find(address); offender != offenders_.end() && offender->second.until > now)
        return std::nullopt;  // banned already: its connections are being closed
    if (conduct == Conduct::invalid && now < grace_until_) return std::nullopt;

    auto it = records_.find(address);
    if (it == records_.end()) {
        if (records_.size() >= rules_.max_addresses && !lru_.empty()) {
            records_.erase(lru_.back());
            lru_.pop_back();
        }
        lru_.push_front(address);
        it = records_.emplace(address, Record{}).first;
        it->second.lru = lru_.begin();
    } else if (it->second.lru != lru_.begin()) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
    }

    const std::int64_t step = step_of(now);
    Bucket& bucket = it->second.buckets[static_cast<std::size_t>(step % std::int64_t{kBuckets})];
    if (bucket.index != step) bucket = Bucket{step};
    switch (conduct) {
        case Conduct::valid: ++bucket.valid; break;
        case Conduct::invalid:
        case Conduct::rate_limited: ++bucket.invalid; break;
        case Conduct::junk: ++bucket.junk; break;
    }
    std::optional<Offence> offence = verdict(it->second, step);
    if (!offence) return std::nullopt;
    // The slate is clean once the ban is served; only the offence is remembered.
    lru_.erase(it->second.lru);
    records_.erase(it);
    return ban_locked(address, std::move(*offence), now);
}

std::optional<BanBook::Offence> BanBook::verdict(const Record& record, std::int64_t step) const {
    std::uint64_t valid = 0, invalid = 0, junk = 0;
    for (const Bucket& bucket : record.buckets) {
        // Only the steps of the window; a bucket left from long ago counts nothing.
        if (bucket.index > step - std::int64_t{kBuckets} && bucket.index <= step) {
            valid += bucket.valid;
            invalid += bucket.invalid;
            junk += bucket.junk;
        }
    }
    const std::string window = describe_duration(rules_.window);
    if (junk >= rules_.junk_lines) {
        return Offence{Ban::Cause::junk_lines,
                       std::to_string(junk) + " lines that were not JSON or too long within " + window};
    }
    const std::uint64_t shares = valid + invalid;
    if (shares >= rules_.min_shares && invalid * 100 >= std::uint64_t{rules_.invalid_percent} * shares) {
        return Offence{Ban::Cause::invalid_submits, std::to_string(invalid) + " of " + std::to_string(shares) +
                                                        " submits invalid or over the rate limit within " + window};
    }
    return std::nullopt;
}

Ban BanBook::ban_locked(const IpAddress& address, Offence offence_made, Clock::time_point now) {
    auto it = offenders_.find(address);
    if (it != offenders_.end() && it->second.forget <= now) {
        offenders_.erase(it);
        it = offenders_.end();
    }
    if (it == offenders_.end()) {
        make_room_for_offender(now);
        it = offenders_.emplace(address, Offender{}).first;
    }
    Offender& offender = it->second;
    ++offender.offence;
    const std::size_t index = std::min<std::size_t>(offender.offence - 1, rules_.ban_times.size() - 1);
    offender.until = now + rules_.ban_times[index];
    offender.forget = offender.until + rules_.offence_memory;
    offender.reason = offence_made.reason;
    return Ban{
        address,           offender.until, offender.offence, std::move(offence_made.reason), rules_.ban_times[index],
        offence_made.cause};
}

// Called with the lock held, before adding an offender when the table may be full.
void BanBook::make_room_for_offender(Clock::time_point now) {
    if (offenders_.size() < rules_.max_addresses) return;
    std::erase_if(offenders_, [now](const auto& entry) { return entry.second.forget <= now; });
    if (offenders_.size() < rules_.max_addresses) return;
    // Still full: drop the remembered offence first, else the ban that ends soonest.
    auto victim = std::min_element(offenders_.begin(), offenders_.end(),
                                   [](const auto& a, const auto& b) { return a.second.until < b.second.until; });
    offenders_.erase(victim);
}

std::optional<Ban> BanBook::banned(const IpAddress& address, Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    auto it = offenders_.find(address);
    if (it == offenders_.end() || it->second.until <= now) return std::nullopt;
    return Ban{address, it->second.until, it->second.offence, it->second.reason, {}};
}

void BanBook::challenge_changed(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    grace_until_ = now + rules_.grace;
}

bool BanBook::apply(const Ban& ban, Clock::time_point now) {
    if (allowed(ban.address)) return false;
    std::lock_guard lock(mutex_);
    auto it = offenders_.find(ban.address);
    if (ban.until <= now) {
        // Lifted: the operator judged it a mistake, so its offences go too.
        if (it == offenders_.end()) return false;
        const bool was_banned = it->second.until > now;
        offenders_.erase(it);
        return was_banned;
    }
    if (it == offenders_.end()) {
        make_room_for_offender(now);
        it = offenders_.emplace(ban.address, Offender{}).first;
    }
    Offender& offender = it->second;
    const bool changed = ban.until > offender.until || offender.until <= now;
    offender.until = std::max(offender.until, ban.until);
    offender.offence = std::max(offender.offence, ban.offence);
    offender.forget = offender.until + rules_.offence_memory;
    if (changed) offender.reason = ban.reason;
    if (auto record = records_.find(ban.address); record != records_.end()) {
        lru_.erase(record->second.lru);
        records_.erase(record);
    }
    return changed;
}

std::size_t BanBook::records_held() const {
    std::lock_guard lock(mutex_);
    return records_.size();
}

std::size_t BanBook::bans_held() const {
    std::lock_guard lock(mutex_);
    return offenders_.size();
}

// A scrape's worth of work (at most --max-tracked-addresses entries), not a hot path.
std::size_t BanBook::bans_in_force(Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(offenders_.begin(), offenders_.end(),
                                                  [now](const auto& entry) { return entry.second.until > now; }));
}

std::string describe_duration(std::chrono::seconds duration) {
    const auto s = duration.count();
    if (s != 0 && s % 3600 == 0) return std::to_string(s / 3600) + " h";
    if (s != 0 && s % 60 == 0) return std::to_string(s / 60) + " min";
    return std::to_string(s) + " s";
}

}  // namespace sharegate::server
