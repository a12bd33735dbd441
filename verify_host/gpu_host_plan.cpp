#include "gpu_host_plan.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "sharegate/device/share_check.h"

namespace sharegate::gpu {

// The kernels find the arrays through share_check.h's macros: both sides must agree.
static_assert(SG_WORD_ARRAYS == kWordArrays);
static_assert(SG_STAGED_BYTES_PER_SHARE == kInputBytesPerShare);
static_assert(sizeof(sg_u64) * SG_WORD_ARRAYS * 3 == target_index_offset(3));

namespace {

// Below this a chunk is packed by the calling thread: waking packers costs more.
constexpr std::size_t kParallelPackShares = std::size_t{1} << 17;
constexpr unsigned kMaxPackers = 4;

}  // namespace

void pack_chunk_part(const BatchView& view, std::size_t begin, std::size_t count, std::size_t part_begin,
                     std::size_t part_end, std::byte* chunk) {
    if (part_begin > part_end || part_end > count || begin + count > view.size)
        throw std::out_of_range("pack_chunk_part: part outside the chunk or chunk outside the batch");
    const std::size_t shares = part_end - part_begin;
    if (shares == 0) return;
    const std::size_t first = begin + part_begin;
    const std::uint64_t* const words[kWordArrays] = {view.nonce_words[0],  view.nonce_words[1],  view.nonce_words[2],
                                                     view.nonce_words[3],  view.digest_limbs[0], view.digest_limbs[1],
                                                     view.digest_limbs[2], view.digest_limbs[3]};
    for (std::size_t k = 0; k < kWordArrays; ++k) {
        std::memcpy(chunk + (k * count + part_begin) * sizeof(std::uint64_t), words[k] + first,
                    shares * sizeof(std::uint64_t));
    }
    std::memcpy(chunk + target_index_offset(count) + part_begin * sizeof(std::uint32_t), view.target_index + first,
                shares * sizeof(std::uint32_t));
}

void pack_target_table(const BatchView& view, std::byte* region) {
    if (view.target_count != 0) std::memcpy(region, view.target_table, view.target_count * 4 * sizeof(std::uint64_t));
}

void ChunkPacker::pack(const BatchView& view, std::size_t begin, std::size_t count, std::byte* chunk) {
    if (count < kParallelPackShares) {
        pack_chunk_part(view, begin, count, 0, count, chunk);
        return;
    }
    if (!packers_) {
        const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
        packers_ = std::make_unique<host::WorkerPool>(std::min(kMaxPackers, hardware));
    }
    const unsigned pieces = packers_->workers();
    packers_->run(pieces, [&](unsigned piece) {
        pack_chunk_part(view, begin, count, count * piece / pieces, count * (piece + 1) / pieces, chunk);
    });
}

ChunkPlan plan_chunks(std::size_t n, unsigned streams, std::size_t min_chunk, std::size_t max_chunk,
                      std::size_t granule) {
    if (granule == 0 || max_chunk < granule || max_chunk % granule != 0 || streams == 0)
        throw std::invalid_argument("plan_chunks: max_chunk must be a positive multiple of granule");
    if (n == 0) return {};
    const std::size_t fewest = (n + max_chunk - 1) / max_chunk;
    const std::size_t for_overlap = std::min<std::size_t>(streams, n / std::max<std::size_t>(min_chunk, 1));
    const std::size_t wanted = n <= min_chunk ? 1 : std::max({fewest, for_overlap, std::size_t{1}});
    const std::size_t size = std::min(max_chunk, round_up((n + wanted - 1) / wanted, granule));
    return {size, (n + size - 1) / size};
}

double median(std::vector<double> values) {
    if (values.empty()) throw std::invalid_argument("median: no values");
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace sharegate::gpu
