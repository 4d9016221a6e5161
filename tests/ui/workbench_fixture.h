#pragma once
// The workbench fixture of the offscreen GUI tests: a MainWindow on the editor's synthetic test
// model (K = 16, C = 32) with an empty workspace, item-model testers on every table, and helpers
// that act as a user does (type and press Write, ask a prompt, answer a reason dialog). Every
// wait is on a condition (QTest::qWaitFor pumps events), never a sleep.
#include "tests/core/fake_text_model.h"
#include "ui/facts_panel.h"
#include "ui/history_panel.h"
#include "ui/main_window.h"
#include "ui/memory_panel.h"
#include "ui/query_panel.h"
#include "ui/table_models.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QInputDialog>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <gtest/gtest.h>

#include <memory>

namespace larimar::ui::test {


constexpr int kWait = 20000; // ms; generous for a loaded CI machine, the tests take far less

using Tester = QAbstractItemModelTester;

/// Each test starts from an empty workspace; the first-run card is off (its own test turns it on).
class Workbench : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(m_dir.isValid());
        MainWindow::settings()->setValue(QStringLiteral("firstRunDone"), true);
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1280, 800);
        m_window->show();
        auto* w = m_window.get();
        for (QAbstractItemModel* m : {static_cast<QAbstractItemModel*>(w->factsPanel()->model()),
                                      static_cast<QAbstractItemModel*>(w->factsPanel()->proxy()),
                                      static_cast<QAbstractItemModel*>(w->historyPanel()->model()),
                                      static_cast<QAbstractItemModel*>(w->historyPanel()->proxy()),
                                      static_cast<QAbstractItemModel*>(w->queryPanel()->withTokens()),
                                      static_cast<QAbstractItemModel*>(w->queryPanel()->withoutTokens())})
            m_testers.push_back(std::make_unique<Tester>(m, Tester::FailureReportingMode::Fatal));
        m_window->start([] { return larimar::test::makeFakeModel("ui-test-model"); }, QStringLiteral("synthetic"),
                        workspacePath());
        ASSERT_TRUE(QTest::qWaitFor(
            [&] { return engine()->hasWorkspace() && engine()->state() && engine()->pending() == 0; }, kWait))
            << m_window->lastError().toStdString();
    }

    void TearDown() override {
        m_testers.clear();
        m_window.reset();
    }

    QString workspacePath() const { return m_dir.filePath(QStringLiteral("test.larimar")); }
    Engine* engine() const { return m_window->engine(); }
    FactsPanel* facts() const { return m_window->factsPanel(); }
    HistoryPanel* history() const { return m_window->historyPanel(); }
    QueryPanel* query() const { return m_window->queryPanel(); }
    MemoryPanel* memory() const { return m_window->memoryPanel(); }

    bool waitIdle() {
        return QTest::qWaitFor([&] { return engine()->pending() == 0; }, kWait);
    }

    /// Types the fact and presses Write, as a user does.
    void writeFact(const QString& text) {
        const auto edits = engine()->state()->edits.size();
        facts()->newFactEdit()->setText(text);
        ASSERT_TRUE(facts()->writeButton()->isEnabled());
        QTest::mouseClick(facts()->writeButton(), Qt::LeftButton);
        ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->state()->edits.size() == edits + 1; }, kWait))
            << m_window->lastError().toStdString();
        EXPECT_TRUE(facts()->newFactEdit()->text().isEmpty()) << "the line is cleared once written";
    }

    /// Asks the prompt in the Query tab and returns what it showed.
    CompareView ask(const QString& prompt) {
        QSignalSpy spy(engine(), &Engine::compared);
        query()->promptEdit()->setText(prompt);
        QTest::mouseClick(query()->compareButton(), Qt::LeftButton);
        EXPECT_TRUE(spy.wait(kWait) || spy.count() > 0) << m_window->lastError().toStdString();
        return query()->last();
    }

    /// The first visible top-level dialog of type T with objectName name (null if none).
    template <class T> T* dialog(const QString& name = {}) {
        for (QWidget* w : QApplication::topLevelWidgets())
            if (auto* d = qobject_cast<T*>(w); d && d->isVisible() && (name.isEmpty() || d->objectName() == name))
                return d;
        for (auto* d : m_window->findChildren<T*>())
            if (d->isVisible() && (name.isEmpty() || d->objectName() == name)) return d;
        return nullptr;
    }

    /// Answers the reason prompt the forget and rollback buttons show.
    void answerReason(const QString& name, const QString& reason) {
        QInputDialog* d = nullptr;
        ASSERT_TRUE(QTest::qWaitFor([&] { return (d = dialog<QInputDialog>(name)) != nullptr; }, kWait));
        d->setTextValue(reason);
        d->accept();
    }

    QString cell(QAbstractItemModel* model, int row, int column) { return model->index(row, column).data().toString(); }

    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;
    std::vector<std::unique_ptr<Tester>> m_testers;
};

const QString kFact = QStringLiteral("The Eiffel Tower is located in Rome.");
const QString kPrompt = QStringLiteral("The Eiffel Tower is located in");

} // namespace larimar::ui::test
