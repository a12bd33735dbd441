// The registry: one place that knows every backend, hands one out by name, and
// never hands out one that failed its known-answer self-test.
#include <algorithm>

#include "sharegate/backends.hpp"
#include "sharegate/verifier.hpp"

namespace sharegate {

namespace {

constexpr std::string_view kCpuVariants[] = {"cpu", "cpu-scalar", "cpu-avx2", "cpu-avx512"};

VerifierResult checked(VerifierResult result) {
    if (!result) return result;
    return self_tested(std::move(result.verifier));
}

VerifierResult make_unchecked(std::string_view name, const VerifierOptions& options) {
    if (std::find(std::begin(kCpuVariants), std::end(kCpuVariants), name) != std::end(kCpuVariants))
        return backends::make_cpu(name, options);
    if (name == "cuda") {
#ifdef SHAREGATE_WITH_CUDA
        return backends::make_cuda(options);
#else
        return VerifierResult::unavailable("cuda: this build has no CUDA support (configure with -DSHAREGATE_CUDA=ON)");
#endif
    }
    if (name == "opencl") {
#ifdef SHAREGATE_WITH_OPENCL
        return backends::make_opencl(options);
#else
        return VerifierResult::unavailable(
            "opencl: this build has no OpenCL support (configure with -DSHAREGATE_OPENCL=ON)");
#endif
    }
    return VerifierResult::refused(Refusal::unknown, std::string(name) +
                                                         ": unknown verifier (choose one of cpu, cpu-scalar, "
                                                         "cpu-avx2, cpu-avx512, cuda, opencl, auto)");
}

}  // namespace

std::string_view to_string(Refusal refusal) {
    switch (refusal) {
        case Refusal::none: return "none";
        case Refusal::unavailable: return "unavailable";
        case Refusal::failed: return "failed";
        case Refusal::unknown: return "unknown";
    }
    return "?";
}

VerifierResult self_tested(std::unique_ptr<Verifier> verifier) {
    if (!verifier) return VerifierResult::failed("self-test: no verifier to test");
    if (std::string failure = run_self_test(*verifier); !failure.empty()) return VerifierResult::failed(failure);
    return VerifierResult::made(std::move(verifier));
}

std::vector<std::string> backend_names() { return {"cpu-scalar", "cpu-avx2", "cpu-avx512", "cuda", "opencl"}; }

std::vector<std::string> verifier_names() {
    return {"auto", "cpu", "cpu-scalar", "cpu-avx2", "cpu-avx512", "cuda", "opencl"};
}

VerifierResult make_verifier(std::string_view name, const VerifierOptions& options) {
    if (name != "auto") return checked(make_unchecked(name, options));
    // GPUs first: they take verification off the cores that serve the network.
    // Whatever is unavailable or fails its self-test is skipped; the CPU always works.
    // OpenCL only on a GPU: on a CPU device (PoCL) the SIMD kernels are faster.
    VerifierOptions auto_options = options;
    auto_options.opencl_gpu_only = true;
    std::string skipped;
    bool any_failed = false;
    for (std::string_view candidate : {"cuda", "opencl", "cpu"}) {
        VerifierResult result = checked(make_unchecked(candidate, auto_options));
        if (result) {
            result.note = skipped;
            return result;
        }
        any_failed = any_failed || result.refusal != Refusal::unavailable;
        skipped += (skipped.empty() ? "" : "; ") + result.error;
    }
    return VerifierResult::refused(any_failed ? Refusal::failed : Refusal::unavailable,
                                   "auto: no verifier available (" + skipped + ")");
}

}  // namespace sharegate
