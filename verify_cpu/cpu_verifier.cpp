// The CPU backend: one kernel, chosen once when the verifier is made, run over a batch
// split into contiguous pieces across a pool of worker threads.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "kernel_list.hpp"
#include "sharegate/backends.hpp"
#include "worker_pool.hpp"

namespace sharegate {

namespace {

// Pieces start on a multiple of this, so that every piece but the last runs whole SIMD
// groups and no two threads write the same cache line of verdicts.
constexpr std::size_t kPieceAlignment = 64;

class CpuVerifier final : public Verifier {
public:
    CpuVerifier(std::string name, cpu::KernelFn kernel, unsigned threads, std::size_t min_shares_per_thread)
        : name_(std::move(name)),
          kernel_(kernel),
          pool_(threads),
          min_shares_per_thread_(std::max<std::size_t>(min_shares_per_thread, kPieceAlignment)) {}

    std::string_view name() const override { return name_; }

    std::string description() const override {
        return name_ + " (" + std::to_string(pool_.workers()) + (pool_.workers() == 1 ? " thread)" : " threads)");
    }

private:
    void do_verify(const ShareBatch& batch, std::span<Verdict> verdicts) override {
        const BatchView view = batch.view();
        const std::size_t n = view.size;
        const auto pieces =
            static_cast<unsigned>(std::clamp<std::size_t>(n / min_shares_per_thread_, 1, pool_.workers()));
        if (pieces == 1) {
            kernel_(view, 0, n, verdicts.data());
            return;
        }
        const std::size_t per_piece = (n / pieces + kPieceAlignment - 1) / kPieceAlignment * kPieceAlignment;
        pool_.run(pieces, [&](unsigned piece) {
            const std::size_t begin = std::min(n, piece * per_piece);
            const std::size_t end = piece + 1 == pieces ? n : std::min(n, begin + per_piece);
            kernel_(view, begin, end, verdicts.data());
        });
    }

    std::string name_;
    cpu::KernelFn kernel_;
    host::WorkerPool pool_;
    std::size_t min_shares_per_thread_;
};

}  // namespace

namespace backends {

VerifierResult make_cpu(std::string_view variant, const VerifierOptions& options) {
    // "cpu" is the widest kernel this CPU runs; "cpu-<kernel>" that kernel of the list.
    constexpr std::string_view kPrefix = "cpu-";
    const cpu::CpuKernel* kernel = nullptr;
    if (variant == "cpu") {
        kernel = &cpu::best_kernel();
    } else if (variant.starts_with(kPrefix)) {
        kernel = cpu::find_kernel(variant.substr(kPrefix.size()));
    }
    if (kernel == nullptr) return VerifierResult::unavailable(std::string(variant) + ": not a CPU verifier");
    const std::string name = std::string(kPrefix) + std::string(kernel->name);
    if (!kernel->supported())
        return VerifierResult::unavailable(name + ": this CPU lacks " + std::string(kernel->requirement));
    const unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    return VerifierResult::made(
        std::make_unique<CpuVerifier>(name, kernel->verify, threads, options.min_shares_per_thread));
}

}  // namespace backends

}  // namespace sharegate
