// One thread per share, running the shared per-share check of share_check.h.
#include "check_kernel.cuh"
#include "sharegate/device/share_check.h"

namespace sharegate::cuda {

namespace {

// Limb loads go through the read-only path; every word array is read once, coalesced.
__global__ void __launch_bounds__(kThreadsPerBlock)
    check_shares(sg_batch_header header, const sg_u64* __restrict__ words, const sg_u32* __restrict__ target_index,
                 const ulonglong2* __restrict__ target_table, sg_u8* __restrict__ verdicts, sg_u32 count) {
    const sg_u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const size_t stride = count;
    const sg_u64 n0 = __ldg(words + i);
    const sg_u64 n1 = __ldg(words + stride + i);
    const sg_u64 n2 = __ldg(words + 2 * stride + i);
    const sg_u64 n3 = __ldg(words + 3 * stride + i);
    const sg_u64 d0 = __ldg(words + 4 * stride + i);
    const sg_u64 d1 = __ldg(words + 5 * stride + i);
    const sg_u64 d2 = __ldg(words + 6 * stride + i);
    const sg_u64 d3 = __ldg(words + 7 * stride + i);
    const size_t entry = 2 * static_cast<size_t>(__ldg(target_index + i));
    const ulonglong2 low = __ldg(target_table + entry);
    const ulonglong2 high = __ldg(target_table + entry + 1);
    verdicts[i] = sg_check_share(header, n0, n1, n2, n3, d0, d1, d2, d3, low.x, low.y, high.x, high.y);
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
    check_shares<<<blocks, kThreadsPerBlock, 0, stream>>>(
        folded, reinterpret_cast<const sg_u64*>(chunk.words), chunk.target_index,
        reinterpret_cast<const ulonglong2*>(chunk.target_table), chunk.verdicts, chunk.count);
    return cudaGetLastError();
}

}  // namespace sharegate::cuda
