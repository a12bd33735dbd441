// Work handed to an I/O thread by a thread that runs no io_context: Redis's command thread
// answering a flush's valid shares, the batcher's verifier thread. Posting each answer on
// its own costs, from such a thread, an allocation (asio recycles operation memory per
// I/O thread, and this thread has none), a turn of the I/O thread's scheduler lock and,
// when that thread sleeps, a wake-up; Redis answers a flush's shares in one burst, one
// post each. Here a burst goes into one list, and only the addition that finds the list
// not yet posted posts the one handler that runs it all: one post (in memory of the
// mailbox's own) and at most one wake-up a burst, and nothing allocated once the lists
// have grown to the largest burst.
//
// One mailbox an io_context, as an asio service: asio::use_service<ThreadMailbox>(context).
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "server/asio.hpp"
#include "server/handler_memory.hpp"
#include "sharegate/inline_function.hpp"

namespace sharegate::server {

class ThreadMailbox final : public boost::asio::io_context::service {
public:
    static boost::asio::io_context::id id;

    // What fits: a session's answer to a submit (the session, its reply ticket, the
    // request id, the error, the reply's style and when the submit arrived).
    static constexpr std::size_t kWorkCapacity = 128;
    using Work = InlineFunction<void(), kWorkCapacity>;

    explicit ThreadMailbox(boost::asio::io_context& context);

    // Any thread: `work` runs on the context's thread, after what that thread has queued
    // already, in the order of the add() calls.
    void add(Work work);

private:
    void shutdown() override;  // drops what was never run (it may hold sessions)
    void run_all();            // on the context's thread

    std::mutex mutex_;
    std::vector<Work> waiting_;  // guarded by mutex_
    bool posted_ = false;        // guarded by mutex_: run_all is queued and has not yet taken waiting_
    std::vector<Work> running_;  // the context's thread: the list being run, kept for its capacity
    // The one run_all queued at a time (posted_ says which thread owns the block: the
    // mutex orders the poster's allocation after the runner's release).
    HandlerMemory<80> post_memory_;
};

}  // namespace sharegate::server
