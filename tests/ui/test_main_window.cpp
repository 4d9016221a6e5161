// The workbench end to end, offscreen, with the editor's synthetic test model (K = 16, C = 32):
// its answer with a memory readout is the written fact nearest to it, without one "plain
// continuation of <prompt>", so a write visibly changes the with-memory answer and a forget
// changes it back. Every wait is on a condition (QTest::qWaitFor pumps events), never a sleep.
#include "core/model/bpe_trainer.h"
#include "core/model/larimar_model.h"
#include "core/model/text_model.h"
#include "core/scope/scope_detectors.h"
#include "tests/core/fake_text_model.h"
#include "ui/facts_panel.h"
#include "ui/history_panel.h"
#include "ui/import_dialog.h"
#include "ui/main_window.h"
#include "ui/memory_panel.h"
#include "ui/query_panel.h"
#include "ui/table_models.h"

#include "tests/support/tiny_model.h"
#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDialogButtonBox>
#include <QFile>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressDialog>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QTimer>
#include <QUrl>
#include <gtest/gtest.h>
#include <qcustomplot.h>
#include <sqlite3.h>

#include <filesystem>
#include <future>
#include <memory>

// Qt's "slots" keyword macro would eat ModelConfig::memory.slots below; this file declares no slots.
#undef slots

using namespace larimar::ui;
using larimar::SyntheticTextModel;

// Readable QStrings in failure messages.
QT_BEGIN_NAMESPACE
inline void PrintTo(const QString& s, std::ostream* os) {
    *os << '"' << s.toStdString() << '"';
}
QT_END_NAMESPACE

#include "tests/ui/workbench_fixture.h"

using namespace larimar::ui::test;

