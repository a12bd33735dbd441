#include "server/verify_step.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>

namespace sharegate::server {

namespace {

// Shares [begin, end) of `shares` that share one challenge: one verify call.
void verify_run(Verifier& verifier, const Address& pool, std::vector<pool::PendingShare>& shares,
                const std::vector<std::size_t>* order, std::size_t begin, std::size_t end, VerifyCounters& counters,
                const BatchHistograms& histograms, ShareBatch& batch, std::vector<Verdict>& verdicts) {
    auto at = [&](std::size_t k) -> pool::PendingShare& { return shares[order ? (*order)[k] : k]; };
    batch.reset(at(begin).challenge, pool);
    batch.reserve(end - begin);
    for (std::size_t k = begin; k < end; ++k) {
        const pool::PendingShare& s = at(k);
        batch.add(s.nonce, s.digest, s.target);
    }
    verdicts.assign(batch.size(), Verdict::invalid_digest);
    bool ok = true;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        verifier.verify(batch, verdicts);
    } catch (const std::exception& e) {
        ok = false;
        counters.failures.fetch_add(1, std::memory_order_relaxed);
        spdlog::error("verifier {} failed on a batch of {} shares: {}", verifier.name(), batch.size(), e.what());
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    counters.verify_ns.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
    counters.batches.fetch_add(1, std::memory_order_relaxed);
    counters.shares.fetch_add(batch.size(), std::memory_order_relaxed);
    if (histograms.shares) histograms.shares->observe(static_cast<double>(batch.size()));
    if (histograms.seconds) histograms.seconds->observe(static_cast<double>(ns) / 1e9);
    for (std::size_t k = begin; k < end; ++k) {
        std::optional<Verdict> verdict;
        if (ok) verdict = verdicts[k - begin];
        at(k).done(verdict);
    }
}

}  // namespace

void verify_shares(Verifier& verifier, const Address& pool, std::vector<pool::PendingShare>& shares,
                   VerifyCounters& counters, const BatchHistograms& histograms, ShareBatch& batch,
                   std::vector<Verdict>& verdicts) {
    if (shares.empty()) return;
    // The usual case, one challenge: no sorting (and no index vector to allocate).
    bool one_challenge = true;
    for (const auto& s : shares) one_challenge = one_challenge && s.challenge == shares.front().challenge;
    if (one_challenge) {
        verify_run(verifier, pool, shares, nullptr, 0, shares.size(), counters, histograms, batch, verdicts);
        return;
    }
    // A batch that straddles a challenge change: one verify call per challenge (ordered by
    // challenge; within one, as added).
    std::vector<std::size_t> order(shares.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return shares[a].challenge < shares[b].challenge; });
    std::size_t begin = 0;
    while (begin < order.size()) {
        std::size_t end = begin;
        while (end < order.size() && shares[order[end]].challenge == shares[order[begin]].challenge) ++end;
        verify_run(verifier, pool, shares, &order, begin, end, counters, histograms, batch, verdicts);
        begin = end;
    }
}

}  // namespace sharegate::server
