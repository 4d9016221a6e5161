// Issue 19, the workbench an editor can trust, offscreen: an undo stack with redo whose menu
// names each step; Ctrl+Z in a text field says it undid typing; Ctrl+E works from a line edit;
// no mnemonic clashes; results that name their prompt and memory state and turn stale when it
// changes; queued queries during an evaluation; the Memory tab's per-block colour scale, labels
// and tooltips; one meaning for red and one unit for probabilities; the first-run card; the help
// and error polish; and the real default scope detector (the ESD on MiniLM) through the GUI.
// Core headers before Qt's: Qt's "slots" macro would eat Editor::slots().
#include "core/scope/scope_detectors.h"

#include "tests/ui/workbench_fixture.h"
#include "ui/evaluation_panel.h"
#include "ui/first_run_card.h"
#include "ui/import_dialog.h"

#include <QAction>
#include <QCheckBox>
#include <QDialog>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QRegularExpression>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QTextBrowser>
#include <qcustomplot.h>

#include <future>
#include <map>
#include <set>

// Qt's "slots" keyword macro would eat ModelConfig::memory.slots; this file declares no slots.
#undef slots

QT_BEGIN_NAMESPACE
inline void PrintTo(const QString& s, std::ostream* os) {
    *os << '"' << s.toStdString() << '"';
}
inline std::ostream& operator<<(std::ostream& os, const QString& s) {
    return os << s.toStdString();
}
QT_END_NAMESPACE

using namespace larimar::ui;
using namespace larimar::ui::test;

namespace {

const QString kFact = QStringLiteral("The Eiffel Tower is located in Rome.");
const QString kPrompt = QStringLiteral("The Eiffel Tower is located in");

/// Holds the engine's worker until released (or destroyed), so a test can act while it is busy.
struct WorkerGate {
    std::promise<void> p;
    std::shared_future<void> f = p.get_future().share();
    bool open = false;
    void hold(Engine* e) {
        auto fut = f;
        e->post([fut] { fut.wait(); });
    }
    void release() {
        if (!open) p.set_value();
        open = true;
    }
    ~WorkerGate() { release(); }
};

QString mnemonic(const QString& text) {
    static const QRegularExpression re(QStringLiteral("&([^&])"));
    const auto m = re.match(QString(text).replace(QStringLiteral("&&"), QString()));
    return m.hasMatch() ? m.captured(1).toLower() : QString();
}

TEST_F(Workbench, UndoWalksBackEditByEditAndRedoBringsThemBack) {
    writeFact(QStringLiteral("Alpha is the first letter."));
    writeFact(QStringLiteral("Beta is the second letter."));
    facts()->selectFact(1);
    QTest::mouseClick(facts()->forgetButton(), Qt::LeftButton);
    answerReason(QStringLiteral("forgetReasonDialog"), QStringLiteral("test"));
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->edits.size() == 3; }, kWait));
    QAction* undo = m_window->undoAction();
    QAction* redo = m_window->redoAction();
    EXPECT_EQ(undo->text(), QStringLiteral("&Undo Forget of fact 1")) << "the menu names the step";
    EXPECT_FALSE(redo->isEnabled());
    EXPECT_EQ(undo->shortcut(), QKeySequence(QKeySequence::Undo));
    EXPECT_EQ(redo->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z));

    // Ctrl+Z (outside a text field) three times walks back edit by edit, not a toggle.
    auto* auditLabel = history()->auditLabel();
    m_window->activateWindow();
    ASSERT_TRUE(QTest::qWaitForWindowActive(m_window.get()));
    facts()->view()->setFocus();
    auto pressUndo = [&](int edits) {
        QTest::keyClick(facts()->view(), Qt::Key_Z, Qt::ControlModifier);
        return QTest::qWaitFor([&] { return engine()->state()->edits.size() == edits && engine()->pending() == 0; }, kWait);
    };
    ASSERT_TRUE(pressUndo(4)) << m_window->lastError().toStdString() << " edits " << engine()->state()->edits.size();
    EXPECT_EQ(engine()->state()->written, 2) << "the forget is undone";
    EXPECT_EQ(undo->text(), QStringLiteral("&Undo Write of fact 2"));
    EXPECT_EQ(redo->text(), QStringLiteral("&Redo Forget of fact 1"));
    ASSERT_TRUE(pressUndo(5));
    EXPECT_EQ(engine()->state()->written, 1) << "then the second write (a toggle would redo the forget)";
    EXPECT_EQ(undo->text(), QStringLiteral("&Undo Write of fact 1"));
    ASSERT_TRUE(pressUndo(6));
    EXPECT_EQ(engine()->state()->written, 0);
    EXPECT_FALSE(undo->isEnabled()) << "nothing left to undo";
    EXPECT_EQ(undo->text(), QStringLiteral("&Undo"));
    // Every undo is an audited rollback edit.
    EXPECT_EQ(cell(history()->model(), 5, HistoryTableModel::Op), QStringLiteral("rollback"));
    EXPECT_TRUE(auditLabel->text().contains(QStringLiteral("verified")));

    // Ctrl+Shift+Z brings them back in order.
    EXPECT_EQ(redo->text(), QStringLiteral("&Redo Write of fact 1"));
    QTest::keyClick(facts()->view(), Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->edits.size() == 7 && engine()->pending() == 0; }, kWait));
    EXPECT_EQ(engine()->state()->written, 1);
    EXPECT_EQ(redo->text(), QStringLiteral("&Redo Write of fact 2"));
    EXPECT_EQ(undo->text(), QStringLiteral("&Undo Write of fact 1"));
    // A new edit clears the redo stack.
    writeFact(QStringLiteral("Gamma is the third letter."));
    EXPECT_FALSE(redo->isEnabled());
    EXPECT_EQ(undo->text(), QStringLiteral("&Undo Write of fact 3"));
}

