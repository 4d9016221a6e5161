#pragma once
/// Hot loops of the episodic memory (core/memory/episodic_memory.cpp), compiled twice: once for
/// the x86-64 baseline (SSE2) and once for x86-64-v3 (AVX2 + FMA), picked at run time from what
/// the CPU supports (episodic_memory_kernels_avx2.cpp, episodic_memory_kernels_base.cpp; both
/// include episodic_memory_kernels.inc). Internal to core/memory: pointers and sizes only, so no
/// Eigen type crosses the line between the two builds (the AVX2 build renames Eigen's namespace,
/// which keeps its template instances from being merged with the baseline's by the linker).
///
/// Two families, with different promises:
///  - State kernels (the recursive least-squares update, the covariance sum, the Cholesky
///    factorisation): they change what is stored and replayed, so their results are the same BITS
///    in both builds and on every machine. They are written as fixed-order vector loops (8/16
///    lanes, fixed reduction trees), compiled with -ffp-contract=off (no FMA contraction), use no
///    library BLAS and nothing that depends on cache sizes. A workspace made on an AVX2 machine
///    replays bit-exactly on an SSE2 one.
///  - Product kernels (write keys, reads, the one-shot write): their results are not replayed
///    (keys are stored with each fact), so they use Eigen's blocked products with FMA where the
///    CPU has it; the builds agree to rounding (tested to 1e-12 relative for keys and reads).
///
/// Matrices are column-major with the leading dimension equal to the row count.
#include <cstddef>

namespace larimar::memkernels {

using Index = std::ptrdiff_t;

struct KernelTable {
    const char* name; ///< "x86-64-v3 (AVX2+FMA)" or "baseline (SSE2)"

    // ---- state kernels: bit-identical across builds -------------------------------------
    /// y[j] = sum_i x[i] A(i, j) for j < cols (A rows x cols), fixed summation order.
    void (*rowTimesMatrix)(const double* x, const double* a, Index rows, Index cols, double* y);
    /// In-place rank-one update of the lower Cholesky factor L (k x k) of C to that of
    /// C + sigma x x^T (sigma = +-1). With y != nullptr also solves L' y = x (L' the new factor)
    /// in the same sweep. work: k doubles. Returns false (L partly changed) if C + sigma x x^T is
    /// not positive definite with a margin.
    bool (*cholRankOne)(double* l, Index k, const double* x, double sigma, double* y, double* work);
    /// Solves L y = v in place (L lower k x k).
    void (*forwardSolve)(const double* l, Index k, double* v);
    /// Solves L^T x = v in place.
    void (*backSolve)(const double* l, Index k, double* v);
    /// One-row update of M (k x c): for each column j, r = z[j] - w . M(:, j), then
    /// M(:, j) += x (a r). One pass over M.
    void (*memoryRankOne)(double* m, Index k, Index c, const double* w, const double* z, const double* x, double a);
    /// n-row update of M: R = Z - W M (with the old M), then M += X (a R), column by column.
    /// wt: the keys as columns (k x n), z: n x c, x: k x n, r: n doubles of scratch.
    void (*memoryUpdate)(double* m, Index k, Index c, const double* wt, Index n, const double* z, const double* x,
                         double a, double* r);
    /// cov(i, j) += a_r (w_r[i] w_r[j]) for r = 0..n-1 in order, every element of the k x k
    /// matrix (so it stays exactly symmetric). wt: k x n, keys as columns; signs: n values +-1.
    void (*covarianceAdd)(double* cov, Index k, const double* wt, const double* signs, Index n);
    /// Lower Cholesky factor of the symmetric k x k matrix a (its lower triangle is read) into l
    /// (upper part set to zero). Returns false if a is not positive definite.
    bool (*cholesky)(const double* a, Index k, double* l);

    // ---- product kernels: FMA allowed, agree to rounding ------------------------------
    /// out (rows x cols) = A (rows x inner) B (inner x cols).
    void (*matmul)(const double* a, Index rows, Index inner, const double* b, Index cols, double* out);
    /// The least-squares part of the one-shot write: memory (k x c) = keys^+ z for keys
    /// (n x k) and z (n x c) of full rank, by Householder QR without pivoting (of keys^T when
    /// n <= k, else of keys): O(n k c), backward stable. Returns false, leaving memory
    /// unspecified, when the keys' condition number (estimated from R by power iteration) is
    /// above condMax or a pivot is zero: the caller then uses the rank-revealing decomposition.
    bool (*leastSquaresSolve)(const double* keys, Index n, Index k, const double* z, Index c, double condMax,
                              double* memory);

    // ---- the reference's Kalman update, float32 (benchmark only) -------------------------
    /// One step of the public code's sequential write with its key operator p (c x k) cached:
    /// w = z p; d = z - w M; u = w U; s = u . w + noise; M += (u / s)^T d; U -= (u / s)^T u.
    /// scratch: 2k + c floats.
    void (*kalmanStepF32)(float* m, float* u, const float* p, const float* z, Index k, Index c, float noise,
                          float* scratch);
};

/// The best table this CPU runs (AVX2 + FMA when present, else the baseline), chosen once.
/// LARIMAR_MEMORY_KERNELS=baseline in the environment forces the baseline (for comparisons).
const KernelTable& kernels();
/// The baseline (SSE2) table, always available.
const KernelTable& baselineKernels();
/// The AVX2 table, or nullptr if this build or this CPU has none.
const KernelTable* avx2Kernels();

} // namespace larimar::memkernels
