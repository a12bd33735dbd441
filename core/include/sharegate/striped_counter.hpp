// Counters that every thread bumps, spread over cache lines of their own. On the share
// path both I/O threads add to the same few counters for every submit (its outcome, by
// reason); one atomic among them made each add wait for the line the other thread had
// just written (20 ns an add with two threads against 6 ns alone, on a 2-vCPU EPYC VM).
// Each thread adds to one of kThreadStripes copies instead, picked once a thread, and a
// read sums the copies: adds stay cheap, reads (a statistics line, a scrape) are rare.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sharegate {

// Enough for the server's threads (I/O threads, the verifier's, Redis's, the getwork
// door's); threads beyond it share a stripe, still atomically.
inline constexpr std::size_t kThreadStripes = 16;

// This thread's stripe, the same for every striped counter and histogram: threads are
// dealt stripes in turn as they first ask.
inline std::size_t this_thread_stripe() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kThreadStripes;
    return mine;
}

// The subset of std::atomic<std::uint64_t> a counter needs: add, and read the total.
class StripedCounter {
public:
    void fetch_add(std::uint64_t n, std::memory_order order = std::memory_order_seq_cst) noexcept {
        lines_[this_thread_stripe()].value.fetch_add(n, order);
    }
    // The sum of the stripes: adds in flight may or may not be in it, as with one atomic.
    std::uint64_t load(std::memory_order order = std::memory_order_seq_cst) const noexcept {
        std::uint64_t total = 0;
        for (const Line& line : lines_) total += line.value.load(order);
        return total;
    }

private:
    struct alignas(64) Line {
        std::atomic<std::uint64_t> value{0};
    };
    std::array<Line, kThreadStripes> lines_{};
};

}  // namespace sharegate
