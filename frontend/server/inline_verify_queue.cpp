#include "server/inline_verify_queue.hpp"

#include <optional>
#include <utility>
#include <vector>

namespace sharegate::server {

namespace {

// One thread's state: what it holds for which queue, and its scratch space, which grows
// to the largest group once and is reused (no allocation a group after that).
struct ThreadGroup {
    const InlineVerifyQueue* owner = nullptr;
    unsigned depth = 0;
    std::vector<pool::PendingShare> held;
    std::vector<pool::PendingShare> verifying;
    ShareBatch batch;
    std::vector<Verdict> verdicts;
};

ThreadGroup& this_thread_group() {
    thread_local ThreadGroup group;
    return group;
}

}  // namespace

InlineVerifyQueue::InlineVerifyQueue(Verifier& verifier, const Address& pool, BatchHistograms histograms)
    : verifier_(verifier), pool_(pool), histograms_(histograms) {}

void InlineVerifyQueue::add(pool::PendingShare&& share) {
    if (stopped_.load(std::memory_order_relaxed)) return share.done(std::nullopt);
    ThreadGroup& group = this_thread_group();
    if (group.depth > 0 && group.owner != this) {
        // Within another queue's hold (two servers on one thread: tests only): its shares
        // are not this queue's to verify, so this one is verified alone, now.
        std::vector<pool::PendingShare> one;
        one.push_back(std::move(share));
        ShareBatch batch;
        std::vector<Verdict> verdicts;
        return verify_shares(verifier_, pool_, one, counters_, histograms_, batch, verdicts);
    }
    waiting_.fetch_add(1, std::memory_order_relaxed);
    group.held.push_back(std::move(share));
    // Outside a hold: a group of one, now. Within one: a group that reached the most a
    // verify call takes goes now, and the hold's later shares make the next.
    if (group.depth == 0 || group.held.size() >= kMaxGroupShares) verify_held();
}

void InlineVerifyQueue::hold() {
    ThreadGroup& group = this_thread_group();
    if (group.depth++ == 0) group.owner = this;
}

void InlineVerifyQueue::release() {
    ThreadGroup& group = this_thread_group();
    if (--group.depth > 0) return;
    group.owner = nullptr;
    verify_held();
}

void InlineVerifyQueue::verify_held() {
    ThreadGroup& group = this_thread_group();
    // A done may hand in more shares (a session answering may handle held lines): they
    // start a new group, so the one being verified is moved aside first.
    while (!group.held.empty()) {
        std::vector<pool::PendingShare> shares = std::move(group.verifying);
        shares.clear();
        shares.swap(group.held);
        const std::size_t n = shares.size();
        ShareBatch batch = std::move(group.batch);
        std::vector<Verdict> verdicts = std::move(group.verdicts);
        verify_shares(verifier_, pool_, shares, counters_, histograms_, batch, verdicts);
        waiting_.fetch_sub(n, std::memory_order_relaxed);
        shares.clear();
        group.verifying = std::move(shares);
        group.batch = std::move(batch);
        group.verdicts = std::move(verdicts);
    }
}

}  // namespace sharegate::server
