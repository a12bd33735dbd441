// Gathers shares from every session into batches for the verifier: one verifier thread
// flushes when enough shares wait or the oldest has waited long enough, so the cost of a
// verify call (and of waking a GPU) is spread over many shares. It is the verify queue
// pool::ShareIntake hands shares to.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "pool/verify_queue.hpp"
#include "server/verify_step.hpp"
#include "sharegate/share_batch.hpp"
#include "sharegate/verifier.hpp"

namespace sharegate::server {

using pool::PendingShare;

class Batcher final : public pool::VerifyQueue {
public:
    Batcher(Verifier& verifier, const Address& pool, std::size_t batch_size, std::chrono::microseconds window,
            BatchHistograms histograms = {});
    ~Batcher() override;
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    void start();
    // Verifies what is waiting, then joins the thread; later add()s answer nullopt at once.
    void stop();

    void add(PendingShare&& share) override;

    BatcherStats stats() const;
    // Added and not yet answered (waiting for a batch or in the one being verified).
    std::size_t waiting() const override;

private:
    void run();

    Verifier& verifier_;
    Address pool_;
    std::size_t batch_size_;
    std::chrono::microseconds window_;
    BatchHistograms histograms_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    // Double buffer: sessions fill pending_ while the thread verifies the other vector.
    std::vector<PendingShare> pending_;
    std::chrono::steady_clock::time_point oldest_{};
    bool stopping_ = false;
    bool stopped_ = false;
    std::thread thread_;

    std::atomic<std::size_t> unverified_{0};
    VerifyCounters counters_;
};

}  // namespace sharegate::server
