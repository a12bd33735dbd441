// Run-time detection of the instruction sets the kernels need. A CPU flag alone is
// not enough: the OS must also save the wider registers on context switches (XCR0),
// or the upper halves would be lost whenever the thread is preempted.
#include <cstdint>

#include "kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace sharegate::cpu {
namespace {

#if defined(__x86_64__) || defined(__i386__)

struct Features {
    bool avx2 = false;
    bool avx512 = false;
};

// XCR0 bits: 1 = SSE (XMM), 2 = AVX (upper YMM), 5 = opmask, 6 = upper ZMM0-15, 7 = ZMM16-31.
constexpr std::uint64_t kXcr0Ymm = (1u << 1) | (1u << 2);
constexpr std::uint64_t kXcr0Zmm = kXcr0Ymm | (1u << 5) | (1u << 6) | (1u << 7);

// CPUID leaf 1, ECX.
constexpr unsigned kOsxsave = 1u << 27;
constexpr unsigned kAvx = 1u << 28;
// CPUID leaf 7 sub-leaf 0, EBX.
constexpr unsigned kAvx2 = 1u << 5;
constexpr unsigned kAvx512F = 1u << 16;
constexpr unsigned kAvx512Bw = 1u << 30;
constexpr unsigned kAvx512Vl = 1u << 31;

std::uint64_t read_xcr0() {
    std::uint32_t low = 0;
    std::uint32_t high = 0;
    // Raw encoding of xgetbv: the intrinsic would require compiling this file for XSAVE.
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(low), "=d"(high) : "c"(0));
    return (static_cast<std::uint64_t>(high) << 32) | low;
}

Features detect() {
    Features features;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return features;
    if ((ecx & kOsxsave) == 0 || (ecx & kAvx) == 0) return features;
    const std::uint64_t xcr0 = read_xcr0();
    if ((xcr0 & kXcr0Ymm) != kXcr0Ymm) return features;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return features;
    features.avx2 = (ebx & kAvx2) != 0;
    constexpr unsigned kAvx512Needed = kAvx512F | kAvx512Bw | kAvx512Vl;
    features.avx512 = features.avx2 && (ebx & kAvx512Needed) == kAvx512Needed && (xcr0 & kXcr0Zmm) == kXcr0Zmm;
    return features;
}

#else

struct Features {
    bool avx2 = false;
    bool avx512 = false;
};

Features detect() { return {}; }

#endif

const Features& features() {
    static const Features detected = detect();
    return detected;
}

}  // namespace

bool cpu_has_avx2() { return features().avx2; }
bool cpu_has_avx512() { return features().avx512; }

}  // namespace sharegate::cpu
