#include "server/batcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

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

void Batcher::add(PendingShare share) {
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
        verify_all(working);
        working.clear();
    }
}

void Batcher::verify_all(std::vector<PendingShare>& shares) {
    // A flush may straddle a challenge change: one ShareBatch per challenge, in order of
    // first appearance (almost always just one).
    std::vector<std::size_t> order(shares.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return shares[a].challenge < shares[b].challenge; });

    ShareBatch batch;
    std::vector<Verdict> verdicts;
    std::size_t begin = 0;
    while (begin < order.size()) {
        std::size_t end = begin;
        const Bytes32& challenge = shares[order[begin]].challenge;
        while (end < order.size() && shares[order[end]].challenge == challenge) ++end;
        batch.reset(challenge, pool_);
        batch.reserve(end - begin);
        for (std::size_t k = begin; k < end; ++k) {
            const PendingShare& s = shares[order[k]];
            batch.add(s.nonce, s.digest, s.target);
        }
        verdicts.assign(batch.size(), Verdict::invalid_digest);
        bool ok = true;
        auto t0 = std::chrono::steady_clock::now();
        try {
            verifier_.verify(batch, verdicts);
        } catch (const std::exception& e) {
            ok = false;
            failures_.fetch_add(1, std::memory_order_relaxed);
            spdlog::error("verifier {} failed on a batch of {} shares: {}", verifier_.name(), batch.size(), e.what());
        }
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        verify_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
        batches_.fetch_add(1, std::memory_order_relaxed);
        shares_.fetch_add(batch.size(), std::memory_order_relaxed);
        if (histograms_.shares) histograms_.shares->observe(static_cast<double>(batch.size()));
        if (histograms_.seconds) histograms_.seconds->observe(static_cast<double>(ns) / 1e9);
        for (std::size_t k = begin; k < end; ++k) {
            std::optional<Verdict> verdict;
            if (ok) verdict = verdicts[k - begin];
            shares[order[k]].done(verdict);
        }
        unverified_.fetch_sub(end - begin, std::memory_order_relaxed);
        begin = end;
    }
}

BatcherStats Batcher::stats() const {
    return {batches_.load(std::memory_order_relaxed), shares_.load(std::memory_order_relaxed),
            verify_ns_.load(std::memory_order_relaxed), failures_.load(std::memory_order_relaxed)};
}

std::size_t Batcher::waiting() const { return unverified_.load(std::memory_order_relaxed); }

}  // namespace sharegate::server
