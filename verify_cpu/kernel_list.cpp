// The one list of CPU kernels and the look-ups that read it.
#include "kernel_list.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace sharegate::cpu {

namespace {

bool always() { return true; }

constexpr CpuKernel kKernels[] = {
    {"scalar", "portable C++, one share at a time", "", always, verify_scalar, mine_scalar},
    {"avx2", "4 shares per instruction stream", "AVX2", cpu_has_avx2, verify_avx2, mine_avx2},
    {"avx512", "8 shares per instruction stream", "AVX-512 (F, VL and BW)", cpu_has_avx512, verify_avx512, mine_avx512},
};

}  // namespace

std::span<const CpuKernel> cpu_kernels() { return kKernels; }

const CpuKernel* find_kernel(std::string_view name) {
    for (const CpuKernel& kernel : kKernels) {
        if (kernel.name == name) return &kernel;
    }
    return nullptr;
}

const CpuKernel& best_kernel() {
    const auto widest = std::find_if(std::rbegin(kKernels), std::rend(kKernels),
                                     [](const CpuKernel& kernel) { return kernel.supported(); });
    // The list starts with a kernel every CPU runs.
    return widest != std::rend(kKernels) ? *widest : kKernels[0];
}

std::vector<std::string> kernel_names() {
    std::vector<std::string> names;
    for (const CpuKernel& kernel : kKernels) names.emplace_back(kernel.name);
    return names;
}

std::string kernel_help(std::string_view indent) {
    std::size_t width = 0;
    for (const CpuKernel& kernel : kKernels) width = std::max(width, kernel.name.size());
    std::string out;
    for (const CpuKernel& kernel : kKernels) {
        out += std::string(indent) + std::string(kernel.name) + std::string(width + 2 - kernel.name.size(), ' ') +
               std::string(kernel.description);
        if (!kernel.requirement.empty()) out += " (needs " + std::string(kernel.requirement) + ")";
        out += '\n';
    }
    return out;
}

}  // namespace sharegate::cpu
