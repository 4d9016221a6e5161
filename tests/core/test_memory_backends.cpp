// The memory-backend contract (core/memory/memory_backend.h), run on every backend, and what
// only the paged memory promises (capacity that grows, exact per-page forget, routing).
#include "core/memory/memory_backend.h"
#include "core/memory/paged_memory.h"
#include "core/util/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

using namespace larimar;

namespace {

constexpr int kSlots = 16, kWidth = 24;

Eigen::MatrixXd randn(std::mt19937_64& rng, Eigen::Index r, Eigen::Index c, double scale = 1.0) {
    std::normal_distribution<double> g(0.0, scale);
    Eigen::MatrixXd m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = g(rng);
    return m;
}

EpisodicMemory emptyMemory() {
    std::mt19937_64 rng(7);
    const Eigen::MatrixXd ref = randn(rng, kSlots, kWidth, 1.0 / std::sqrt(double(kWidth)));
    return EpisodicMemory(Eigen::MatrixXd::Zero(kSlots, kWidth), ref);
}

std::vector<std::int64_t> range(std::int64_t from, std::int64_t n) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), from);
    return v;
}

/// A backend plus the vectors of what it was given (the workspace's role).
struct Fixture {
    EpisodicMemory empty = emptyMemory();
    InMemoryFactVectors vectors;
    std::unique_ptr<MemoryBackend> memory;

    explicit Fixture(BackendSettings s) { memory = makeMemoryBackend(s, empty, vectors.loader()); }
    Eigen::MatrixXd keysOf(const Eigen::MatrixXd& z) const { return memory->keys(z); }
    void write(const std::vector<std::int64_t>& ids, const Eigen::MatrixXd& z) {
        const Eigen::MatrixXd k = keysOf(z);
        vectors.add(ids, k, z);
        memory->write(ids, k, z);
    }
    /// Forgets with the vectors stored at write time, as the editor does (keys computed again
    /// for one row can differ in the last bit from the batch's).
    void forget(const std::vector<std::int64_t>& ids) {
        Eigen::MatrixXd k, z;
        vectors.loader()(ids, k, z);
        memory->forget(ids, k, z);
    }
    Eigen::RowVectorXd readout(const Eigen::RowVectorXd& zq) { return memory->read(zq).readout.row(0); }
    /// Whether the query z_i of fact `id` gets that fact back: its latent read out (to 1e-6),
    /// or for an attending backend, the fact retrieved first.
    bool recalls(const Eigen::RowVectorXd& zi, std::int64_t id) {
        const MemoryRead r = memory->read(zi);
        if (memory->attends()) return !r.facts.at(0).empty() && r.facts[0][0] == id;
        return (r.readout.row(0) - zi).norm() / zi.norm() < 1e-6;
    }
    /// What a read of zq gives: the readout and the facts attended to.
    std::pair<Eigen::RowVectorXd, std::vector<std::int64_t>> readAll(const Eigen::RowVectorXd& zq) {
        const MemoryRead r = memory->read(zq);
        return {r.readout.row(0), r.facts.empty() ? std::vector<std::int64_t>{} : r.facts[0]};
    }
};

BackendSettings settingsFor(const std::string& kind) {
    BackendSettings s;
    s.kind = kind;
    s.pageFacts = 8; // half a page's slots: several pages in these tests
    return s;
}

class EveryBackend : public ::testing::TestWithParam<std::string> {};

double relErr(const Eigen::RowVectorXd& a, const Eigen::RowVectorXd& b) { return (a - b).norm() / b.norm(); }

} // namespace

TEST_P(EveryBackend, AWrittenFactReadsBackAndAForgottenOneDoesNot) {
    Fixture f(settingsFor(GetParam()));
    std::mt19937_64 rng(1);
    const Eigen::MatrixXd z = randn(rng, 6, kWidth);
    f.write(range(1, 6), z);
    for (int i = 0; i < 6; ++i) EXPECT_TRUE(f.recalls(z.row(i), i + 1)) << "fact " << i + 1;
    f.forget({3});
    if (f.memory->attends()) {
        const auto got = f.readAll(z.row(2)).second;
        EXPECT_EQ(std::count(got.begin(), got.end(), 3), 0) << "a forgotten fact must not be attended to";
    } else {
        EXPECT_GT(relErr(f.readout(z.row(2)), z.row(2)), 0.3) << "a forgotten fact must not read back";
    }
    EXPECT_TRUE(f.recalls(z.row(3), 4)) << "the others stay";
    EXPECT_EQ(f.memory->capacity().written, 5);
}

