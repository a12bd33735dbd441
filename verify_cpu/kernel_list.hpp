// The one list of CPU kernels: the CPU backends, the mining kernels' dispatch, the
// backend list's cpu-* entries and sharegate-mine's --kernel all read it. Adding a
// kernel is adding one entry to cpu_kernels() (kernel_list.cpp).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels.hpp"
#include "miner.hpp"

namespace sharegate::cpu {

struct CpuKernel {
    std::string_view name;         // "scalar", "avx2", "avx512"; the backend is "cpu-" + name
    std::string_view description;  // one line for help texts
    std::string_view requirement;  // the CPU features it needs, for "this CPU lacks ..."; empty for none
    bool (*supported)();           // whether this CPU (and OS) can run it
    KernelFn verify;
    MineFn mine;
};

// Every kernel, narrowest first; the last one this CPU supports is the best.
std::span<const CpuKernel> cpu_kernels();
// The kernel of that name ("scalar", "avx2", "avx512"), or null.
const CpuKernel* find_kernel(std::string_view name);
// The widest kernel this CPU supports (scalar at worst).
const CpuKernel& best_kernel();
// The names of cpu_kernels(), in its order.
std::vector<std::string> kernel_names();
// One line a kernel, "<indent><name>  <description> (needs <requirement>)", for --help.
std::string kernel_help(std::string_view indent);

}  // namespace sharegate::cpu
