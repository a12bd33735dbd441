// The stratum side of the load generator: connections that subscribe as miners and send
// their workload, each io thread running its own set of them (a Worker).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// After the standard headers: this Boost.Asio needs <utility> seen first.
#include <boost/asio.hpp>

#include "options.hpp"
#include "stats.hpp"
#include "workload.hpp"

namespace sharegate::loadgen {

struct Shared {
    Options opt;
    std::vector<Share> corpus;
    boost::asio::ip::tcp::endpoint endpoint;
    // --source and --honest-source, parsed: the local address each connection binds to.
    std::optional<boost::asio::ip::address> source, honest_source;
    std::atomic<bool> stopping{false};
    // Nothing is submitted until every connection has subscribed, so that connection
    // set-up (a SYN backlog, thousands of subscribes) is not measured as share latency.
    std::atomic<bool> measuring{false};
    std::atomic<int> subscribed{0};
    // Connections that will send nothing more and wait for nothing: when all are, the run is over.
    std::atomic<int> finished{0};
    std::int64_t start_ns = 0;
    // When the server first closed a subscribed flood connection (0: never), on now_ns()'s
    // clock: how long a defense took to cut the flooder.
    std::atomic<std::int64_t> first_disconnect_ns{0};
};

class Connection;

// One per thread: its own io_context, its connections, and the open-loop pacer.
class Worker {
public:
    explicit Worker(Shared& shared);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // A connection for miner number `index` (the honest miner when `honest`): it replays
    // `slice` of the corpus and sends at most `quota` submits. Returns the miner's address.
    std::string add(int index, bool honest, std::vector<const Share*> slice, std::uint64_t quota);
    ThreadStats& stats() { return stats_; }
    boost::asio::io_context& io() { return io_; }
    void run();

private:
    void schedule();
    void begin();
    void pace();

    Shared& shared_;
    boost::asio::io_context io_;
    boost::asio::steady_timer tick_;
    ThreadStats stats_;
    std::vector<std::shared_ptr<Connection>> conns_, honest_;
    std::int64_t begin_ns_ = 0;
    std::uint64_t issued_ = 0, honest_issued_ = 0;
    std::size_t rr_ = 0;
    std::vector<Connection*> touched_;
};

}  // namespace sharegate::loadgen
