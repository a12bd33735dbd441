// A device verifier with the CPU behind it: when the device fails at run time (a GPU
// lost, a driver reset), the failing batch and every later one go to the fallback, so
// a pool keeps verifying on its CPUs instead of refusing shares. The device is not
// tried again: a device that failed once is not trusted until the operator restarts.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "sharegate/verifier.hpp"

namespace sharegate {

class FailoverVerifier final : public Verifier {
public:
    // Called once, from the verifying thread, with a line for the log. Like every
    // Verifier, verify() is called by one thread at a time (see verifier.hpp); the
    // switch is atomic so that name() and description() may be read from any thread.
    using Notice = std::function<void(const std::string& message)>;

    FailoverVerifier(std::unique_ptr<Verifier> primary, std::unique_ptr<Verifier> fallback, Notice notice);

    std::string_view name() const override;
    std::string description() const override;
    bool failed_over() const { return failed_over_.load(std::memory_order_acquire); }

private:
    void do_verify(const ShareBatch& batch, std::span<Verdict> verdicts) override;
    std::optional<double> do_kernel_only_seconds(const ShareBatch& batch, unsigned repetitions) override;

    Verifier& current() const { return failed_over() ? *fallback_ : *primary_; }

    std::unique_ptr<Verifier> primary_;
    std::unique_ptr<Verifier> fallback_;
    Notice notice_;
    std::atomic<bool> failed_over_{false};
};

}  // namespace sharegate