TEST_P(EveryBackend, WriteThenForgetGivesBackTheStateBefore) {
    Fixture f(settingsFor(GetParam()));
    std::mt19937_64 rng(2);
    const Eigen::MatrixXd z = randn(rng, 7, kWidth);
    f.write(range(1, 5), z.topRows(5));
    const std::string before = f.memory->digest();
    const Eigen::RowVectorXd probe = randn(rng, 1, kWidth);
    const auto readBefore = f.readAll(probe);
    f.write({6, 7}, z.bottomRows(2));
    EXPECT_NE(f.memory->digest(), before);
    f.forget({6, 7});
    // Paged: the page is rebuilt from the facts that remain, bit for bit; kv holds no mixed
    // state at all. One memory: the downdate undoes the update to rounding (~1e-10), so its
    // digest of M's bytes may differ.
    if (GetParam() != "larimar") EXPECT_EQ(f.memory->digest(), before);
    const auto readAfter = f.readAll(probe);
    EXPECT_LT((readAfter.first - readBefore.first).norm(), 1e-9 * (1 + readBefore.first.norm()));
    EXPECT_EQ(readAfter.second, readBefore.second);
}

TEST_P(EveryBackend, SnapshotRoundTripsBitExactly) {
    Fixture f(settingsFor(GetParam()));
    std::mt19937_64 rng(3);
    const Eigen::MatrixXd z = randn(rng, 12, kWidth);
    f.write(range(1, 12), z);
    f.forget({2, 9});
    const auto blob = f.memory->serialize();
    auto back = deserializeMemoryBackend(settingsFor(GetParam()), f.empty, f.vectors.loader(), blob);
    EXPECT_EQ(back->digest(), f.memory->digest());
    EXPECT_EQ(back->capacity().written, 10);
    for (int i : {0, 4, 11}) {
        EXPECT_EQ(back->read(z.row(i)).readout, f.memory->read(z.row(i)).readout) << i;
        EXPECT_EQ(back->read(z.row(i)).facts, f.memory->read(z.row(i)).facts) << i;
    }
    auto damaged = blob;
    damaged[damaged.size() / 2] ^= 0x40;
    EXPECT_THROW(deserializeMemoryBackend(settingsFor(GetParam()), f.empty, f.vectors.loader(), damaged), Error);
    damaged.resize(10);
    EXPECT_THROW(deserializeMemoryBackend(settingsFor(GetParam()), f.empty, f.vectors.loader(), damaged), Error);
}

TEST_P(EveryBackend, ACloneIsUntouchedByLaterWrites) {
    Fixture f(settingsFor(GetParam()));
    std::mt19937_64 rng(4);
    const Eigen::MatrixXd z = randn(rng, 4, kWidth);
    f.write({1, 2}, z.topRows(2));
    const auto copy = f.memory->clone();
    const std::string digest = copy->digest();
    const MemoryRead before = copy->read(z.row(0));
    f.write({3, 4}, z.bottomRows(2));
    f.forget({1});
    EXPECT_EQ(copy->digest(), digest);
    EXPECT_EQ(copy->read(z.row(0)).readout, before.readout);
    EXPECT_EQ(copy->read(z.row(0)).facts, before.facts);
    EXPECT_EQ(copy->capacity().written, 2);
    EXPECT_EQ(f.memory->capacity().written, 3);
}