TEST_F(Workbench, CtrlZInATextFieldUndoesTypingAndSaysSo) {
    writeFact(kFact);
    m_window->tabs()->setCurrentWidget(query());
    QLineEdit* prompt = query()->promptEdit();
    prompt->setFocus();
    QTest::keyClicks(prompt, QStringLiteral("Paris"));
    ASSERT_EQ(prompt->text(), QStringLiteral("Paris"));
    QTest::keyClick(prompt, Qt::Key_Z, Qt::ControlModifier);
    EXPECT_TRUE(prompt->text().isEmpty()) << "the field's own undo";
    ASSERT_TRUE(waitIdle());
    EXPECT_EQ(engine()->state()->edits.size(), 1) << "the workspace is not undone from a text field";
    EXPECT_EQ(engine()->state()->written, 1);
    const QString status = m_window->statusBar()->currentMessage();
    EXPECT_EQ(status, QStringLiteral("Ctrl+Z undid typing only (Edit > Undo: Write of fact 1)"));
    EXPECT_TRUE(status.contains(QStringLiteral("Write of fact 1"))) << "and names the workspace step";
}

TEST_F(Workbench, CtrlEExportsTheHistoryFromTheFilterField) {
    writeFact(kFact);
    facts()->filterEdit()->setFocus();
    QTest::keyClick(facts()->filterEdit(), Qt::Key_E, Qt::ControlModifier);
    QFileDialog* d = nullptr;
    ASSERT_TRUE(QTest::qWaitFor(
        [&] {
            for (auto* w : m_window->findChildren<QFileDialog*>())
                if (w->isVisible() && w->windowTitle() == QStringLiteral("Export History")) d = w;
            return d != nullptr;
        },
        kWait))
        << "Ctrl+E opens Export History while the filter field has focus";
    d->reject();
}

TEST_F(Workbench, NoTwoAltShortcutsShareALetter) {
    // The menu bar and the tab bar are always there; each tab adds its own buttons and labels.
    std::map<QString, QString> global;
    auto add = [](std::map<QString, QString>& seen, const QString& text) -> QString {
        const QString m = mnemonic(text);
        if (m.isEmpty()) return {};
        if (seen.count(m)) return QStringLiteral("Alt+%1: '%2' and '%3'").arg(m.toUpper(), seen[m], text);
        seen[m] = text;
        return {};
    };
    for (QAction* a : m_window->menuBar()->actions()) {
        const QString clash = add(global, a->text());
        EXPECT_TRUE(clash.isEmpty()) << clash.toStdString();
    }
    for (int i = 0; i < m_window->tabs()->count(); ++i) {
        const QString clash = add(global, m_window->tabs()->tabText(i));
        EXPECT_TRUE(clash.isEmpty()) << clash.toStdString();
    }
    for (int i = 0; i < m_window->tabs()->count(); ++i) {
        std::map<QString, QString> seen = global;
        QWidget* page = m_window->tabs()->widget(i);
        for (auto* b : page->findChildren<QAbstractButton*>()) {
            const QString clash = add(seen, b->text());
            EXPECT_TRUE(clash.isEmpty()) << "tab " << i << ": " << clash.toStdString();
        }
        for (auto* l : page->findChildren<QLabel*>()) {
            if (!l->buddy()) continue;
            const QString clash = add(seen, l->text());
            EXPECT_TRUE(clash.isEmpty()) << "tab " << i << ": " << clash.toStdString();
        }
    }
}