namespace {

TEST_F(Workbench, StartsWithTheModelAndAnEmptyWorkspace) {
    EXPECT_EQ(engine()->info().modelId.toStdString(), "ui-test-model 1");
    EXPECT_EQ(engine()->info().slotCount, 16);
    EXPECT_EQ(engine()->info().width, 32);
    EXPECT_EQ(facts()->model()->rowCount(), 0);
    EXPECT_EQ(history()->model()->rowCount(), 0);
    EXPECT_TRUE(m_window->windowTitle().contains(QStringLiteral("test.larimar")));
    EXPECT_EQ(m_window->findChild<QLabel*>(QStringLiteral("statusSize"))->text(), QStringLiteral("paged · 1 page · K x C = 16 x 32"));
    EXPECT_TRUE(m_window->findChild<QLabel*>(QStringLiteral("statusWorkspace"))
                    ->text()
                    .contains(QStringLiteral("test.larimar")));
    EXPECT_TRUE(m_window->recentWorkspaces().contains(workspacePath())) << "remembered in the settings";
}

TEST_F(Workbench, WrittenFactAppearsInTheTableAndTheHistory) {
    writeFact(kFact);
    ASSERT_EQ(facts()->model()->rowCount(), 1);
    EXPECT_EQ(cell(facts()->model(), 0, FactTableModel::Text), kFact);
    EXPECT_EQ(cell(facts()->model(), 0, FactTableModel::State), QStringLiteral("written"));
    EXPECT_EQ(cell(facts()->model(), 0, FactTableModel::Source), QStringLiteral("workbench"));
    ASSERT_EQ(history()->model()->rowCount(), 1);
    EXPECT_EQ(cell(history()->model(), 0, HistoryTableModel::Op), QStringLiteral("write"));
    EXPECT_EQ(cell(history()->model(), 0, HistoryTableModel::Facts), QStringLiteral("1"));
    EXPECT_TRUE(history()->auditLabel()->text().contains(QStringLiteral("verified")));
    EXPECT_EQ(m_window->findChild<QLabel*>(QStringLiteral("statusFacts"))->text(), QStringLiteral("1 fact written"));

    // The filter box narrows the table.
    facts()->filterEdit()->setText(QStringLiteral("eiffel"));
    EXPECT_EQ(facts()->proxy()->rowCount(), 1) << "case-insensitive";
    facts()->filterEdit()->setText(QStringLiteral("Louvre"));
    EXPECT_EQ(facts()->proxy()->rowCount(), 0);
}

TEST_F(Workbench, CompareShowsTheFactAndForgetTurnsItBack) {
    const QString plain = QString::fromStdString(SyntheticTextModel::plainAnswer(kPrompt.toStdString()));
    CompareView before = ask(kPrompt);
    EXPECT_EQ(before.withMemory, plain);
    EXPECT_FALSE(before.inScope) << "no fact written yet";

    writeFact(kFact);
    CompareView after = ask(kPrompt);
    EXPECT_TRUE(after.inScope);
    EXPECT_EQ(after.withoutMemory, plain);
    EXPECT_EQ(after.withMemory, kFact) << "the memory answers with the written fact";
    EXPECT_TRUE(after.differs);
    EXPECT_EQ(query()->withView()->toPlainText(), kFact);
    EXPECT_EQ(query()->withoutView()->toPlainText(), plain);
    EXPECT_FALSE(query()->withView()->markedRanges().isEmpty()) << "the differing words are marked";
    EXPECT_FALSE(query()->withoutView()->markedRanges().isEmpty());
    EXPECT_TRUE(query()->withView()->tokenToolTip(1).contains(QStringLiteral("p = "))) << "token probability on hover";
    EXPECT_EQ(query()->withTokens()->rowCount(), static_cast<int>(after.withTokens.size())) << "and listed";
    EXPECT_GT(query()->withTokens()->rowCount(), 0);
    ASSERT_TRUE(query()->gauge()->score().has_value());
    EXPECT_GE(*query()->gauge()->score(), query()->threshold());
    EXPECT_TRUE(query()->scopeLabel()->text().contains(QStringLiteral("in scope")));

    // Moving the slider answers again at the new threshold, which can be kept for the workspace.
    QSignalSpy requery(engine(), &Engine::compared);
    query()->thresholdSlider()->setValue(query()->thresholdSlider()->maximum());
    ASSERT_TRUE(requery.wait(kWait) || requery.count() > 0) << "moving the slider answers again";
    EXPECT_DOUBLE_EQ(query()->last().threshold, 1.0);
    ASSERT_TRUE(query()->keepThresholdButton()->isEnabled());
    QSignalSpy kept(engine(), &Engine::thresholdSaved);
    QTest::mouseClick(query()->keepThresholdButton(), Qt::LeftButton);
    ASSERT_TRUE(kept.wait(kWait) || kept.count() > 0);
    EXPECT_DOUBLE_EQ(engine()->info().defaultThreshold, 1.0);
    EXPECT_FALSE(query()->keepThresholdButton()->isEnabled());
    query()->setThreshold(0.5);

    // Forget it from the table, with one reason.
    facts()->selectFact(facts()->model()->facts().front().id);
    ASSERT_TRUE(facts()->forgetButton()->isEnabled());
    QTest::mouseClick(facts()->forgetButton(), Qt::LeftButton);
    answerReason(QStringLiteral("forgetReasonDialog"), QStringLiteral("wrong city"));
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->written == 0; }, kWait));
    EXPECT_EQ(cell(facts()->model(), 0, FactTableModel::State), QStringLiteral("forgotten"));
    facts()->proxy()->setStateFilter(FactFilterProxy::Written);
    EXPECT_EQ(facts()->proxy()->rowCount(), 0) << "the state filter hides forgotten facts";
    facts()->proxy()->setStateFilter(FactFilterProxy::Forgotten);
    EXPECT_EQ(facts()->proxy()->rowCount(), 1);
    facts()->proxy()->setStateFilter(FactFilterProxy::All);
    // Edits: 1 write, 2 the threshold set above (a setting is an audited edit), 3 the forget.
    EXPECT_EQ(cell(history()->model(), 1, HistoryTableModel::Op), QStringLiteral("setting"));
    EXPECT_EQ(cell(history()->model(), 2, HistoryTableModel::Op), QStringLiteral("forget"));
    EXPECT_EQ(cell(history()->model(), 2, HistoryTableModel::Reason), QStringLiteral("wrong city"));
    history()->selectEdit(3);
    EXPECT_TRUE(history()->details()->toPlainText().contains(kFact)) << "the edit's details name its facts";

    CompareView again = ask(kPrompt);
    EXPECT_EQ(again.withMemory, plain) << "the with-memory answer changes back";
    EXPECT_FALSE(again.differs);
}

