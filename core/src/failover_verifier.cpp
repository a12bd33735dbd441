#include "sharegate/failover_verifier.hpp"

#include <exception>
#include <stdexcept>
#include <utility>

namespace sharegate {

FailoverVerifier::FailoverVerifier(std::unique_ptr<Verifier> primary, std::unique_ptr<Verifier> fallback, Notice notice)
    : primary_(std::move(primary)), fallback_(std::move(fallback)), notice_(std::move(notice)) {
    if (!primary_ || !fallback_) throw std::invalid_argument("FailoverVerifier needs a primary and a fallback");
}

std::string_view FailoverVerifier::name() const { return current().name(); }

std::string FailoverVerifier::description() const {
    if (!failed_over()) return primary_->description() + " (falls back to " + std::string(fallback_->name()) + ")";
    return fallback_->description() + " (after " + std::string(primary_->name()) + " failed)";
}

void FailoverVerifier::do_verify(const ShareBatch& batch, std::span<Verdict> verdicts) {
    if (!failed_over()) {
        try {
            primary_->verify(batch, verdicts);
            return;
        } catch (const std::logic_error&) {
            throw;  // a caller's mistake (an invalid argument): the device is fine
        } catch (const std::exception& e) {
            failed_over_.store(true, std::memory_order_release);
            if (notice_) {
                notice_(std::string(primary_->name()) + " failed (" + e.what() + "); verifying on " +
                        std::string(fallback_->name()) + " from now on");
            }
        }
    }
    // Whatever the primary wrote before it failed is overwritten here.
    fallback_->verify(batch, verdicts);
}

std::optional<double> FailoverVerifier::do_kernel_only_seconds(const ShareBatch& batch, unsigned repetitions) {
    return current().kernel_only_seconds(batch, repetitions);
}

}  // namespace sharegate
