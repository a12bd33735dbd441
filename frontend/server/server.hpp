// The stratum server: accepts the connections its Admission lets in (the caps and the
// allow-list, checked before any read), keeps the session list, broadcasts new work,
// logs the statistics line, and runs until SIGINT/SIGTERM, then shuts down without losing
// an acknowledged share. It owns and wires the share path every session submits to: the
// pool's state, the ShareIntake, the batcher and the Redis store.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pool/pool_state.hpp"
#include "pool/share_intake.hpp"
#include "redis/redis_store.hpp"
#include "server/admission.hpp"
#include "server/asio.hpp"
#include "server/batcher.hpp"
#include "server/options.hpp"
#include "server/redis_share_store.hpp"
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
    pool::PoolState& pool() { return pool_state_; }
    pool::ShareIntake& intake() { return intake_; }
    redis::RedisStore& redis() { return redis_; }
    Stats& stats() { return stats_; }
    void remove_session(const Session* session);
    // Counts a connection closed for sending a line that is not JSON; returns how many
    // that address has had closed so far.
    std::uint64_t count_not_json(const std::string& address);

private:
    void do_accept();
    void admit(boost::asio::ip::tcp::socket socket);
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
    // Before io_: the sessions its handlers hold release their slots here when destroyed.
    Admission admission_;
    pool::PoolState pool_state_;
    boost::asio::io_context io_;
    boost::asio::strand<boost::asio::io_context::executor_type> accept_strand_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer accept_retry_timer_;
    boost::asio::steady_timer stats_timer_;
    Batcher batcher_;
    redis::RedisStore redis_;
    RedisShareStore share_store_;
    // Its callbacks run on the batcher's and Redis's threads: ~Server stops both first.
    pool::ShareIntake intake_;

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
