// The host half both GPU backends (CUDA and OpenCL) share: what crosses the host link
// for one chunk of a batch (68 bytes a share), how a batch is cut into chunks, the
// packing of a chunk, and the median of kernel timings. Plain C++ with no CUDA or
// OpenCL header, so that the host tests check it on machines without a GPU; the
// kernels read the same layout through sg_check_staged_share (sharegate/device/share_check.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "sharegate/share_batch.hpp"
#include "worker_pool.hpp"

namespace sharegate::gpu {

// Nonce and digest words (8 arrays of 8 bytes) and the 4-byte target index.
inline constexpr std::size_t kWordArrays = 8;
inline constexpr std::size_t kInputBytesPerShare = kWordArrays * 8 + 4;
// cudaMalloc returns 256-byte aligned memory; keeping region starts at that alignment
// keeps every array of a chunk placed after a table region aligned for any load width.
inline constexpr std::size_t kRegionAlignment = 256;

constexpr std::size_t round_up(std::size_t value, std::size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

// Bytes of a region that holds the batch's target table, 4 limbs an entry as in the
// ShareBatch, rounded up so that a chunk placed after it stays aligned.
constexpr std::size_t table_region_bytes(std::size_t target_count) {
    return round_up(target_count * 4 * sizeof(std::uint64_t), kRegionAlignment);
}

// A chunk of `count` shares, laid out as the kernels read it: word array k (nonce words
// 0..3, then digest limbs 0..3) at byte 8 * k * count, the target indices after them.
constexpr std::size_t chunk_input_bytes(std::size_t count) { return kInputBytesPerShare * count; }
constexpr std::size_t target_index_offset(std::size_t count) { return kWordArrays * 8 * count; }

// Shares [begin + part_begin, begin + part_end) of the chunk that starts at share
// `begin` and holds `count` shares, written into their places in `chunk` (a buffer of
// chunk_input_bytes(count)). Parts of one chunk touch disjoint bytes, so that threads
// can pack one chunk together.
void pack_chunk_part(const BatchView& view, std::size_t begin, std::size_t count, std::size_t part_begin,
                     std::size_t part_end, std::byte* chunk);

// The whole target table, 4 limbs an entry (table_region_bytes(view.target_count) bytes).
void pack_target_table(const BatchView& view, std::byte* region);

// Packs whole chunks, on the calling thread for small ones and split across a few
// worker threads (started on first need) for large ones, where memory bandwidth of one
// core is the limit. One pack at a time, like the backends that own it.
class ChunkPacker {
public:
    ChunkPacker() = default;
    void pack(const BatchView& view, std::size_t begin, std::size_t count, std::byte* chunk);

private:
    std::unique_ptr<host::WorkerPool> packers_;
};

// The chunk sizes a pipeline plans with. A batch up to kMinChunk shares is one chunk
// (one copy each way, one launch); larger ones are cut so that packing, copies and
// kernels of different chunks overlap. kMaxChunk bounds the pinned and device memory a
// stream or queue holds (68 MiB of input).
inline constexpr std::size_t kMinChunk = std::size_t{1} << 14;
inline constexpr std::size_t kMaxChunk = std::size_t{1} << 20;

struct ChunkPlan {
    std::size_t chunk_size = 0;   // shares per chunk, the last one possibly shorter
    std::size_t chunk_count = 0;  // 0 exactly when there are no shares
};

// Cuts n shares into chunks of at most max_chunk shares (a multiple of `granule`): one
// chunk when n <= min_chunk, so that a small batch costs one copy each way and one
// launch; otherwise at least `streams` chunks where each can still hold min_chunk shares,
// so that copies and kernels of different chunks overlap. `streams` is the backend's
// count of streams (CUDA) or queues (OpenCL).
ChunkPlan plan_chunks(std::size_t n, unsigned streams, std::size_t min_chunk, std::size_t max_chunk,
                      std::size_t granule);

// The median of kernel timings (the mean of the middle two for an even count), so that
// one preempted run does not move a benchmark's kernel-only rate. Throws
// std::invalid_argument on an empty list.
double median(std::vector<double> values);

}  // namespace sharegate::gpu
