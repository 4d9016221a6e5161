// Scope evaluation: EER, F1, AUC and the ROC on hand-checkable score lists, and the collection
// protocol (facts written, rephrases positive, neighbourhood prompts negative) with a stub detector.
#include "fake_text_model.h"
#include "store_test_support.h"

#include "core/scope/scope_classifier.h"
#include "core/scope/scope_eval.h"
#include "core/util/error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

using namespace larimar;

TEST(ScopeMetrics, HandCheckedScores) {
    // positives 0.9 0.8 0.6, negatives 0.7 0.3 0.1
    const auto m = scopeMetrics({0.9, 0.8, 0.6}, {0.7, 0.3, 0.1}, 0.65);
    // At 0.65: TP = 2 (0.9, 0.8), FN = 1, FP = 1 (0.7): precision = recall = F1 = 2/3.
    EXPECT_NEAR(m.precision, 2.0 / 3, 1e-12);
    EXPECT_NEAR(m.recall, 2.0 / 3, 1e-12);
    EXPECT_NEAR(m.f1, 2.0 / 3, 1e-12);
    EXPECT_NEAR(m.accuracy, 4.0 / 6, 1e-12);
    // AUC = P(positive > negative) = (3 + 3 + 2) / 9.
    EXPECT_NEAR(m.auc, 8.0 / 9, 1e-12);
    // At threshold 0.7 FPR = 1/3 (0.7) and FNR = 1/3 (0.6): the equal error point.
    EXPECT_NEAR(m.eer, 1.0 / 3, 1e-12);
    EXPECT_DOUBLE_EQ(m.eerThreshold, 0.7);
    EXPECT_EQ(m.positives, 3);
    EXPECT_EQ(m.negatives, 3);
    // ROC from (0, 0) to (1, 1), one point per distinct score.
    ASSERT_EQ(m.roc.size(), 7u);
    EXPECT_EQ(m.roc.front().fpr, 0.0);
    EXPECT_EQ(m.roc.front().tpr, 0.0);
    EXPECT_EQ(m.roc.back().fpr, 1.0);
    EXPECT_EQ(m.roc.back().tpr, 1.0);
}

TEST(ScopeMetrics, PerfectAndInvertedAndTiedDetectors) {
    const auto perfect = scopeMetrics({0.9, 0.8}, {0.2, 0.1}, 0.5);
    EXPECT_DOUBLE_EQ(perfect.auc, 1.0);
    EXPECT_DOUBLE_EQ(perfect.eer, 0.0);
    EXPECT_DOUBLE_EQ(perfect.f1, 1.0);
    const auto inverted = scopeMetrics({0.1, 0.2}, {0.8, 0.9}, 0.5);
    EXPECT_DOUBLE_EQ(inverted.auc, 0.0);
    EXPECT_DOUBLE_EQ(inverted.f1, 0.0);
    // All scores equal: chance, ties count half.
    const auto tied = scopeMetrics({0.5, 0.5}, {0.5, 0.5}, 0.5);
    EXPECT_DOUBLE_EQ(tied.auc, 0.5);
    EXPECT_DOUBLE_EQ(tied.recall, 1.0);
    EXPECT_THROW(scopeMetrics({}, {0.1}, 0.5), UserError);
    EXPECT_THROW(scopeMetrics({0.1}, {}, 0.5), UserError);
}

namespace {

/// Scores a prompt 0.9 when its last word names a written fact's last word, else 0.1.
class StubDetector : public ScopeDetector {
public:
    void reset(const std::vector<Fact>& written) override {
        m_words.clear();
        for (const auto& f : written) m_words.insert(lastWord(f.text));
    }
    void added(const std::vector<Fact>& facts) override {
        for (const auto& f : facts) m_words.insert(lastWord(f.text));
        m_added += static_cast<int>(facts.size());
    }
    void removed(const std::vector<std::int64_t>&) override {}
    ScopeScore score(const std::string& prompt) override {
        ScopeScore s;
        s.score = m_words.count(lastWord(prompt)) ? 0.9 : 0.1;
        return s;
    }
    double defaultThreshold() const override { return 0.5; }
    std::string name() const override { return "stub"; }
    int m_added = 0;

private:
    static std::string lastWord(const std::string& t) { return t.substr(t.find_last_of(' ') + 1); }
    std::set<std::string> m_words;
};

} // namespace

