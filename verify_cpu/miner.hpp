// Mining kernels: search a range of nonces for shares whose digest is below a target,
// on the same Keccak as the verify kernels. For producing corpora of real shares
// (sharegate-mine), not for competitive mining.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sharegate/bytes.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::cpu {

// A nonce is the job's 24-byte prefix followed by an 8-byte counter, big-endian, so
// that runs with different prefixes, and threads with disjoint counter ranges, never
// hash the same nonce. Counters wrap modulo 2^64.
struct MiningJob {
    Bytes32 challenge{};
    Bytes20 pool{};
    std::array<std::uint8_t, 24> nonce_prefix{};
    U256 target;  // a share is found when digest < target
};

struct Found {
    std::uint64_t counter = 0;
    Bytes32 nonce{};
    Bytes32 digest{};
};

// Hashes the nonces with counters first_counter .. first_counter + count - 1 and appends
// those whose digest is below the target to `out`, in counter order; returns how many
// were appended.
using MineFn = std::size_t (*)(const MiningJob& job, std::uint64_t first_counter, std::size_t count,
                               std::vector<Found>& out);

std::size_t mine_scalar(const MiningJob& job, std::uint64_t first_counter, std::size_t count, std::vector<Found>& out);
// Only call these when the matching cpu_has_* says yes.
std::size_t mine_avx2(const MiningJob& job, std::uint64_t first_counter, std::size_t count, std::vector<Found>& out);
std::size_t mine_avx512(const MiningJob& job, std::uint64_t first_counter, std::size_t count, std::vector<Found>& out);

struct CpuKernel;  // kernels.hpp: the one list of CPU kernels, each with its MineFn

// sharegate-mine's choice of kernel: an entry of cpu_kernels(). These read that list.
using MiningKernel = const CpuKernel*;

const char* to_string(MiningKernel kernel);                              // its name
std::optional<MiningKernel> parse_mining_kernel(std::string_view name);  // find_kernel(name)
bool mining_kernel_available(MiningKernel kernel);                       // whether this CPU runs it
MiningKernel best_mining_kernel();                                       // &best_kernel()
MineFn mining_function(MiningKernel kernel);                             // the kernel must be available

Bytes32 mining_nonce(const std::array<std::uint8_t, 24>& prefix, std::uint64_t counter);

namespace mining_detail {

// The rare path, out of line in a file compiled for any x86-64: the kernels only
// filter on the digest's top 64 bits, and this does the exact comparison and the
// appending. Keeping std::vector's code out of the SIMD files means no inline function
// compiled for AVX-512 can be picked by the linker for a generic caller. lanes are the
// permutation's output lanes 0..3 (the digest bytes, little-endian per lane).
bool record_candidate(const MiningJob& job, std::uint64_t counter, const std::uint64_t (&lanes)[4],
                      std::vector<Found>& out);

// The same for a SIMD group: share j of the group (counter + j) is checked where bit j
// of mask is set; its lane k is lanes[k * width + j]. Returns how many were appended.
std::size_t record_group(const MiningJob& job, std::uint64_t counter, unsigned mask, const std::uint64_t* lanes,
                         std::size_t width, std::vector<Found>& out);

}  // namespace mining_detail
}  // namespace sharegate::cpu