TEST_P(EveryBackend, RefusesWritesItCannotHoldAndChangesNothing) {
    BackendSettings s = settingsFor(GetParam());
    if (GetParam() != "larimar") s.maxFacts = 20; // one memory: its K slots, by default
    Fixture f(s);
    const std::int64_t limit = f.memory->capacity().maximum;
    EXPECT_EQ(limit, GetParam() == "larimar" ? kSlots : 20);
    std::mt19937_64 rng(5);
    const Eigen::MatrixXd z = randn(rng, limit + 1, kWidth);
    f.write(range(1, limit), z.topRows(limit));
    const std::string digest = f.memory->digest();
    try {
        f.write({limit + 1}, z.bottomRows(1));
        FAIL() << "the write past capacity was accepted";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("at most " + std::to_string(limit) + " facts"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(f.memory->digest(), digest);
    EXPECT_EQ(f.memory->capacity().written, limit);
}

TEST_P(EveryBackend, ForgettingAFactThatIsNotWrittenIsRefused) {
    Fixture f(settingsFor(GetParam()));
    std::mt19937_64 rng(6);
    const Eigen::MatrixXd z = randn(rng, 3, kWidth);
    f.write({1, 2}, z.topRows(2));
    const std::string digest = f.memory->digest();
    const Eigen::MatrixXd k = f.keysOf(z.bottomRows(1));
    EXPECT_THROW(f.memory->forget({3}, k, z.bottomRows(1)), UserError);
    EXPECT_EQ(f.memory->digest(), digest);
}

INSTANTIATE_TEST_SUITE_P(Backends, EveryBackend, ::testing::Values("larimar", "paged", "kv"));

TEST(KvMemory, AQueryAttendsToItsTopKFactsBestFirstAndToTheScopeDetectorsNearestWithK1) {
    EpisodicMemory empty = emptyMemory();
    InMemoryFactVectors vectors;
    BackendSettings s;
    s.kind = "kv";
    s.topK = 3;
    auto m = makeMemoryBackend(s, empty, vectors.loader());
    std::mt19937_64 rng(8);
    const Eigen::MatrixXd z = randn(rng, 5, kWidth);
    const Eigen::MatrixXd k = m->keys(z);
    vectors.add(range(10, 5), k, z);
    m->write(range(10, 5), k, z);
    // A query between facts 12 and 14 (rows 2 and 4), nearer 14.
    const Eigen::RowVectorXd q = 0.4 * z.row(2) / z.row(2).norm() + 0.6 * z.row(4) / z.row(4).norm();
    const MemoryRead r = m->read(q);
    ASSERT_EQ(r.facts.at(0).size(), 3u);
    EXPECT_EQ(r.facts[0][0], 14);
    EXPECT_EQ(r.facts[0][1], 12);
    EXPECT_EQ(r.readout, Eigen::MatrixXd::Zero(1, kWidth)) << "an attending backend reads no latent";
    // With k = 1 the caller's nearest fact (the scope detector's) is the one attended to.
    s.topK = 1;
    auto one = makeMemoryBackend(s, empty, vectors.loader());
    one->write(range(10, 5), k, z);
    EXPECT_EQ(one->read(q).facts[0], std::vector<std::int64_t>{14});
    EXPECT_EQ(one->read(q, 11).facts[0], std::vector<std::int64_t>{11});
    EXPECT_EQ(one->read(q, 99).facts[0], std::vector<std::int64_t>{14}) << "an unknown hint falls back to the index";
    EXPECT_EQ(describe(s), "kv (top 1 facts attended to)");
}

TEST(PagedMemory, CapacityGrowsWithFactsAndEveryFactReadsBack) {
    Fixture f(settingsFor("paged"));
    std::mt19937_64 rng(11);
    const int n = 10 * kSlots; // ten times what one memory holds
    const Eigen::MatrixXd z = randn(rng, n, kWidth);
    f.write(range(1, n), z);
    EXPECT_EQ(f.memory->capacity().pages, n / 8);
    int exact = 0;
    for (int i = 0; i < n; ++i) exact += relErr(f.readout(z.row(i)), z.row(i)) < 1e-6 ? 1 : 0;
    EXPECT_EQ(exact, n);
    // One memory of kSlots slots cannot: refused past its capacity.
    Fixture single(settingsFor("larimar"));
    EXPECT_THROW(single.write(range(1, n), z), UserError);
}

TEST(PagedMemory, APageIsTheSameHoweverItsFactsWereWritten) {
    std::mt19937_64 rng(12);
    const Eigen::MatrixXd z = randn(rng, 20, kWidth);
    Fixture oneByOne(settingsFor("paged")), batch(settingsFor("paged")), withForget(settingsFor("paged"));
    for (int i = 0; i < 20; ++i) oneByOne.write({i + 1}, z.row(i));
    batch.write(range(1, 20), z);
    // The same facts after writing an extra one into page 0 and forgetting it again.
    withForget.write(range(1, 5), z.topRows(5));
    const Eigen::MatrixXd extra = randn(rng, 1, kWidth);
    withForget.write({100}, extra);
    withForget.forget({100});
    withForget.write(range(6, 15), z.bottomRows(15));
    EXPECT_EQ(oneByOne.memory->digest(), batch.memory->digest());
    for (int p = 0; p < 3; ++p) {
        EXPECT_EQ(oneByOne.memory->page(p).matrix(), batch.memory->page(p).matrix()) << "page " << p;
        EXPECT_EQ(oneByOne.memory->factsInPage(p), batch.memory->factsInPage(p));
    }
    // Fact 100 took a place in page 0; after its forget page 0 equals one that never held it.
    EXPECT_EQ(withForget.memory->page(0).matrix(), batch.memory->page(0).matrix());
}

TEST(PagedMemory, AForgetLeavesItsPageExactlyAsIfTheFactWasNeverWritten) {
    std::mt19937_64 rng(13);
    const Eigen::MatrixXd z = randn(rng, 8, kWidth);
    Fixture all(settingsFor("paged")), without(settingsFor("paged"));
    all.write(range(1, 8), z);
    (void)all.memory->page(0); // built, so the forget below must drop and rebuild it
    std::vector<int> keep{0, 1, 2, 4, 5, 6, 7};
    std::vector<std::int64_t> keepIds{1, 2, 3, 5, 6, 7, 8};
    without.write(keepIds, z(keep, Eigen::placeholders::all));
    all.forget({4});
    EXPECT_EQ(all.memory->page(0).matrix(), without.memory->page(0).matrix());
    EXPECT_EQ(all.memory->page(0).covariance(), without.memory->page(0).covariance());
    EXPECT_EQ(all.memory->digest(), without.memory->digest());
}

TEST(PagedMemory, AQueryReadsThePageOfTheNearestFact) {
    Fixture f(settingsFor("paged"));
    std::mt19937_64 rng(14);
    const Eigen::MatrixXd z = randn(rng, 24, kWidth); // pages 0, 1, 2
    f.write(range(1, 24), z);
    ASSERT_EQ(f.memory->pageOf(3), 0);
    ASSERT_EQ(f.memory->pageOf(20), 2);
    // Its own index: a noisy copy of fact 20's latent reads page 2 and recalls fact 20.
    const Eigen::RowVectorXd noisy = z.row(19) + 0.05 * randn(rng, 1, kWidth);
    const MemoryRead r = f.memory->read(noisy);
    EXPECT_EQ(r.pages, std::vector<int>{2});
    EXPECT_LT(relErr(r.readout.row(0), z.row(19)), 0.1);
    // The caller's nearest fact wins over the index.
    EXPECT_EQ(f.memory->read(noisy, 3).pages, std::vector<int>{0});
    // A forgotten nearest fact is no route: back to the index.
    f.forget({3});
    EXPECT_EQ(f.memory->read(noisy, 3).pages, std::vector<int>{2});
}

TEST(PagedMemory, KeepsOnlyTheCachedNumberOfPagesBuilt) {
    BackendSettings s = settingsFor("paged");
    s.cachePages = 2;
    Fixture f(s);
    std::mt19937_64 rng(15);
    const Eigen::MatrixXd z = randn(rng, 40, kWidth); // 5 pages
    f.write(range(1, 40), z);
    for (int i = 0; i < 40; ++i) EXPECT_LT(relErr(f.readout(z.row(i)), z.row(i)), 1e-6) << i;
    EXPECT_LE(dynamic_cast<PagedMemory&>(*f.memory).builtPages(), 2);
}

TEST(PagedMemory, AFactGivenTwiceInOneCallIsRefusedAndNothingChanges) {
    Fixture f(settingsFor("paged"));
    std::mt19937_64 rng(16);
    const Eigen::MatrixXd z = randn(rng, 3, kWidth);
    const Eigen::MatrixXd k = f.keysOf(z);
    try {
        f.memory->write({5, 6, 5}, k, z);
        FAIL() << "a repeated id was accepted";
    } catch (const UserError& e) {
        EXPECT_STREQ(e.what(), "fact 5 is given twice");
    }
    EXPECT_EQ(f.memory->capacity().written, 0);
    f.write({1, 2}, z.topRows(2));
    Eigen::MatrixXd twice(2, kWidth), twiceKeys(2, kSlots);
    twice << z.row(0), z.row(0);
    twiceKeys << f.keysOf(z.row(0)), f.keysOf(z.row(0));
    EXPECT_THROW(f.memory->forget({1, 1}, twiceKeys, twice), UserError);
    EXPECT_EQ(f.memory->capacity().written, 2);
}
