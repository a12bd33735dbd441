#include "server/var_diff_cache.hpp"

#include <algorithm>
#include <memory>
#include <utility>

namespace sharegate::server {

namespace asio = boost::asio;

VarDiffCache::VarDiffCache(asio::io_context& io, Lookup lookup, Settings settings)
    : io_(io), lookup_(std::move(lookup)), settings_(settings) {}

std::size_t VarDiffCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void VarDiffCache::get(const std::string& miner, Done done) {
    std::uint64_t known = 0;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(miner);
        if (it == entries_.end()) {
            make_room_locked();
            it = entries_.emplace(miner, Entry{}).first;
            recent_.push_front(miner);
            it->second.recent = recent_.begin();
        } else {
            touch_locked(it->second);
        }
        Entry& entry = it->second;
        const bool stale = entry.value && Clock::now() - entry.fetched >= settings_.refresh_after;
        if (entry.value) {
            // A stale value still answers at once; the refresh runs behind it.
            known = *entry.value;
            if (stale && !entry.looking_up) start_lookup_locked(miner, entry);
        } else {
            entry.waiting.push_back(std::move(done));
            if (!entry.looking_up) start_lookup_locked(miner, entry);
            return;
        }
    }
    done(known);
}

void VarDiffCache::update(const std::string& miner, std::uint64_t var_diff) {
    std::vector<Done> waiting;
    const std::uint64_t value = std::max(var_diff, settings_.minimum);
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(miner);
        if (it == entries_.end()) return;  // not a getwork miner here: nothing to keep
        it->second.value = value;
        it->second.fetched = Clock::now();
        waiting.swap(it->second.waiting);
    }
    for (auto& done : waiting) done(value);
}

void VarDiffCache::start_lookup_locked(const std::string& miner, Entry& entry) {
    entry.looking_up = true;
    const std::uint64_t generation = ++entry.generation;
    // The wait: a first lookup Redis does not answer in time gets the default.
    auto timer = std::make_shared<asio::steady_timer>(io_, settings_.wait);
    timer->async_wait([this, miner, generation, timer](const boost::system::error_code& error) {
        if (!error) finish(miner, generation, std::nullopt, /*timed_out=*/true);
    });
    // Outside the lock: the lookup may answer at once on this thread.
    asio::post(io_, [this, miner, generation, timer] {
        lookup_(miner, [this, miner, generation, timer](std::optional<std::uint64_t> var_diff) {
            asio::post(io_, [this, miner, generation, timer, var_diff] {
                timer->cancel();
                finish(miner, generation, var_diff, /*timed_out=*/false);
            });
        });
    });
}

void VarDiffCache::finish(const std::string& miner, std::uint64_t generation, std::optional<std::uint64_t> var_diff,
                          bool timed_out) {
    std::vector<Done> waiting;
    std::uint64_t value = 0;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(miner);
        if (it == entries_.end()) return;
        Entry& entry = it->second;
        const bool current = entry.looking_up && entry.generation == generation;
        if (timed_out) {
            if (!current) return;
            // Redis is slow or away: a value known before stays; a new miner gets the
            // default for now. Either is asked again after retry_after (not at once: an
            // outage would queue a lookup a request); the lookup still queued applies its
            // answer whenever it comes.
            if (!entry.value) entry.value = std::max(settings_.when_unknown, settings_.minimum);
            entry.fetched = Clock::now() - settings_.refresh_after + settings_.retry_after;
            value = *entry.value;
        } else {
            // The answer of an older lookup while a newer one runs: the newer one decides.
            if (entry.looking_up && !current) return;
            value = std::max(var_diff.value_or(settings_.minimum), settings_.minimum);
            entry.value = value;
            entry.fetched = Clock::now();
        }
        if (current) {
            entry.looking_up = false;
            waiting.swap(entry.waiting);
        }
    }
    for (auto& done : waiting) done(value);
}

void VarDiffCache::touch_locked(Entry& entry) { recent_.splice(recent_.begin(), recent_, entry.recent); }

void VarDiffCache::make_room_locked() {
    // Each entry is looked at once at most: if all have callers waiting, the bound gives.
    for (std::size_t looked = 0, n = recent_.size(); entries_.size() >= settings_.max_entries && looked < n; ++looked) {
        auto it = entries_.find(recent_.back());
        // One with callers waiting stays: dropping it would lose their answers.
        if (it != entries_.end() && !it->second.waiting.empty()) {
            touch_locked(it->second);
            continue;
        }
        if (it != entries_.end()) entries_.erase(it);
        recent_.pop_back();
    }
}

}  // namespace sharegate::server
