// The episodic-memory kernels built for x86-64-v3 (AVX2 + FMA). core/memory/CMakeLists.txt
// compiles this file alone with -mavx2 -mfma -ffp-contract=off and defines
// LARIMAR_HAVE_AVX2_KERNELS where the compiler targets x86-64; nothing here runs unless
// kernels() found AVX2 and FMA on the CPU.
//
// Eigen's namespace is renamed for this file: its templates instantiated here (with AVX2
// code) must not be merged by the linker with the same templates instantiated in the rest of
// the program for the baseline CPU.
#if defined(LARIMAR_HAVE_AVX2_KERNELS)
#define Eigen LarimarEigenAvx2
#define LARIMAR_KERNEL_NS avx2
#define LARIMAR_KERNEL_NAME "x86-64-v3 (AVX2+FMA)"
#include "core/memory/episodic_memory_kernels.inc"
#endif
