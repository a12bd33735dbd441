#include "worker_pool.hpp"

#include <stdexcept>

namespace sharegate::host {

WorkerPool::WorkerPool(unsigned workers) {
    if (workers == 0) workers = 1;
    for (unsigned i = 1; i < workers; ++i) threads_.emplace_back([this, i] { work(i); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& thread : threads_) thread.join();
}

void WorkerPool::run(unsigned pieces, const std::function<void(unsigned)>& task) {
    if (pieces == 0) return;
    if (pieces > workers()) throw std::invalid_argument("WorkerPool::run: more pieces than workers");
    std::lock_guard serial(run_mutex_);
    if (pieces > 1) {
        std::lock_guard lock(mutex_);
        task_ = &task;
        pieces_ = pieces;
        remaining_ = pieces - 1;
        ++generation_;
    }
    if (pieces > 1) wake_.notify_all();
    std::exception_ptr failure;
    try {
        task(0);
    } catch (...) {
        failure = std::current_exception();
    }
    if (pieces > 1) {
        std::unique_lock lock(mutex_);
        done_.wait(lock, [this] { return remaining_ == 0; });
        task_ = nullptr;
        if (!failure) failure = failure_;
        failure_ = nullptr;
    }
    if (failure) std::rethrow_exception(failure);
}

void WorkerPool::work(unsigned index) {
    unsigned long seen = 0;
    for (;;) {
        const std::function<void(unsigned)>* task = nullptr;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            if (index < pieces_) task = task_;
        }
        if (task == nullptr) continue;  // this run needs fewer workers
        std::exception_ptr failure;
        try {
            (*task)(index);
        } catch (...) {
            failure = std::current_exception();
        }
        {
            std::lock_guard lock(mutex_);
            if (failure && !failure_) failure_ = failure;
            --remaining_;
        }
        done_.notify_one();
    }
}

}  // namespace sharegate::host
