#include "server/thread_mailbox.hpp"

#include <utility>

namespace sharegate::server {

namespace asio = boost::asio;

asio::io_context::id ThreadMailbox::id;

ThreadMailbox::ThreadMailbox(asio::io_context& context) : asio::io_context::service(context) {}

void ThreadMailbox::add(Work work) {
    {
        std::lock_guard lock(mutex_);
        waiting_.push_back(std::move(work));
        if (posted_) return;
        posted_ = true;
    }
    // On the concrete executor, which builds the operation with the handler's allocator.
    asio::post(get_io_context().get_executor(), with_memory(post_memory_, [this] { run_all(); }));
}

void ThreadMailbox::run_all() {
    {
        std::lock_guard lock(mutex_);
        running_.swap(waiting_);
        posted_ = false;
    }
    // What these add meanwhile waits for the next run_all, behind whatever is queued now.
    for (Work& work : running_) work();
    running_.clear();
}

void ThreadMailbox::shutdown() {
    std::vector<Work> waiting;
    {
        std::lock_guard lock(mutex_);
        waiting.swap(waiting_);
    }
    running_.clear();
}

}  // namespace sharegate::server
