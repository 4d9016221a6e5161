// The Evaluation tab end to end, offscreen, with the editor's synthetic test model: a run on a
// CounterFact fixture fills the results and per-case tables with the numbers core/eval gives for
// the same file (the GUI runs the code `larimar eval` runs), the batch sweep and sequential modes
// draw their curves, Cancel stops a run and says so, and a malformed file gives a dialog naming
// the problem. Every wait is on a condition, never a sleep.
#include "core/eval/datasets.h"
#include "core/eval/edit_eval.h"
#include "core/model/bpe_trainer.h"
#include "core/model/larimar_model.h"
#include "tests/core/fake_text_model.h"
#include "ui/evaluation_panel.h"
#include "ui/evaluation_run.h"
#include "ui/main_window.h"

#include "tests/support/tiny_model.h"
#include <QAbstractItemModelTester>
#include <QApplication>
#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <limits>
#include <memory>

#undef slots

using namespace larimar::ui;

QT_BEGIN_NAMESPACE
inline void PrintTo(const QString& s, std::ostream* os) {
    *os << '"' << s.toStdString() << '"';
}
QT_END_NAMESPACE

namespace {

constexpr int kWait = 30000; // ms; generous for a loaded CI machine

const QString kData = QStringLiteral(LARIMAR_TEST_DATA_DIR);
const QString kCounterFact6 = kData + QStringLiteral("/eval/counterfact-easyedit-6.json");
const QString kRome3 = kData + QStringLiteral("/datasets/counterfact-rome-3.json");
const QString kBadRecord = kData + QStringLiteral("/eval/counterfact-bad-record.json");
const QString kZsreBad = kData + QStringLiteral("/eval/zsre-bad-record.jsonl");

class Evaluation : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(m_dir.isValid());
        MainWindow::settings()->remove(QStringLiteral("evaluation")); // each test starts with no file chosen
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1280, 800);
        m_window->show();
        m_window->tabs()->setCurrentIndex(MainWindow::EvaluationTab);
        m_metricsTester = std::make_unique<QAbstractItemModelTester>(
            panel()->metricsModel(), QAbstractItemModelTester::FailureReportingMode::Fatal);
        m_casesTester = std::make_unique<QAbstractItemModelTester>(
            panel()->casesModel(), QAbstractItemModelTester::FailureReportingMode::Fatal);
        m_window->start([] { return larimar::test::makeFakeModel("eval-test-model"); }, QStringLiteral("synthetic"),
                        m_dir.filePath(QStringLiteral("eval.larimar")));
        ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->hasWorkspace() && engine()->pending() == 0; }, kWait))
            << m_window->lastError().toStdString();
    }

    void TearDown() override {
        m_metricsTester.reset();
        m_casesTester.reset();
        m_window.reset();
    }

    Engine* engine() const { return m_window->engine(); }
    EvaluationPanel* panel() const { return m_window->evaluationPanel(); }

    /// Chooses the file and mode, presses Run and waits for the run to end.
    EvalOutcomePtr runOn(const QString& file, EvalRequest::Mode mode) {
        panel()->setFile(file);
        panel()->modeBox()->setCurrentIndex(mode);
        panel()->limitSpin()->setValue(0); // all
        EXPECT_TRUE(panel()->runButton()->isEnabled());
        QSignalSpy finished(panel(), &EvaluationPanel::finished);
        QTest::mouseClick(panel()->runButton(), Qt::LeftButton);
        EXPECT_TRUE(finished.wait(kWait) || finished.count() > 0) << m_window->lastError().toStdString();
        if (finished.isEmpty()) return {};
        return finished.front().at(0).value<EvalOutcomePtr>();
    }

    /// The value of the results table's row named `metric` (NaN when absent).
    double metric(const QString& name) const {
        auto* m = panel()->metricsModel();
        for (int r = 0; r < m->rowCount(); ++r)
            if (m->index(r, EvalMetricModel::Metric).data().toString() == name)
                return m->index(r, EvalMetricModel::Value).data(Qt::UserRole).toDouble();
        return std::numeric_limits<double>::quiet_NaN();
    }

    QMessageBox* errorDialog() const {
        for (auto* b : m_window->findChildren<QMessageBox*>(QStringLiteral("errorDialog")))
            if (b->isVisible()) return b;
        return nullptr;
    }

    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;
    std::unique_ptr<QAbstractItemModelTester> m_metricsTester, m_casesTester;
};