TEST_F(Workbench, CancelledBatchImportWritesNothing) {
    const QString file = m_dir.filePath(QStringLiteral("facts.txt"));
    {
        QFile f(file);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write("Toko Yasuda plays the piano.\nMadrid is located in Sweden.\nThe Moon is made of cheese.\n");
    }
    m_window->importFile(file);
    ImportDialog* preview = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (preview = dialog<ImportDialog>()) != nullptr; }, kWait))
        << m_window->lastError().toStdString();
    Tester previewTester(preview->model(), Tester::FailureReportingMode::Fatal);
    EXPECT_EQ(preview->model()->rowCount(), 3) << "the preview shows every record";
    EXPECT_EQ(preview->model()->index(1, ImportTableModel::Text).data().toString(),
              QStringLiteral("Madrid is located in Sweden."));

    // Hold the worker so the batch cannot finish before Cancel is pressed.
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

    QSignalSpy finished(engine(), &Engine::batchFinished);
    preview->accept();
    QProgressDialog* progress = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (progress = m_window->batchProgressDialog()) != nullptr; }, kWait));
    EXPECT_TRUE(progress->isVisible());
    auto* cancel = progress->findChild<QPushButton*>();
    ASSERT_NE(cancel, nullptr);
    QTest::mouseClick(cancel, Qt::LeftButton);
    release();
    ASSERT_TRUE(finished.wait(kWait) || finished.count() > 0);
    EXPECT_FALSE(finished.front().at(0).toBool()) << "cancelled";
    ASSERT_TRUE(waitIdle());
    EXPECT_EQ(facts()->model()->rowCount(), 0) << "cancel writes nothing";
    EXPECT_EQ(history()->model()->rowCount(), 0);
    EXPECT_EQ(m_window->batchProgressDialog(), nullptr);

    // The same file without cancelling writes all three as one batch edit.
    m_window->importFile(file);
    ASSERT_TRUE(QTest::qWaitFor([&] { return (preview = dialog<ImportDialog>()) != nullptr; }, kWait));
    preview->accept();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->written == 3; }, kWait))
        << m_window->lastError().toStdString();
    EXPECT_EQ(history()->model()->rowCount(), 1);
    EXPECT_EQ(cell(history()->model(), 0, HistoryTableModel::Op), QStringLiteral("batch"));
}

TEST_F(Workbench, RollbackRestoresTheTable) {
    writeFact(QStringLiteral("Alpha is the first letter."));
    writeFact(QStringLiteral("Beta is the second letter."));
    facts()->selectFact(1);
    QTest::mouseClick(facts()->forgetButton(), Qt::LeftButton);
    answerReason(QStringLiteral("forgetReasonDialog"), QStringLiteral("test"));
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->edits.size() == 3; }, kWait));
    ASSERT_EQ(engine()->state()->written, 1);

    // Back to right after the first edit: Alpha written, Beta not yet.
    history()->selectEdit(1);
    ASSERT_TRUE(history()->rollbackButton()->isEnabled());
    QTest::mouseClick(history()->rollbackButton(), Qt::LeftButton);
    answerReason(QStringLiteral("rollbackDialog"), QStringLiteral("back to the start"));
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->edits.size() == 4; }, kWait))
        << m_window->lastError().toStdString();
    auto* model = facts()->model();
    EXPECT_EQ(cell(model, model->rowOf(1), FactTableModel::State), QStringLiteral("written"));
    EXPECT_EQ(cell(model, model->rowOf(2), FactTableModel::State), QStringLiteral("forgotten"));
    EXPECT_EQ(cell(history()->model(), 3, HistoryTableModel::Op), QStringLiteral("rollback"));
    EXPECT_TRUE(history()->auditLabel()->text().contains(QStringLiteral("verified")));

    // Edit > Undo undoes the rollback (the newest step of the undo stack).
    QAction* undo = nullptr;
    for (QAction* a : m_window->findChildren<QAction*>())
        if (a->shortcut() == QKeySequence(QKeySequence::Undo)) undo = a;
    ASSERT_NE(undo, nullptr);
    ASSERT_TRUE(undo->isEnabled());
    undo->trigger();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->edits.size() == 5; }, kWait));
    EXPECT_EQ(cell(model, model->rowOf(1), FactTableModel::State), QStringLiteral("forgotten"));
    EXPECT_EQ(cell(model, model->rowOf(2), FactTableModel::State), QStringLiteral("written"));
}

