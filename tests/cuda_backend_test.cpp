// The CUDA backend. Its host half (chunk planning, staging layout, packing) is the GPU
// host plan, tested on every machine by gpu_host_plan_test.cpp; the device half skips, with the factory's reason, where
// there is no CUDA device (and there checks that the factory refuses in one line, as unavailable). Where a device is
// present, a refused backend fails. Verdicts are checked to land exactly where they belong: guard regions around them
// through the verifier, and around the kernel's own output buffer.
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
#include "gpu_host_plan.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/self_test.hpp"
#include "sharegate/verifier.hpp"
#include "test_util.hpp"

namespace sharegate {

// So that gtest names a refusal in failure messages.
inline void PrintTo(Refusal refusal, std::ostream* os) { *os << to_string(refusal); }

}  // namespace sharegate

namespace sharegate_test {
namespace {

namespace sgc = sharegate::cuda;
namespace gpu = sharegate::gpu;

constexpr std::size_t kMin = gpu::kMinChunk;
constexpr std::size_t kMax = gpu::kMaxChunk;
constexpr std::size_t kGranule = sgc::kThreadsPerBlock;

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
                 std::invalid_argument);
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
        const std::size_t table_bytes = gpu::table_region_bytes(view.target_count);
        // The table, the chunk, and a block of zeros after it.
        std::vector<std::byte> input(table_bytes + gpu::chunk_input_bytes(n) + gpu::kInputBytesPerShare * kGranule,
                                     std::byte{0});
        gpu::pack_target_table(view, input.data());
        gpu::pack_chunk_part(view, 0, n, 0, n, input.data() + table_bytes);
        std::vector<std::byte> verdicts(kGuardSlots + n + kGuardSlots, static_cast<std::byte>(kNoVerdict));
        const auto device_input = device_copy(input);
        const auto device_verdicts = device_copy(verdicts);
        auto* base = static_cast<std::byte*>(device_input.get());
        sgc::DeviceChunk chunk;
        chunk.words = reinterpret_cast<const std::uint64_t*>(base + table_bytes);
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