TEST_F(Evaluation, StartsWithNoFileAndRunDisabled) {
    EXPECT_EQ(m_window->tabs()->tabText(MainWindow::EvaluationTab).remove(QLatin1Char('&')),
              QStringLiteral("Evaluation"));
    EXPECT_TRUE(panel()->file().isEmpty()) << "defaults to nothing";
    EXPECT_FALSE(panel()->runButton()->isEnabled());
    EXPECT_FALSE(panel()->cancelButton()->isEnabled());
    EXPECT_EQ(panel()->casesModel()->rowCount(), 0);

    // The file chosen is remembered for the next start.
    panel()->setFile(kRome3);
    EXPECT_TRUE(panel()->runButton()->isEnabled());
    MainWindow other;
    EXPECT_EQ(other.evaluationPanel()->file(), QFileInfo(kRome3).absoluteFilePath());
}

TEST_F(Evaluation, ANewRunClearsTheLastRunsChartAndTables) {
    ASSERT_TRUE(runOn(kCounterFact6, EvalRequest::Batch));
    ASSERT_GT(panel()->metricsModel()->rowCount(), 0);
    ASSERT_GT(panel()->casesModel()->rowCount(), 0);
    ASSERT_GT(panel()->chart()->plottableCount(), 0);
    // The next run waits behind a held worker: until it reports, nothing of the last run shows.
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    engine()->post([opened] { opened.wait(); });
    panel()->setFile(kRome3);
    panel()->modeBox()->setCurrentIndex(EvalRequest::Single);
    QSignalSpy finished(panel(), &EvaluationPanel::finished);
    ASSERT_TRUE(panel()->run());
    EXPECT_EQ(panel()->metricsModel()->rowCount(), 0);
    EXPECT_EQ(panel()->casesModel()->rowCount(), 0);
    EXPECT_EQ(panel()->chart()->plottableCount(), 0);
    auto* title = qobject_cast<QCPTextElement*>(panel()->chart()->plotLayout()->element(0, 0));
    ASSERT_NE(title, nullptr);
    EXPECT_EQ(title->text(), QStringLiteral("Evaluating counterfact-rome-3.json..."));
    gate.set_value();
    ASSERT_TRUE(finished.wait(kWait) || finished.count() > 0);
    EXPECT_EQ(panel()->casesModel()->rowCount(), 3) << "then the new run's results";
}

TEST_F(Evaluation, SingleModeFillsTheTablesWithEveryCase) {
    const EvalOutcomePtr out = runOn(kCounterFact6, EvalRequest::Single);
    ASSERT_TRUE(out);
    ASSERT_TRUE(out->error.isEmpty()) << m_window->lastError().toStdString();
    EXPECT_FALSE(out->cancelled);
    EXPECT_EQ(out->metric, QStringLiteral("counterfact"));
    EXPECT_EQ(out->modelId, QStringLiteral("eval-test-model 1"));
    ASSERT_EQ(panel()->casesModel()->rowCount(), 6) << "one row per case of the fixture";
    EXPECT_EQ(metric(QStringLiteral("cases evaluated")), 6);
    EXPECT_EQ(panel()->casesModel()->index(0, EvalCaseModel::Prompt).data().toString(), QStringLiteral("BBC One, by"));
    EXPECT_EQ(panel()->progressBar()->value(), 6);
    EXPECT_EQ(panel()->progressBar()->maximum(), 6);
    EXPECT_TRUE(panel()->statusLabel()->text().startsWith(QStringLiteral("Done")))
        << panel()->statusLabel()->text().toStdString();
    EXPECT_TRUE(panel()->runButton()->isEnabled()) << "ready for the next run";
    EXPECT_FALSE(panel()->cancelButton()->isEnabled());

    // The same numbers as core/eval on the same file with the same settings (what `larimar eval
    // counterfact` runs): the GUI adds nothing of its own.
    auto model = larimar::test::makeFakeModel("eval-test-model");
    larimar::EditEvalOptions o;
    o.stripParaphrasePrefix = true;
    const auto expected = larimar::evaluateEdits(*model, larimar::loadEditCases(kCounterFact6.toStdString()), o);
    EXPECT_DOUBLE_EQ(metric(QStringLiteral("edit success")), expected.editSuccess);
    EXPECT_DOUBLE_EQ(metric(QStringLiteral("paraphrase success")), expected.paraphraseSuccess);
    EXPECT_DOUBLE_EQ(metric(QStringLiteral("neighbourhood success")), expected.neighbourhoodSuccess);
    EXPECT_DOUBLE_EQ(metric(QStringLiteral("generation accuracy")), expected.generationAccuracy);
    for (int r = 0; r < 6; ++r)
        EXPECT_EQ(panel()->casesModel()->index(r, EvalCaseModel::Edit).data().toString(),
                  expected.perCase[static_cast<std::size_t>(r)].editSuccess ? QStringLiteral("yes")
                                                                            : QStringLiteral("no"));

    // Single mode has no curve: the chart shows the headline percentages as bars.
    ASSERT_EQ(panel()->chart()->plottableCount(), 1);
    auto* bars = qobject_cast<QCPBars*>(panel()->chart()->plottable(0));
    ASSERT_NE(bars, nullptr);
    EXPECT_EQ(bars->data()->size(), 5) << "edit, paraphrase, neighbourhood, generation, locality";

    // --limit: the first N cases.
    panel()->limitSpin()->setValue(2);
    QSignalSpy finished(panel(), &EvaluationPanel::finished);
    ASSERT_TRUE(panel()->run());
    ASSERT_TRUE(finished.wait(kWait) || finished.count() > 0);
    EXPECT_EQ(panel()->casesModel()->rowCount(), 2);
}

