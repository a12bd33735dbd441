// The OpenCL backend on whatever ICD this machine has (PoCL in CI): device choice and
// its refusals, the build log of a broken program, kernel timing, buffers kept across
// batches, and verdicts written exactly where they belong (guard regions around them,
// both through the verifier and around the kernel's own output buffer). The generic
// backend suites hold its verdicts to the reference too.
//
// Only a machine without any OpenCL platform skips; where one is installed (PoCL, which
// scripts/test.sh installs), a backend that is refused fails these tests.
//
// Built twice: with SHAREGATE_TEST_NO_PLATFORM it is a binary of one test that hides
// every ICD before the first OpenCL call of its process.
#include <CL/cl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu_host_plan.hpp"
#include "opencl_program.hpp"
#include "sharegate/device/share_check.h"
#include "sharegate/verifier.hpp"
#include "test_util.hpp"
#include "verify_shares_source.hpp"

namespace sharegate {

// So that gtest names a refusal in failure messages.
inline void PrintTo(Refusal refusal, std::ostream* os) { *os << to_string(refusal); }

}  // namespace sharegate

namespace sharegate_test {
namespace {

using sharegate::make_verifier;
using sharegate::Refusal;
using sharegate::Verifier;
using sharegate::VerifierOptions;

#if SHAREGATE_TEST_NO_PLATFORM

TEST(OpenClNoPlatform, ReportsThatNoPlatformIsInstalled) {
    // ocl-icd reads OCL_ICD_VENDORS when it is first used; an empty directory hides
    // the ICDs in /etc/OpenCL/vendors.
    const auto empty = std::filesystem::temp_directory_path() / ("sharegate-no-icd-" + std::to_string(::getpid()));
    std::filesystem::create_directories(empty);
    ASSERT_EQ(::setenv("OCL_ICD_VENDORS", empty.c_str(), 1), 0);
    const auto result = make_verifier("opencl");
    std::filesystem::remove(empty);
    EXPECT_FALSE(result);
    EXPECT_EQ(result.error, "opencl: no OpenCL platform (install an ICD such as pocl-opencl-icd)");
    // Absent, not broken: the backend suites skip it with that reason.
    EXPECT_EQ(result.refusal, Refusal::unavailable);
}

#else

std::vector<cl_platform_id> platforms() {
    cl_uint count = 0;
    if (clGetPlatformIDs(0, nullptr, &count) != CL_SUCCESS) return {};
    std::vector<cl_platform_id> ids(count);
    if (clGetPlatformIDs(count, ids.data(), nullptr) != CL_SUCCESS) return {};
    return ids;
}

std::vector<cl_device_id> devices(cl_platform_id platform, cl_device_type type) {
    cl_uint count = 0;
    if (clGetDeviceIDs(platform, type, 0, nullptr, &count) != CL_SUCCESS) return {};
    std::vector<cl_device_id> ids(count);
    if (clGetDeviceIDs(platform, type, count, ids.data(), nullptr) != CL_SUCCESS) return {};
    return ids;
}

bool any_gpu() {
    for (cl_platform_id platform : platforms()) {
        if (!devices(platform, CL_DEVICE_TYPE_GPU).empty()) return true;
    }
    return false;
}

class OpenClTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (platforms().empty()) GTEST_SKIP() << "no OpenCL platform on this machine";
    }
};

TEST_F(OpenClTest, RefusesAPlatformIndexOutOfRange) {
    const auto result = make_verifier("opencl", VerifierOptions{.opencl_platform = 7, .opencl_device = 0});
    EXPECT_FALSE(result);
    EXPECT_EQ(result.error,
              "opencl: platform 7 does not exist (this machine has " + std::to_string(platforms().size()) + ")");
    EXPECT_EQ(result.refusal, Refusal::unavailable);
}

TEST_F(OpenClTest, RefusesADeviceIndexOutOfRange) {
    const cl_platform_id first = platforms().front();
    const std::size_t count = devices(first, CL_DEVICE_TYPE_ALL).size();
    const std::string expected = "opencl: device 42 does not exist on platform 0 (" +
                                 sharegate::opencl::platform_string(first, CL_PLATFORM_NAME) + ", " +
                                 std::to_string(count) + (count == 1 ? " device)" : " devices)");
    const auto result = make_verifier("opencl", VerifierOptions{.opencl_platform = 0, .opencl_device = 42});
    EXPECT_EQ(result.error, expected);
    EXPECT_EQ(result.refusal, Refusal::unavailable);
    // A device index alone counts the devices of platform 0.
    EXPECT_EQ(make_verifier("opencl", VerifierOptions{.opencl_device = 42}).error, expected);
}

