// The varDiff of getwork miners. A stratum miner's varDiff is looked up once, at its
// subscribe, and kept by its session; a getwork miner has no session (it polls, often on a
// fresh connection, and may credit a different address with each submit), so its varDiff
// is kept here, by address: looked up in Redis on first sight (concurrent lookups of one
// miner share one query), kept current by the back-end's varDiff PUBLISHes (update()), and
// looked up again once older than the refresh age. While Redis cannot answer, a miner seen
// before keeps its last value and a new one gets the original's default (4000) after the
// same wait a stratum subscribe gets. Bounded: past max_entries the least recently used
// entries are dropped (they are looked up again when next needed).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/asio.hpp"

namespace sharegate::server {

class VarDiffCache {
public:
    using Clock = std::chrono::steady_clock;
    using Done = std::function<void(std::uint64_t var_diff)>;
    // The Redis query (RedisStore::miner_var_diff in the server; a fake in tests): answers
    // nullopt when the entry holds no usable varDiff, and may never answer (Redis down).
    using Lookup = std::function<void(const std::string& miner, std::function<void(std::optional<std::uint64_t>)>)>;

    struct Settings {
        std::uint64_t minimum = 1;                // the pool's minimum share difficulty
        std::uint64_t when_unknown = 4000;        // redis::kDefaultVarDiff
        std::chrono::milliseconds wait{2000};     // how long a first lookup may take
        std::chrono::seconds refresh_after{600};  // an entry older than this is looked up again
        // After a lookup Redis did not answer within the wait, the next is not sent before
        // this: a Redis outage must not queue a lookup for every request.
        std::chrono::seconds retry_after{10};
        std::size_t max_entries = 65536;
    };

    VarDiffCache(boost::asio::io_context& io, Lookup lookup, Settings settings);
    VarDiffCache(const VarDiffCache&) = delete;
    VarDiffCache& operator=(const VarDiffCache&) = delete;

    // The miner's varDiff ("0x" + lower case), at least the pool minimum. `done` runs at
    // once on the caller's thread when a fresh value is known, else later on an I/O thread.
    void get(const std::string& miner, Done done);
    // A varDiff the back-end announced (PUBLISH varDiff): applied if the miner is known.
    void update(const std::string& miner, std::uint64_t var_diff);

    std::size_t size() const;

private:
    struct Entry {
        std::optional<std::uint64_t> value;  // none until the first lookup answered
        Clock::time_point fetched;
        bool looking_up = false;
        std::uint64_t generation = 0;  // numbers lookups, so a late answer of an old one is ignored
        std::vector<Done> waiting;
        std::list<std::string>::iterator recent;  // its place in recent_
    };

    void start_lookup_locked(const std::string& miner, Entry& entry);
    void finish(const std::string& miner, std::uint64_t generation, std::optional<std::uint64_t> var_diff,
                bool timed_out);
    void touch_locked(Entry& entry);
    void make_room_locked();

    boost::asio::io_context& io_;
    const Lookup lookup_;
    const Settings settings_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    std::list<std::string> recent_;  // most recently used first
};

}  // namespace sharegate::server
