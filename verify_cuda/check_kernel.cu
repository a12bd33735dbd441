// One thread per share, running the shared per-share check of share_check.h on the
// staging layout of verify_host/gpu_host_plan.hpp.
#include "check_kernel.cuh"
#include "sharegate/device/share_check.h"

namespace sharegate::cuda {

namespace {

// The staged chunk as share_check.h reads it; `words` is where the chunk's input starts.
__global__ void __launch_bounds__(kThreadsPerBlock)
    check_shares(sg_batch_header header, const sg_u64* __restrict__ words, const sg_u64* __restrict__ target_table,
                 sg_u8* __restrict__ verdicts, sg_u32 count) {
    const sg_u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    verdicts[i] = sg_check_staged_share(header, words, target_table, count, i);
}

}  // namespace

HeaderWords make_header(const std::uint8_t* challenge, const std::uint8_t* pool) {
    const sg_batch_header folded = sg_make_batch_header(challenge, pool);
    HeaderWords header;
    for (int k = 0; k < 6; ++k) header.lane[k] = folded.lane[k];
    header.pool_tail = folded.pool_tail;
    return header;
}

cudaError_t launch_check_shares(const HeaderWords& header, const DeviceChunk& chunk, cudaStream_t stream) {
    if (chunk.count == 0) return cudaSuccess;
    sg_batch_header folded;
    for (int k = 0; k < 6; ++k) folded.lane[k] = header.lane[k];
    folded.pool_tail = header.pool_tail;
    const auto blocks = static_cast<unsigned>((std::uint64_t{chunk.count} + kThreadsPerBlock - 1) / kThreadsPerBlock);
    check_shares<<<blocks, kThreadsPerBlock, 0, stream>>>(folded, reinterpret_cast<const sg_u64*>(chunk.words),
                                                          reinterpret_cast<const sg_u64*>(chunk.target_table),
                                                          chunk.verdicts, chunk.count);
    return cudaGetLastError();
}

}  // namespace sharegate::cuda
