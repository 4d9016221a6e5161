#include "core/memory/episodic_memory.h"

#include "core/memory/episodic_memory_kernels.h"
#include "core/util/binary_io.h"
#include "core/util/error.h"
#include "core/util/npy.h"
#include "core/util/sha256.h"

#include <cmath>
#include <cstring>

namespace larimar {
namespace {

constexpr char kMagic[8] = {'L', 'R', 'M', 'M', 'E', 'M', '0', '\0'};
// The format version also names the arithmetic the memory's updates use (see the header).
constexpr std::uint32_t kFormatEigenBlocked = 1, kFormatPortable = 2;
// One-shot writes solve by unpivoted QR up to this condition number of the keys, and fall back
// to the rank-revealing decomposition beyond (whose cut-off, 1e-8, is far below 1 / 1e7).
constexpr double kOneShotMaxCondition = 1e7;
constexpr int kMaxDim = 4096;

void checkSizes(const Eigen::MatrixXd& prior, const Eigen::MatrixXd& reference, const MemorySettings& s) {
    if (prior.rows() < 1 || prior.cols() < 1 || prior.rows() > kMaxDim || prior.cols() > kMaxDim)
        throw UserError("memory size " + std::to_string(prior.rows()) + " x " + std::to_string(prior.cols()) +
                        " is outside 1..4096 slots by 1..4096 dimensions");
    if (reference.rows() != prior.rows() || reference.cols() != prior.cols())
        throw UserError("reference memory is " + std::to_string(reference.rows()) + " x " +
                        std::to_string(reference.cols()) + " but the prior is " + std::to_string(prior.rows()) +
                        " x " + std::to_string(prior.cols()));
    if (!(s.lambda > 0.0) || !std::isfinite(s.lambda))
        throw UserError("memory prior strength lambda must be a positive number, got " + std::to_string(s.lambda));
    if (s.refreshInterval < 1) throw UserError("memory refresh interval must be at least 1");
    if (s.pinv.mode == PinvMode::Iterative && (s.pinv.steps < 1 || !(s.pinv.alpha > 0.0)))
        throw UserError("iterative pseudo-inverse needs alpha > 0 and at least one step");
}

void checkFinite(const Eigen::MatrixXd& m, const char* what) {
    if (!m.allFinite()) throw UserError(std::string(what) + " contains NaN or infinite values");
}

} // namespace

Eigen::MatrixXd exactPseudoInverse(const Eigen::MatrixXd& a) {
    if (a.size() == 0) return Eigen::MatrixXd::Zero(a.cols(), a.rows());
    // Rank-revealing, much cheaper than an SVD at K = 512, C = 768. The cut-off is relative
    // (kPinvRelativeCutoff * |largest pivot|), not Eigen's default eps * size: a forget leaves a
    // residue of ~1e-11 along the forgotten fact's direction, and with the default cut-off that
    // residue counts as rank, so a read would project onto the forgotten fact again.
    Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod;
    cod.setThreshold(kPinvRelativeCutoff);
    cod.compute(a);
    return cod.pseudoInverse();
}

Eigen::MatrixXd iterativePseudoInverse(const Eigen::MatrixXd& a, double alpha, int steps) {
    Eigen::MatrixXd x = alpha * a.transpose();
    Eigen::MatrixXd ax(a.rows(), a.rows());
    for (int i = 0; i < steps; ++i) {
        ax.noalias() = a * x;                   // rows x rows
        Eigen::MatrixXd next = 2.0 * x;
        next.noalias() -= x * ax;               // cols x rows
        x.swap(next);
    }
    return x;
}

Eigen::MatrixXd pseudoInverse(const Eigen::MatrixXd& a, const PinvSettings& s) {
    return s.mode == PinvMode::Exact ? exactPseudoInverse(a) : iterativePseudoInverse(a, s.alpha, s.steps);
}

EpisodicMemory::EpisodicMemory(Eigen::MatrixXd prior, Eigen::MatrixXd reference, MemorySettings settings)
    : m_settings(settings), m_prior(std::move(prior)), m_reference(std::move(reference)) {
    checkSizes(m_prior, m_reference, m_settings);
    checkFinite(m_prior, "memory prior");
    checkFinite(m_reference, "reference memory");
    computeReferencePinv();
    reset();
}

EpisodicMemory::EpisodicMemory(Restore, MemorySettings settings) : m_settings(settings) {}

void EpisodicMemory::computeReferencePinv() {
    m_referencePinv = pseudoInverse(m_reference, m_settings.pinv);
    const double keyScale = m_referencePinv.squaredNorm();
    if (!(keyScale > 0.0) || !std::isfinite(keyScale))
        throw UserError("the reference memory is zero or not finite: it cannot make write keys");
    m_lambda = m_settings.lambda * keyScale;
}

void EpisodicMemory::reset() {
    const Eigen::Index k = m_prior.rows();
    m_memory = m_prior;
    m_cov = m_lambda * Eigen::MatrixXd::Identity(k, k);
    m_chol = std::sqrt(m_lambda) * Eigen::MatrixXd::Identity(k, k);
    m_covQueued = 0;
    m_writtenRows = 0;
    m_updates = 0;
    m_sinceRefresh = 0;
    m_pinvValid = false;
}

void EpisodicMemory::flushCovariance() const {
    if (m_covQueued == 0) return;
    memkernels::kernels().covarianceAdd(m_cov.data(), m_cov.rows(), m_covQueue.data(), m_covQueueSigns.data(),
                                        m_covQueued);
    m_covQueued = 0;
}

Eigen::MatrixXd EpisodicMemory::keys(const Eigen::MatrixXd& z) const {
    if (z.cols() != m_memory.cols())
        throw UserError("encoding has " + std::to_string(z.cols()) + " dimensions, the memory expects " +
                        std::to_string(m_memory.cols()));
    const Eigen::Index n = z.rows(), k = m_memory.rows(), c = m_memory.cols();
    Eigen::MatrixXd w(n, k);
    const auto& kt = memkernels::kernels();
    if (m_settings.arithmetic == MemoryArithmetic::EigenBlocked) w.noalias() = z * m_referencePinv; // as before
    else if (n == 1) kt.rowTimesMatrix(z.data(), m_referencePinv.data(), c, k, w.data());
    else if (n > 1) kt.matmul(z.data(), n, c, m_referencePinv.data(), k, w.data());
    return w;
}

Eigen::MatrixXd EpisodicMemory::write(const Eigen::MatrixXd& z) {
    Eigen::MatrixXd w = keys(z);
    update(w, z, +1.0);
    return w;
}

void EpisodicMemory::forget(const Eigen::MatrixXd& z) { update(keys(z), z, -1.0); }

void EpisodicMemory::update(const Eigen::MatrixXd& w, const Eigen::MatrixXd& z, double a) {
    const Eigen::Index k = m_memory.rows(), c = m_memory.cols(), n = z.rows();
    if (a != 1.0 && a != -1.0) throw UserError("memory update sign must be +1 (write) or -1 (forget)");
    if (w.rows() != n || w.cols() != k || z.cols() != c)
        throw UserError("memory update needs keys of N x " + std::to_string(k) + " and encodings of N x " +
                        std::to_string(c) + ", got " + std::to_string(w.rows()) + " x " + std::to_string(w.cols()) +
                        " and " + std::to_string(n) + " x " + std::to_string(z.cols()));
    if (n == 0) return;
    checkFinite(w, "write key");
    checkFinite(z, "encoding");
    if (m_settings.arithmetic == MemoryArithmetic::EigenBlocked) updateEigenBlocked(w, z, a);
    else updatePortable(w, z, a);

    m_writtenRows += static_cast<std::int64_t>(a) * n;
    if (m_writtenRows == 0) {
        // Nothing is written any more, so the least-squares memory is exactly the prior. Snap to
        // it: the rounding residue left otherwise (~1e-11) is all a read would see, and M^+
        // would blow it up into a readout along the forgotten facts.
        const std::uint64_t updates = m_updates + 1;
        reset();
        m_updates = updates;
        return;
    }
    m_updates += 1;
    m_pinvValid = false;
    if (++m_sinceRefresh >= static_cast<std::uint64_t>(m_settings.refreshInterval)) refresh();
}

namespace {
[[noreturn]] void refuseForget(Eigen::Index n) {
    throw UserError(n == 1 ? "cannot forget: this fact is not written in the memory"
                           : "cannot forget: these facts are not all written in the memory");
}
} // namespace

void EpisodicMemory::updatePortable(const Eigen::MatrixXd& w, const Eigen::MatrixXd& z, double a) {
    // The same update as updateEigenBlocked, in fixed-order kernels (one pass over the factor
    // for its update and the forward solve, one for the back solve, one over M for the residual
    // and the update), with C's sum queued. Forgets that would make C indefinite are refused as
    // there: the factor is rebuilt from C, which this update has not touched.
    const auto& kt = memkernels::kernels();
    const Eigen::Index k = m_memory.rows(), c = m_memory.cols(), n = z.rows();
    Eigen::VectorXd work(k);
    if (n == 1) {
        const Eigen::VectorXd key = w.row(0).transpose();
        const Eigen::RowVectorXd zr = z.row(0);
        Eigen::VectorXd x(k); // L'^-1 w^T, then C'^-1 w^T
        if (!kt.cholRankOne(m_chol.data(), k, key.data(), a, x.data(), work.data())) {
            refresh();
            refuseForget(n);
        }
        kt.backSolve(m_chol.data(), k, x.data());
        kt.memoryRankOne(m_memory.data(), k, c, key.data(), zr.data(), x.data(), a);
        if (m_covQueue.rows() != k) {
            m_covQueue.resize(k, kCovarianceQueue);
            m_covQueueSigns.resize(kCovarianceQueue);
        }
        if (m_covQueued == kCovarianceQueue) flushCovariance();
        m_covQueue.col(m_covQueued) = key;
        m_covQueueSigns(m_covQueued) = a;
        ++m_covQueued;
        return;
    }
    const Eigen::MatrixXd wt = w.transpose(); // K x n: each key contiguous
    for (Eigen::Index q = 0; q < n; ++q) {
        if (!kt.cholRankOne(m_chol.data(), k, wt.col(q).data(), a, nullptr, work.data())) {
            refresh();
            refuseForget(n);
        }
    }
    Eigen::MatrixXd x = wt; // C'^-1 W^T
    for (Eigen::Index q = 0; q < n; ++q) {
        kt.forwardSolve(m_chol.data(), k, x.col(q).data());
        kt.backSolve(m_chol.data(), k, x.col(q).data());
    }
    Eigen::VectorXd r(n);
    kt.memoryUpdate(m_memory.data(), k, c, wt.data(), n, z.data(), x.data(), a, r.data());
    flushCovariance();
    const Eigen::VectorXd signs = Eigen::VectorXd::Constant(n, a);
    kt.covarianceAdd(m_cov.data(), k, wt.data(), signs.data(), n);
}

void EpisodicMemory::updateEigenBlocked(const Eigen::MatrixXd& w, const Eigen::MatrixXd& z, double a) {
    // Unchanged from the builds before the portable kernels: format-1 snapshots and the edits
    // after them replay through this, bit for bit.
    const Eigen::Index n = z.rows();
    const Eigen::MatrixXd& chol = m_chol;
    const auto lower = chol.triangularView<Eigen::Lower>();
    const auto upper = chol.transpose().triangularView<Eigen::Upper>();

    // Paper eq. 4 in the form that stays accurate under downdates:
    //   C' = C + a W^T W;   M' = M + a C'^-1 W^T (Z - W M).
    // C' is kept as its Cholesky factor, updated row by row in O(K^2); propagating C^-1 by
    // Sherman-Morrison instead multiplies its rounding error by ~1/(1 - w C^-1 w^T)^2 on every
    // forget, which was measured to destroy C^-1 after a handful of multi-row forgets.
    Eigen::MatrixXd residual = z;
    residual.noalias() -= w * m_memory;
    for (Eigen::Index i = 0; i < n; ++i) {
        if (!choleskyRankOne(w.row(i).transpose(), a)) {
            // Forgetting keeps C = lambda I + sum w^T w positive definite only if the rows were
            // written. C itself is untouched yet: restore the factor from it and refuse.
            refresh();
            throw UserError(n == 1 ? "cannot forget: this fact is not written in the memory"
                                   : "cannot forget: these facts are not all written in the memory");
        }
    }
    m_cov.noalias() += a * (w.transpose() * w);
    Eigen::MatrixXd x = w.transpose(); // K x n, becomes C'^-1 W^T
    lower.solveInPlace(x);
    upper.solveInPlace(x);
    m_memory.noalias() += a * x * residual;
}

bool EpisodicMemory::choleskyRankOne(Eigen::VectorXd x, double sigma) {
    // In-place update of the lower factor L of C to that of C + sigma x x^T (sigma = +-1),
    // column by column; O(K^2). Returns false (factor partly changed) if the result would not
    // be positive definite.
    const Eigen::Index k = m_chol.rows();
    for (Eigen::Index j = 0; j < k; ++j) {
        const double ljj = m_chol(j, j);
        const double r2 = ljj * ljj + sigma * x(j) * x(j);
        // A downdate that removes (nearly) all of a pivot means the row was not in C; the
        // relative margin keeps rounding from passing off such a forget as valid.
        if (!(r2 > 1e-10 * ljj * ljj)) return false;
        const double r = std::sqrt(r2);
        const double cs = r / ljj, sn = x(j) / ljj;
        m_chol(j, j) = r;
        const Eigen::Index rest = k - j - 1;
        if (rest > 0) {
            auto col = m_chol.col(j).tail(rest);
            auto xs = x.tail(rest);
            col = (col + sigma * sn * xs) / cs;
            xs = cs * xs - sn * col;
        }
    }
    return true;
}

void EpisodicMemory::refresh() {
    const char* notDefinite =
        "memory key covariance is no longer positive definite (facts forgotten that were never written?)";
    flushCovariance();
    if (m_settings.arithmetic == MemoryArithmetic::EigenBlocked) {
        Eigen::LLT<Eigen::MatrixXd> llt(m_cov);
        if (llt.info() != Eigen::Success) throw Error(notDefinite);
        m_chol = llt.matrixL();
    } else {
        Eigen::MatrixXd l(m_cov.rows(), m_cov.cols());
        if (!memkernels::kernels().cholesky(m_cov.data(), m_cov.rows(), l.data())) throw Error(notDefinite);
        m_chol.swap(l);
    }
    m_sinceRefresh = 0;
}

ReadResult EpisodicMemory::read(const Eigen::MatrixXd& zq) const {
    if (zq.cols() != m_memory.cols())
        throw UserError("query encoding has " + std::to_string(zq.cols()) + " dimensions, the memory expects " +
                        std::to_string(m_memory.cols()));
    if (!m_pinvValid) {
        m_memoryPinv = pseudoInverse(m_memory, m_settings.pinv);
        m_pinvValid = true;
    }
    const Eigen::Index n = zq.rows(), k = m_memory.rows(), c = m_memory.cols();
    const auto& kt = memkernels::kernels();
    ReadResult r;
    r.weights.resize(n, k);
    r.readout.resize(n, c);
    if (n == 1) {
        kt.rowTimesMatrix(zq.data(), m_memoryPinv.data(), c, k, r.weights.data());
        kt.rowTimesMatrix(r.weights.data(), m_memory.data(), k, c, r.readout.data());
    } else if (n > 1) {
        kt.matmul(zq.data(), n, c, m_memoryPinv.data(), k, r.weights.data());
        kt.matmul(r.weights.data(), n, k, m_memory.data(), c, r.readout.data());
    }
    return r;
}

Eigen::VectorXd EpisodicMemory::singularValues() const {
    Eigen::BDCSVD<Eigen::MatrixXd> svd(m_memory);
    return svd.singularValues();
}

OneShotResult EpisodicMemory::oneShotWrite(const Eigen::MatrixXd& prior, const Eigen::MatrixXd& z,
                                           const PinvSettings& pinv) {
    if (z.cols() != prior.cols())
        throw UserError("episode has " + std::to_string(z.cols()) + " dimensions, the memory expects " +
                        std::to_string(prior.cols()));
    return oneShotWithPinv(pseudoInverse(prior, pinv), z, pinv);
}

OneShotResult EpisodicMemory::oneShotWrite(const Eigen::MatrixXd& z) const {
    if (z.cols() != m_memory.cols())
        throw UserError("episode has " + std::to_string(z.cols()) + " dimensions, the memory expects " +
                        std::to_string(m_memory.cols()));
    return oneShotWithPinv(m_referencePinv, z, m_settings.pinv);
}

OneShotResult EpisodicMemory::oneShotWithPinv(const Eigen::MatrixXd& p, const Eigen::MatrixXd& z,
                                              const PinvSettings& pinv) {
    const auto& kt = memkernels::kernels();
    const Eigen::Index n = z.rows(), c = z.cols(), k = p.cols();
    OneShotResult r;
    r.keys.resize(n, k);
    if (n > 0) kt.matmul(z.data(), n, c, p.data(), k, r.keys.data());
    if (pinv.mode == PinvMode::Exact && n > 0) {
        r.memory.resize(k, c);
        if (kt.leastSquaresSolve(r.keys.data(), n, k, z.data(), c, kOneShotMaxCondition, r.memory.data())) return r;
    }
    r.memory.noalias() = pseudoInverse(r.keys, pinv) * z;
    return r;
}

Eigen::MatrixXd EpisodicMemory::leastSquaresMemory(const Eigen::MatrixXd& prior, const Eigen::MatrixXd& w,
                                                   const Eigen::MatrixXd& z, double lambda) {
    const Eigen::Index k = prior.rows();
    Eigen::MatrixXd lhs = lambda * Eigen::MatrixXd::Identity(k, k);
    lhs.noalias() += w.transpose() * w;
    Eigen::MatrixXd rhs = lambda * prior;
    rhs.noalias() += w.transpose() * z;
    return lhs.ldlt().solve(rhs);
}

std::vector<std::uint8_t> EpisodicMemory::serialize() const {
    flushCovariance();
    BlobWriter out;
    out.bytes(kMagic, sizeof kMagic);
    out.u32(m_settings.arithmetic == MemoryArithmetic::EigenBlocked ? kFormatEigenBlocked : kFormatPortable);
    out.u64(static_cast<std::uint64_t>(slots()));
    out.u64(static_cast<std::uint64_t>(width()));
    out.u8(static_cast<std::uint8_t>(m_settings.pinv.mode));
    out.f64(m_settings.pinv.alpha);
    out.u32(static_cast<std::uint32_t>(m_settings.pinv.steps));
    out.f64(m_settings.lambda);
    out.u32(static_cast<std::uint32_t>(m_settings.refreshInterval));
    out.i64(m_writtenRows);
    out.u64(m_updates);
    out.u64(m_sinceRefresh);
    const Eigen::MatrixXd* const parts[] = {&m_memory, &m_prior, &m_reference, &m_cov, &m_chol};
    for (const Eigen::MatrixXd* m : parts)
        out.f64s(m->data(), static_cast<std::size_t>(m->size()));
    out.sha256Trailer();
    return out.take();
}

EpisodicMemory EpisodicMemory::deserialize(const std::uint8_t* data, std::size_t size) {
    BlobReader in(data, size, "memory snapshot");
    char magic[sizeof kMagic];
    in.bytes(magic, sizeof magic, "magic");
    if (std::memcmp(magic, kMagic, sizeof kMagic) != 0)
        throw Error("memory snapshot: not a Larimar memory blob (bad magic bytes)");
    // Checksum before anything else, so corruption is reported as such rather than as a
    // nonsense size; the magic check above keeps foreign data from being called "corrupt".
    BlobReader checked(data, size, "memory snapshot");
    checked.verifyTrailingSha256();
    checked.bytes(magic, sizeof magic, "magic");
    const std::uint32_t version = checked.u32("format version");
    if (version != kFormatEigenBlocked && version != kFormatPortable)
        throw Error("memory snapshot has format version " + std::to_string(version) + "; this build reads versions " +
                    std::to_string(kFormatEigenBlocked) + " and " + std::to_string(kFormatPortable) +
                    " (made by a newer Larimar Workbench?)");
    const std::uint64_t k = checked.u64("slots"), c = checked.u64("width");
    if (k < 1 || c < 1 || k > kMaxDim || c > kMaxDim)
        throw Error("memory snapshot has an impossible size " + std::to_string(k) + " x " + std::to_string(c));
    MemorySettings s;
    const std::uint8_t mode = checked.u8("pseudo-inverse mode");
    if (mode > 1) throw Error("memory snapshot has an unknown pseudo-inverse mode " + std::to_string(mode));
    s.pinv.mode = static_cast<PinvMode>(mode);
    s.pinv.alpha = checked.f64("pinv alpha");
    s.pinv.steps = static_cast<int>(checked.u32("pinv steps"));
    s.lambda = checked.f64("lambda");
    s.refreshInterval = static_cast<int>(checked.u32("refresh interval"));
    s.arithmetic = version == kFormatEigenBlocked ? MemoryArithmetic::EigenBlocked : MemoryArithmetic::Portable;

    EpisodicMemory mem(Restore{}, s);
    mem.m_writtenRows = checked.i64("written rows");
    mem.m_updates = checked.u64("update count");
    mem.m_sinceRefresh = checked.u64("updates since refresh");
    const auto ki = static_cast<Eigen::Index>(k), ci = static_cast<Eigen::Index>(c);
    auto readMatrix = [&](Eigen::MatrixXd& m, Eigen::Index rows, Eigen::Index cols, const char* field) {
        m.resize(rows, cols);
        checked.f64s(m.data(), static_cast<std::size_t>(m.size()), field);
    };
    readMatrix(mem.m_memory, ki, ci, "memory matrix");
    readMatrix(mem.m_prior, ki, ci, "prior");
    readMatrix(mem.m_reference, ki, ci, "reference memory");
    readMatrix(mem.m_cov, ki, ki, "key covariance");
    readMatrix(mem.m_chol, ki, ki, "key covariance factor");
    checked.expectEnd();
    try {
        checkSizes(mem.m_prior, mem.m_reference, s);
    } catch (const UserError& e) {
        throw Error(std::string("memory snapshot has invalid settings: ") + e.what());
    }
    mem.computeReferencePinv();
    return mem;
}

std::string EpisodicMemory::digest() const {
    Sha256 h;
    const std::uint64_t dims[2] = {static_cast<std::uint64_t>(slots()), static_cast<std::uint64_t>(width())};
    h.update(dims, sizeof dims);
    h.update(m_memory.data(), static_cast<std::size_t>(m_memory.size()) * sizeof(double));
    return toHex(h.finish());
}

void exportNpy(const std::string& path, const Eigen::MatrixXd& m) {
    // Eigen is column-major; .npy in C order wants rows contiguous.
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rowMajor = m;
    writeNpy(path, rowMajor.data(), {static_cast<std::int64_t>(m.rows()), static_cast<std::int64_t>(m.cols())});
}

void EpisodicMemory::exportMatrixNpy(const std::string& path) const { exportNpy(path, m_memory); }

} // namespace larimar
