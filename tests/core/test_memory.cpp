#include "core/memory/episodic_memory.h"
#include "core/util/error.h"
#include "core/util/npy.h"
#include "core/util/sha256.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>

using namespace larimar;

namespace {

Eigen::MatrixXd randn(std::mt19937_64& rng, Eigen::Index r, Eigen::Index c, double scale = 1.0) {
    std::normal_distribution<double> g(0.0, scale);
    Eigen::MatrixXd m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = g(rng);
    return m;
}

double relErr(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) { return (a - b).norm() / b.norm(); }

EpisodicMemory makeMemory(int k, int c, bool zeroPrior, std::uint64_t seed = 7, MemorySettings s = {}) {
    std::mt19937_64 rng(seed);
    Eigen::MatrixXd ref = randn(rng, k, c, 1.0 / std::sqrt(double(c)));
    Eigen::MatrixXd prior = zeroPrior ? Eigen::MatrixXd::Zero(k, c) : ref;
    return EpisodicMemory(prior, ref, s);
}

TEST(Memory, EmptyMemoryHoldsThePrior) {
    std::mt19937_64 rng(1);
    const Eigen::MatrixXd prior = randn(rng, 8, 12);
    EpisodicMemory mem(prior, prior);
    EXPECT_EQ(mem.matrix(), prior);
    EXPECT_EQ(mem.writtenRows(), 0);
    EXPECT_EQ(mem.slots(), 8);
    EXPECT_EQ(mem.width(), 12);
}

TEST(Memory, WriteThenForgetOneFactLeavesMemoryAsItWas) {
    for (double lambda : {1e-3, 1e-6})
    for (bool zeroPrior : {true, false}) {
        MemorySettings s;
        s.lambda = lambda;
        EpisodicMemory mem = makeMemory(64, 96, zeroPrior, 7, s);
        std::mt19937_64 rng(3);
        mem.write(randn(rng, 20, 96)); // some facts already there
        const Eigen::MatrixXd before = mem.matrix();
        const Eigen::MatrixXd fact = randn(rng, 1, 96);
        mem.write(fact);
        EXPECT_GT(relErr(mem.matrix(), before), 1e-3) << "the write must change the memory";
        mem.forget(fact);
        EXPECT_LT(relErr(mem.matrix(), before), 1e-10);
        EXPECT_EQ(mem.writtenRows(), 20);
    }
}

TEST(Memory, ReadsDoNotBringForgottenFactsBack) {
    // A forget leaves rounding residue along the forgotten direction; reads must not see it.
    EpisodicMemory mem = makeMemory(32, 48, true);
    std::mt19937_64 rng(11);
    const Eigen::MatrixXd gone = randn(rng, 1, 48), kept = randn(rng, 3, 48), query = randn(rng, 1, 48);
    mem.write(gone);
    mem.write(kept);
    mem.forget(gone);
    const Eigen::RowVectorXd out = mem.read(query).readout;
    const Eigen::RowVectorXd g = gone.row(0);
    // The readout lies in the span of the kept facts: nothing of the forgotten one beyond that.
    const Eigen::MatrixXd basis = kept.transpose().householderQr().householderQ() * Eigen::MatrixXd::Identity(48, 3);
    const Eigen::RowVectorXd outsideKept = out - (out * basis) * basis.transpose();
    EXPECT_LT(outsideKept.norm(), 1e-6 * out.norm());
    // Forgetting everything returns exactly the prior, and a read of an empty memory reads nothing.
    mem.forget(kept);
    EXPECT_EQ(mem.matrix(), Eigen::MatrixXd::Zero(32, 48));
    EXPECT_EQ(mem.writtenRows(), 0);
    EXPECT_LT(mem.read(g).readout.norm(), 1e-12);
}

TEST(Memory, ReadOfWrittenFactReturnsItWhileNAtMostK) {
    // With a zero prior (the editor's choice) the readout is the projection onto the written
    // encodings, exact for any lambda. With a non-zero prior, the prior's pull (lambda) biases
    // the fit: relative error ~ lambda, so a small lambda is used there.
    for (bool zeroPrior : {true, false}) {
        MemorySettings s;
        s.lambda = zeroPrior ? 1e-3 : 1e-6;
        for (int n : {1, 10, 64}) {
            EpisodicMemory mem = makeMemory(64, 96, zeroPrior, 11, s);
            std::mt19937_64 rng(5 + n);
            const Eigen::MatrixXd facts = randn(rng, n, 96);
            for (Eigen::Index i = 0; i < n; ++i) mem.write(facts.row(i));
            const ReadResult r = mem.read(facts);
            ASSERT_EQ(r.weights.rows(), n);
            ASSERT_EQ(r.weights.cols(), 64);
            for (Eigen::Index i = 0; i < n; ++i)
                EXPECT_LT(relErr(r.readout.row(i), facts.row(i)), 1e-3)
                    << "fact " << i << " of " << n << (zeroPrior ? " (zero prior)" : " (random prior)");
        }
    }
}

TEST(Memory, ReadAtPaperSizeWithKFacts) {
    // K = 512, C = 768 as in the paper; N = K facts written one by one.
    EpisodicMemory mem = makeMemory(512, 768, true, 21);
    std::mt19937_64 rng(22);
    const Eigen::MatrixXd facts = randn(rng, 512, 768);
    for (Eigen::Index i = 0; i < facts.rows(); ++i) mem.write(facts.row(i));
    const ReadResult r = mem.read(facts);
    double worst = 0;
    for (Eigen::Index i = 0; i < facts.rows(); ++i) worst = std::max(worst, relErr(r.readout.row(i), facts.row(i)));
    EXPECT_LT(worst, 1e-3);
}

TEST(Memory, ZeroPriorSequentialEqualsPaperOneShotWrite) {
    // With M0 = 0 and a tiny lambda the sequential memory is the minimum-norm least-squares
    // memory W^+ Z, i.e. the paper's one-shot write with the same keys.
    std::mt19937_64 rng(31);
    const Eigen::MatrixXd ref = randn(rng, 32, 48, 0.2);
    MemorySettings s;
    s.lambda = 1e-9;
    EpisodicMemory mem(Eigen::MatrixXd::Zero(32, 48), ref, s);
    const Eigen::MatrixXd z = randn(rng, 10, 48);
    for (Eigen::Index i = 0; i < z.rows(); ++i) mem.write(z.row(i));
    const OneShotResult one = EpisodicMemory::oneShotWrite(ref, z, s.pinv);
    EXPECT_LT(relErr(mem.matrix(), one.memory), 1e-6);
    EXPECT_LT(relErr(mem.keys(z), one.keys), 1e-12);
}

TEST(Memory, BatchWriteEqualsRowByRowWrite) {
    EpisodicMemory a = makeMemory(40, 60, false), b = makeMemory(40, 60, false);
    std::mt19937_64 rng(8);
    const Eigen::MatrixXd z = randn(rng, 12, 60);
    a.write(z);
    for (Eigen::Index i = 0; i < z.rows(); ++i) b.write(z.row(i));
    EXPECT_LT(relErr(a.matrix(), b.matrix()), 1e-9);
    a.forget(z.topRows(5));
    for (Eigen::Index i = 0; i < 5; ++i) b.forget(z.row(i));
    EXPECT_LT(relErr(a.matrix(), b.matrix()), 1e-9);
}

TEST(Memory, ForgettingAFactThatWasNeverWrittenIsRefused) {
    EpisodicMemory mem = makeMemory(16, 24, true);
    std::mt19937_64 rng(4);
    const Eigen::MatrixXd fact = randn(rng, 1, 24);
    EXPECT_THROW(mem.forget(fact), UserError);
    mem.write(fact);
    mem.forget(fact);
    EXPECT_THROW(mem.forget(fact), UserError) << "forgetting twice must be refused";
}

TEST(Memory, BadSizesAndValuesAreUserErrors) {
    Eigen::MatrixXd prior = Eigen::MatrixXd::Identity(8, 16);
    EXPECT_THROW(EpisodicMemory(prior, Eigen::MatrixXd::Identity(8, 15)), UserError);
    MemorySettings bad;
    bad.lambda = 0;
    EXPECT_THROW(EpisodicMemory(prior, prior, bad), UserError);
    EpisodicMemory mem(prior, prior);
    EXPECT_THROW(mem.write(Eigen::MatrixXd::Ones(1, 15)), UserError);
    EXPECT_THROW(mem.read(Eigen::MatrixXd::Ones(1, 17)), UserError);
    Eigen::MatrixXd nan = Eigen::MatrixXd::Ones(1, 16);
    nan(0, 3) = std::nan("");
    EXPECT_THROW(mem.write(nan), UserError);
    EXPECT_EQ(mem.writtenRows(), 0) << "a refused write changes nothing";
}

TEST(Pinv, IterativeMatchesExactOnWellConditionedInput) {
    // Singular values in [1, 40]: alpha = 5e-4 satisfies alpha < 2 / sigma_max^2 and 15 steps
    // (2^15 effective iterations) converge for sigma_min^2 * alpha * 2^15 >> 1.
    std::mt19937_64 rng(9);
    const int k = 64, c = 96;
    Eigen::HouseholderQR<Eigen::MatrixXd> qu(randn(rng, k, k)), qv(randn(rng, c, c));
    const Eigen::MatrixXd u = qu.householderQ(), v = qv.householderQ();
    Eigen::VectorXd sv = Eigen::VectorXd::LinSpaced(k, 1.0, 40.0);
    const Eigen::MatrixXd a = u * sv.asDiagonal() * v.leftCols(k).transpose();
    const Eigen::MatrixXd exact = exactPseudoInverse(a);
    const Eigen::MatrixXd iter = iterativePseudoInverse(a, 5e-4, 15);
    EXPECT_LT(relErr(iter, exact), 1e-6);
    EXPECT_LT(relErr(a * exact * a, a), 1e-10);
}

TEST(Pinv, IterativeActsAsRegularisedInverseOnTinySingularValues) {
    // The public code's iteration barely inverts directions with tiny singular values, unlike
    // the exact pseudo-inverse: this is why a model records which one it was trained with.
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(2, 3);
    a(0, 0) = 10.0;
    a(1, 1) = 0.01;
    const Eigen::MatrixXd iter = iterativePseudoInverse(a, 5e-4, 15);
    EXPECT_NEAR(iter(0, 0), 0.1, 1e-9);
    EXPECT_LT(iter(1, 1), 10.0); // exact would be 100
    EXPECT_NEAR(exactPseudoInverse(a)(1, 1), 100.0, 1e-9);
}

TEST(Snapshot, RoundTripIsBitExactAndContinuesIdentically) {
    for (PinvMode mode : {PinvMode::Exact, PinvMode::Iterative}) {
        MemorySettings s;
        s.pinv.mode = mode;
        s.refreshInterval = 5;
        EpisodicMemory mem = makeMemory(24, 40, false, 13, s);
        std::mt19937_64 rng(14);
        for (int i = 0; i < 7; ++i) mem.write(randn(rng, 1, 40));
        const auto blob = mem.serialize();
        EpisodicMemory copy = EpisodicMemory::deserialize(blob);
        EXPECT_EQ(copy.serialize(), blob);
        EXPECT_EQ(copy.digest(), mem.digest());
        EXPECT_EQ(copy.settings().pinv.mode, mode);
        const Eigen::MatrixXd next = randn(rng, 2, 40);
        mem.write(next);
        copy.write(next);
        EXPECT_EQ(std::memcmp(mem.matrix().data(), copy.matrix().data(), sizeof(double) * 24 * 40), 0)
            << "a restored memory must continue bit for bit";
        EXPECT_EQ(mem.serialize(), copy.serialize());
    }
}

TEST(Snapshot, CorruptTruncatedAndForeignBlobsAreRejected) {
    EpisodicMemory mem = makeMemory(8, 12, false);
    std::mt19937_64 rng(15);
    mem.write(randn(rng, 3, 12));
    const auto blob = mem.serialize();
    for (std::size_t cut : {std::size_t(0), std::size_t(4), std::size_t(20), blob.size() / 2, blob.size() - 1}) {
        std::vector<std::uint8_t> t(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(cut));
        EXPECT_THROW(EpisodicMemory::deserialize(t), Error) << "cut at " << cut;
    }
    std::uniform_int_distribution<std::size_t> pos(0, blob.size() - 1);
    for (int i = 0; i < 200; ++i) {
        auto b = blob;
        b[pos(rng)] ^= static_cast<std::uint8_t>(1 + (i % 255));
        EXPECT_THROW(EpisodicMemory::deserialize(b), Error);
    }
    std::vector<std::uint8_t> foreign(blob.size(), 0x42);
    try {
        EpisodicMemory::deserialize(foreign);
        FAIL() << "foreign data accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not a Larimar memory"), std::string::npos) << e.what();
    }
    // A valid checksum over a newer format version: refused with a message about the version.
    auto newer = blob;
    newer[8] = 99;
    newer.resize(newer.size() - 32);
    const auto d = sha256(newer.data(), newer.size());
    newer.insert(newer.end(), d.begin(), d.end());
    try {
        EpisodicMemory::deserialize(newer);
        FAIL() << "newer version accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("version 99"), std::string::npos) << e.what();
    }
}

