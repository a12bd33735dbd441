#include "server/batcher.hpp"

#include <algorithm>

namespace sharegate::server {

Batcher::Batcher(Verifier& verifier, const Address& pool, std::size_t batch_size, std::chrono::microseconds window,
                 BatchHistograms histograms)
    : verifier_(verifier),
      pool_(pool),
      batch_size_(std::max<std::size_t>(1, batch_size)),
      window_(window),
      histograms_(histograms) {}

Batcher::~Batcher() { stop(); }

void Batcher::start() {
    thread_ = std::thread([this] { run(); });
}

void Batcher::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    stopped_ = true;  // also when the thread never started
}

void Batcher::add(PendingShare&& share) {
    bool notify = false;
    {
        std::unique_lock lock(mutex_);
        if (stopped_) {
            lock.unlock();
            share.done(std::nullopt);
            return;
        }
        if (pending_.empty()) {
            oldest_ = std::chrono::steady_clock::now();
            notify = true;  // the thread sleeps without a deadline while nothing waits
        }
        pending_.push_back(std::move(share));
        unverified_.fetch_add(1, std::memory_order_relaxed);
        if (pending_.size() >= batch_size_) notify = true;
    }
    if (notify) wake_.notify_one();
}

void Batcher::run() {
    std::vector<PendingShare> working;
    ShareBatch batch;
    std::vector<Verdict> verdicts;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            for (;;) {
                if (stopping_ || pending_.size() >= batch_size_) break;
                if (pending_.empty()) {
                    wake_.wait(lock);
                    continue;
                }
                auto deadline = oldest_ + window_;
                if (std::chrono::steady_clock::now() >= deadline) break;
                wake_.wait_until(lock, deadline);
            }
            if (pending_.empty() && stopping_) {
                stopped_ = true;  // from here on add() answers at once
                return;
            }
            working.swap(pending_);
        }
        const std::size_t n = working.size();
        verify_shares(verifier_, pool_, working, counters_, histograms_, batch, verdicts);
        unverified_.fetch_sub(n, std::memory_order_relaxed);
        working.clear();
    }
}

BatcherStats Batcher::stats() const { return counters_.read(); }

std::size_t Batcher::waiting() const { return unverified_.load(std::memory_order_relaxed); }

}  // namespace sharegate::server