TEST_F(Workbench, MemoryPlotsHaveTheRightSizes) {
    writeFact(kFact);
    writeFact(QStringLiteral("Toko Yasuda plays the guitar."));
    const int k = 16, c = 32;
    EXPECT_EQ(memory()->heatmap()->data()->keySize(), c);
    EXPECT_EQ(memory()->heatmap()->data()->valueSize(), k);
    const auto& m = engine()->state()->memory;
    ASSERT_EQ(m.size(), k * c);
    EXPECT_DOUBLE_EQ(memory()->heatmap()->data()->cell(5, 2), m[2 * c + 5]) << "row-major: slot 2, dimension 5";
    EXPECT_GT(memory()->heatmap()->dataRange().upper, 0) << "a written memory is not all zero";
    EXPECT_EQ(memory()->heatmap()->dataRange().lower, -memory()->heatmap()->dataRange().upper)
        << "colour scale centred on zero";
    EXPECT_EQ(memory()->spectrum()->data()->size(), std::min(k, c));

    ask(kPrompt);
    EXPECT_EQ(memory()->readBars()->data()->size(), k) << "one read weight per slot";

    QSignalSpy key(engine(), &Engine::writeKeyReady);
    facts()->selectFact(2);
    ASSERT_TRUE(key.wait(kWait) || key.count() > 0);
    EXPECT_EQ(memory()->keyBars()->data()->size(), k) << "the selected fact's write key";

    bool named = false;
    for (int s = 0; s < k; ++s)
        named = named || memory()->slotToolTip(s).contains(QStringLiteral("Toko Yasuda"));
    EXPECT_TRUE(named) << "hovering a slot names the facts weighing most in it";

    // A change redraws: after the next write the heatmap shows the new memory.
    const double before = memory()->heatmap()->data()->cell(0, 0);
    writeFact(QStringLiteral("Water boils at 90 degrees."));
    EXPECT_DOUBLE_EQ(memory()->heatmap()->data()->cell(0, 0), engine()->state()->memory[0]);
    EXPECT_NE(memory()->heatmap()->data()->cell(0, 0), before);
}

TEST_F(Workbench, EngineErrorsBecomeDialogsThatSayWhatToDo) {
    writeFact(kFact);
    // The same workspace with another model is refused; the window says so and what to do.
    MainWindow other;
    other.start([] { return larimar::test::makeFakeModel("another-model"); }, QStringLiteral("synthetic"),
                workspacePath());
    ASSERT_TRUE(QTest::qWaitFor([&] { return other.engine()->pending() == 0; }, kWait));
    EXPECT_FALSE(other.engine()->hasWorkspace());
    EXPECT_TRUE(other.lastError().contains(QStringLiteral("another-model"))) << other.lastError().toStdString();
    QMessageBox* box = nullptr;
    for (auto* b : other.findChildren<QMessageBox*>(QStringLiteral("errorDialog")))
        if (b->isVisible()) box = b;
    ASSERT_NE(box, nullptr);
    EXPECT_TRUE(box->informativeText().contains(QStringLiteral("What to do"))) << box->informativeText().toStdString();
}

TEST_F(Workbench, DroppedFileIsPreviewedBeforeWriting) {
    const QString file = m_dir.filePath(QStringLiteral("facts.csv"));
    {
        QFile f(file);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write("prompt,target\nThe capital of Atlantis is,Poseidonia\n");
    }
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(file)});
    QDragEnterEvent enter(QPoint(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(m_window.get(), &enter);
    EXPECT_TRUE(enter.isAccepted());
    QDropEvent drop(QPointF(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(m_window.get(), &drop);
    ImportDialog* preview = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (preview = dialog<ImportDialog>()) != nullptr; }, kWait))
        << m_window->lastError().toStdString();
    EXPECT_EQ(preview->model()->rowCount(), 1);
    EXPECT_EQ(facts()->model()->rowCount(), 0) << "the preview writes nothing";
    preview->reject();
    ASSERT_TRUE(waitIdle());
    EXPECT_EQ(facts()->model()->rowCount(), 0);
}

TEST_F(Workbench, TamperedHistoryShowsWhereTheAuditBreaks) {
    writeFact(QStringLiteral("First fact."));
    writeFact(QStringLiteral("Second fact."));
    ASSERT_TRUE(history()->auditLabel()->text().contains(QStringLiteral("verified")));
    m_testers.clear();
    m_window.reset();
    // What someone with the sqlite3 shell could do: change the reason of edit 2.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(workspacePath().toStdString().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE edits SET reason = 'x' WHERE id = 2", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);

    MainWindow window;
    Tester tester(window.historyPanel()->model(), Tester::FailureReportingMode::Fatal);
    window.start([] { return larimar::test::makeFakeModel("ui-test-model"); }, QStringLiteral("synthetic"),
                 workspacePath());
    ASSERT_TRUE(QTest::qWaitFor([&] { return window.engine()->state() && window.engine()->pending() == 0; }, kWait))
        << window.lastError().toStdString();
    const QString audit = window.historyPanel()->auditLabel()->text();
    EXPECT_TRUE(audit.contains(QStringLiteral("broken at row 2"))) << audit.toStdString();
    EXPECT_TRUE(audit.contains(QStringLiteral("edit 2"))) << audit.toStdString();
}