TEST_F(Workbench, ResultsNameTheirMemoryStateAndTurnStaleAfterAForget) {
    writeFact(kFact);
    ask(kPrompt);
    const QString fresh = query()->resultLabel()->text();
    EXPECT_TRUE(fresh.contains(kPrompt)) << fresh;
    EXPECT_TRUE(fresh.contains(QStringLiteral("after edit 1 (1 fact written)"))) << fresh;
    EXPECT_FALSE(query()->isStale());

    facts()->selectFact(1);
    QTest::mouseClick(facts()->forgetButton(), Qt::LeftButton);
    answerReason(QStringLiteral("forgetReasonDialog"), QStringLiteral("wrong city"));
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->written == 0; }, kWait));
    EXPECT_TRUE(query()->isStale()) << "the answers were made with the fact written";
    const QString stale = query()->resultLabel()->text();
    EXPECT_TRUE(stale.contains(QStringLiteral("Stale"))) << stale;
    EXPECT_TRUE(stale.contains(QStringLiteral("now edit 2, 0 facts written"))) << stale;
    EXPECT_TRUE(query()->scopeLabel()->text().contains(QStringLiteral("(stale)")));

    // Asking again answers with the current memory; nothing is stale any more.
    const CompareView again = ask(kPrompt);
    EXPECT_FALSE(query()->isStale());
    EXPECT_EQ(again.lastEdit, 2);
    EXPECT_EQ(again.written, 0);
    EXPECT_TRUE(query()->resultLabel()->text().contains(QStringLiteral("after edit 2 (0 facts written)")));
    // With no fact written the gauge says so instead of a score such as -1.
    EXPECT_FALSE(query()->gauge()->score().has_value());
    EXPECT_TRUE(query()->gauge()->note().contains(QStringLiteral("no facts written")));
}

TEST_F(Workbench, AQueryDuringAnEvaluationSaysItIsQueuedAndShowsNoOldAnswers) {
    writeFact(kFact);
    ask(kPrompt);
    ASSERT_FALSE(query()->withView()->toPlainText().isEmpty());
    // The evaluation waits behind a held worker, so it is "running" for as long as the test needs.
    WorkerGate gate;
    gate.hold(engine());
    EvalRequest r;
    r.file = QStringLiteral(LARIMAR_TEST_DATA_DIR "/eval/counterfact-easyedit-6.json");
    r.limit = 2;
    engine()->evaluate(r);
    ASSERT_TRUE(engine()->evaluating());
    query()->promptEdit()->setText(QStringLiteral("Toko Yasuda plays the"));
    query()->compareNow();
    const QString queued = query()->resultLabel()->text();
    EXPECT_TRUE(queued.contains(QStringLiteral("Queued"))) << queued;
    EXPECT_TRUE(queued.contains(QStringLiteral("evaluation"))) << queued;
    EXPECT_TRUE(queued.contains(QStringLiteral("Toko Yasuda plays the"))) << queued;
    EXPECT_TRUE(query()->withView()->toPlainText().isEmpty()) << "the old prompt's answers are gone";
    EXPECT_TRUE(query()->withoutView()->toPlainText().isEmpty());
    EXPECT_EQ(query()->withTokens()->rowCount(), 0);

    QSignalSpy compared(engine(), &Engine::compared);
    gate.release();
    ASSERT_TRUE(compared.wait(60000) || compared.count() > 0) << m_window->lastError().toStdString();
    ASSERT_TRUE(waitIdle());
    EXPECT_FALSE(engine()->evaluating());
    EXPECT_EQ(query()->last().prompt, QStringLiteral("Toko Yasuda plays the"));
    EXPECT_TRUE(query()->resultLabel()->text().startsWith(QStringLiteral("Answers to"))) << query()->resultLabel()->text();
}

