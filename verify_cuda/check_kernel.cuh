// The launch of the share-checking kernel, callable from host C++ compiled by the host
// compiler: nothing here needs nvcc, and no type of share_check.h crosses into host
// code, since its 64-bit typedef differs between the CUDA and the plain C dialect.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sharegate::cuda {

// The share-independent Keccak input, folded once per batch on the host.
struct HeaderWords {
    std::uint64_t lane[6];
    std::uint64_t pool_tail;
};

HeaderWords make_header(const std::uint8_t* challenge, const std::uint8_t* pool);

// One chunk already on the device, laid out as verify_host/gpu_host_plan.hpp describes
// for `count` shares: 8 arrays of `count` words, then the target indices.
struct DeviceChunk {
    const std::uint64_t* words = nullptr;
    const std::uint64_t* target_table = nullptr;  // 4 limbs an entry
    std::uint8_t* verdicts = nullptr;
    std::uint32_t count = 0;
};

inline constexpr unsigned kThreadsPerBlock = 128;

// Enqueues the kernel on `stream` (no launch for an empty chunk); returns the launch's
// error, if any.
cudaError_t launch_check_shares(const HeaderWords& header, const DeviceChunk& chunk, cudaStream_t stream);

}  // namespace sharegate::cuda