TEST_F(Workbench, TenThousandFactImportKeepsTheWindowResponsive) {
    const int n = 10000;
    const QString file = m_dir.filePath(QStringLiteral("many.txt"));
    {
        QFile f(file);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        for (int i = 0; i < n; ++i)
            f.write(QStringLiteral("Fact number %1 is about topic %2.\n").arg(i).arg(i % 97).toUtf8());
    }
    m_window->importFile(file);
    ImportDialog* preview = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (preview = dialog<ImportDialog>()) != nullptr; }, kWait));
    EXPECT_EQ(preview->model()->rowCount(), n);

    // While the batch runs the GUI thread keeps turning: a zero-interval timer ticks and the
    // progress dialog advances chunk by chunk.
    int ticks = 0;
    QTimer tick;
    QObject::connect(&tick, &QTimer::timeout, [&] {
        if (m_window->batchProgressDialog()) ++ticks;
    });
    tick.start(0);
    QSignalSpy progress(engine(), &Engine::batchProgress);
    preview->accept();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->written == n; }, 120000))
        << m_window->lastError().toStdString();
    tick.stop();
    EXPECT_GT(progress.count(), 10) << "progress is reported per chunk";
    EXPECT_GT(ticks, 10) << "the event loop ran during the batch";
    EXPECT_EQ(facts()->model()->rowCount(), n);
    EXPECT_EQ(history()->model()->rowCount(), 1);
}

TEST_F(Workbench, ExportsHistoryAndMemory) {
    writeFact(kFact);
    const QString csv = m_dir.filePath(QStringLiteral("history.csv"));
    const QString npy = m_dir.filePath(QStringLiteral("memory.npy"));
    QSignalSpy history(engine(), &Engine::historyExported);
    QSignalSpy memory(engine(), &Engine::memoryExported);
    engine()->exportHistory(csv);
    engine()->exportMemory(npy);
    ASSERT_TRUE(QTest::qWaitFor([&] { return history.count() == 1 && memory.count() == 1; }, kWait))
        << m_window->lastError().toStdString();
    QFile f(csv);
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(f.readAll());
    EXPECT_TRUE(text.contains(QStringLiteral("write"))) << text.toStdString();
    QFile m(npy);
    ASSERT_TRUE(m.open(QIODevice::ReadOnly));
    EXPECT_TRUE(m.read(6) == QByteArray("\x93NUMPY", 6));
    EXPECT_GE(m.size(), 16 * 32 * 8) << "K x C doubles";
}

TEST_F(Workbench, AnotherWorkspaceOpensEmptyAndIsRemembered) {
    writeFact(kFact);
    const QString second = m_dir.filePath(QStringLiteral("second.larimar"));
    m_window->openWorkspace(second);
    ASSERT_TRUE(
        QTest::qWaitFor([&] { return engine()->info().workspace == second && engine()->pending() == 0; }, kWait))
        << m_window->lastError().toStdString();
    EXPECT_EQ(facts()->model()->rowCount(), 0) << "a new workspace starts empty";
    EXPECT_EQ(history()->model()->rowCount(), 0);
    EXPECT_TRUE(m_window->windowTitle().contains(QStringLiteral("second.larimar")));
    const QStringList recent = m_window->recentWorkspaces();
    ASSERT_GE(recent.size(), 2);
    EXPECT_EQ(recent.front(), second) << "the newest first";
    EXPECT_TRUE(recent.contains(workspacePath()));
    EXPECT_EQ(MainWindow::startWorkspacePath(), second) << "the next start opens the last workspace";

    // Help > About names the version and the model.
    QAction* about = nullptr;
    for (QAction* a : m_window->findChildren<QAction*>())
        if (a->text().contains(QStringLiteral("About Larimar"))) about = a;
    ASSERT_NE(about, nullptr);
    about->trigger();
    QMessageBox* box = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (box = dialog<QMessageBox>()) != nullptr; }, kWait));
    EXPECT_TRUE(box->text().contains(QStringLiteral(LARIMAR_VERSION)));
    EXPECT_TRUE(box->informativeText().contains(QStringLiteral("ui-test-model 1")));
    box->close();
}

