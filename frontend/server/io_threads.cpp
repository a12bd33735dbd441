#include "server/io_threads.hpp"

#include <algorithm>

namespace sharegate::server {

namespace asio = boost::asio;

// An io_context whose shutdown (destroying the handlers it still holds) can be called
// before any context is destroyed: see ~IoThreads.
class IoThreads::Context : public asio::io_context {
public:
    // Hint 1: run by exactly one thread (other threads only post to it).
    Context() : asio::io_context(1) {}
    using asio::execution_context::shutdown;
};

IoThreads::IoThreads(unsigned count) {
    const unsigned n = std::max(1u, count);
    contexts_.reserve(n);
    for (unsigned i = 0; i < n; ++i) contexts_.push_back(std::make_unique<Context>());
}

// A handler still queued on one context may own a connection that lives on another (the
// server's challenge fan-out on the first holds every session). Destroying the contexts
// one by one could then destroy a socket after its own context: so every context's
// handlers go first, while all the contexts still exist.
IoThreads::~IoThreads() {
    stop();
    for (auto& context : contexts_) context->shutdown();
}

asio::io_context& IoThreads::main() { return *contexts_.front(); }

asio::io_context& IoThreads::next() {
    return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoThreads::start() {
    for (auto& context : contexts_) {
        guards_.push_back(asio::make_work_guard(*context));
        threads_.emplace_back([&context = *context] { context.run(); });
    }
}

void IoThreads::stop() {
    guards_.clear();
    for (auto& context : contexts_) context->stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
}

}  // namespace sharegate::server
