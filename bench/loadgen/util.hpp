// Small pieces every part of the load generator uses.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace sharegate::loadgen {

using Clock = std::chrono::steady_clock;

// A bad option value: one line on stderr and exit status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

inline std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

inline void put_hex64(char* out, std::uint64_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kDigits[v & 0xf];
}

}  // namespace sharegate::loadgen
