// Verifies shares on the thread that hands them in: an I/O thread, in the groups a
// session hands in at once (the submits of one read, pool::ShareIntake::Group). With a
// CPU verifier a share then costs no hand-off to another thread and back: no lock, no
// wake-up of a batcher thread, no timed wait for a batch window, no post of its verdict
// to the session's thread. At a moderate load those hand-offs were most of a submit's CPU
// time (docs/performance.md, issue 18); under a flood the groups are as large as what a
// connection may have in flight, which is enough for the SIMD kernels' lanes.
//
// Only for verifiers that may run on several threads at once and return without waiting
// on others: the CPU kernels, for batches below their per-thread minimum (groups are
// verified at most kMaxGroupShares at a time, to stay below it). A device verifier
// belongs behind the Batcher, whose one thread gathers large batches.
#pragma once

#include <atomic>
#include <cstddef>

#include "pool/verify_queue.hpp"
#include "server/verify_step.hpp"

namespace sharegate::server {

class InlineVerifyQueue final : public pool::VerifyQueue {
public:
    // Verified at most this many at a time: below CpuVerifier's smallest split (64), so a
    // call never reaches its worker pool, which serves one caller at a time.
    static constexpr std::size_t kMaxGroupShares = 32;

    InlineVerifyQueue(Verifier& verifier, const Address& pool, BatchHistograms histograms = {});
    InlineVerifyQueue(const InlineVerifyQueue&) = delete;
    InlineVerifyQueue& operator=(const InlineVerifyQueue&) = delete;

    // Outside a hold: verified and answered at once, on the caller's thread. Within one:
    // kept until the outermost release().
    void add(pool::PendingShare&& share) override;
    std::size_t waiting() const override { return waiting_.load(std::memory_order_relaxed); }
    void hold() override;
    void release() override;

    // From here on add() answers nullopt at once (a share is no longer verified).
    void stop() { stopped_.store(true, std::memory_order_relaxed); }
    BatcherStats stats() const { return counters_.read(); }

private:
    void verify_held();

    // Read for every share by both I/O threads; the counters below, written by them, each
    // on lines of their own, so that a write does not take these lines from the other
    // thread's cache (false sharing).
    Verifier& verifier_;
    Address pool_;
    BatchHistograms histograms_;
    std::atomic<bool> stopped_{false};
    alignas(64) VerifyCounters counters_;
    alignas(64) std::atomic<std::size_t> waiting_{0};
};

}  // namespace sharegate::server