TEST(Export, MemoryAndReadWeightsAsNpy) {
    EpisodicMemory mem = makeMemory(6, 10, false);
    std::mt19937_64 rng(16);
    const Eigen::MatrixXd z = randn(rng, 3, 10);
    mem.write(z);
    const std::string dir = ::testing::TempDir();
    mem.exportMatrixNpy(dir + "/m.npy");
    const NpyArray m = readNpy(dir + "/m.npy");
    ASSERT_EQ(m.shape, (std::vector<std::int64_t>{6, 10}));
    for (int r = 0; r < 6; ++r)
        for (int c = 0; c < 10; ++c) EXPECT_EQ(m.data[static_cast<std::size_t>(r * 10 + c)], mem.matrix()(r, c));
    exportNpy(dir + "/w.npy", mem.read(z).weights);
    EXPECT_EQ(readNpy(dir + "/w.npy").shape, (std::vector<std::int64_t>{3, 6}));
}

TEST(Memory, SingularValuesDescribeRank) {
    EpisodicMemory mem = makeMemory(16, 24, true);
    std::mt19937_64 rng(17);
    mem.write(randn(rng, 5, 24));
    const Eigen::VectorXd sv = mem.singularValues();
    ASSERT_EQ(sv.size(), 16);
    EXPECT_GT(sv(4), 1e-6);
    EXPECT_LT(sv(5), 1e-9 * sv(0)) << "five facts written on a zero prior give rank five";
}

} // namespace