TEST_F(Evaluation, BatchSweepDrawsAccuracyAgainstBatchSize) {
    panel()->batchSizeSpin()->setValue(4);
    panel()->sweepBox()->setChecked(true);
    const EvalOutcomePtr out = runOn(kCounterFact6, EvalRequest::Batch);
    ASSERT_TRUE(out && out->error.isEmpty()) << m_window->lastError().toStdString();
    EXPECT_EQ(out->curve.x, (QVector<double>{1, 2, 4}));
    EXPECT_EQ(metric(QStringLiteral("batch size")), 4);
    EXPECT_EQ(panel()->casesModel()->rowCount(), 4) << "one whole batch of 4 (the last 2 cases make no batch)";
    ASSERT_EQ(panel()->chart()->graphCount(), 4) << "edit, paraphrase, neighbourhood, generation";
    for (int g = 0; g < 4; ++g)
        EXPECT_EQ(panel()->chart()->graph(g)->data()->size(), 3);
    EXPECT_EQ(panel()->chart()->xAxis->scaleType(), QCPAxis::stLogarithmic);
}

TEST_F(Evaluation, SequentialDrawsRetentionAgainstEdits) {
    panel()->everySpin()->setValue(2);
    const EvalOutcomePtr out = runOn(kRome3, EvalRequest::Sequential);
    ASSERT_TRUE(out && out->error.isEmpty()) << m_window->lastError().toStdString();
    EXPECT_EQ(out->curve.x, (QVector<double>{0, 2, 3})) << "before editing, every 2 edits, after the last";
    EXPECT_EQ(panel()->casesModel()->rowCount(), 3);
    ASSERT_GE(panel()->chart()->graphCount(), 2);
    EXPECT_EQ(panel()->chart()->graph(0)->name(), QStringLiteral("edit retention"));
    EXPECT_EQ(panel()->chart()->graph(0)->data()->size(), 2) << "no edit retention at 0 edits";
    EXPECT_EQ(panel()->chart()->graph(1)->data()->size(), 3);
}