TEST_F(Workbench, TwoQuickPromptsShowOnlyTheNewerAnswers) {
    writeFact(kFact);
    WorkerGate gate;
    gate.hold(engine());
    query()->promptEdit()->setText(kPrompt);
    query()->compareNow();
    query()->promptEdit()->setText(QStringLiteral("Toko Yasuda plays the"));
    query()->compareNow();
    EXPECT_TRUE(query()->resultLabel()->text().contains(QStringLiteral("Queued"))) << "behind the held worker";
    std::vector<QString> shown;
    QObject::connect(engine(), &Engine::compared, m_window.get(), [&] { shown.push_back(query()->withoutView()->toPlainText()); });
    gate.release();
    ASSERT_TRUE(waitIdle());
    ASSERT_EQ(shown.size(), 2u);
    EXPECT_TRUE(shown[0].isEmpty()) << "the first prompt's answer is never shown under the second";
    EXPECT_EQ(query()->last().prompt, QStringLiteral("Toko Yasuda plays the"));
}

TEST_F(Workbench, ProbabilitiesHaveOneUnitAndRedOneMeaning) {
    writeFact(kFact);
    ask(kPrompt);
    auto* tokens = query()->withTokens();
    ASSERT_GT(tokens->rowCount(), 0);
    const QString p = tokens->index(0, TokenTableModel::Probability).data().toString();
    EXPECT_TRUE(QRegularExpression(QStringLiteral("^\\d+\\.\\d%$")).match(p).hasMatch()) << p;
    EXPECT_EQ(p, percentText(query()->last().withTokens.front().probability));
    EXPECT_TRUE(query()->withView()->tokenToolTip(1).contains(p)) << "the tooltip says the same";
    // An unsure token is amber (red is the diff's "only the plain model says").
    TokenInfo unsure;
    unsure.text = QStringLiteral(" x");
    unsure.probability = 0.1;
    TokenTableModel model;
    model.setTokens({unsure});
    const QColor c = model.index(0, TokenTableModel::Probability).data(Qt::BackgroundRole).value<QBrush>().color();
    EXPECT_GT(c.green(), c.blue() + 40) << "amber, not a red shade (" << c.name().toStdString() << ")";
    EXPECT_EQ(model.index(0, TokenTableModel::Token).data().toString(), QStringLiteral("\u00B7x"));
    EXPECT_TRUE(model.headerData(TokenTableModel::Token, Qt::Horizontal, Qt::ToolTipRole)
                    .toString()
                    .contains(QStringLiteral("\u00B7 stands for a space")));
}

/// The synthetic model with a latent of two blocks whose scales differ 1000-fold, as the bundled
/// model's subject key drowns its sentence block.
class BlockedModel : public larimar::SyntheticTextModel {
public:
    using SyntheticTextModel::SyntheticTextModel;
    Eigen::MatrixXd encode(const std::vector<std::string>& texts) override {
        Eigen::MatrixXd z = SyntheticTextModel::encode(texts);
        z.rightCols(24) *= 1e-3;
        return z;
    }
    std::vector<larimar::LatentBlock> latentBlocks() const override { return {{"loud", 0, 8}, {"quiet", 8, 24}}; }
};

