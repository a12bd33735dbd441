// The GPU host plan both GPU backends use (verify_host/gpu_host_plan.hpp): chunk
// planning, the staging layout and its packing, read back both by hand and through the
// kernels' own reader (sg_check_staged_share of share_check.h, compiled here as host
// C++), and the timing median. Needs no GPU, so it runs on every machine.
#include "gpu_host_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "sharegate/bytes.hpp"
#include "sharegate/device/share_check.h"
#include "sharegate/self_test.hpp"
#include "test_util.hpp"

namespace sharegate_test {
namespace {

namespace gpu = sharegate::gpu;

constexpr std::size_t kMin = gpu::kMinChunk;
constexpr std::size_t kMax = gpu::kMaxChunk;
// CUDA's block size; OpenCL plans with its preferred work-group size, 256.
constexpr std::size_t kGranule = 128;

TEST(GpuHostPlanTest, PlanCoversEveryShareExactlyOnce) {
    const std::size_t sizes[] = {1,    2,        127,          128,      129,          4096,    kMin - 1,
                                 kMin, kMin + 1, 100000,       4 * kMin, 4 * kMin + 1, 1000003, kMax - 1,
                                 kMax, kMax + 1, 4 * kMax + 1, 5000000,  123456789};
    for (unsigned streams : {1u, 2u, 4u}) {
        for (std::size_t n : sizes) {
            const gpu::ChunkPlan plan = gpu::plan_chunks(n, streams, kMin, kMax, kGranule);
            ASSERT_GE(plan.chunk_count, 1u) << n;
            EXPECT_GE(plan.chunk_size * plan.chunk_count, n) << n;
            EXPECT_LT(plan.chunk_size * (plan.chunk_count - 1), n) << n << ": an empty last chunk";
            EXPECT_LE(plan.chunk_size, kMax) << n;
            EXPECT_EQ(plan.chunk_size % kGranule, 0u) << n;
            if (n <= kMin) {
                EXPECT_EQ(plan.chunk_count, 1u) << n << ": a small batch must be one chunk";
            }
            if (n >= streams * kMin) {
                EXPECT_GE(plan.chunk_count, streams) << n << ": streams left idle";
            }
        }
    }
    EXPECT_EQ(gpu::plan_chunks(0, 4, kMin, kMax, kGranule).chunk_count, 0u);
}

TEST(GpuHostPlanTest, PlanRefusesAMaximumThatIsNotWholeGranules) {
    EXPECT_THROW(gpu::plan_chunks(10, 4, 1, 100, 64), std::invalid_argument);
    EXPECT_THROW(gpu::plan_chunks(10, 0, 1, 128, 64), std::invalid_argument);
}

TEST(GpuHostPlanTest, RegionsKeepEveryArrayAligned) {
    EXPECT_EQ(gpu::table_region_bytes(0), 0u);
    EXPECT_EQ(gpu::table_region_bytes(1), 256u);
    EXPECT_EQ(gpu::table_region_bytes(8), 256u);
    EXPECT_EQ(gpu::table_region_bytes(9), 512u);
    for (std::size_t count : {1u, 3u, 4096u, 250001u}) {
        EXPECT_EQ(gpu::chunk_input_bytes(count), 68 * count);
        EXPECT_EQ(gpu::target_index_offset(count), 64 * count);
        EXPECT_EQ(gpu::target_index_offset(count) % 8, 0u);
    }
}

// Reads the packed chunk back the way the kernel does and compares every byte with
// the batch's own accessors, not with the arrays that were copied.
std::string unpack_mismatches(const ShareBatch& batch, std::size_t begin, std::size_t count,
                              const std::vector<std::byte>& chunk, const std::vector<std::byte>& table) {
    auto word_at = [&](const std::vector<std::byte>& bytes, std::size_t offset) {
        std::uint64_t word;
        std::memcpy(&word, bytes.data() + offset, sizeof word);
        return word;
    };
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t share = begin + i;
        const Bytes32 nonce = batch.nonce(share);
        const U256 digest = batch.claimed_digest(share);
        for (std::size_t k = 0; k < 4; ++k) {
            if (word_at(chunk, (k * count + i) * 8) != sharegate::load_le64(nonce.data() + 8 * k))
                return "nonce word " + std::to_string(k) + " of share " + std::to_string(share);
            if (word_at(chunk, ((4 + k) * count + i) * 8) != digest.limbs[k])
                return "digest limb " + std::to_string(k) + " of share " + std::to_string(share);
        }
        std::uint32_t index;
        std::memcpy(&index, chunk.data() + gpu::target_index_offset(count) + 4 * i, sizeof index);
        if (index >= batch.target_count()) return "target index out of the table for share " + std::to_string(share);
        const U256 target = batch.target(share);
        for (std::size_t k = 0; k < 4; ++k) {
            if (word_at(table, (4 * index + k) * 8) != target.limbs[k])
                return "target limb " + std::to_string(k) + " of share " + std::to_string(share);
        }
    }
    return "";
}

TEST(GpuHostPlanTest, PackedChunksReadBackAsTheBatch) {
    const ReferenceBatch reference = make_mixed_batch(1000, 5);
    const ShareBatch& batch = reference.batch;
    const sharegate::BatchView view = batch.view();
    ASSERT_GT(batch.target_count(), 10u);
    std::vector<std::byte> table(gpu::table_region_bytes(view.target_count), std::byte{0xab});
    gpu::pack_target_table(view, table.data());
    struct Chunk {
        std::size_t begin, count;
    };
    for (const Chunk c : {Chunk{0, 1000}, Chunk{0, 1}, Chunk{999, 1}, Chunk{300, 257}, Chunk{1, 998}}) {
        std::vector<std::byte> chunk(gpu::chunk_input_bytes(c.count), std::byte{0xab});
        // In uneven parts, as the packing threads split it.
        const std::size_t cuts[] = {0, c.count / 3, c.count / 3 + 1, c.count};
        for (std::size_t p = 0; p + 1 < std::size(cuts); ++p)
            gpu::pack_chunk_part(view, c.begin, c.count, std::min(cuts[p], c.count), std::min(cuts[p + 1], c.count),
                                 chunk.data());
        EXPECT_EQ(unpack_mismatches(batch, c.begin, c.count, chunk, table), "")
            << "chunk at " << c.begin << " of " << c.count;
    }
}

TEST(GpuHostPlanTest, PackRefusesPartsOutsideTheChunkOrBatch) {
    const ReferenceBatch reference = make_mixed_batch(10, 6);
    const sharegate::BatchView view = reference.batch.view();
    std::vector<std::byte> chunk(gpu::chunk_input_bytes(10));
    EXPECT_THROW(gpu::pack_chunk_part(view, 0, 10, 5, 11, chunk.data()), std::out_of_range);
    EXPECT_THROW(gpu::pack_chunk_part(view, 0, 10, 6, 5, chunk.data()), std::out_of_range);
    EXPECT_THROW(gpu::pack_chunk_part(view, 1, 10, 0, 10, chunk.data()), std::out_of_range);
}

TEST(GpuHostPlanTest, LayoutIsTheOneTheKernelsRead) {
    EXPECT_EQ(gpu::kWordArrays, std::size_t{SG_WORD_ARRAYS});
    EXPECT_EQ(gpu::kInputBytesPerShare, std::size_t{SG_STAGED_BYTES_PER_SHARE});
    EXPECT_EQ(gpu::kInputBytesPerShare, 68u);
}

// Packs the batch in chunks as a backend does and runs the kernels' reader of the layout
// over every share of every chunk: what the host packs is what the devices check.
std::vector<Verdict> check_staged(const ShareBatch& batch, std::size_t chunk_size) {
    const sharegate::BatchView view = batch.view();
    const sg_batch_header header = sg_make_batch_header(view.challenge, view.pool);
    std::vector<std::byte> table(gpu::table_region_bytes(view.target_count));
    gpu::pack_target_table(view, table.data());
    std::vector<Verdict> verdicts(view.size, kNoVerdict);
    gpu::ChunkPacker packer;
    for (std::size_t begin = 0; begin < view.size; begin += chunk_size) {
        const std::size_t count = std::min(chunk_size, view.size - begin);
        // Whole words, so that the reader's 64-bit loads are aligned as on a device.
        std::vector<std::uint64_t> chunk((gpu::chunk_input_bytes(count) + 7) / 8);
        packer.pack(view, begin, count, reinterpret_cast<std::byte*>(chunk.data()));
        for (std::size_t i = 0; i < count; ++i) {
            verdicts[begin + i] = static_cast<Verdict>(
                sg_check_staged_share(header, chunk.data(), reinterpret_cast<const sg_u64*>(table.data()), count, i));
        }
    }
    return verdicts;
}

TEST(GpuHostPlanTest, KernelsReaderAgreesWithThePackerOnTheKnownAnswers) {
    const auto kat = sharegate::known_answer_batch();
    for (const std::size_t chunk : {kat.batch.size(), std::size_t{1}, std::size_t{7}, std::size_t{16}}) {
        EXPECT_EQ(describe_mismatches(kat.batch, kat.expected, check_staged(kat.batch, chunk)), "")
            << "chunks of " << chunk;
    }
}

TEST(GpuHostPlanTest, KernelsReaderAgreesWithThePackerOnMixedBatches) {
    // Large enough that the packer splits a chunk across its worker threads.
    const ReferenceBatch reference = make_mixed_batch(300007, 77, 997);
    const gpu::ChunkPlan plan = gpu::plan_chunks(reference.batch.size(), 2, kMin, kMax, 256);
    EXPECT_EQ(describe_mismatches(reference.batch, reference.expected, check_staged(reference.batch, plan.chunk_size)),
              "");
    const ReferenceBatch small = make_mixed_batch(1000, 78);
    EXPECT_EQ(describe_mismatches(small.batch, small.expected, check_staged(small.batch, 333)), "");
}

TEST(GpuHostPlanTest, ParallelPackingMatchesPackingInOnePart) {
    const ReferenceBatch reference = make_mixed_batch(200003, 79, 1009);
    const sharegate::BatchView view = reference.batch.view();
    const std::size_t begin = 3;
    const std::size_t count = view.size - 10;
    std::vector<std::byte> alone(gpu::chunk_input_bytes(count), std::byte{0xab});
    std::vector<std::byte> parallel(gpu::chunk_input_bytes(count), std::byte{0xcd});
    gpu::pack_chunk_part(view, begin, count, 0, count, alone.data());
    gpu::ChunkPacker packer;
    packer.pack(view, begin, count, parallel.data());
    EXPECT_TRUE(alone == parallel);
}

TEST(GpuHostPlanTest, MedianOfTimings) {
    EXPECT_EQ(gpu::median({3.0}), 3.0);
    EXPECT_EQ(gpu::median({5.0, 1.0, 3.0}), 3.0);
    EXPECT_EQ(gpu::median({4.0, 1.0, 3.0, 2.0}), 2.5);
    EXPECT_EQ(gpu::median({1.0, 1000.0, 2.0, 2.0, 2.0}), 2.0);
    EXPECT_THROW(gpu::median({}), std::invalid_argument);
}

}  // namespace
}  // namespace sharegate_test
