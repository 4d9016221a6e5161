// Randomised property tests of the sequential write/forget algebra (core/memory).
// The objective under test is stated in core/memory/episodic_memory.h:
//   M = argmin sum_j ||z_j - w_j M||^2 + lambda_abs ||M - M0||^2  over the rows still written,
// lambda_abs = lambda * ||M_ref^+||_F^2.
#include "core/memory/episodic_memory.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using larimar::EpisodicMemory;
using larimar::MemorySettings;
using larimar::PinvMode;

namespace {

struct Case {
    int k, c, maxRows, steps;
    double lambda;
    PinvMode mode;
    bool zeroPrior;
};

double relErr(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
    // An empty memory with a zero prior is exactly zero: compare absolutely there.
    const double scale = std::max(b.norm(), 1.0);
    return (a - b).norm() / scale;
}

class MemoryInvariants : public ::testing::TestWithParam<Case> {};

TEST_P(MemoryInvariants, RandomWritesAndForgetsMatchLeastSquares) {
    const Case p = GetParam();
    std::mt19937_64 rng(1234 + p.k * 7 + p.c);
    std::normal_distribution<double> g(0.0, 1.0);
    auto randn = [&](Eigen::Index r, Eigen::Index c) {
        Eigen::MatrixXd m(r, c);
        for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = g(rng);
        return m;
    };
    const Eigen::MatrixXd ref = randn(p.k, p.c) / std::sqrt(double(p.c));
    const Eigen::MatrixXd prior = p.zeroPrior ? Eigen::MatrixXd::Zero(p.k, p.c) : Eigen::MatrixXd(randn(p.k, p.c));
    MemorySettings s;
    s.lambda = p.lambda;
    s.pinv.mode = p.mode;
    s.refreshInterval = 256;
    EpisodicMemory mem(prior, ref, s);

    struct Episode { Eigen::MatrixXd z, w; bool storedKey; };
    std::vector<Episode> written;
    std::uniform_int_distribution<int> rows(1, p.maxRows);
    std::uniform_real_distribution<double> u01(0, 1);
    // Keep the number of written rows below the rank the keys can carry (min(K, C)), where the
    // least-squares problem has an exact fit; the invariant holds beyond that too, but the
    // reference solve then measures conditioning, not the algorithm.
    const int capacity = std::min(p.k, p.c) * 3 / 4;

    double worst = 0.0;
    for (int step = 0; step < p.steps; ++step) {
        const bool doWrite = written.empty() || (mem.writtenRows() + p.maxRows <= capacity && u01(rng) < 0.55);
        if (doWrite) {
            Episode e{randn(rows(rng), p.c), {}, u01(rng) < 0.5};
            e.w = mem.write(e.z);
            written.push_back(std::move(e));
        } else {
            std::uniform_int_distribution<std::size_t> pick(0, written.size() - 1);
            const std::size_t i = pick(rng);
            // Half the forgets recompute the key from M_ref, half use the key stored at write time.
            if (written[i].storedKey) mem.forgetWithKeys(written[i].w, written[i].z);
            else mem.forget(written[i].z);
            written.erase(written.begin() + static_cast<std::ptrdiff_t>(i));
        }
        if (step % 97 == 0 || step == p.steps - 1) {
            Eigen::Index n = 0;
            for (auto& e : written) n += e.z.rows();
            Eigen::MatrixXd w(n, p.k), z(n, p.c);
            Eigen::Index r = 0;
            for (auto& e : written) {
                w.middleRows(r, e.z.rows()) = e.w;
                z.middleRows(r, e.z.rows()) = e.z;
                r += e.z.rows();
            }
            ASSERT_EQ(mem.writtenRows(), n);
            const Eigen::MatrixXd expected = EpisodicMemory::leastSquaresMemory(prior, w, z, mem.effectiveLambda());
            const double err = relErr(mem.matrix(), expected);
            worst = std::max(worst, err);
            ASSERT_LT(err, 1e-7) << "step " << step << " rows written " << n;
        }
    }
    // Forgetting every remaining fact returns M to the prior.
    for (auto& e : written) mem.forget(e.z);
    EXPECT_EQ(mem.writtenRows(), 0);
    if (p.zeroPrior) EXPECT_LT(mem.matrix().norm(), 1e-7);
    else EXPECT_LT(relErr(mem.matrix(), prior), 1e-7);
    RecordProperty("worst_relative_error", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, MemoryInvariants,
    ::testing::Values(Case{16, 32, 3, 3000, 1e-3, PinvMode::Exact, true},
                      Case{16, 32, 3, 3000, 1e-3, PinvMode::Exact, false},
                      Case{64, 48, 6, 3000, 1e-3, PinvMode::Exact, false},
                      Case{64, 96, 1, 3000, 1e-2, PinvMode::Iterative, false},
                      Case{128, 256, 4, 2000, 1e-3, PinvMode::Exact, true},
                      Case{256, 128, 1, 2000, 1.0, PinvMode::Exact, false},
                      Case{64, 96, 4, 3000, 1e-6, PinvMode::Exact, false}));

} // namespace
