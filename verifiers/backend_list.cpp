// The one list of backends, and everything that reads it: lookup by name, "auto", the
// name lists, the unknown-name refusal and the help text. A backend that this binary was
// built without is still an entry; it refuses as unavailable and says how to build it.
#include "sharegate/backend_list.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "kernel_list.hpp"
#include "sharegate/backends.hpp"
#include "sharegate/verifier.hpp"

namespace sharegate {

namespace {

using Factory = std::function<VerifierResult(const VerifierOptions&)>;

// What make_verifier() hands out: only a backend that passed its self-test.
Factory self_testing(Factory make) {
    return [make = std::move(make)](const VerifierOptions& options) {
        VerifierResult result = make(options);
        if (!result) return result;
        return self_tested(std::move(result.verifier));
    };
}

std::string joined(const std::vector<std::string>& names, std::string_view separator) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : std::string(separator)) + name;
    return out;
}

// The entries "auto" tries, in order.
std::vector<const BackendEntry*> auto_candidates(std::span<const BackendEntry> list) {
    std::vector<const BackendEntry*> candidates;
    for (const BackendEntry& entry : list) {
        if (entry.auto_rank != 0) candidates.push_back(&entry);
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const BackendEntry* a, const BackendEntry* b) { return a->auto_rank < b->auto_rank; });
    return candidates;
}

// GPUs first: they take verification off the cores that serve the network. Whatever is
// unavailable or fails its self-test is skipped; the CPU always works. OpenCL only on a
// GPU: on a CPU device (PoCL) the SIMD kernels are faster.
VerifierResult make_auto(const VerifierOptions& options) {
    VerifierOptions auto_options = options;
    auto_options.opencl_gpu_only = true;
    std::string skipped;
    bool any_failed = false;
    for (const BackendEntry* candidate : auto_candidates(backend_list())) {
        VerifierResult result = candidate->make(auto_options);
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

std::vector<BackendEntry> build_list() {
    std::vector<BackendEntry> list;
    list.push_back({"auto", "", "", true, true, 0, make_auto});  // described below, from the ranks
    std::vector<std::string> kernels;
    for (const cpu::CpuKernel& kernel : cpu::cpu_kernels()) kernels.push_back("cpu-" + std::string(kernel.name));
    list.push_back({"cpu", "the widest CPU kernel this CPU runs (" + joined(kernels, ", ") + ")", "", true, true, 3,
                    self_testing([](const VerifierOptions& options) { return backends::make_cpu("cpu", options); })});
    for (const cpu::CpuKernel& kernel : cpu::cpu_kernels()) {
        std::string name = "cpu-" + std::string(kernel.name);
        list.push_back(
            {name, std::string(kernel.description), std::string(kernel.requirement), false, true, 0,
             self_testing([name](const VerifierOptions& options) { return backends::make_cpu(name, options); })});
    }
#ifdef SHAREGATE_WITH_CUDA
    constexpr bool kCuda = true;
    Factory cuda = backends::make_cuda;
#else
    constexpr bool kCuda = false;
    Factory cuda = [](const VerifierOptions&) {
        return VerifierResult::unavailable("cuda: this build has no CUDA support (configure with -DSHAREGATE_CUDA=ON)");
    };
#endif
    list.push_back({"cuda", "NVIDIA GPUs through CUDA (device 0)", "an NVIDIA GPU and driver", false, kCuda, 1,
                    self_testing(std::move(cuda))});
#ifdef SHAREGATE_WITH_OPENCL
    constexpr bool kOpenCl = true;
    Factory opencl = backends::make_opencl;
#else
    constexpr bool kOpenCl = false;
    Factory opencl = [](const VerifierOptions&) {
        return VerifierResult::unavailable(
            "opencl: this build has no OpenCL support (configure with -DSHAREGATE_OPENCL=ON)");
    };
#endif
    list.push_back({"opencl", "any OpenCL 1.2 device through the ICD loader (--opencl-platform, --opencl-device)",
                    "an OpenCL platform (an ICD such as PoCL)", false, kOpenCl, 2, self_testing(std::move(opencl))});

    std::vector<std::string> order;
    for (const BackendEntry* candidate : auto_candidates(list)) order.push_back(candidate->name);
    list.front().description = "tries " + joined(order, ", ") +
                               " in turn and takes the first that is available and passes its self-test (OpenCL only "
                               "on a GPU device)";
    return list;
}

}  // namespace

std::span<const BackendEntry> backend_list() {
    static const std::vector<BackendEntry> list = build_list();
    return list;
}

const BackendEntry* find_backend(std::string_view name) {
    for (const BackendEntry& entry : backend_list()) {
        if (entry.name == name) return &entry;
    }
    return nullptr;
}

std::string verifier_help(std::string_view indent) {
    std::size_t width = 0;
    for (const BackendEntry& entry : backend_list()) width = std::max(width, entry.name.size());
    std::string out;
    for (const BackendEntry& entry : backend_list()) {
        out += std::string(indent) + entry.name + std::string(width + 2 - entry.name.size(), ' ') + entry.description;
        if (!entry.needs.empty()) out += " (needs " + entry.needs + ")";
        if (!entry.built) out += " [not in this build]";
        out += '\n';
    }
    return out;
}

std::vector<std::string> verifier_names() {
    std::vector<std::string> names;
    for (const BackendEntry& entry : backend_list()) names.push_back(entry.name);
    return names;
}

std::vector<std::string> backend_names() {
    std::vector<std::string> names;
    for (const BackendEntry& entry : backend_list()) {
        if (!entry.alias) names.push_back(entry.name);
    }
    return names;
}

VerifierResult make_verifier(std::string_view name, const VerifierOptions& options) {
    if (const BackendEntry* entry = find_backend(name)) return entry->make(options);
    return VerifierResult::refused(Refusal::unknown, std::string(name) + ": unknown verifier (choose one of " +
                                                         joined(verifier_names(), ", ") + ")");
}

}  // namespace sharegate
