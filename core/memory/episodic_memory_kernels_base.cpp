// The episodic-memory kernels built for the x86-64 baseline (or whatever CPU the build
// targets), and the run-time choice between them and the AVX2 build.
#define LARIMAR_KERNEL_NS base
#define LARIMAR_KERNEL_NAME "baseline (SSE2)"
#include "core/memory/episodic_memory_kernels.inc"

#include <cstdlib>
#include <cstring>

namespace larimar::memkernels {

#if defined(LARIMAR_HAVE_AVX2_KERNELS)
namespace avx2 {
extern const KernelTable kTable;
}
#endif

const KernelTable& baselineKernels() { return base::kTable; }

const KernelTable* avx2Kernels() {
#if defined(LARIMAR_HAVE_AVX2_KERNELS)
    // __builtin_cpu_supports checks the CPUID bits and that the OS saves the AVX state.
    static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return supported ? &avx2::kTable : nullptr;
#else
    return nullptr;
#endif
}

const KernelTable& kernels() {
    static const KernelTable* chosen = [] {
        const char* force = std::getenv("LARIMAR_MEMORY_KERNELS");
        if (force && std::strcmp(force, "baseline") == 0) return &baselineKernels();
        const KernelTable* fast = avx2Kernels();
        return fast ? fast : &baselineKernels();
    }();
    return *chosen;
}

} // namespace larimar::memkernels