TEST_F(Evaluation, CancelStopsTheRunAndSaysSo) {
    // Hold the worker so the run cannot finish before Cancel is pressed.
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    struct Release {
        std::promise<void>& p;
        bool done = false;
        void operator()() {
            if (!done) {
                done = true;
                p.set_value();
            }
        }
        ~Release() { (*this)(); }
    } release{gate};
    engine()->post([opened] { opened.wait(); });

    panel()->setFile(kCounterFact6);
    panel()->limitSpin()->setValue(0);
    QSignalSpy finished(panel(), &EvaluationPanel::finished);
    QTest::mouseClick(panel()->runButton(), Qt::LeftButton);
    EXPECT_TRUE(panel()->isRunning());
    EXPECT_FALSE(panel()->runButton()->isEnabled()) << "one run at a time";
    ASSERT_TRUE(panel()->cancelButton()->isEnabled());
    QTest::mouseClick(panel()->cancelButton(), Qt::LeftButton);
    EXPECT_FALSE(panel()->cancelButton()->isEnabled()) << "pressed once";
    release();
    ASSERT_TRUE(finished.wait(kWait) || finished.count() > 0);
    const auto out = finished.front().at(0).value<EvalOutcomePtr>();
    EXPECT_TRUE(out->cancelled);
    EXPECT_LT(panel()->casesModel()->rowCount(), 6) << "stopped before the end";
    EXPECT_TRUE(panel()->statusLabel()->text().startsWith(QStringLiteral("Cancelled")))
        << panel()->statusLabel()->text().toStdString();
    EXPECT_FALSE(panel()->isRunning());
    EXPECT_TRUE(panel()->runButton()->isEnabled());

    // The next run is not cancelled by the last one's Cancel.
    const EvalOutcomePtr again = runOn(kCounterFact6, EvalRequest::Single);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->cancelled);
    EXPECT_EQ(panel()->casesModel()->rowCount(), 6);
}

TEST_F(Evaluation, InvalidRecordsAreSkippedWithACountAndABadFileGivesADialog) {
    // One bad record (record 2 has no target_new) no longer blocks the file: the rest is
    // evaluated and the status says how many were skipped and why, as `larimar eval
    // --skip-invalid` does.
    EvalOutcomePtr out = runOn(kBadRecord, EvalRequest::Single);
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->error.isEmpty()) << out->error.toStdString();
    EXPECT_EQ(out->skippedRecords, 1);
    EXPECT_EQ(out->cases.size(), 1);
    EXPECT_EQ(errorDialog(), nullptr);
    QString status = panel()->statusLabel()->text();
    EXPECT_TRUE(status.contains(QStringLiteral("Done: 1 of 1 cases"))) << status.toStdString();
    EXPECT_TRUE(status.contains(QStringLiteral("Skipped 1 invalid record"))) << status.toStdString();
    EXPECT_TRUE(status.contains(QStringLiteral("record 2"))) << status.toStdString();
    EXPECT_TRUE(status.contains(QStringLiteral("target_new"))) << status.toStdString();
    EXPECT_TRUE(panel()->statusLabel()->toolTip().contains(QStringLiteral("record 2")));

    // zsRE: the field with the wrong type is named.
    out = runOn(kZsreBad, EvalRequest::Single);
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->error.isEmpty()) << out->error.toStdString();
    EXPECT_EQ(out->skippedRecords, 1);
    status = panel()->statusLabel()->text();
    EXPECT_TRUE(status.contains(QStringLiteral("alt"))) << status.toStdString();

    // A file with no valid record at all is refused, naming the problem.
    const QString allBad = m_dir.filePath(QStringLiteral("all-bad.jsonl"));
    {
        QFile f(allBad);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(R"({"subject": "Delta", "src": "Which airline is Delta?", "alt": "", "answers": ["American"], "rephrase": "What airline is Delta?", "loc": "nq question: who wrote macbeth", "loc_ans": "William Shakespeare"})"
                "\n");
    }
    out = runOn(allBad, EvalRequest::Single);
    ASSERT_TRUE(out);
    EXPECT_FALSE(out->error.isEmpty());
    QMessageBox* box = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (box = errorDialog()) != nullptr; }, kWait));
    QString text = box->text() + box->informativeText();
    EXPECT_TRUE(text.contains(QStringLiteral("every record of all-bad.jsonl is invalid"))) << text.toStdString();
    EXPECT_TRUE(text.contains(QStringLiteral("alt"))) << text.toStdString();
    EXPECT_TRUE(text.contains(QStringLiteral("What to do"))) << text.toStdString();
    box->close();
    EXPECT_TRUE(panel()->statusLabel()->text().contains(QStringLiteral("failed")))
        << panel()->statusLabel()->text().toStdString();
    EXPECT_TRUE(panel()->runButton()->isEnabled()) << "another file can be run";

    // A file of facts, not of edit cases, is refused by name too.
    runOn(kData + QStringLiteral("/datasets/facts.csv"), EvalRequest::Single);
    ASSERT_TRUE(QTest::qWaitFor([&] { return (box = errorDialog()) != nullptr; }, kWait));
    EXPECT_TRUE(box->informativeText().contains(QStringLiteral("CounterFact"))) << box->informativeText().toStdString();
    box->close();
}