TEST(WorkbenchMemory, EachBlockHasItsOwnScaleLabelAndTooltips) {
    QTemporaryDir dir;
    MainWindow window;
    window.resize(1280, 800);
    window.show();
    window.start(
        [] {
            larimar::SyntheticModelOptions o;
            o.slots = 16;
            o.width = 32;
            o.name = "blocked-model";
            return std::make_shared<BlockedModel>(o);
        },
        QStringLiteral("synthetic"), dir.filePath(QStringLiteral("blocks.larimar")));
    Engine* engine = window.engine();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state() && engine->pending() == 0; }, kWait));
    ASSERT_EQ(engine->info().blocks.size(), 2);
    window.factsPanel()->newFactEdit()->setText(kFact);
    window.factsPanel()->writeNewFact();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state()->written == 1 && engine->pending() == 0; }, kWait));
    MemoryPanel* memory = window.memoryPanel();
    const auto& m = engine->state()->memory;
    const int c = 32;
    double loud = 0, quiet = 0, loudMax = 0; // sums of squares, then 3 x RMS
    for (int r = 0; r < 16; ++r)
        for (int col = 0; col < c; ++col) {
            (col < 8 ? loud : quiet) += m[r * c + col] * m[r * c + col];
            if (col < 8) loudMax = std::max(loudMax, std::abs(m[r * c + col]));
        }
    loud = 3 * std::sqrt(loud / (16 * 8));
    quiet = 3 * std::sqrt(quiet / (16 * 24));
    ASSERT_GT(loud, 100 * quiet) << "the fixture: one block drowns the other";

    // Per block (the default): each block's colours run to 3 x its own RMS.
    EXPECT_TRUE(memory->perBlockBox()->isChecked());
    EXPECT_DOUBLE_EQ(memory->heatmap()->dataRange().upper, 1.0);
    EXPECT_NEAR(memory->heatmap()->data()->cell(20, 3), m[3 * c + 20] / quiet, 1e-9);
    EXPECT_NEAR(memory->heatmap()->data()->cell(2, 3), m[3 * c + 2] / loud, 1e-9);
    EXPECT_EQ(memory->colorScale()->axis()->label(), QStringLiteral("value / (3 x its block's RMS)"));
    const QStringList labels = memory->blockLabels();
    ASSERT_EQ(labels.size(), 2);
    EXPECT_EQ(labels[0], QStringLiteral("loud\nRMS %1").arg(loud / 3, 0, 'g', 2));
    EXPECT_EQ(labels[1], QStringLiteral("quiet\nRMS %1").arg(quiet / 3, 0, 'g', 2));
    EXPECT_EQ(memory->heatmapPlot()->itemCount(), 3) << "two labels and one separator";
    // Hover: the value, its dimension and block.
    const QString tip = memory->cellToolTip(3, 20);
    EXPECT_TRUE(tip.contains(QStringLiteral("M[3, 20]</b> = %1").arg(m[3 * c + 20], 0, 'g', 4))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QStringLiteral("quiet, dimension 12 of it"))) << tip.toStdString();
    // One scale for all: the quiet block is (nearly) blank again.
    memory->perBlockBox()->setChecked(false);
    EXPECT_DOUBLE_EQ(memory->heatmap()->dataRange().upper, loudMax);
    EXPECT_EQ(memory->colorScale()->axis()->label(), QStringLiteral("value"));
    EXPECT_DOUBLE_EQ(memory->heatmap()->data()->cell(20, 3), m[3 * c + 20]);

    // One fact: a readable spectrum (its value and a few zeros, not 16 points of cliff).
    EXPECT_EQ(memory->spectrumTitle()->text(), QStringLiteral("Singular values of M: numerical rank 1, the other 15 are 0"));
    EXPECT_LE(memory->spectrum()->parentPlot()->xAxis->range().upper, 8.5);
    EXPECT_TRUE(memory->spectrumToolTip(0).contains(QStringLiteral("singular value 1</b> = ")));
    EXPECT_TRUE(memory->spectrumToolTip(0).contains(QStringLiteral("100.0% of the largest")));

    // The write key's bars and the read weights' bars say their value on hover.
    QSignalSpy key(engine, &Engine::writeKeyReady);
    window.factsPanel()->selectFact(1);
    ASSERT_TRUE(key.wait(kWait) || key.count() > 0);
    const QVector<double> k = key.back().at(1).value<QVector<double>>();
    EXPECT_TRUE(memory->keyToolTip(4).contains(QStringLiteral("key[4]</b> = %1").arg(k[4], 0, 'f', 4)));
    QSignalSpy compared(engine, &Engine::compared);
    window.queryPanel()->promptEdit()->setText(kPrompt);
    window.queryPanel()->compareNow();
    ASSERT_TRUE(compared.wait(kWait) || compared.count() > 0);
    const CompareView v = window.queryPanel()->last();
    EXPECT_TRUE(memory->slotToolTip(5).contains(QStringLiteral("read weight %1").arg(v.readWeights[5], 0, 'f', 4)));
}

