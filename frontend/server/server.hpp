// The stratum server: accepts connections, owns the pool state every session checks
// submits against (challenge, block, duplicates), the batcher and the Redis store, and
// runs until SIGINT/SIGTERM, then shuts down without losing an acknowledged share.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "redis/redis_store.hpp"
#include "server/asio.hpp"
#include "server/batcher.hpp"
#include "server/options.hpp"
#include "server/stats.hpp"
#include "sharegate/verifier.hpp"

namespace sharegate::server {

class Session;

class Server {
public:
    Server(Options options, Verifier& verifier);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Serves until a signal; returns the process exit code.
    int run();

    // For sessions (any thread).
    const Options& options() const { return options_; }
    std::optional<Bytes32> challenge() const;
    std::uint64_t block() const;
    std::optional<U256> mining_target() const;
    // False when this (challenge, nonce) was seen before in the current challenge.
    bool first_sighting(const Bytes32& challenge, const Bytes32& nonce);
    // Drops a share that failed its digest check from the duplicate set: only shares that
    // cost real work stay, so a flood of junk nonces cannot grow it (or stall every I/O
    // thread on its rehash); a resent junk share is simply judged again.
    void forget(const Bytes32& challenge, const Bytes32& nonce);
    // Logs "waiting for a challenge" once per period without one.
    void note_no_challenge();
    Batcher& batcher() { return batcher_; }
    redis::RedisStore& redis() { return redis_; }
    Stats& stats() { return stats_; }
    void remove_session(const Session* session);
    // Counts a connection closed for sending a line that is not JSON; returns how many
    // that address has had closed so far.
    std::uint64_t count_not_json(const std::string& address);

private:
    struct NonceKey {
        Bytes32 challenge;
        Bytes32 nonce;
        bool operator==(const NonceKey&) const = default;
    };
    struct NonceKeyHash {
        std::size_t operator()(const NonceKey& key) const;
    };

    void do_accept();
    void apply_snapshot(const redis::PoolSnapshot& snapshot);
    void set_block(std::uint64_t block);
    void set_challenge(const Bytes32& challenge);
    void on_var_diff(const redis::VarDiffUpdate& update);
    std::vector<std::shared_ptr<Session>> sessions();
    void schedule_stats();
    void log_stats();
    void shutdown();

    Options options_;
    Verifier& verifier_;
    Stats stats_;
    boost::asio::io_context io_;
    boost::asio::strand<boost::asio::io_context::executor_type> accept_strand_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer accept_retry_timer_;
    boost::asio::steady_timer stats_timer_;
    Batcher batcher_;
    redis::RedisStore redis_;

    mutable std::mutex state_mutex_;
    std::optional<Bytes32> challenge_;
    std::uint64_t block_ = 0;
    std::optional<U256> mining_target_;
    bool warned_no_challenge_ = false;

    std::mutex seen_mutex_;
    std::unordered_set<NonceKey, NonceKeyHash> seen_;

    std::mutex not_json_mutex_;
    std::unordered_map<std::string, std::uint64_t> not_json_by_address_;

    std::mutex sessions_mutex_;
    std::unordered_map<const Session*, std::weak_ptr<Session>> sessions_;

    // Last values, for rates in the statistics line.
    struct Snapshot {
        std::uint64_t accepted = 0;
        std::array<std::uint64_t, static_cast<int>(Rejection::count)> rejected{};
        BatcherStats batcher;
        std::chrono::steady_clock::time_point at;
    } last_stats_;
};

}  // namespace sharegate::server
