// A connection's submit rate limit: a token bucket that refills at `rate` a second up to
// `burst`. A submit takes a token; with none left it is answered "Rate limit exceeded"
// and counts toward a ban (server/ban_book.hpp). The defaults and why they never touch
// an honest miner are in docs/operations.md.
#pragma once

#include <algorithm>
#include <chrono>

namespace sharegate::server {

class TokenBucket {
public:
    using Clock = std::chrono::steady_clock;

    // rate 0: no limit.
    TokenBucket(double rate_per_s, double burst, Clock::time_point now)
        : rate_(rate_per_s), burst_(std::max(1.0, burst)), tokens_(burst_), at_(now) {}

    bool take(Clock::time_point now) {
        if (rate_ <= 0) return true;
        if (now > at_) {
            tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - at_).count() * rate_);
            at_ = now;
        }
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    double tokens() const { return tokens_; }

private:
    double rate_;
    double burst_;
    double tokens_;
    Clock::time_point at_;
};

}  // namespace sharegate::server