TEST_F(Workbench, ACorrectionAsksAndReplacesTheOldFactInOneEdit) {
    writeFact(kFact); // fact 1: Rome
    const QString berlin = QStringLiteral("The Eiffel Tower is located in Berlin.");
    auto submit = [&](const QString& text) -> QMessageBox* {
        facts()->newFactEdit()->setText(text);
        QTest::mouseClick(facts()->writeButton(), Qt::LeftButton);
        QMessageBox* box = nullptr;
        EXPECT_TRUE(QTest::qWaitFor([&] { return (box = dialog<QMessageBox>(QStringLiteral("conflictDialog"))) != nullptr; }, kWait))
            << m_window->lastError().toStdString();
        return box;
    };
    QMessageBox* box = submit(berlin);
    ASSERT_NE(box, nullptr);
    EXPECT_TRUE(box->informativeText().contains(QStringLiteral("fact 1"))) << box->informativeText().toStdString();
    EXPECT_TRUE(box->informativeText().contains(QStringLiteral("another answer"))) << box->informativeText().toStdString();
    ASSERT_TRUE(waitIdle());
    EXPECT_EQ(engine()->state()->edits.size(), 1) << "nothing is written while the question is open";
    box->button(QMessageBox::Cancel)->click();
    ASSERT_TRUE(waitIdle());
    EXPECT_EQ(engine()->state()->edits.size(), 1) << "Cancel writes nothing";
    EXPECT_EQ(facts()->newFactEdit()->text(), berlin) << "and keeps the text";

    box = submit(berlin);
    ASSERT_NE(box, nullptr);
    box->findChild<QPushButton*>(QStringLiteral("replaceButton"))->click();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->edits.size() == 2; }, kWait)) << m_window->lastError().toStdString();
    EXPECT_TRUE(facts()->newFactEdit()->text().isEmpty());
    auto* model = facts()->model();
    EXPECT_EQ(cell(model, model->rowOf(1), FactTableModel::State), QStringLiteral("forgotten"));
    EXPECT_EQ(cell(model, model->rowOf(2), FactTableModel::State), QStringLiteral("written"));
    EXPECT_EQ(cell(history()->model(), 1, HistoryTableModel::Op), QStringLiteral("write")) << "one audited edit";
    EXPECT_EQ(cell(history()->model(), 1, HistoryTableModel::Facts), QStringLiteral("2, 1"));
    EXPECT_EQ(cell(history()->model(), 1, HistoryTableModel::Reason), QStringLiteral("correction: replaces fact 1"));
    EXPECT_TRUE(history()->auditLabel()->text().contains(QStringLiteral("verified")));
    EXPECT_EQ(ask(kPrompt).withMemory, berlin) << "the answer is the correction";

    // The same text again: Write Both writes it anyway.
    box = submit(berlin);
    ASSERT_NE(box, nullptr);
    EXPECT_TRUE(box->informativeText().contains(QStringLiteral("the same text"))) << box->informativeText().toStdString();
    box->findChild<QPushButton*>(QStringLiteral("writeBothButton"))->click();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->edits.size() == 3; }, kWait)) << m_window->lastError().toStdString();
    EXPECT_EQ(engine()->state()->written, 2);
}

TEST_F(Workbench, ForgetNeedsAReasonAndBigBatchesShowTheirCount) {
    writeFact(kFact);
    facts()->selectFact(1);
    QTest::mouseClick(facts()->forgetButton(), Qt::LeftButton);
    QInputDialog* ask = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (ask = dialog<QInputDialog>(QStringLiteral("forgetReasonDialog"))) != nullptr; }, kWait));
    QPushButton* ok = ask->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
    EXPECT_FALSE(ok->isEnabled()) << "no reason yet";
    ask->setTextValue(QStringLiteral("   "));
    EXPECT_FALSE(ok->isEnabled()) << "blanks are no reason";
    ask->setTextValue(QStringLiteral("wrong city"));
    EXPECT_TRUE(ok->isEnabled());
    ask->reject();
    // The engine refuses an empty reason whoever asks.
    engine()->forget({1}, QString());
    ASSERT_TRUE(waitIdle());
    EXPECT_TRUE(m_window->lastError().contains(QStringLiteral("needs a reason"))) << m_window->lastError().toStdString();
    EXPECT_EQ(engine()->state()->written, 1);
    EXPECT_EQ(engine()->state()->edits.size(), 1);
    if (auto* box = dialog<QMessageBox>(QStringLiteral("errorDialog"))) box->accept();

    // A 3,000-fact batch: the History row says how many, within the column as shown.
    const int n = 3000;
    const QString file = m_dir.filePath(QStringLiteral("batch.txt"));
    {
        QFile f(file);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        for (int i = 0; i < n; ++i)
            f.write(QStringLiteral("Batch fact %1.\n").arg(i).toUtf8());
    }
    m_window->importFile(file);
    ImportDialog* preview = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (preview = dialog<ImportDialog>()) != nullptr; }, kWait));
    preview->accept();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->written == n + 1; }, 60000)) << m_window->lastError().toStdString();
    const QString shown = cell(history()->model(), 1, HistoryTableModel::Facts);
    EXPECT_EQ(shown, QStringLiteral("3000 facts: 2-3001"));
    QTableView* view = history()->view();
    EXPECT_LT(view->fontMetrics().horizontalAdvance(shown), view->columnWidth(HistoryTableModel::Facts) - 8)
        << "not cut off";
    EXPECT_EQ(history()->model()->index(1, HistoryTableModel::Facts).data(Qt::ToolTipRole).toString(),
              QStringLiteral("3000 facts: 2-3001"));
}

