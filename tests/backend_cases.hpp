// The backends the "every backend" suites run, read from the backend list, and which of
// them this machine must be able to make (the rest may be skipped as unavailable).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kernel_list.hpp"
#include "sharegate/backend_list.hpp"

namespace sharegate_test {

// Every entry of the backend list, aliases included.
inline std::vector<std::string> every_verifier_name() { return sharegate::verifier_names(); }

// The aliases always find a CPU kernel, and a CPU kernel this CPU supports must work.
inline bool must_be_available(const std::string& name) {
    const sharegate::BackendEntry* entry = sharegate::find_backend(name);
    if (entry == nullptr) return false;
    if (entry->alias) return true;
    constexpr std::string_view kCpuPrefix = "cpu-";
    if (name.starts_with(kCpuPrefix)) {
        const auto* kernel = sharegate::cpu::find_kernel(std::string_view(name).substr(kCpuPrefix.size()));
        return kernel != nullptr && kernel->supported();
    }
    return false;
}

// A GoogleTest parameter name: "cpu-avx2" becomes "cpu_avx2".
inline std::string test_name_of(std::string name) {
    for (char& c : name) {
        if (c == '-') c = '_';
    }
    return name;
}

}  // namespace sharegate_test
