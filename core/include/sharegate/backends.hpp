// Factories the registry calls; each backend library defines its own. Not for
// application code: use make_verifier().
#pragma once

#include <string_view>

#include "sharegate/verifier.hpp"

namespace sharegate::backends {

// variant: "cpu" (best available), "cpu-scalar", "cpu-avx2" or "cpu-avx512".
VerifierResult make_cpu(std::string_view variant, const VerifierOptions& options);
VerifierResult make_cuda(const VerifierOptions& options);
VerifierResult make_opencl(const VerifierOptions& options);

}  // namespace sharegate::backends