TEST(WorkbenchFirstRun, TheCardGuidesWriteCompareForgetAndThenGoes) {
    MainWindow::settings()->remove(QStringLiteral("firstRunDone"));
    QTemporaryDir dir;
    auto window = std::make_unique<MainWindow>();
    window->resize(1280, 800);
    window->show();
    window->start([] { return larimar::test::makeFakeModel("ui-test-model"); }, QStringLiteral("synthetic"),
                  dir.filePath(QStringLiteral("first.larimar")));
    Engine* engine = window->engine();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state() && engine->pending() == 0; }, kWait));
    FirstRunCard* card = window->firstRunCard();
    ASSERT_NE(card, nullptr) << "a new user's empty workspace shows the card";
    window->tabs()->setCurrentWidget(window->factsPanel());
    EXPECT_TRUE(card->isVisible());

    QTest::mouseClick(card->exampleButton(), Qt::LeftButton);
    EXPECT_EQ(window->factsPanel()->newFactEdit()->text(), FirstRunCard::exampleFact());
    QTest::mouseClick(window->factsPanel()->writeButton(), Qt::LeftButton);
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state()->written == 1; }, kWait));
    EXPECT_TRUE(card->isDone(FirstRunCard::WriteStep));
    EXPECT_FALSE(card->isDone(FirstRunCard::CompareStep));

    QSignalSpy compared(engine, &Engine::compared);
    QTest::mouseClick(card->askButton(), Qt::LeftButton);
    ASSERT_TRUE(compared.wait(kWait) || compared.count() > 0);
    EXPECT_EQ(window->tabs()->currentWidget(), window->queryPanel());
    EXPECT_EQ(window->queryPanel()->last().prompt, FirstRunCard::examplePrompt());
    EXPECT_EQ(window->queryPanel()->last().withMemory, FirstRunCard::exampleFact()) << "the memory answers with it";
    EXPECT_TRUE(card->isDone(FirstRunCard::CompareStep));

    window->tabs()->setCurrentWidget(window->factsPanel());
    window->factsPanel()->selectFact(1);
    QTest::mouseClick(window->factsPanel()->forgetButton(), Qt::LeftButton);
    QInputDialog* d = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (d = window->findChild<QInputDialog*>(QStringLiteral("forgetReasonDialog"))) != nullptr; }, kWait));
    d->setTextValue(QStringLiteral("done trying"));
    d->accept();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state()->written == 0 && engine->pending() == 0; }, kWait));
    QApplication::processEvents();
    EXPECT_EQ(window->firstRunCard(), nullptr) << "all three steps done: the card goes";
    EXPECT_TRUE(MainWindow::settings()->value(QStringLiteral("firstRunDone")).toBool());

    // For good: the next start (even on an empty workspace) has no card.
    window.reset();
    QTemporaryDir other;
    MainWindow again;
    again.start([] { return larimar::test::makeFakeModel("ui-test-model"); }, QStringLiteral("synthetic"),
                other.filePath(QStringLiteral("second.larimar")));
    ASSERT_TRUE(QTest::qWaitFor([&] { return again.engine()->state() && again.engine()->pending() == 0; }, kWait));
    EXPECT_EQ(again.firstRunCard(), nullptr);
}

TEST(WorkbenchFirstRun, SampleFactsAreOneImportEdit) {
    MainWindow::settings()->remove(QStringLiteral("firstRunDone"));
    QTemporaryDir dir;
    MainWindow window;
    window.show();
    window.start([] { return larimar::test::makeFakeModel("ui-test-model"); }, QStringLiteral("synthetic"),
                 dir.filePath(QStringLiteral("samples.larimar")));
    Engine* engine = window.engine();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state() && engine->pending() == 0; }, kWait));
    ASSERT_NE(window.firstRunCard(), nullptr);
    QTest::mouseClick(window.firstRunCard()->samplesButton(), Qt::LeftButton);
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state()->written == 5 && engine->pending() == 0; }, kWait))
        << window.lastError().toStdString();
    ASSERT_EQ(engine->state()->edits.size(), 1);
    EXPECT_EQ(engine->state()->edits.front().op, QStringLiteral("batch"));
    EXPECT_EQ(engine->state()->facts.front().text, QStringLiteral("The Eiffel Tower is located in Rome."));
    EXPECT_EQ(engine->state()->facts.front().source, QStringLiteral("sample"));
    ASSERT_NE(window.firstRunCard(), nullptr);
    EXPECT_TRUE(window.firstRunCard()->isDone(FirstRunCard::WriteStep));
    QTest::mouseClick(window.firstRunCard()->dismissButton(), Qt::LeftButton);
    QApplication::processEvents();
    EXPECT_EQ(window.firstRunCard(), nullptr) << "Dismiss hides it";
    MainWindow::settings()->setValue(QStringLiteral("firstRunDone"), true);
}