TEST_F(OpenClTest, GpuOnlyRefusesACpuDevice) {
    if (any_gpu()) GTEST_SKIP() << "this machine has an OpenCL GPU";
    const cl_device_id first = devices(platforms().front(), CL_DEVICE_TYPE_ALL).front();
    const std::string expected = "opencl: " + sharegate::opencl::device_string(first, CL_DEVICE_NAME) +
                                 " is a CPU device; the CPU kernels are faster there";
    const auto refused = make_verifier("opencl", VerifierOptions{.opencl_gpu_only = true});
    EXPECT_EQ(refused.error, expected);
    EXPECT_EQ(refused.refusal, Refusal::unavailable);
    // "auto" passes over it, and says why.
    const auto chosen = make_verifier("auto");
    ASSERT_TRUE(chosen) << chosen.error;
    EXPECT_NE(chosen.verifier->name(), "opencl");
    EXPECT_NE(chosen.note.find(expected), std::string::npos) << chosen.note;
}

TEST_F(OpenClTest, BuildFailureCarriesTheBuildLog) {
    cl_device_id device = devices(platforms().front(), CL_DEVICE_TYPE_ALL).front();
    cl_int code = CL_SUCCESS;
    const sharegate::opencl::Context context(clCreateContext(nullptr, 1, &device, nullptr, nullptr, &code));
    ASSERT_EQ(code, CL_SUCCESS);
    EXPECT_NE(sharegate::opencl::build_program(context.get(), device,
                                               "__kernel void fine(__global int* out) { out[0] = 1; }", "")
                  .get(),
              nullptr);
    try {
        sharegate::opencl::build_program(
            context.get(), device, "__kernel void broken(__global int* out) { out[0] = sharegate_undeclared; }", "");
        FAIL() << "a program with an undeclared name was built";
    } catch (const std::runtime_error& error) {
        const std::string message = error.what();
        EXPECT_EQ(message.rfind("opencl: clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE (-11)", 0), 0u) << message;
        EXPECT_NE(message.find("sharegate_undeclared"), std::string::npos) << message;
    }
}