/// A tiny random-weight Larimar model directory (K = 8, C = 8) with room for zsRE's questions.
std::string tinyModelDir() {
    static const std::string dir = larimar::testing::makeTinyModelDir(
        "ui-eval-tiny-model", "tiny-ui-eval",
        "What is the product made by UniFirst? The name of the constellation which Delta Serpentis "
        "belongs to. nq question: who played the character uniform aircraft",
        256);
    return dir;
}

// The real loading and generation path (libtorch on the engine thread): zsRE answers are split
// into the model's BPE tokens, as `larimar eval zsre` splits them.
TEST(EvaluationRealModel, ZsreOnTheEngineThreadCountsBpeTokens) {
    MainWindow::settings()->remove(QStringLiteral("evaluation"));
    QTemporaryDir dir;
    MainWindow window;
    const std::string modelDir = tinyModelDir();
    window.evaluationPanel()->setTokenizerDir(QString::fromStdString(modelDir));
    window.start([modelDir]() -> std::shared_ptr<larimar::TextModel> { return larimar::loadTextModel(modelDir); },
                 QString::fromStdString(modelDir), dir.filePath(QStringLiteral("real.larimar")));
    ASSERT_TRUE(
        QTest::qWaitFor([&] { return window.engine()->hasWorkspace() && window.engine()->pending() == 0; }, kWait))
        << window.lastError().toStdString();
    auto* panel = window.evaluationPanel();
    panel->setFile(kData + QStringLiteral("/datasets/zsre-3.jsonl"));
    panel->limitSpin()->setValue(0);
    QSignalSpy finished(panel, &EvaluationPanel::finished);
    ASSERT_TRUE(panel->run());
    ASSERT_TRUE(finished.wait(kWait) || finished.count() > 0);
    const auto out = finished.front().at(0).value<EvalOutcomePtr>();
    ASSERT_TRUE(out->error.isEmpty()) << window.lastError().toStdString();
    EXPECT_EQ(out->metric, QStringLiteral("zsre"));
    EXPECT_EQ(out->tokenUnit, QStringLiteral("bpe"));
    EXPECT_EQ(out->modelId.left(12), QStringLiteral("tiny-ui-eval"));
    EXPECT_EQ(panel->casesModel()->rowCount(), 3);
    EXPECT_EQ(panel->casesModel()->headerData(EvalCaseModel::Neighbourhood, Qt::Horizontal).toString(),
              QStringLiteral("Locality acc."));
    for (int r = 0; r < 3; ++r) {
        const double acc = panel->casesModel()->cases()[r].edit;
        EXPECT_GE(acc, 0.0);
        EXPECT_LE(acc, 1.0);
    }
}

// Cancel during a run (here raised from its own progress report, so the point is certain): the
// outcome covers the cases done and says it was cancelled.
TEST(EvaluationRun, CancelMidRunKeepsTheCasesDone) {
    auto model = larimar::test::makeFakeModel("eval-test-model");
    EvalRequest r;
    r.file = kCounterFact6;
    std::atomic<bool> cancel{false};
    int reports = 0;
    const EvalOutcomePtr out = runEvaluation(
        *model, r,
        [&](int done, int) {
            ++reports;
            if (done == 2) cancel = true;
        },
        &cancel);
    EXPECT_TRUE(out->cancelled);
    EXPECT_EQ(out->cases.size(), 2);
    EXPECT_EQ(out->casesSelected, 6);
    EXPECT_GE(reports, 2);
}

TEST(EvaluationRun, SweepSizesArePowersOfTwoUpToTheBatchSize) {
    EXPECT_EQ(sweepSizes(1), (QVector<int>{1}));
    EXPECT_EQ(sweepSizes(4), (QVector<int>{1, 2, 4}));
    EXPECT_EQ(sweepSizes(12), (QVector<int>{1, 2, 4, 8, 12}));
}

} // namespace
