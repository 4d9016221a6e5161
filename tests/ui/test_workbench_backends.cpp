// The workspace's memory backend in the workbench: the status bar names it and its pages, a new
// workspace can be made with either backend, and a single Larimar memory refuses the fact past
// its K slots with a message instead of blurring the others.
#include "tests/ui/workbench_fixture.h"

#include <QLabel>

using namespace larimar::ui;
using namespace larimar::ui::test;

namespace {
QString statusSize(MainWindow& w) { return w.findChild<QLabel*>(QStringLiteral("statusSize"))->text(); }
} // namespace

TEST_F(Workbench, TheStatusBarNamesTheMemoryAndItsPages) {
    EXPECT_EQ(statusSize(*m_window), QStringLiteral("paged · 1 page · K x C = 16 x 32"));
    for (int i = 0; i < 17; ++i) writeFact(QStringLiteral("Fact number %1 is true.").arg(i));
    ASSERT_TRUE(waitIdle());
    // K = 16 facts a page: the 17th opened a second one.
    EXPECT_EQ(statusSize(*m_window), QStringLiteral("paged · 2 pages · K x C = 16 x 32"));
    EXPECT_EQ(engine()->info().pages, 2);
}

TEST_F(Workbench, ANewLarimarWorkspaceRefusesTheFactPastItsSlots) {
    const QString path = m_dir.filePath(QStringLiteral("single.larimar"));
    engine()->openWorkspace(path, QStringLiteral("larimar"));
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->info().workspace == path && engine()->pending() == 0; }, kWait))
        << m_window->lastError().toStdString();
    EXPECT_EQ(statusSize(*m_window), QStringLiteral("larimar · 1 page · K x C = 16 x 32"));
    for (int i = 0; i < 16; ++i) writeFact(QStringLiteral("Fact number %1 is true.").arg(i));
    facts()->newFactEdit()->setText(QStringLiteral("One fact too many."));
    QTest::mouseClick(facts()->writeButton(), Qt::LeftButton);
    ASSERT_TRUE(QTest::qWaitFor([&] { return !m_window->lastError().isEmpty(); }, kWait));
    EXPECT_TRUE(m_window->lastError().contains(QStringLiteral("at most 16 facts"))) << m_window->lastError().toStdString();
    ASSERT_TRUE(waitIdle());
    EXPECT_EQ(engine()->state()->written, 16);
    // Reopened without a choice, it keeps its own memory.
    engine()->openWorkspace(workspacePath());
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->info().workspace == workspacePath() && engine()->pending() == 0; }, kWait));
    engine()->openWorkspace(path, QStringLiteral("paged"));
    ASSERT_TRUE(QTest::qWaitFor([&] { return engine()->info().workspace == path && engine()->pending() == 0; }, kWait));
    EXPECT_EQ(engine()->info().backend, QStringLiteral("larimar"));
}
