// The one list of verification backends. make_verifier(), verifier_names(),
// backend_names() (declared in sharegate/verifier.hpp, for their many callers), the
// unknown-name refusal, "auto"'s order of preference and the --help texts all read it:
// adding a backend is adding one entry (verifiers/backend_list.cpp).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "sharegate/verifier.hpp"

namespace sharegate {

struct BackendEntry {
    std::string name;         // what make_verifier() takes, e.g. "cpu-avx2"
    std::string description;  // one line for help texts
    std::string needs;        // what it needs to be made ("AVX2", "an NVIDIA GPU"); empty for nothing
    bool alias = false;       // picks another entry ("auto", "cpu") rather than being a backend
    bool built = true;        // false: this binary was built without it, and it refuses as unavailable
    // "auto" tries the entries with a non-zero rank, lowest first; 0: never.
    unsigned auto_rank = 0;
    // Makes the backend and runs its known-answer self-test, or refuses with the reason.
    std::function<VerifierResult(const VerifierOptions&)> make;
};

// Every entry, in the order verifier_names() lists them (the aliases first).
std::span<const BackendEntry> backend_list();

// The entry of that name, or null.
const BackendEntry* find_backend(std::string_view name);

// One line a name, "<indent><name>  <description>", for the --help of the server and
// of sharegate-bench.
std::string verifier_help(std::string_view indent);

}  // namespace sharegate
