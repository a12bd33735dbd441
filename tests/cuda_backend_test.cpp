// The CUDA backend. The host half (chunk planning, staging layout, packing) runs on
// every machine; the device half skips, with the factory's reason, where there is no
// CUDA device (and there checks that the factory refuses in one line, as unavailable).
// Where a device is present, a refused backend fails. Verdicts are checked to land
// exactly where they belong: guard regions around them through the verifier, and
// around the kernel's own output buffer.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check_kernel.cuh"
#include "sharegate/bytes.hpp"
#include "sharegate/self_test.hpp"
#include "sharegate/verifier.hpp"
#include "staging.hpp"
#include "test_util.hpp"

namespace sharegate {

// So that gtest names a refusal in failure messages.
inline void PrintTo(Refusal refusal, std::ostream* os) { *os << to_string(refusal); }

}  // namespace sharegate

namespace sharegate_test {
namespace {

namespace sgc = sharegate::cuda;

constexpr std::size_t kMin = sgc::kMinChunk;
constexpr std::size_t kMax = sgc::kMaxChunk;
constexpr std::size_t kGranule = sgc::kThreadsPerBlock;

TEST(CudaStagingTest, PlanCoversEveryShareExactlyOnce) {
    const std::size_t sizes[] = {1,    2,        127,          128,      129,          4096,    kMin - 1,
                                 kMin, kMin + 1, 100000,       4 * kMin, 4 * kMin + 1, 1000003, kMax - 1,
                                 kMax, kMax + 1, 4 * kMax + 1, 5000000,  123456789};
    for (unsigned streams : {1u, 2u, sgc::kStreams}) {
        for (std::size_t n : sizes) {
            const sgc::ChunkPlan plan = sgc::plan_chunks(n, streams, kMin, kMax, kGranule);
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
    EXPECT_EQ(sgc::plan_chunks(0, 4, kMin, kMax, kGranule).chunk_count, 0u);
}

TEST(CudaStagingTest, PlanRefusesAMaximumThatIsNotWholeGranules) {
    EXPECT_THROW(sgc::plan_chunks(10, 4, 1, 100, 64), std::invalid_argument);
    EXPECT_THROW(sgc::plan_chunks(10, 0, 1, 128, 64), std::invalid_argument);
}

TEST(CudaStagingTest, RegionsKeepEveryArrayAligned) {
    EXPECT_EQ(sgc::table_region_bytes(0), 0u);
    EXPECT_EQ(sgc::table_region_bytes(1), 256u);
    EXPECT_EQ(sgc::table_region_bytes(8), 256u);
    EXPECT_EQ(sgc::table_region_bytes(9), 512u);
    for (std::size_t count : {1u, 3u, 4096u, 250001u}) {
        EXPECT_EQ(sgc::chunk_input_bytes(count), 68 * count);
        EXPECT_EQ(sgc::target_index_offset(count), 64 * count);
        EXPECT_EQ(sgc::target_index_offset(count) % 8, 0u);
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
        std::memcpy(&index, chunk.data() + sgc::target_index_offset(count) + 4 * i, sizeof index);
        if (index >= batch.target_count()) return "target index out of the table for share " + std::to_string(share);
        const U256 target = batch.target(share);
        for (std::size_t k = 0; k < 4; ++k) {
            if (word_at(table, (4 * index + k) * 8) != target.limbs[k])
                return "target limb " + std::to_string(k) + " of share " + std::to_string(share);
        }
    }
    return "";
}

TEST(CudaStagingTest, PackedChunksReadBackAsTheBatch) {
    const ReferenceBatch reference = make_mixed_batch(1000, 5);
    const ShareBatch& batch = reference.batch;
    const sharegate::BatchView view = batch.view();
    ASSERT_GT(batch.target_count(), 10u);
    std::vector<std::byte> table(sgc::table_region_bytes(view.target_count), std::byte{0xab});
    sgc::pack_target_table(view, table.data());
    struct Chunk {
        std::size_t begin, count;
    };
    for (const Chunk c : {Chunk{0, 1000}, Chunk{0, 1}, Chunk{999, 1}, Chunk{300, 257}, Chunk{1, 998}}) {
        std::vector<std::byte> chunk(sgc::chunk_input_bytes(c.count), std::byte{0xab});
        // In uneven parts, as the packing threads split it.
        const std::size_t cuts[] = {0, c.count / 3, c.count / 3 + 1, c.count};
        for (std::size_t p = 0; p + 1 < std::size(cuts); ++p)
            sgc::pack_chunk_part(view, c.begin, c.count, std::min(cuts[p], c.count), std::min(cuts[p + 1], c.count),
                                 chunk.data());
        EXPECT_EQ(unpack_mismatches(batch, c.begin, c.count, chunk, table), "")
            << "chunk at " << c.begin << " of " << c.count;
    }
}

TEST(CudaStagingTest, PackRefusesPartsOutsideTheChunkOrBatch) {
    const ReferenceBatch reference = make_mixed_batch(10, 6);
    const sharegate::BatchView view = reference.batch.view();
    std::vector<std::byte> chunk(sgc::chunk_input_bytes(10));
    EXPECT_THROW(sgc::pack_chunk_part(view, 0, 10, 5, 11, chunk.data()), std::out_of_range);
    EXPECT_THROW(sgc::pack_chunk_part(view, 0, 10, 6, 5, chunk.data()), std::out_of_range);
    EXPECT_THROW(sgc::pack_chunk_part(view, 1, 10, 0, 10, chunk.data()), std::out_of_range);
}

// Whether this process sees a CUDA device, and if not, why.
bool device_present(std::string& why) {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        why = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
        return false;
    }
    why = count == 0 ? "no device" : "";
    return count > 0;
}

TEST(CudaFactoryTest, RefusesInOneLineWithoutADevice) {
    std::string why;
    const bool present = device_present(why);
    const sharegate::VerifierResult result = sharegate::make_verifier("cuda");
    if (present) {
        ASSERT_TRUE(result) << "a device is present but: " << result.error;
        EXPECT_EQ(result.verifier->name(), "cuda");
        EXPECT_EQ(result.verifier->description().rfind("cuda: ", 0), 0u) << result.verifier->description();
        return;
    }
    ASSERT_FALSE(result) << "no device (" << why << "), yet a verifier was made";
    EXPECT_EQ(result.refusal, sharegate::Refusal::unavailable) << result.error;
    EXPECT_EQ(result.error.rfind("cuda: ", 0), 0u) << result.error;
    EXPECT_EQ(result.error.find('\n'), std::string::npos) << result.error;
    EXPECT_NE(result.error.find("cudaGetDeviceCount"), std::string::npos) << result.error;
}

class CudaDeviceTest : public ::testing::Test {
protected:
    // Skips only where no device is present and the factory says the backend is
    // unavailable; a backend refused as failed (a wrong self-test answer, a device that
    // cannot be set up) fails.
    void SetUp() override {
        std::string why;
        const bool present = device_present(why);
        auto result = sharegate::make_verifier("cuda");
        if (!result) {
            if (present) FAIL() << "a device is present but: " << result.error;
            if (result.refusal != sharegate::Refusal::unavailable)
                FAIL() << "refused as " << sharegate::to_string(result.refusal) << ": " << result.error;
            GTEST_SKIP() << "unavailable: " << result.error;
        }
        verifier_ = std::move(result.verifier);
    }

    std::string check(const ReferenceBatch& reference) { return verify_and_describe(*verifier_, reference); }

    std::unique_ptr<sharegate::Verifier> verifier_;
};

TEST_F(CudaDeviceTest, KnownAnswerBatch) {
    auto kat = sharegate::known_answer_batch();
    EXPECT_EQ(check(ReferenceBatch{std::move(kat.batch), std::move(kat.expected)}), "");
}

TEST_F(CudaDeviceTest, MillionShareMixedBatch) {
    // A prime period, so that no chunk boundary lines up with a repetition.
    const ReferenceBatch reference = make_mixed_batch(1000003, 0xb16b00b5, 40009);
    // Exactly as many slots as shares.
    std::vector<Verdict> got(reference.batch.size(), kNoVerdict);
    verifier_->verify(reference.batch, got);
    EXPECT_EQ(describe_mismatches(reference.batch, reference.expected, got), "");
}

TEST_F(CudaDeviceTest, BatchesOfManySizesThroughOneVerifier) {
    // Growing, shrinking and growing again; around the single-chunk limit, the chunk
    // maximum and the block size; each under its own header and targets.
    const std::size_t sizes[] = {1,        4096, 3,          kMin - 1,     kMin,  kMin + 1, 4096, 262145,
                                 kMax - 1, kMax, kMax + 129, 4 * kMax + 1, 65536, 127,      4096};
    std::uint64_t seed = 31;
    for (std::size_t n : sizes) {
        EXPECT_EQ(check(make_mixed_batch(n, ++seed, std::min<std::size_t>(n, 7919))), "") << n << " shares";
    }
}

TEST_F(CudaDeviceTest, EmptyBatchAndShortSpan) {
    std::vector<Verdict> none;
    verifier_->verify(ShareBatch(), none);
    const ReferenceBatch reference = make_mixed_batch(100, 99);
    std::vector<Verdict> got(reference.batch.size() + 1, kNoVerdict);
    EXPECT_THROW(verifier_->verify(reference.batch, std::span(got).first(reference.batch.size() - 1)),
                 std::logic_error);
    EXPECT_EQ(got[reference.batch.size() - 1], kNoVerdict);
    // The refusal leaves the verifier working.
    EXPECT_EQ(check(reference), "");
}

TEST_F(CudaDeviceTest, KernelOnlySecondsThenVerifyStillWorks) {
    const ReferenceBatch reference = make_mixed_batch(1 << 18, 17, 4099);
    const std::optional<double> seconds = verifier_->kernel_only_seconds(reference.batch, 7);
    ASSERT_TRUE(seconds.has_value());
    EXPECT_GT(*seconds, 0.0);
    EXPECT_LT(*seconds, 1.0);
    EXPECT_EQ(check(reference), "");
}

// Awkward sizes verified into the middle of a larger buffer: around the block size,
// the single-chunk limit and the chunk maximum.
TEST_F(CudaDeviceTest, VerdictsLandBetweenUntouchedGuards) {
    const std::size_t sizes[] = {1,        kGranule - 1, kGranule, kGranule + 1, kMin - 1, kMin, kMin + 1,
                                 kMax - 1, kMax + 1,     63,       64,           65,       1};
    std::uint64_t seed = 600;
    for (const std::size_t n : sizes) {
        const ReferenceBatch reference = make_mixed_batch(n, ++seed, std::min<std::size_t>(n, 4099));
        std::vector<Verdict> all(kGuardSlots + n + kGuardSlots, kNoVerdict);
        verifier_->verify(reference.batch, std::span(all).subspan(kGuardSlots, n));
        EXPECT_EQ(describe_guarded(reference, all, kGuardSlots), "") << n << " shares";
    }
}

// The kernel alone, its verdicts written into the middle of a device buffer with guard
// regions either side: a kernel that writes one verdict too many (`i > count` for
// `i >= count`) writes device memory the verifier never copies back, so only this sees
// it. The input reaches a block past the chunk (zeros, target index 0), so such a
// kernel reads defined memory and gives a wrong answer, not a fault.
TEST_F(CudaDeviceTest, KernelWritesEveryVerdictAndNothingAroundThem) {
    struct DeviceFree {
        void operator()(void* p) const noexcept { cudaFree(p); }
    };
    auto device_copy = [](const std::vector<std::byte>& host) {
        void* p = nullptr;
        if (cudaMalloc(&p, host.size()) != cudaSuccess) throw std::runtime_error("cudaMalloc failed");
        std::unique_ptr<void, DeviceFree> owned(p);
        if (cudaMemcpy(p, host.data(), host.size(), cudaMemcpyHostToDevice) != cudaSuccess)
            throw std::runtime_error("cudaMemcpy failed");
        return owned;
    };
    const std::size_t sizes[] = {1, 2, 63, 64, 65, kGranule - 1, kGranule, kGranule + 1, 1000, 4097, kMin + 1};
    std::uint64_t seed = 700;
    for (const std::size_t n : sizes) {
        const ReferenceBatch reference = make_mixed_batch(n, ++seed, std::min<std::size_t>(n, 4099));
        const sharegate::BatchView view = reference.batch.view();
        const std::size_t table_bytes = sgc::table_region_bytes(view.target_count);
        // The table, the chunk, and a block of zeros after it.
        std::vector<std::byte> input(table_bytes + sgc::chunk_input_bytes(n) + sgc::kInputBytesPerShare * kGranule,
                                     std::byte{0});
        sgc::pack_target_table(view, input.data());
        sgc::pack_chunk_part(view, 0, n, 0, n, input.data() + table_bytes);
        std::vector<std::byte> verdicts(kGuardSlots + n + kGuardSlots, static_cast<std::byte>(kNoVerdict));
        const auto device_input = device_copy(input);
        const auto device_verdicts = device_copy(verdicts);
        auto* base = static_cast<std::byte*>(device_input.get());
        sgc::DeviceChunk chunk;
        chunk.words = reinterpret_cast<const std::uint64_t*>(base + table_bytes);
        chunk.target_index = reinterpret_cast<const std::uint32_t*>(base + table_bytes + sgc::target_index_offset(n));
        chunk.target_table = reinterpret_cast<const std::uint64_t*>(base);
        chunk.verdicts = reinterpret_cast<std::uint8_t*>(device_verdicts.get()) + kGuardSlots;
        chunk.count = static_cast<std::uint32_t>(n);
        const sgc::HeaderWords header = sgc::make_header(view.challenge, view.pool);
        ASSERT_EQ(sgc::launch_check_shares(header, chunk, nullptr), cudaSuccess) << n;
        ASSERT_EQ(cudaMemcpy(verdicts.data(), device_verdicts.get(), verdicts.size(), cudaMemcpyDeviceToHost),
                  cudaSuccess)
            << n;
        std::vector<Verdict> all(verdicts.size());
        std::memcpy(all.data(), verdicts.data(), verdicts.size());
        EXPECT_EQ(describe_guarded(reference, all, kGuardSlots), "") << n << " shares";
    }
}

TEST_F(CudaDeviceTest, TwoThreadsShareOneVerifier) {
    const ReferenceBatch a = make_mixed_batch(4096, 41);
    const ReferenceBatch b = make_mixed_batch(300007, 42, 3001);
    std::string problems_a, problems_b;
    std::thread other([&] {
        for (int r = 0; r < 20 && problems_b.empty(); ++r) problems_b = check(b);
    });
    for (int r = 0; r < 200 && problems_a.empty(); ++r) problems_a = check(a);
    other.join();
    EXPECT_EQ(problems_a, "");
    EXPECT_EQ(problems_b, "");
}

}  // namespace
}  // namespace sharegate_test
