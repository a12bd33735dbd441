// The I/O threads: one io_context per thread, each connection bound to one of them for its
// whole life (the model of Boost.Asio's "io_context per CPU" server example and of
// ckpool's connector threads). A connection's handlers all run on its context's one
// thread, so they need no strand: no strand mutex and no second trip through the
// scheduler per completion, and a completion that posts to its own thread stays in that
// thread's private queue (concurrency hint 1) instead of waking another. The price is that
// connections do not move between threads: they are dealt round-robin as they arrive.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "server/asio.hpp"

namespace sharegate::server {

class IoThreads {
public:
    explicit IoThreads(unsigned count);
    ~IoThreads();
    IoThreads(const IoThreads&) = delete;
    IoThreads& operator=(const IoThreads&) = delete;

    // Thread 0's: the server's own work (accepting, timers, Redis's events, the admin
    // endpoint) runs here, beside its share of the connections.
    boost::asio::io_context& main();
    // The context a new connection lives on: each in turn. Any thread.
    boost::asio::io_context& next();
    std::size_t size() const { return contexts_.size(); }

    // Starts the threads; each runs its context until stop(), even while it has no work.
    void start();
    // Stops every context and joins the threads (handlers not yet run stay queued until
    // the contexts are destroyed). Not from an I/O thread.
    void stop();

private:
    class Context;
    std::vector<std::unique_ptr<Context>> contexts_;
    std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> next_{0};
};

}  // namespace sharegate::server