// ---- the portable kernels, the format-1 arithmetic, the cached one-shot write ----------------

#include "core/memory/episodic_memory_kernels.h"

namespace {

Eigen::MatrixXd grid(int r, int c, int seed) {
    // Exact binary fractions, so the fixture below does not depend on a random generator.
    Eigen::MatrixXd m(r, c);
    for (int j = 0; j < c; ++j)
        for (int i = 0; i < r; ++i) m(i, j) = double(((i * 7 + j * 11 + seed * 5) % 17) - 8) / 8.0;
    return m;
}

TEST(Snapshot, FormatOneBlobFromEarlierBuildsIsReadAndContinuedAsThenBitForBit) {
    // Made by the build before the portable kernels (commit 58c685f): the SHA-256 of its blob,
    // of M after it, and of M after one more write. EigenBlocked must reproduce all three.
    MemorySettings s;
    s.refreshInterval = 4;
    s.arithmetic = MemoryArithmetic::EigenBlocked;
    Eigen::MatrixXd ref = grid(8, 12, 1);
    ref.diagonal().array() += 3.0;
    EpisodicMemory mem(Eigen::MatrixXd::Zero(8, 12), ref, s);
    mem.write(grid(1, 12, 2));
    mem.write(grid(2, 12, 3));
    mem.forget(grid(1, 12, 2));
    mem.write(grid(1, 12, 4));
    mem.write(grid(1, 12, 5));
    const auto blob = mem.serialize();
    EXPECT_EQ(blob.size(), 3437u);
    EXPECT_EQ(toHex(sha256(blob.data(), blob.size())), "ab85a5ae1cfbae2d0fb620e50520b1852180913e4ec9227452500bc24ba78a50");
    EXPECT_EQ(mem.digest(), "15eda7335735f8daa6c12107ecbbcbb4c8ea622c667b77e1a8ad14f00d57a7a0");
    EpisodicMemory copy = EpisodicMemory::deserialize(blob);
    EXPECT_EQ(copy.settings().arithmetic, MemoryArithmetic::EigenBlocked) << "format 1 replays as it was made";
    EXPECT_EQ(copy.serialize(), blob);
    copy.write(grid(1, 12, 6));
    EXPECT_EQ(copy.digest(), "d6a1cccc6631b49e337d1e11b72b5facbf8cf96ade5deeaffc9b8e97e95e1916");
}

TEST(Snapshot, PortableMemoriesWriteFormatTwo) {
    EpisodicMemory mem = makeMemory(8, 12, true);
    std::mt19937_64 rng(3);
    mem.write(randn(rng, 2, 12));
    const auto blob = mem.serialize();
    EXPECT_EQ(blob[8], 2) << "format version 2";
    const EpisodicMemory copy = EpisodicMemory::deserialize(blob);
    EXPECT_EQ(copy.settings().arithmetic, MemoryArithmetic::Portable);
    EXPECT_EQ(copy.serialize(), blob);
}

TEST(Arithmetic, EigenBlockedAndPortableAgreeToRoundingButNotBitForBit) {
    // Why a workspace records its arithmetic: the two give the same memory to rounding, but
    // replay checks bits.
    std::mt19937_64 rng(41);
    const Eigen::MatrixXd ref = randn(rng, 16, 32, 0.2);
    MemorySettings a, b;
    a.arithmetic = MemoryArithmetic::EigenBlocked;
    EpisodicMemory ma(Eigen::MatrixXd::Zero(16, 32), ref, a), mb(Eigen::MatrixXd::Zero(16, 32), ref, b);
    for (int i = 0; i < 6; ++i) {
        const Eigen::MatrixXd z = randn(rng, 1 + i % 3, 32);
        const Eigen::MatrixXd w = ma.keys(z);
        ma.writeWithKeys(w, z);
        mb.writeWithKeys(w, z);
    }
    EXPECT_LT(relErr(mb.matrix(), ma.matrix()), 1e-12);
    EXPECT_LT(relErr(mb.covariance(), ma.covariance()), 1e-15);
    EXPECT_NE(ma.digest(), mb.digest());
}

TEST(Arithmetic, ReplayFromASnapshotIsBitExactAcrossSingleAndMultiRowUpdates) {
    // What the editor does on open: restore a snapshot, replay the later edits from stored keys.
    // Refresh every 7 updates and a covariance queue that is part-full at the snapshot.
    MemorySettings s;
    s.refreshInterval = 7;
    EpisodicMemory mem = makeMemory(48, 64, true, 5, s);
    std::mt19937_64 rng(6);
    std::vector<std::pair<Eigen::MatrixXd, Eigen::MatrixXd>> written; // keys, z
    for (int i = 0; i < 30; ++i) {
        const Eigen::MatrixXd z = randn(rng, i % 5 == 4 ? 3 : 1, 64);
        written.emplace_back(mem.write(z), z);
    }
    const auto blob = mem.serialize();
    std::vector<std::tuple<bool, Eigen::MatrixXd, Eigen::MatrixXd>> later;
    for (int i = 0; i < 40; ++i) {
        if (i % 3 == 2) {
            auto [w, z] = written[static_cast<std::size_t>(i)];
            mem.forgetWithKeys(w, z);
            later.emplace_back(false, w, z);
        } else {
            const Eigen::MatrixXd z = randn(rng, i % 4 == 3 ? 4 : 1, 64);
            const Eigen::MatrixXd w = mem.keys(z);
            mem.writeWithKeys(w, z);
            later.emplace_back(true, w, z);
            written.emplace_back(w, z);
        }
    }
    EpisodicMemory replayed = EpisodicMemory::deserialize(blob);
    for (const auto& [write, w, z] : later) {
        if (write) replayed.writeWithKeys(w, z);
        else replayed.forgetWithKeys(w, z);
    }
    EXPECT_EQ(replayed.digest(), mem.digest());
    EXPECT_TRUE(replayed.matrix() == mem.matrix());
    EXPECT_EQ(replayed.serialize(), mem.serialize()) << "covariance and factor too, queue flushed or not";
    EXPECT_EQ(replayed.updateCount(), mem.updateCount());
}

TEST(Arithmetic, RefusedForgetLeavesTheMemoryAsItWas) {
    EpisodicMemory mem = makeMemory(24, 40, true);
    std::mt19937_64 rng(8);
    mem.write(randn(rng, 5, 40));
    const Eigen::MatrixXd m = mem.matrix(), cov = mem.covariance();
    EXPECT_THROW(mem.forget(randn(rng, 1, 40)), UserError);
    EXPECT_THROW(mem.forget(randn(rng, 2, 40)), UserError);
    EXPECT_TRUE(mem.matrix() == m);
    EXPECT_TRUE(mem.covariance() == cov);
    EXPECT_EQ(mem.writtenRows(), 5);
}

class Kernels : public ::testing::Test {
protected:
    void SetUp() override {
        fast = memkernels::avx2Kernels();
        if (!fast) GTEST_SKIP() << "this CPU or build has no AVX2 kernels; the baseline is tested everywhere";
    }
    const memkernels::KernelTable& base = memkernels::baselineKernels();
    const memkernels::KernelTable* fast = nullptr;
};

TEST_F(Kernels, StateKernelsGiveTheSameBitsInBothBuilds) {
    // Sizes around the 4- and 16-lane blocks, and the paper's.
    for (int k : {1, 3, 16, 37, 512}) {
        const int c = k == 512 ? 768 : k + 5;
        std::mt19937_64 rng(100 + k);
        const Eigen::MatrixXd a = randn(rng, k, k + 3);
        Eigen::MatrixXd cov = a * a.transpose() + Eigen::MatrixXd::Identity(k, k);
        Eigen::MatrixXd l1(k, k), l2(k, k);
        ASSERT_TRUE(base.cholesky(cov.data(), k, l1.data()));
        ASSERT_TRUE(fast->cholesky(cov.data(), k, l2.data()));
        EXPECT_TRUE(l1 == l2) << "cholesky, k = " << k;
        EXPECT_LT(relErr(l1 * l1.transpose(), cov), 1e-14);

        const Eigen::VectorXd w = randn(rng, k, 1);
        Eigen::VectorXd y1(k), y2(k), work(k);
        for (double sigma : {1.0, -1.0}) {
            ASSERT_TRUE(base.cholRankOne(l1.data(), k, w.data(), sigma, y1.data(), work.data()));
            ASSERT_TRUE(fast->cholRankOne(l2.data(), k, w.data(), sigma, y2.data(), work.data()));
            EXPECT_TRUE(l1 == l2 && y1 == y2) << "cholRankOne, k = " << k << ", sigma = " << sigma;
            base.backSolve(l1.data(), k, y1.data());
            fast->backSolve(l2.data(), k, y2.data());
            EXPECT_TRUE(y1 == y2) << "backSolve, k = " << k;
        }
        // The update keeps L L^T = C + w w^T - w w^T = C, and y = C^-1 w.
        EXPECT_LT(relErr(l1 * l1.transpose(), cov), 1e-12);
        EXPECT_LT(relErr(cov * y1, w), 1e-10);

        Eigen::MatrixXd m1 = randn(rng, k, c), m2 = m1;
        const Eigen::RowVectorXd z = randn(rng, 1, c);
        base.memoryRankOne(m1.data(), k, c, w.data(), z.data(), y1.data(), -1.0);
        fast->memoryRankOne(m2.data(), k, c, w.data(), z.data(), y1.data(), -1.0);
        EXPECT_TRUE(m1 == m2) << "memoryRankOne, k = " << k;
        const int n = 3;
        const Eigen::MatrixXd wt = randn(rng, k, n), zn = randn(rng, n, c), x = randn(rng, k, n);
        Eigen::VectorXd r(n);
        base.memoryUpdate(m1.data(), k, c, wt.data(), n, zn.data(), x.data(), 1.0, r.data());
        fast->memoryUpdate(m2.data(), k, c, wt.data(), n, zn.data(), x.data(), 1.0, r.data());
        EXPECT_TRUE(m1 == m2) << "memoryUpdate, k = " << k;
        const Eigen::VectorXd signs = (Eigen::VectorXd(3) << 1.0, -1.0, 1.0).finished();
        Eigen::MatrixXd c1 = cov, c2 = cov;
        base.covarianceAdd(c1.data(), k, wt.data(), signs.data(), n);
        fast->covarianceAdd(c2.data(), k, wt.data(), signs.data(), n);
        EXPECT_TRUE(c1 == c2) << "covarianceAdd, k = " << k;
        EXPECT_TRUE(c1 == c1.transpose()) << "the sum stays exactly symmetric";
        Eigen::VectorXd v1 = w, v2 = w;
        base.forwardSolve(l1.data(), k, v1.data());
        fast->forwardSolve(l2.data(), k, v2.data());
        EXPECT_TRUE(v1 == v2) << "forwardSolve, k = " << k;
        Eigen::VectorXd d1(c), d2(c);
        base.rowTimesMatrix(w.data(), m1.data(), k, c, d1.data());
        fast->rowTimesMatrix(w.data(), m1.data(), k, c, d2.data());
        EXPECT_TRUE(d1 == d2) << "rowTimesMatrix, k = " << k;
        EXPECT_LT(relErr(d1.transpose(), w.transpose() * m1), 1e-13);
    }
}

TEST_F(Kernels, ProductKernelsAgreeToRounding) {
    std::mt19937_64 rng(7);
    const Eigen::MatrixXd a = randn(rng, 40, 300), b = randn(rng, 300, 70);
    Eigen::MatrixXd o1(40, 70), o2(40, 70);
    base.matmul(a.data(), 40, 300, b.data(), 70, o1.data());
    fast->matmul(a.data(), 40, 300, b.data(), 70, o2.data());
    EXPECT_LT(relErr(o2, o1), 1e-12);
    EXPECT_LT(relErr(o1, a * b), 1e-12);
    // The one-shot solve, for N < K and N > K.
    for (int n : {20, 90}) {
        const Eigen::MatrixXd w = randn(rng, n, 60), z = randn(rng, n, 50);
        Eigen::MatrixXd m1(60, 50), m2(60, 50);
        ASSERT_TRUE(base.leastSquaresSolve(w.data(), n, 60, z.data(), 50, 1e7, m1.data()));
        ASSERT_TRUE(fast->leastSquaresSolve(w.data(), n, 60, z.data(), 50, 1e7, m2.data()));
        EXPECT_LT(relErr(m2, m1), 1e-12) << n;
        EXPECT_LT(relErr(m1, exactPseudoInverse(w) * z), 1e-12) << n;
    }
}

TEST(OneShot, CachedReferencePinvEqualsTheStaticWriteBitForBit) {
    for (PinvMode mode : {PinvMode::Exact, PinvMode::Iterative}) {
        MemorySettings s;
        s.pinv.mode = mode;
        std::mt19937_64 rng(12);
        const Eigen::MatrixXd ref = randn(rng, 32, 48, 0.2);
        const EpisodicMemory mem(Eigen::MatrixXd::Zero(32, 48), ref, s);
        for (int n : {1, 10, 32, 40}) {
            const Eigen::MatrixXd z = randn(rng, n, 48);
            const OneShotResult cached = mem.oneShotWrite(z);
            const OneShotResult uncached = EpisodicMemory::oneShotWrite(ref, z, s.pinv);
            EXPECT_TRUE(cached.keys == uncached.keys && cached.memory == uncached.memory) << n;
            EXPECT_TRUE(mem.writtenRows() == 0 && mem.matrix().isZero(0.0)) << "a one-shot write leaves the memory";
        }
    }
}

TEST(OneShot, QrPathEqualsTheRankRevealingPseudoInverse) {
    // For full-rank keys the QR solve gives the rank-revealing decomposition's result; rank-
    // deficient keys (a repeated fact, N > K) fall back to it.
    std::mt19937_64 rng(13);
    const Eigen::MatrixXd ref = randn(rng, 64, 96, 1.0 / std::sqrt(96.0));
    const Eigen::MatrixXd p = exactPseudoInverse(ref);
    for (int n : {1, 17, 64, 100}) {
        Eigen::MatrixXd z = randn(rng, n, 96);
        if (n == 17) z.row(16) = z.row(3); // rank 16
        const OneShotResult r = EpisodicMemory::oneShotWrite(ref, z, {});
        const Eigen::MatrixXd keys = z * p;
        EXPECT_LT(relErr(r.keys, keys), 1e-12) << n;
        EXPECT_LT(relErr(r.memory, exactPseudoInverse(keys) * z), 1e-10) << n;
    }
    const Eigen::MatrixXd zero = Eigen::MatrixXd::Zero(2, 96);
    EXPECT_TRUE(EpisodicMemory::oneShotWrite(ref, zero, {}).memory.isZero(0.0));
}

} // namespace
