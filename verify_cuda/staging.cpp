#include "staging.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sharegate::cuda {

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

}  // namespace sharegate::cuda
