// The duplicate filter's cost per refused share: one record and one forget, as every
// invalid-digest submit pays (bench/run-cpu.sh measures the whole submit; this isolates
// the filter, whose share of it is too small to see through that run's noise). The filter
// holds HELD accepted shares meanwhile, so that probes meet occupied slots and the table
// is larger than the L2 cache, as on a busy challenge.
//
//   build/bench/bench/sharegate-bench-dupfilter [HELD] [SHARES_A_ROUND]
//
// Prints each of five rounds' ns per record-and-forget, then their median.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "pool/duplicate_filter.hpp"

int main(int argc, char** argv) {
    using sharegate::Bytes32;
    const long held = argc > 1 ? std::atol(argv[1]) : 20000;
    const long shares = argc > 2 ? std::atol(argv[2]) : 5000000;
    if (held < 0 || shares <= 0) {
        std::fprintf(stderr, "usage: sharegate-bench-dupfilter [HELD] [SHARES_A_ROUND]\n");
        return 2;
    }
    sharegate::pool::DuplicateFilter filter;
    Bytes32 challenge{};
    challenge[0] = 0x5a;
    Bytes32 nonce{};
    nonce[31] = 1;  // the held ones; the refused ones below carry 2
    for (long i = 0; i < held; ++i) {
        std::memcpy(nonce.data(), &i, sizeof i);
        if (filter.first_sighting(challenge, nonce) != sharegate::pool::DuplicateFilter::Sighting::first) return 1;
    }
    std::vector<double> rounds;
    std::uint64_t counter = 0;
    for (int round = 0; round < 5; ++round) {
        const auto start = std::chrono::steady_clock::now();
        for (long i = 0; i < shares; ++i) {
            ++counter;  // a fresh nonce each time, as the flood's
            std::memcpy(nonce.data() + 8, &counter, sizeof counter);
            nonce[31] = 2;
            filter.first_sighting(challenge, nonce);
            filter.forget(challenge, nonce);
        }
        const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
        rounds.push_back(took.count() / static_cast<double>(shares));
        std::printf("round %d: %.1f ns per record-and-forget\n", round + 1, rounds.back());
    }
    if (filter.size() != static_cast<std::size_t>(held)) return 1;  // every refused one forgotten
    std::sort(rounds.begin(), rounds.end());
    std::printf("median: %.1f ns per record-and-forget (%ld held)\n", rounds[2], held);
}