TEST(OpenClErrorNames, NameTheCodeSymbolically) {
    EXPECT_EQ(sharegate::opencl::error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES (-5)");
    EXPECT_EQ(sharegate::opencl::error_name(-9999), "error -9999");
    try {
        sharegate::opencl::check(CL_INVALID_KERNEL_ARGS, "clEnqueueNDRangeKernel");
        FAIL() << "check let an error through";
    } catch (const std::runtime_error& error) {
        EXPECT_STREQ(error.what(), "opencl: clEnqueueNDRangeKernel failed: CL_INVALID_KERNEL_ARGS (-52)");
    }
    EXPECT_NO_THROW(sharegate::opencl::check(CL_SUCCESS, "clFinish"));
}

// One verifier for the tests below: building the program takes seconds on PoCL.
class OpenClVerifierTest : public OpenClTest {
protected:
    static void SetUpTestSuite() {
        auto result = make_verifier("opencl");
        if (result) {
            verifier_ = std::move(result.verifier).release();
        } else {
            error_ = new std::string("refused as " + std::string(sharegate::to_string(result.refusal)) + ": " +
                                     result.error);
        }
    }
    static void TearDownTestSuite() {
        delete verifier_;
        verifier_ = nullptr;
        delete error_;
        error_ = nullptr;
    }
    void SetUp() override {
        OpenClTest::SetUp();
        if (IsSkipped()) return;
        ASSERT_NE(verifier_, nullptr) << *error_;
    }

    static Verifier* verifier_;
    static std::string* error_;
};

Verifier* OpenClVerifierTest::verifier_ = nullptr;
std::string* OpenClVerifierTest::error_ = nullptr;

TEST_F(OpenClVerifierTest, DescribesItsDevice) {
    EXPECT_EQ(verifier_->name(), "opencl");
    const std::string description = verifier_->description();
    EXPECT_EQ(description.rfind("opencl: ", 0), 0u) << description;
    EXPECT_NE(description.find("compute unit"), std::string::npos) << description;
}

TEST_F(OpenClVerifierTest, KernelOnlySecondsIsPositiveAndFinite) {
    const ReferenceBatch reference = make_mixed_batch(5000, 31);
    const std::optional<double> seconds = verifier_->kernel_only_seconds(reference.batch, 5);
    ASSERT_TRUE(seconds.has_value());
    EXPECT_GT(*seconds, 0.0);
    EXPECT_TRUE(std::isfinite(*seconds));
    // The timing leaves the verifier as it was.
    EXPECT_EQ(verify_and_describe(*verifier_, reference), "");
}

TEST_F(OpenClVerifierTest, ReusesGrowsAndKeepsItsBuffers) {
    const ReferenceBatch small = make_mixed_batch(1000, 41);
    EXPECT_EQ(verify_and_describe(*verifier_, small), "") << "first batch";
    EXPECT_EQ(verify_and_describe(*verifier_, small), "") << "the same batch again";
    // Two chunks, one a queue, and another header and target table.
    const ReferenceBatch large = make_mixed_batch(600'011, 42, 20011);
    EXPECT_EQ(verify_and_describe(*verifier_, large), "") << "larger batch";
    const ReferenceBatch smaller = make_mixed_batch(777, 43);
    EXPECT_EQ(verify_and_describe(*verifier_, smaller), "") << "smaller batch after the larger";
    EXPECT_EQ(verify_and_describe(*verifier_, small), "") << "the first batch once more";
}

TEST_F(OpenClVerifierTest, EmptyBatchAndShortVerdictSpan) {
    std::vector<Verdict> none;
    EXPECT_NO_THROW(verifier_->verify(ShareBatch{}, none));
    const ReferenceBatch reference = make_mixed_batch(100, 44);
    std::vector<Verdict> got(reference.batch.size(), kNoVerdict);
    EXPECT_THROW(verifier_->verify(reference.batch, std::span(got).first(reference.batch.size() - 1)),
                 std::invalid_argument);
    EXPECT_EQ(got.front(), kNoVerdict);
}

// The host plan's chunk limits (gpu_host_plan.hpp): up to kMinChunk shares a batch is one
// chunk, larger ones cross queues in two or more, none over kMaxChunk.
constexpr std::size_t kMinChunk = sharegate::gpu::kMinChunk;
constexpr std::size_t kMaxChunk = sharegate::gpu::kMaxChunk;
// A size the older fixed chunks of 2^18 shares cut, kept as an awkward size.
constexpr std::size_t kChunk = std::size_t{1} << 18;

// Batches of awkward sizes, each verified into the middle of a larger verdict buffer:
// every verdict right and the slots either side untouched, around the work-group size,
// the single-chunk limit, the chunk maximum and several chunks.
TEST_F(OpenClVerifierTest, VerdictsLandBetweenUntouchedGuards) {
    const std::size_t sizes[] = {1,
                                 63,
                                 64,
                                 65,
                                 255,
                                 256,
                                 257,
                                 kMinChunk,
                                 kMinChunk + 1,
                                 kChunk - 1,
                                 kChunk + 1,
                                 kMaxChunk + 1,
                                 2 * kMaxChunk + 3,
                                 1000,
                                 1};
    std::uint64_t seed = 600;
    for (const std::size_t n : sizes) {
        const ReferenceBatch reference = make_mixed_batch(n, ++seed, std::min<std::size_t>(n, 4099));
        std::vector<Verdict> all(kGuardSlots + n + kGuardSlots, kNoVerdict);
        verifier_->verify(reference.batch, std::span(all).subspan(kGuardSlots, n));
        EXPECT_EQ(describe_guarded(reference, all, kGuardSlots), "") << n << " shares";
    }
}

// The program the verifier builds, exactly as the build embeds it (share_check.h, then
// verify_shares.cl; see verify_opencl/embed_source.cmake), so that its kernel can be run
// on buffers laid out here.
std::string kernel_source() { return sharegate::opencl::kVerifySharesSource; }

// The kernel alone, on the verifier's device (the first GPU, else the first device),
// with a verdict buffer that has guard regions before and after the part the kernel may
// write: a kernel that writes one verdict too many (a bound of `i > end` for `i >= end`)
// writes into device memory the verifier never copies back, so only this sees it.
class OpenClKernelTest : public OpenClTest {
protected:
    static void SetUpTestSuite() {
        try {
            state_ = new State();
            cl_device_id chosen = nullptr;
            for (cl_platform_id platform : platforms()) {
                const auto gpus = devices(platform, CL_DEVICE_TYPE_GPU);
                if (!gpus.empty()) {
                    chosen = gpus.front();
                    break;
                }
            }
            for (cl_platform_id platform : platforms()) {
                if (chosen != nullptr) break;
                const auto all = devices(platform, CL_DEVICE_TYPE_ALL);
                if (!all.empty()) chosen = all.front();
            }
            if (chosen == nullptr) throw std::runtime_error("no OpenCL device");
            state_->device = chosen;
            cl_int code = CL_SUCCESS;
            state_->context.reset(clCreateContext(nullptr, 1, &state_->device, nullptr, nullptr, &code));
            sharegate::opencl::check(code, "clCreateContext");
            state_->queue.reset(clCreateCommandQueue(state_->context.get(), state_->device, 0, &code));
            sharegate::opencl::check(code, "clCreateCommandQueue");
            state_->program = sharegate::opencl::build_program(state_->context.get(), state_->device, kernel_source(),
                                                               "-cl-std=CL1.2");
            state_->kernel.reset(clCreateKernel(state_->program.get(), "sg_verify_shares", &code));
            sharegate::opencl::check(code, "clCreateKernel");
            std::size_t group_limit = 0;
            sharegate::opencl::check(
                clGetKernelWorkGroupInfo(state_->kernel.get(), state_->device, CL_KERNEL_WORK_GROUP_SIZE,
                                         sizeof group_limit, &group_limit, nullptr),
                "clGetKernelWorkGroupInfo");
            // As the verifier chooses it, so that the global size is rounded up past the batch.
            state_->group = std::clamp<std::size_t>(group_limit, 1, 256);
            cl_uint align_bits = 0;
            sharegate::opencl::check(
                clGetDeviceInfo(state_->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, nullptr),
                "clGetDeviceInfo");
            // A sub-buffer must start at a multiple of the base address alignment.
            const std::size_t align = std::max<std::size_t>(align_bits / 8, 1);
            state_->guard = (kGuardSlots + align - 1) / align * align;
        } catch (const std::exception& error) {
            delete state_;
            state_ = nullptr;
            error_ = new std::string(error.what());
        }
    }
    static void TearDownTestSuite() {
        delete state_;
        state_ = nullptr;
        delete error_;
        error_ = nullptr;
    }
    void SetUp() override {
        OpenClTest::SetUp();
        if (IsSkipped()) return;
        ASSERT_NE(state_, nullptr) << *error_;
    }

    template <typename T>
    static sharegate::opencl::Buffer buffer_of(const std::vector<T>& host, cl_mem_flags flags) {
        cl_int code = CL_SUCCESS;
        sharegate::opencl::Buffer buffer(clCreateBuffer(state_->context.get(), flags | CL_MEM_COPY_HOST_PTR,
                                                        host.size() * sizeof(T), const_cast<T*>(host.data()), &code));
        sharegate::opencl::check(code, "clCreateBuffer");
        return buffer;
    }

    template <typename T>
    static void set_arg(cl_uint index, const T& value) {
        sharegate::opencl::check(clSetKernelArg(state_->kernel.get(), index, sizeof(T), &value), "clSetKernelArg");
    }

    // Runs the kernel over the batch, staged for `stride` (>= n) shares in the layout of
    // gpu_host_plan.hpp (eight word arrays of `stride` words, then the target indices),
    // written out here rather than by the packer, into a verdict buffer of guard + n +
    // guard bytes that all hold kNoVerdict first; returns what is wrong with that buffer
    // afterwards. The input reaches a work-group past the indices (zeros), so that a kernel
    // that reads past `end` reads defined memory and gives a wrong answer, not a crash.
    static std::string run_guarded(const ReferenceBatch& reference, std::size_t stride) {
        const sharegate::BatchView view = reference.batch.view();
        const std::size_t n = view.size;
        const std::size_t index_words = (stride + state_->group + 1) / 2;
        std::vector<std::uint64_t> input(sharegate::gpu::kWordArrays * stride + index_words, 0);
        for (std::size_t k = 0; k < 4; ++k) {
            std::copy_n(view.nonce_words[k], n, input.begin() + static_cast<std::ptrdiff_t>(k * stride));
            std::copy_n(view.digest_limbs[k], n, input.begin() + static_cast<std::ptrdiff_t>((4 + k) * stride));
        }
        std::memcpy(input.data() + sharegate::gpu::kWordArrays * stride, view.target_index, n * sizeof(std::uint32_t));
        const std::vector<std::uint64_t> table(view.target_table, view.target_table + 4 * view.target_count);
        const std::size_t guard = state_->guard;
        std::vector<Verdict> all(guard + n + guard, kNoVerdict);

        const auto input_buffer = buffer_of(input, CL_MEM_READ_ONLY);
        const auto table_buffer = buffer_of(table, CL_MEM_READ_ONLY);
        const auto verdict_buffer = buffer_of(all, CL_MEM_READ_WRITE);
        // The kernel's verdicts start after the first guard; the sub-buffer reaches to the
        // end, so a write past the batch lands in the second guard, in bounds.
        const cl_buffer_region region{guard, n + guard};
        cl_int code = CL_SUCCESS;
        const sharegate::opencl::Buffer verdicts(
            clCreateSubBuffer(verdict_buffer.get(), CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &code));
        sharegate::opencl::check(code, "clCreateSubBuffer");

        const sg_batch_header header = sg_make_batch_header(view.challenge, view.pool);
        for (cl_uint k = 0; k < 6; ++k) set_arg(k, static_cast<cl_ulong>(header.lane[k]));
        set_arg(6, static_cast<cl_ulong>(header.pool_tail));
        set_arg(7, input_buffer.get());
        set_arg(8, table_buffer.get());
        set_arg(9, verdicts.get());
        set_arg(10, static_cast<cl_ulong>(stride));
        set_arg(11, static_cast<cl_ulong>(n));
        const std::size_t global = (n + state_->group - 1) / state_->group * state_->group;
        cl_command_queue queue = state_->queue.get();
        sharegate::opencl::check(clEnqueueNDRangeKernel(queue, state_->kernel.get(), 1, nullptr, &global,
                                                        &state_->group, 0, nullptr, nullptr),
                                 "clEnqueueNDRangeKernel");
        sharegate::opencl::check(
            clEnqueueReadBuffer(queue, verdict_buffer.get(), CL_TRUE, 0, all.size(), all.data(), 0, nullptr, nullptr),
            "clEnqueueReadBuffer");
        return describe_guarded(reference, all, guard);
    }

    struct State {
        cl_device_id device = nullptr;
        sharegate::opencl::Context context;
        sharegate::opencl::Queue queue;
        sharegate::opencl::Program program;
        sharegate::opencl::Kernel kernel;
        std::size_t group = 1;
        std::size_t guard = kGuardSlots;
        ~State() {
            if (queue) clFinish(queue.get());
        }
    };
    static State* state_;
    static std::string* error_;
};

OpenClKernelTest::State* OpenClKernelTest::state_ = nullptr;
std::string* OpenClKernelTest::error_ = nullptr;

TEST_F(OpenClKernelTest, WritesEveryVerdictAndNothingAroundThem) {
    ASSERT_GT(state_->group, 1u) << "a work-group of one leaves no work-item past the batch";
    const std::size_t group = state_->group;
    const std::size_t sizes[] = {1,         2,     63,        64,   65,   127,   128,        129,
                                 group - 1, group, group + 1, 1000, 4097, 65537, kChunk - 1, kChunk + 1};
    std::uint64_t seed = 700;
    for (const std::size_t n : sizes) {
        const ReferenceBatch reference = make_mixed_batch(n, ++seed, std::min<std::size_t>(n, 4099));
        // Packed as tightly as a full slot of the verifier, and with room to spare, as a
        // smaller batch after a larger one.
        EXPECT_EQ(run_guarded(reference, n), "") << n << " shares, stride " << n;
        if (n <= 4097) {
            EXPECT_EQ(run_guarded(reference, n + 37), "") << n << " shares, stride " << n + 37;
        }
    }
}

TEST_F(OpenClTest, ExplicitPlatformAndDevicePassTheSelfTest) {
    const auto result = make_verifier("opencl", VerifierOptions{.opencl_platform = 0, .opencl_device = 0});
    ASSERT_TRUE(result) << result.error;
    EXPECT_EQ(verify_and_describe(*result.verifier, make_mixed_batch(3001, 45)), "");
}

#endif

}  // namespace
}  // namespace sharegate_test