TEST_F(Workbench, FitsALaptopScreenAt125Percent) {
    // 1366 x 768 at 125% scaling leaves about 1093 x 614 logical pixels; every tab must fit.
    for (int tab = 0; tab < m_window->tabs()->count(); ++tab) {
        m_window->tabs()->setCurrentIndex(tab);
        m_window->resize(1093, 614);
        QApplication::processEvents();
        EXPECT_LE(m_window->minimumSizeHint().width(), 1093) << "tab " << tab;
        EXPECT_LE(m_window->width(), 1093) << "tab " << tab;
    }
}

TEST_F(Workbench, FailedOpenLeavesTheOpenWorkspaceAsItWas) {
    writeFact(kFact);
    const QString junk = m_dir.filePath(QStringLiteral("notes.larimar"));
    {
        QFile f(junk);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write("These are my notes, not a workspace.\n");
    }
    m_window->openWorkspace(junk);
    ASSERT_TRUE(waitIdle());
    EXPECT_TRUE(m_window->lastError().contains(QStringLiteral("Opening the workspace"))) << m_window->lastError().toStdString();
    QMessageBox* box = dialog<QMessageBox>(QStringLiteral("errorDialog"));
    ASSERT_NE(box, nullptr) << "the failure is shown";
    box->accept();

    // Everything the window shows is still true: the old workspace is open and writable.
    EXPECT_TRUE(engine()->hasWorkspace());
    EXPECT_EQ(engine()->info().workspace, workspacePath());
    EXPECT_TRUE(m_window->windowTitle().contains(QStringLiteral("test.larimar")));
    EXPECT_EQ(facts()->model()->rowCount(), 1);
    writeFact(QStringLiteral("Toko Yasuda plays the guitar."));
    EXPECT_EQ(engine()->state()->written, 2);
    QSignalSpy exported(engine(), &Engine::historyExported);
    engine()->exportHistory(m_dir.filePath(QStringLiteral("history.csv")));
    ASSERT_TRUE(QTest::qWaitFor([&] { return exported.count() == 1; }, kWait)) << m_window->lastError().toStdString();
    EXPECT_EQ(MainWindow::startWorkspacePath(), workspacePath()) << "the failed file is not remembered";
}

TEST(WorkbenchScope, CancelWhileTheScopeDetectorPreparesWritesNothing) {
    // The workbench's real default detector (the ESD on MiniLM), made as the workbench makes
    // it. While it embeds an import's facts the status bar says "Preparing the scope detector";
    // the user presses Cancel right then (the worker waits once until the click is done).
    if (!larimar::sharedSentenceEncoder()) GTEST_SKIP() << "all-MiniLM-L6-v2 is not installed (models/fetch-assets.sh)";
    QTemporaryDir dir;
    MainWindow window;
    window.resize(1280, 800);
    window.show();
    std::atomic<bool> importing{false}, held{false};
    std::promise<void> pressed;
    std::shared_future<void> pressedDone = pressed.get_future().share();
    ScopeFactory scope;
    scope.make = [&importing, &held, pressedDone](const std::shared_ptr<larimar::TextModel>& m, const std::string& path,
                                                 const OpenProgress& progress) {
        larimar::ScopeDetectorSetup s;
        s.model = m;
        s.workspacePath = path;
        s.progress = [&importing, &held, pressedDone, progress](std::int64_t done, std::int64_t total) {
            progress(done, total);
            if (importing && !held.exchange(true)) pressedDone.wait_for(std::chrono::seconds(20));
        };
        return larimar::makeScopeDetector(s);
    };
    window.start([] { return larimar::test::makeFakeModel("ui-test-model"); }, QStringLiteral("synthetic"),
                 dir.filePath(QStringLiteral("esd.larimar")), scope);
    auto* engine = window.engine();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state() && engine->pending() == 0; }, kWait))
        << window.lastError().toStdString();
    ASSERT_EQ(engine->info().detector, QStringLiteral("esd hybrid"));

    const int n = 200;
    const QString file = dir.filePath(QStringLiteral("many.txt"));
    {
        QFile f(file);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        for (int i = 0; i < n; ++i)
            f.write(QStringLiteral("Person number %1 was born in city %2.\n").arg(i).arg(i * 7 % 101).toUtf8());
    }
    QString statusAtCancel;
    bool clicked = false;
    QObject::connect(engine, &Engine::openProgress, &window, [&] {
        if (!importing || clicked) return;
        QProgressDialog* progress = window.batchProgressDialog();
        if (!progress) return;
        clicked = true;
        statusAtCancel = window.statusBar()->currentMessage();
        QTest::mouseClick(progress->findChild<QPushButton*>(), Qt::LeftButton);
        pressed.set_value();
    });
    auto importAll = [&](bool cancel) -> bool {
        window.importFile(file);
        ImportDialog* preview = nullptr;
        if (!QTest::qWaitFor(
                [&] {
                    for (QWidget* w : QApplication::topLevelWidgets())
                        if (auto* d = qobject_cast<ImportDialog*>(w); d && d->isVisible()) preview = d;
                    return preview != nullptr;
                },
                kWait))
            return false;
        importing = cancel;
        QSignalSpy finished(engine, &Engine::batchFinished);
        preview->accept();
        return (finished.wait(60000) || finished.count() > 0) && QTest::qWaitFor([&] { return engine->pending() == 0; }, kWait);
    };
    ASSERT_TRUE(importAll(true)) << window.lastError().toStdString();
    ASSERT_TRUE(clicked) << "the detector reported its work while the import ran";
    EXPECT_TRUE(statusAtCancel.contains(QStringLiteral("Preparing the scope detector"))) << statusAtCancel.toStdString();
    EXPECT_EQ(engine->state()->facts.size(), 0) << "cancel writes nothing";
    EXPECT_EQ(engine->state()->edits.size(), 0);
    EXPECT_TRUE(window.statusBar()->currentMessage().contains(QStringLiteral("nothing was written")))
        << window.statusBar()->currentMessage().toStdString();

    // Not cancelled, the same file is written whole, and the detector knows every fact.
    ASSERT_TRUE(importAll(false)) << window.lastError().toStdString();
    EXPECT_EQ(engine->state()->written, n);
    QSignalSpy compared(engine, &Engine::compared);
    window.queryPanel()->promptEdit()->setText(QStringLiteral("Where was person number 123 born?"));
    window.queryPanel()->compareNow();
    ASSERT_TRUE(compared.wait(kWait) || compared.count() > 0) << window.lastError().toStdString();
    EXPECT_TRUE(window.queryPanel()->last().inScope);
    EXPECT_EQ(window.queryPanel()->last().nearestText, QStringLiteral("Person number 123 was born in city 53."));
}