TEST_F(Workbench, HandbookAboutAndStatusTextsArePolished) {
    // F1 opens the handbook: the README of this build.
    QTest::keyClick(m_window.get(), Qt::Key_F1);
    QDialog* handbook = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (handbook = m_window->findChild<QDialog*>(QStringLiteral("handbookDialog"))) != nullptr; }, kWait));
    auto* text = handbook->findChild<QTextBrowser*>(QStringLiteral("handbookText"));
    ASSERT_NE(text, nullptr);
    EXPECT_TRUE(text->toPlainText().contains(QStringLiteral("Larimar Workbench")));
    EXPECT_GT(text->toPlainText().size(), 2000) << "the whole README";
    EXPECT_EQ(handbook->windowTitle(), QStringLiteral("Handbook"));
    handbook->close();

    // A long workspace path is elided in the status bar so messages are not cut; its tooltip has it all.
    auto* path = m_window->findChild<QLabel*>(QStringLiteral("statusWorkspace"));
    EXPECT_LE(path->fontMetrics().horizontalAdvance(path->text()), 240);
    EXPECT_TRUE(path->toolTip().startsWith(QDir::toNativeSeparators(workspacePath())));

    // The import's status names what was read, not "Reading..." while the preview is up.
    const QString file = m_dir.filePath(QStringLiteral("facts20.csv"));
    {
        QFile f(file);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write("text\nToko Yasuda plays the piano.\nMadrid is located in Sweden.\n");
    }
    m_window->importFile(file);
    ImportDialog* preview = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (preview = dialog<ImportDialog>()) != nullptr; }, kWait));
    EXPECT_EQ(m_window->statusBar()->currentMessage(), QStringLiteral("Read 2 facts from facts20.csv"));
    preview->reject();

    // A broken JSON file: the message names the problem without the library's tag.
    const QString bad = m_dir.filePath(QStringLiteral("broken.json"));
    {
        QFile f(bad);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write("[{\"prompt\": oops}]");
    }
    m_window->importFile(bad);
    QMessageBox* error = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (error = dialog<QMessageBox>(QStringLiteral("errorDialog"))) != nullptr; }, kWait));
    EXPECT_FALSE(error->informativeText().contains(QStringLiteral("json.exception"))) << error->informativeText();
    EXPECT_FALSE(m_window->lastError().contains(QStringLiteral("json.exception"))) << m_window->lastError();
    error->close();
}

TEST(WorkbenchStart, SaysItIsLoadingTheWorkspace) {
    QTemporaryDir dir;
    MainWindow window;
    window.start([] { return larimar::test::makeFakeModel("ui-test-model"); }, QStringLiteral("synthetic"),
                 dir.filePath(QStringLiteral("loading.larimar")));
    EXPECT_EQ(window.statusBar()->currentMessage(), QStringLiteral("Loading the model and the workspace loading.larimar..."));
    ASSERT_TRUE(QTest::qWaitFor([&] { return window.engine()->state() && window.engine()->pending() == 0; }, kWait));
    EXPECT_EQ(window.statusBar()->currentMessage(), QStringLiteral("Opened loading.larimar"));
}

/// The workbench's real default detector (the ESD on MiniLM), made as the workbench makes it.
ScopeFactory defaultDetector() {
    ScopeFactory scope;
    scope.make = [](const std::shared_ptr<larimar::TextModel>& m, const std::string& path, const OpenProgress& progress) {
        larimar::ScopeDetectorSetup s;
        s.model = m;
        s.workspacePath = path;
        s.progress = progress;
        return larimar::makeScopeDetector(s);
    };
    return scope;
}

