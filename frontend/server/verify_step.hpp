// One verify call over shares that waited together, whoever gathered them (the batcher's
// thread, or an I/O thread verifying inline): grouped by challenge, verified, counted,
// and each share's done called with its verdict (nullopt when the verifier failed).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "metrics/histogram.hpp"
#include "pool/verify_queue.hpp"
#include "sharegate/address.hpp"
#include "sharegate/verifier.hpp"

namespace sharegate::server {

struct BatcherStats {
    std::uint64_t batches = 0;
    std::uint64_t shares = 0;
    std::uint64_t verify_ns = 0;  // time spent inside Verifier::verify
    std::uint64_t failures = 0;   // verify calls that threw
};

// Where each verify call is recorded for /metrics (either may be null): its shares and
// its duration.
struct BatchHistograms {
    metrics::Histogram* shares = nullptr;
    metrics::Histogram* seconds = nullptr;
};

// The counters behind BatcherStats, written from any thread.
struct VerifyCounters {
    std::atomic<std::uint64_t> batches{0}, shares{0}, verify_ns{0}, failures{0};
    BatcherStats read() const {
        return {batches.load(std::memory_order_relaxed), shares.load(std::memory_order_relaxed),
                verify_ns.load(std::memory_order_relaxed), failures.load(std::memory_order_relaxed)};
    }
};

// Verifies `shares` (one verify call per challenge among them, almost always one) and
// calls every share's done, in the order they were added within a challenge. `batch` and
// `verdicts` are scratch space the caller keeps between calls, so that a steady stream
// of batches allocates nothing once they have grown.
void verify_shares(Verifier& verifier, const Address& pool, std::vector<pool::PendingShare>& shares,
                   VerifyCounters& counters, const BatchHistograms& histograms, ShareBatch& batch,
                   std::vector<Verdict>& verdicts);

}  // namespace sharegate::server
