// The OpenCL backend on whatever ICD this machine has (PoCL in CI): device choice and
// its refusals, the build log of a broken program, kernel timing, and buffers kept
// across batches. The generic backend suites hold its verdicts to the reference too.
//
// Built twice: with SHAREGATE_TEST_NO_PLATFORM it is a binary of one test that hides
// every ICD before the first OpenCL call of its process.
#include <CL/cl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "opencl_program.hpp"
#include "sharegate/verifier.hpp"
#include "test_util.hpp"

namespace sharegate_test {
namespace {

using sharegate::make_verifier;
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
}

TEST_F(OpenClTest, RefusesADeviceIndexOutOfRange) {
    const cl_platform_id first = platforms().front();
    const std::size_t count = devices(first, CL_DEVICE_TYPE_ALL).size();
    const std::string expected = "opencl: device 42 does not exist on platform 0 (" +
                                 sharegate::opencl::platform_string(first, CL_PLATFORM_NAME) + ", " +
                                 std::to_string(count) + (count == 1 ? " device)" : " devices)");
    EXPECT_EQ(make_verifier("opencl", VerifierOptions{.opencl_platform = 0, .opencl_device = 42}).error, expected);
    // A device index alone counts the devices of platform 0.
    EXPECT_EQ(make_verifier("opencl", VerifierOptions{.opencl_device = 42}).error, expected);
}

TEST_F(OpenClTest, GpuOnlyRefusesACpuDevice) {
    if (any_gpu()) GTEST_SKIP() << "this machine has an OpenCL GPU";
    const cl_device_id first = devices(platforms().front(), CL_DEVICE_TYPE_ALL).front();
    const std::string expected = "opencl: " + sharegate::opencl::device_string(first, CL_DEVICE_NAME) +
                                 " is a CPU device; the CPU kernels are faster there";
    EXPECT_EQ(make_verifier("opencl", VerifierOptions{.opencl_gpu_only = true}).error, expected);
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
            error_ = new std::string(result.error);
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
    // More than two chunks of 2^18 shares, so that both buffer slots are reused, and
    // another header and target table.
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
                 std::logic_error);
    EXPECT_EQ(got.front(), kNoVerdict);
}

TEST_F(OpenClTest, ExplicitPlatformAndDevicePassTheSelfTest) {
    const auto result = make_verifier("opencl", VerifierOptions{.opencl_platform = 0, .opencl_device = 0});
    ASSERT_TRUE(result) << result.error;
    EXPECT_EQ(verify_and_describe(*result.verifier, make_mixed_batch(3001, 45)), "");
}

#endif

}  // namespace
}  // namespace sharegate_test
