// Load shedding: when the verifier falls behind, new shares are refused as "Server busy"
// before they join its queue, first from the connections with the worst recent record.
// The queue's bound is what keeps memory and an honest share's wait bounded whatever
// arrives; the order of refusal is what keeps an honest miner's latency while a flooder
// pays for the overload.
//
// A connection's record is a badness between 0 and 2: the share of its recent answers
// that were invalid (0..1) plus how much of its in-flight allowance it uses (0..1). A
// share is refused once the queue holds (1 - badness / 4) of its bound: the worst record
// (every recent share invalid, every slot in use) from half full, a miner whose shares
// were valid and who waits for each answer only when the queue is all but full.
#pragma once

#include <algorithm>
#include <cstddef>

namespace sharegate::pool {

// What the connection a share came from has done lately (the session keeps it).
struct Standing {
    std::size_t in_flight = 0;      // its submits still awaiting an answer
    std::size_t in_flight_cap = 1;  // the most it may have (the session stops reading past it)
    double invalid_fraction = 0;    // of its recent answered submits, the share refused as invalid
};

// The verifier's queue holds 16 384 shares at most by default: under a millisecond of
// verifying on a GPU, tens of milliseconds on two CPU cores (docs/operations.md).
inline constexpr std::size_t kDefaultMaxQueuedShares = 16384;

class LoadShedding {
public:
    explicit LoadShedding(std::size_t max_queued = kDefaultMaxQueuedShares)
        : max_queued_(std::max<std::size_t>(1, max_queued)) {}

    static double badness(const Standing& standing) {
        const double used =
            standing.in_flight_cap == 0
                ? 1.0
                : std::min(1.0, static_cast<double>(standing.in_flight) / static_cast<double>(standing.in_flight_cap));
        return std::clamp(standing.invalid_fraction, 0.0, 1.0) + used;
    }

    // True: refuse the share, `queued` shares already waiting for the verifier.
    bool refuse(std::size_t queued, const Standing& standing) const {
        if (queued >= max_queued_) return true;
        const double threshold = static_cast<double>(max_queued_) * (1.0 - badness(standing) / 4.0);
        return static_cast<double>(queued) >= threshold;
    }

    // Below this the queue is no longer under pressure (ends a shedding episode's log).
    bool relieved(std::size_t queued) const { return queued < max_queued_ / 4; }

    std::size_t max_queued() const { return max_queued_; }

private:
    std::size_t max_queued_;
};

}  // namespace sharegate::pool
