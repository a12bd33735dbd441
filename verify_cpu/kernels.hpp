// The CPU kernels: one signature, several instruction sets (scalar, AVX2, AVX-512),
// chosen through the one list of them in kernel_list.hpp. The SIMD sources include only
// this header, so that no inline library function gets compiled for their targets.
#pragma once

#include <cstddef>

#include "sharegate/share_batch.hpp"

namespace sharegate::cpu {

// Checks shares [begin, end) of the batch (any begin <= end <= batch.size), writing
// verdicts[i] for each i in that range: Keccak, digest comparison and target test
// in one pass.
using KernelFn = void (*)(const BatchView& batch, std::size_t begin, std::size_t end, Verdict* verdicts);

void verify_scalar(const BatchView& batch, std::size_t begin, std::size_t end, Verdict* verdicts);
// Only call these when the matching cpu_has_* says yes.
void verify_avx2(const BatchView& batch, std::size_t begin, std::size_t end, Verdict* verdicts);
void verify_avx512(const BatchView& batch, std::size_t begin, std::size_t end, Verdict* verdicts);

bool cpu_has_avx2();
bool cpu_has_avx512();  // AVX-512 F + VL + BW, and the OS saves the ZMM state

}  // namespace sharegate::cpu
