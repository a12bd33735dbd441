// Persistent worker threads for splitting one batch: waking a parked thread costs
// microseconds, starting one costs tens of them, and the server verifies many batches.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sharegate::host {

class WorkerPool {
public:
    // Starts workers - 1 threads; the caller of run() is the remaining worker.
    explicit WorkerPool(unsigned workers);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    unsigned workers() const { return static_cast<unsigned>(threads_.size()) + 1; }

    // Calls task(0 .. pieces-1), piece 0 on the calling thread, and returns when all are
    // done. pieces must not exceed workers(). One run at a time. If pieces throw, the first
    // exception is rethrown here, but only after every piece has finished with task.
    void run(unsigned pieces, const std::function<void(unsigned)>& task);

private:
    void work(unsigned index);

    std::vector<std::thread> threads_;
    std::mutex run_mutex_;  // serialises callers of run()
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(unsigned)>* task_ = nullptr;
    unsigned pieces_ = 0;
    unsigned remaining_ = 0;
    unsigned long generation_ = 0;
    std::exception_ptr failure_;  // the first exception a worker's piece threw in this run
    bool stopping_ = false;
};

}  // namespace sharegate::host
