// The one interface every verification backend implements (CPU kernels, CUDA, OpenCL),
// what asking for one by name returns, and the known-answer self-test. The registry
// functions declared at the end are defined by the sharegate_verifiers library
// (verifiers/backend_list.cpp), from its one list of backends.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sharegate/share_batch.hpp"

namespace sharegate {

// Calls from several threads: name() and description() may be called from any thread
// at any time. verify() and kernel_only_seconds() may be called on one object by one
// thread at a time only; that is how sharegate calls them (the server's batcher from its
// single verifier thread, FailoverVerifier on its caller's thread, the self-test and the
// benchmark from one thread each). Some backends allow more, as an implementation
// detail callers must not rely on: the CPU backends and CUDA serialise concurrent calls
// (the worker pool's and the pipeline's mutex), OpenCL does not (one set of kernel
// arguments and buffers).
class Verifier {
public:
    virtual ~Verifier() = default;

    // The registry name this backend answers to, e.g. "cpu-avx512".
    virtual std::string_view name() const = 0;
    // One line for logs: implementation, threads, device.
    virtual std::string description() const = 0;

    // Writes one verdict per share of the batch into verdicts[0 .. batch.size()).
    // Throws std::invalid_argument, before any verdict is written, when verdicts is
    // shorter than the batch; std::runtime_error if the backend fails at run time (e.g.
    // a lost device).
    void verify(const ShareBatch& batch, std::span<Verdict> verdicts) {
        if (verdicts.size() < batch.size()) throw std::invalid_argument("verify: fewer verdict slots than shares");
        do_verify(batch, verdicts);
    }

    // Device backends: the median seconds one run of the kernel alone takes on this
    // batch over `repetitions` runs, its data already on the device, so that benchmarks
    // can tell the kernel from the host link. nullopt where there is no such split (CPU).
    std::optional<double> kernel_only_seconds(const ShareBatch& batch, unsigned repetitions) {
        return do_kernel_only_seconds(batch, repetitions);
    }

private:
    // What a backend implements: verify() has already checked that verdicts holds at
    // least batch.size() slots.
    virtual void do_verify(const ShareBatch& batch, std::span<Verdict> verdicts) = 0;
    virtual std::optional<double> do_kernel_only_seconds(const ShareBatch& batch, unsigned repetitions) {
        (void)batch;
        (void)repetitions;
        return std::nullopt;
    }
};

struct VerifierOptions {
    // Worker threads for CPU backends; 0 means one per hardware thread.
    unsigned threads = 0;
    // A CPU batch is split across threads only in pieces of at least this many shares,
    // so that small batches do not pay for waking workers.
    std::size_t min_shares_per_thread = 8192;
    // OpenCL device selection; negative means the default (first GPU, else first device).
    int opencl_platform = -1;
    int opencl_device = -1;
    // Refuse an OpenCL device that is a CPU (PoCL, say): "auto" sets it, since the
    // SIMD kernels are faster on the CPU than OpenCL there.
    bool opencl_gpu_only = false;
};

// Why make_verifier() gave no backend, for callers that must tell a machine that lacks
// the backend from a backend that is broken: a test skips on the first and fails on the
// second, and `auto` passes over both.
enum class Refusal {
    none,         // a backend was made
    unavailable,  // not on this machine or in this build: no platform, device, driver or CPU feature,
                  // or the platform or device asked for does not exist
    failed,       // there, but broken: a kernel that does not build, a wrong self-test answer,
                  // an error from the runtime while setting up
    unknown,      // no backend of that name
};

// "unavailable", "failed", "unknown" ("none" for a made backend).
std::string_view to_string(Refusal refusal);

// A backend, or the one-line reason there is none ("cpu-avx512: this CPU lacks AVX-512")
// and what kind of refusal it is.
struct VerifierResult {
    std::unique_ptr<Verifier> verifier;
    std::string error;                // set exactly when verifier is null
    Refusal refusal = Refusal::none;  // not none exactly when verifier is null
    std::string note;                 // for "auto": why the faster backends were passed over, for the log
    explicit operator bool() const { return verifier != nullptr; }

    static VerifierResult made(std::unique_ptr<Verifier> verifier) {
        VerifierResult result;
        result.verifier = std::move(verifier);
        return result;
    }
    static VerifierResult refused(Refusal refusal, std::string reason) {
        VerifierResult result;
        result.error = std::move(reason);
        result.refusal = refusal;
        return result;
    }
    static VerifierResult unavailable(std::string reason) { return refused(Refusal::unavailable, std::move(reason)); }
    static VerifierResult failed(std::string reason) { return refused(Refusal::failed, std::move(reason)); }
};

// name: one of verifier_names() (verifiers/include/sharegate/backend_list.hpp lists
// them with what each is): "cpu" (best CPU kernel), "cpu-scalar", "cpu-avx2",
// "cpu-avx512", "cuda", "opencl", or "auto" (the fastest that is available and passes
// its self-test). Every backend runs the known-answer self-test before it is returned.
// A refusal says what kind it is: `unknown` for a name not in the list, `unavailable` for a
// backend this machine or build lacks, `failed` for one that is there but broken. "auto"
// passes over GPUs of either kind (its note says why) and is refused only when no CPU
// kernel works either: `failed` if any candidate failed, else `unavailable`.
VerifierResult make_verifier(std::string_view name, const VerifierOptions& options = {});

// Every name make_verifier understands, in the backend list's order (aliases first).
std::vector<std::string> verifier_names();
// The concrete backends (no aliases), for benchmarks and tests that try each one.
std::vector<std::string> backend_names();

// Runs the known-answer self-test on a backend; returns an empty string when it
// passes, else what went wrong.
std::string run_self_test(Verifier& verifier);

// What make_verifier() does with a backend it has made: the backend if it passes the
// known-answer self-test, else a `failed` refusal that says what went wrong. A null
// verifier is refused as `failed` too.
VerifierResult self_tested(std::unique_ptr<Verifier> verifier);

}  // namespace sharegate