TEST(CollectScopeScores, WritesFactsThenScoresRephrasesAndNeighbours) {
    std::vector<EditCase> cases(3);
    for (int i = 0; i < 3; ++i) {
        cases[i].prompt = "fact " + std::to_string(i) + " is";
        cases[i].targetNew = "t" + std::to_string(i);
        cases[i].paraphrasePrompts = {"rephrased t" + std::to_string(i)};
        cases[i].neighbourhoodPrompts = {"near n" + std::to_string(i), "near m" + std::to_string(i)};
    }
    cases[2].paraphrasePrompts = {"missed x"};
    StubDetector d;
    std::vector<std::string> written;
    std::int64_t lastDone = 0, lastTotal = 0;
    const auto s = collectScopeScores(
        d, cases, 0, [&](const std::vector<std::string>& t) { written = t; },
        [&](std::int64_t done, std::int64_t total) {
            lastDone = done;
            lastTotal = total;
        });
    EXPECT_EQ(s.facts, 3);
    EXPECT_EQ(d.m_added, 3);
    EXPECT_EQ(written, (std::vector<std::string>{"fact 0 is t0", "fact 1 is t1", "fact 2 is t2"}));
    EXPECT_EQ(s.positives, (std::vector<double>{0.9, 0.9, 0.1}));
    EXPECT_EQ(s.negatives, std::vector<double>(6, 0.1));
    EXPECT_EQ(lastDone, lastTotal);
    EXPECT_EQ(lastTotal, 3 + 3 + 6);
    const auto m = scopeMetrics(s.positives, s.negatives, 0.5);
    EXPECT_NEAR(m.recall, 2.0 / 3, 1e-12);
    EXPECT_DOUBLE_EQ(m.precision, 1.0);

    // --limit: only the first facts are written and asked about.
    StubDetector d2;
    const auto two = collectScopeScores(d2, cases, 2);
    EXPECT_EQ(two.facts, 2);
    EXPECT_EQ(two.positives.size(), 2u);
    EXPECT_EQ(two.negatives.size(), 4u);
}

// The evaluation's scope gate decides as Editor::query: the detector's score against its
// threshold, told the facts of the evaluation's memory.
TEST(DetectorEditScope, TellsTheDetectorTheFactsAndComparesItsScoreWithTheThreshold) {
    auto d = std::make_shared<StubDetector>();
    DetectorEditScope scope(d);
    EXPECT_DOUBLE_EQ(scope.threshold(), 0.5);
    EXPECT_EQ(scope.description(), "stub, threshold 0.5");
    auto memory = makeMemoryBackend({}, EpisodicMemory(Eigen::MatrixXd::Zero(2, 2), Eigen::MatrixXd::Identity(2, 2)), {});
    scope.reset(*memory);
    EXPECT_FALSE(scope.inScope("about Paris")) << "nothing written";
    scope.added({"the capital is Paris"});
    EXPECT_EQ(d->m_added, 1);
    EXPECT_TRUE(scope.inScope("about Paris"));   // 0.9 >= 0.5
    EXPECT_FALSE(scope.inScope("about Rome"));   // 0.1
    scope.reset(*memory);
    EXPECT_FALSE(scope.inScope("about Paris")) << "a fresh memory holds nothing";
    scope.added({"x Paris"});
    DetectorEditScope strict(d, 0.95);
    EXPECT_FALSE(strict.inScope("about Paris")); // 0.9 < 0.95
    EXPECT_EQ(strict.description(), "stub, threshold 0.95");
    EXPECT_THROW(DetectorEditScope(nullptr), Error);
}

// An ISD reads the evaluation's own memory through the gate.
TEST(DetectorEditScope, AnInternalDetectorReadsTheEvaluationsMemory) {
    auto model = larimar::test::makeFakeModel();
    auto isd = std::make_shared<InternalScopeDetector>(model);
    DetectorEditScope scope(isd);
    EXPECT_EQ(scope.description(), "isd distance, threshold 0.5");
    auto memory = makeMemoryBackend({}, makeEmptyMemory(*model), {});
    scope.reset(*memory);
    const std::string fact = "The Eiffel Tower is in Rome";
    const Eigen::MatrixXd z = model->encode({fact});
    memory->write({1}, memory->keys(z), z);
    scope.added({fact});
    EXPECT_TRUE(scope.inScope(fact)); // the memory reproduces the fact's own encoding
    EXPECT_FALSE(scope.inScope("Bananas grow on trees"));
}

TEST(ScopeRocChart, WritesPngAndSvg) {
    larimar::test::TempDir dir;
    const auto m = scopeMetrics({0.9, 0.8, 0.6}, {0.7, 0.3, 0.1}, 0.65);
    writeRocChart(dir.file("roc.svg"), m, "test");
    writeRocChart(dir.file("roc.png"), m, "test");
    EXPECT_GT(std::filesystem::file_size(dir.file("roc.svg")), 100u);
    EXPECT_GT(std::filesystem::file_size(dir.file("roc.png")), 100u);
    EXPECT_THROW(writeRocChart(dir.file("roc.txt"), m, "test"), UserError);
}
