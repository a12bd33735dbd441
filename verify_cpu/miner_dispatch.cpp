// What the mining kernels share, compiled for any x86-64: the exact target test, the
// nonce layout and the choice of kernel (from the one list in kernel_list.cpp).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "kernel_list.hpp"
#include "miner.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::cpu {

Bytes32 mining_nonce(const std::array<std::uint8_t, 24>& prefix, std::uint64_t counter) {
    Bytes32 nonce{};
    for (std::size_t i = 0; i < prefix.size(); ++i) nonce[i] = prefix[i];
    for (std::size_t i = 0; i < 8; ++i) nonce[24 + i] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
    return nonce;
}

namespace mining_detail {

bool record_candidate(const MiningJob& job, std::uint64_t counter, const std::uint64_t (&lanes)[4],
                      std::vector<Found>& out) {
    Bytes32 digest{};
    for (std::size_t k = 0; k < 4; ++k) store_le64(digest.data() + 8 * k, lanes[k]);
    if (!(U256::from_be_bytes(digest) < job.target)) return false;
    out.push_back(Found{counter, mining_nonce(job.nonce_prefix, counter), digest});
    return true;
}

std::size_t record_group(const MiningJob& job, std::uint64_t counter, unsigned mask, const std::uint64_t* lanes,
                         std::size_t width, std::vector<Found>& out) {
    std::size_t recorded = 0;
    for (std::size_t j = 0; j < width; ++j) {
        if (((mask >> j) & 1) == 0) continue;
        const std::uint64_t share_lanes[4] = {lanes[j], lanes[width + j], lanes[2 * width + j], lanes[3 * width + j]};
        if (record_candidate(job, counter + j, share_lanes, out)) ++recorded;
    }
    return recorded;
}

}  // namespace mining_detail

const char* to_string(MiningKernel kernel) { return kernel->name.data(); }  // a NUL-terminated literal

std::optional<MiningKernel> parse_mining_kernel(std::string_view name) {
    if (const CpuKernel* kernel = find_kernel(name)) return kernel;
    return std::nullopt;
}

bool mining_kernel_available(MiningKernel kernel) { return kernel->supported(); }

MiningKernel best_mining_kernel() { return &best_kernel(); }

MineFn mining_function(MiningKernel kernel) { return kernel->mine; }

}  // namespace sharegate::cpu