TEST(WorkbenchDefaultDetector, ParaphraseInScopeUnrelatedOutAndTheMemoryTabSaysSo) {
    if (!larimar::sharedSentenceEncoder()) GTEST_SKIP() << "all-MiniLM-L6-v2 is not installed (models/fetch-assets.sh)";
    QTemporaryDir dir;
    MainWindow window;
    window.resize(1280, 800);
    window.show();
    window.start([] { return larimar::test::makeFakeModel("ui-test-model"); }, QStringLiteral("synthetic"),
                 dir.filePath(QStringLiteral("esd.larimar")), defaultDetector());
    Engine* engine = window.engine();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state() && engine->pending() == 0; }, kWait))
        << window.lastError().toStdString();
    ASSERT_EQ(engine->info().detector, QStringLiteral("esd hybrid"));
    QueryPanel* q = window.queryPanel();
    auto ask = [&](const QString& prompt) {
        QSignalSpy compared(engine, &Engine::compared);
        q->promptEdit()->setText(prompt);
        q->compareNow();
        EXPECT_TRUE(compared.wait(kWait) || compared.count() > 0) << window.lastError().toStdString();
        EXPECT_TRUE(QTest::qWaitFor([&] { return engine->pending() == 0; }, kWait));
        return q->last();
    };

    // No fact yet: nothing is in scope, and the gauge says why instead of a score.
    CompareView v = ask(kPrompt);
    EXPECT_FALSE(v.inScope);
    EXPECT_FALSE(q->gauge()->score().has_value());
    EXPECT_TRUE(q->gauge()->note().contains(QStringLiteral("no facts written")));

    for (const QString& f : {kFact, QStringLiteral("Toko Yasuda plays the piano.")}) {
        window.factsPanel()->newFactEdit()->setText(f);
        window.factsPanel()->writeNewFact();
        ASSERT_TRUE(QTest::qWaitFor([&] { return engine->pending() == 0; }, kWait));
    }
    ASSERT_EQ(engine->state()->written, 2) << window.lastError().toStdString();
    EXPECT_TRUE(q->isStale()) << "the first answers were made before the writes";

    // The edit prompt and a paraphrase: in scope, nearest fact 1, answered with the fact.
    v = ask(kPrompt);
    EXPECT_TRUE(v.inScope) << v.score;
    EXPECT_EQ(v.nearestFactId, 1);
    EXPECT_EQ(v.withMemory, kFact);
    EXPECT_GE(v.score, v.threshold);
    EXPECT_EQ(q->gauge()->score(), v.score);
    v = ask(QStringLiteral("Where is the Eiffel Tower?"));
    EXPECT_TRUE(v.inScope) << v.score;
    EXPECT_EQ(v.nearestFactId, 1);

    // An unrelated prompt: out of scope, the plain model answers, and the Memory tab notes that
    // its read weights were not used.
    v = ask(QStringLiteral("The capital of Japan is"));
    EXPECT_FALSE(v.inScope) << v.score;
    EXPECT_LT(v.score, v.threshold);
    EXPECT_EQ(v.withMemory, v.withoutMemory);
    EXPECT_TRUE(q->scopeLabel()->text().contains(QStringLiteral("out of scope")));
    EXPECT_TRUE(window.memoryPanel()->readTitle()->text().contains(QStringLiteral("out of scope")))
        << window.memoryPanel()->readTitle()->text().toStdString();
    // After the next change the state recomputes the same verdict for the memory tab.
    window.factsPanel()->newFactEdit()->setText(QStringLiteral("Water boils at 90 degrees."));
    window.factsPanel()->writeNewFact();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state()->written == 3 && engine->pending() == 0; }, kWait));
    EXPECT_FALSE(engine->state()->readInScope);
    EXPECT_TRUE(window.memoryPanel()->readTitle()->text().contains(QStringLiteral("out of scope")));

    // Forget the Eiffel fact: its prompt falls out of scope (the detector forgot it too).
    window.factsPanel()->selectFact(1);
    window.factsPanel()->forgetSelected();
    QInputDialog* d = nullptr;
    ASSERT_TRUE(QTest::qWaitFor([&] { return (d = window.findChild<QInputDialog*>(QStringLiteral("forgetReasonDialog"))) != nullptr && d->isVisible(); }, kWait));
    d->setTextValue(QStringLiteral("wrong city"));
    d->accept();
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine->state()->written == 2 && engine->pending() == 0; }, kWait));
    v = ask(kPrompt);
    EXPECT_NE(v.nearestFactId, 1) << "a forgotten fact is never the nearest";
    EXPECT_NE(v.withMemory, kFact);
}

} // namespace