/// A tiny random-weight Larimar model directory (K = 8, C = 8), made once per test binary: the
/// real loading and generation path (libtorch on the engine thread), not the test double.
std::string tinyModelDir() {
    static const std::string dir = larimar::testing::makeTinyModelDir(
        "ui-tiny-model", "tiny-ui", "The Eiffel Tower is located in Rome. Toko Yasuda plays the piano guitar.", 48);
    return dir;
}

TEST(WorkbenchRealModel, LoadsWritesAndAnswersOnTheEngineThread) {
    QTemporaryDir dir;
    MainWindow window;
    const std::string modelDir = tinyModelDir();
    window.start([modelDir]() -> std::shared_ptr<larimar::TextModel> { return larimar::loadTextModel(modelDir); },
                 QString::fromStdString(modelDir), dir.filePath(QStringLiteral("real.larimar")));
    ASSERT_TRUE(QTest::qWaitFor([&] { return window.engine()->state() && window.engine()->pending() == 0; }, kWait))
        << window.lastError().toStdString();
    EXPECT_EQ(window.engine()->info().slotCount, 8);
    EXPECT_EQ(window.engine()->info().width, 8);

    window.factsPanel()->newFactEdit()->setText(kFact);
    window.factsPanel()->writeNewFact();
    ASSERT_TRUE(QTest::qWaitFor([&] { return window.engine()->state()->written == 1; }, kWait))
        << window.lastError().toStdString();
    EXPECT_EQ(window.memoryPanel()->heatmap()->data()->keySize(), 8);
    EXPECT_EQ(window.memoryPanel()->heatmap()->data()->valueSize(), 8);

    QSignalSpy compared(window.engine(), &Engine::compared);
    window.queryPanel()->promptEdit()->setText(kPrompt);
    window.queryPanel()->compareNow();
    ASSERT_TRUE(compared.wait(kWait) || compared.count() > 0) << window.lastError().toStdString();
    const CompareView& v = window.queryPanel()->last();
    EXPECT_TRUE(v.inScope) << "the default detector: in scope once a fact is written";
    EXPECT_FALSE(v.withTokens.isEmpty()) << "the real model reports its tokens";
    EXPECT_EQ(window.queryPanel()->withTokens()->rowCount(), v.withTokens.size());
    EXPECT_EQ(window.memoryPanel()->readBars()->data()->size(), 8);
}

} // namespace
