// The server's guard against a lost GPU: a device verifier that throws hands the batch,
// and every later one, to the CPU verifier, with one notice for the log.
#include "sharegate/failover_verifier.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sharegate/verifier.hpp"
#include "test_util.hpp"

namespace sharegate_test {
namespace {

using sharegate::FailoverVerifier;
using sharegate::Verifier;

// Stands in for a device that works for `good_batches` calls, then fails the way a lost
// GPU does: after scribbling on the verdicts, with a runtime_error.
class FailingDevice final : public Verifier {
public:
    FailingDevice(std::unique_ptr<Verifier> real, int good_batches, int* calls)
        : real_(std::move(real)), good_batches_(good_batches), calls_(calls) {}
    std::string_view name() const override { return "test-device"; }
    std::string description() const override { return "test device"; }

private:
    void do_verify(const ShareBatch& batch, std::span<Verdict> verdicts) override {
        ++*calls_;
        if (*calls_ > good_batches_) {
            for (auto& v : verdicts) v = Verdict::accepted;
            throw std::runtime_error("cuda: cudaMemcpyAsync failed: device lost");
        }
        real_->verify(batch, verdicts);
    }

    std::unique_ptr<Verifier> real_;
    int good_batches_;
    int* calls_;
};

std::unique_ptr<Verifier> cpu() {
    auto made = sharegate::make_verifier("cpu-scalar");
    if (!made) throw std::runtime_error(made.error);
    return std::move(made.verifier);
}

std::string run(Verifier& verifier, const ReferenceBatch& reference) {
    std::vector<Verdict> got(reference.batch.size(), kNoVerdict);
    verifier.verify(reference.batch, got);
    return describe_mismatches(reference.batch, reference.expected, got);
}

TEST(FailoverVerifierTest, DeviceFailureMovesThisAndLaterBatchesToTheFallback) {
    int device_calls = 0;
    std::vector<std::string> notices;
    FailoverVerifier verifier(std::make_unique<FailingDevice>(cpu(), 2, &device_calls), cpu(),
                              [&](const std::string& message) { notices.push_back(message); });
    EXPECT_EQ(verifier.name(), "test-device");
    for (std::uint64_t seed = 1; seed <= 2; ++seed) EXPECT_EQ(run(verifier, make_mixed_batch(500, seed)), "");
    EXPECT_FALSE(verifier.failed_over());
    EXPECT_TRUE(notices.empty());

    // The third batch fails on the device after it wrote wrong verdicts: all must be redone.
    EXPECT_EQ(run(verifier, make_mixed_batch(500, 3)), "");
    EXPECT_TRUE(verifier.failed_over());
    EXPECT_EQ(verifier.name(), "cpu-scalar");
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_NE(notices[0].find("test-device failed (cuda: cudaMemcpyAsync failed: device lost)"), std::string::npos)
        << notices[0];
    EXPECT_NE(notices[0].find("cpu-scalar"), std::string::npos) << notices[0];
    EXPECT_NE(verifier.description().find("after test-device failed"), std::string::npos);

    // Later batches never reach the device again, and no further notice is given.
    for (std::uint64_t seed = 4; seed <= 6; ++seed) EXPECT_EQ(run(verifier, make_mixed_batch(300, seed)), "");
    EXPECT_EQ(device_calls, 3);
    EXPECT_EQ(notices.size(), 1u);
}

TEST(FailoverVerifierTest, ACallersMistakeIsNotADeviceFailure) {
    int device_calls = 0;
    FailoverVerifier verifier(std::make_unique<FailingDevice>(cpu(), 100, &device_calls), cpu(), nullptr);
    const ReferenceBatch reference = make_mixed_batch(50, 9);
    std::vector<Verdict> too_short(reference.batch.size() - 1);
    EXPECT_THROW(verifier.verify(reference.batch, too_short), std::invalid_argument);
    EXPECT_FALSE(verifier.failed_over());
    // Refused by Verifier::verify before any backend ran.
    EXPECT_EQ(device_calls, 0);
    EXPECT_EQ(run(verifier, reference), "");
}

TEST(FailoverVerifierTest, NeedsBothVerifiers) {
    EXPECT_THROW(FailoverVerifier(nullptr, cpu(), nullptr), std::invalid_argument);
    EXPECT_THROW(FailoverVerifier(cpu(), nullptr, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace sharegate_test
