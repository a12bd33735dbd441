// The stratum server: accepts the connections its Admission lets in (the caps and the
// allow-list, checked before any read), keeps the session list, broadcasts new work,
// logs the statistics line, and runs until SIGINT/SIGTERM, then shuts down without losing
// an acknowledged share. It owns and wires the share path every session submits to: the
// pool's state, the ShareIntake, the batcher and the Redis store.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pool/pool_state.hpp"
#include "pool/share_intake.hpp"
#include "redis/redis_store.hpp"
#include "server/admin_endpoint.hpp"
#include "server/admission.hpp"
#include "server/asio.hpp"
#include "server/ban_book.hpp"
#include "server/batcher.hpp"
#include "server/durable_share_store.hpp"
#include "server/getwork_door.hpp"
#include "server/inline_verify_queue.hpp"
#include "server/io_threads.hpp"
#include "server/options.hpp"
#include "server/stats.hpp"
#include "sharegate/verifier.hpp"
#include "spool/spool.hpp"

namespace sharegate::server {

class Session;

class Server {
public:
    // `spool` (may be null: no spool) holds shares Redis does not take in time.
    Server(Options options, Verifier& verifier, std::unique_ptr<spool::Spool> spool = nullptr);
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
    BanBook& bans() { return bans_; }
    void remove_session(const Session* session);
    // A ban the BanBook just made here: logs it, closes the address's connections and
    // tells the other instances through Redis.
    void on_ban(const Ban& ban);
    // The admin endpoint's pages (server/server_metrics.cpp): the Prometheus text of every
    // metric, and whether a load balancer may send miners here (with why not).
    std::string metrics_page() const;
    struct Readiness {
        bool ready = false;
        std::vector<std::string> reasons;  // empty when ready
    };
    Readiness readiness() const;

    // True the first time `address` sends a PROXY header without being in --proxy (its
    // warning is logged once an address; the set is bounded).
    bool first_misdirected_proxy(const IpAddress& address);

private:
    // Sessions notified of a new challenge per turn of their I/O thread (notify_chunk).
    static constexpr std::size_t kNotifyChunk = 128;
    using SessionList = std::vector<std::shared_ptr<Session>>;
    // On the I/O thread every session of `sessions` lives on.
    void notify_chunk(std::shared_ptr<SessionList> sessions, std::size_t from);
    // The verify calls' counters of whichever of the two does the verifying.
    BatcherStats verify_stats() const { return verify_inline_ ? inline_verifier_.stats() : batcher_.stats(); }
    std::size_t verify_waiting() const { return verify_inline_ ? inline_verifier_.waiting() : batcher_.waiting(); }
    pool::VerifyQueue& verify_queue() {
        return verify_inline_ ? static_cast<pool::VerifyQueue&>(inline_verifier_) : batcher_;
    }
    // The two ports (Door, server/stats.hpp): stratum (a Session a connection) and
    // getwork (the GetworkDoor's).
    struct Listener;
    Listener& listener(Door door);
    bool listen(Door door, std::uint16_t port);
    void do_accept(Door door);
    void admit(boost::asio::ip::tcp::socket socket, Door door);
    void admit_through_proxy(boost::asio::ip::tcp::socket socket, const IpAddress& proxy, std::uint16_t proxy_port,
                             Door door);
    // The caps and the bans, for a miner's address (either door: one address, one count);
    // then a Session or a getwork connection.
    void admit_miner(boost::asio::ip::tcp::socket socket, const IpAddress& address, std::string remote,
                     std::string received, Door door);
    // A ban (or a lift) from Redis: made by another instance, by this one (its echo), or
    // by an operator.
    void on_pool_ban(const redis::BanRecord& record);
    void close_connections_of(const IpAddress& address, const std::string& why);
    void apply_snapshot(const redis::PoolSnapshot& snapshot);
    void set_block(std::uint64_t block);
    void set_challenge(const Bytes32& challenge);
    void on_var_diff(const redis::VarDiffUpdate& update);
    std::vector<std::shared_ptr<Session>> sessions();
    void schedule_stats();
    void log_stats();
    void log_totals();
    void shutdown();
    void replay_spool_before_accepting();
    bool verifier_failed_over() const;
    bool start_admin();

    Options options_;
    std::string instance_name_;  // host:port, the "by" of the bans this instance makes
    Verifier& verifier_;
    const std::string verifier_name_;    // as chosen at start, for the metrics' backend label
    const bool verify_inline_;           // on the I/O threads (--verify-on), else on the batcher's
    std::atomic<bool> stopping_{false};  // a signal came: /readyz says so while the rest drains
    Stats stats_;
    // Before io_threads_: the sessions its handlers hold release their slots here when
    // destroyed.
    Admission admission_;
    BanBook bans_;
    // Before io_threads_ too: its connections' handlers, destroyed with the contexts, tell it
    // they closed.
    // Made in the constructor's body (it reads options_), null with --getwork-port 0.
    std::unique_ptr<GetworkDoor> getwork_;
    pool::PoolState pool_state_;
    // The acceptors, their retry timers and their handlers live on io_threads_.main(), one
    // thread: no strand is needed to keep them apart.
    IoThreads io_threads_;
    struct Listener {
        boost::asio::ip::tcp::acceptor acceptor;
        boost::asio::steady_timer retry_timer;  // after an accept error (e.g. out of file descriptors)
    };
    Listener stratum_listener_;
    Listener getwork_listener_;
    boost::asio::steady_timer stats_timer_;
    Batcher batcher_;
    InlineVerifyQueue inline_verifier_;
    redis::RedisStore redis_;
    std::unique_ptr<spool::Spool> spool_;
    DurableShareStore share_store_;
    // Its callbacks run on the batcher's (or the I/O threads) and Redis's threads: ~Server
    // stops both first.
    pool::ShareIntake intake_;
    // Made by run() (null with --admin-listen off); its connections hold nothing of ours
    // but this object, and stop() closes them all before the I/O threads stop.
    std::unique_ptr<AdminEndpoint> admin_;

    std::mutex misdirected_proxy_mutex_;
    std::unordered_set<IpAddress, IpAddressHash> misdirected_proxies_;

    std::mutex sessions_mutex_;
    std::unordered_map<const Session*, std::weak_ptr<Session>> sessions_;

    // Last values, for rates in the statistics line.
    struct Snapshot {
        std::uint64_t accepted = 0;
        std::array<std::uint64_t, static_cast<int>(Rejection::count)> rejected{};
        BatcherStats batcher;
        std::uint64_t replayed = 0;  // spooled shares delivered
        std::uint64_t getwork_requests = 0;
        std::chrono::steady_clock::time_point at;
    } last_stats_;
};

}  // namespace sharegate::server
