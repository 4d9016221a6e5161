#pragma once
/// The workbench's main window: the Facts, Query & compare, Memory, History and Evaluation tabs, menus,
/// toolbar and status bar; recent workspaces and window layout kept with QSettings. It owns the
/// Engine (and so the one worker thread every engine call runs on).
#include "ui/engine.h"
#include "ui/first_run_card.h"

#include <QMainWindow>
#include <QPointer>
#include <QProgressDialog>

class QAction;
class QLabel;
class QMenu;
class QProgressBar;
class QSettings;
class QTabWidget;

namespace larimar::ui {

class EvaluationPanel;
class FactsPanel;
class HistoryPanel;
class MemoryPanel;
class QueryPanel;

/// The window icon (from the theme, else the bundled PNGs).
QIcon appIcon();

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum Tab { FactsTab, QueryTab, MemoryTab, HistoryTab, EvaluationTab };

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Loads the model (on the worker) and then opens or creates the workspace at `workspace`.
    void start(ModelFactory model, const QString& modelLabel, const QString& workspace, ScopeFactory scope = {});
    /// Opens (creating it if needed) a workspace with the loaded model.
    void openWorkspace(const QString& path, const QString& backend = {});
    void showMemoryStatus(const EngineInfo& info);
    /// Reads a file of facts and shows what it would write (then a batch with progress/cancel).
    void importFile(const QString& path);

    Engine* engine() const { return m_engine; }
    QTabWidget* tabs() const { return m_tabs; }
    FactsPanel* factsPanel() const { return m_facts; }
    QueryPanel* queryPanel() const { return m_query; }
    MemoryPanel* memoryPanel() const { return m_memory; }
    HistoryPanel* historyPanel() const { return m_history; }
    EvaluationPanel* evaluationPanel() const { return m_evaluation; }
    /// The progress dialog of the running batch import (null when none).
    QProgressDialog* batchProgressDialog() const { return m_progress; }
    /// Edit > Undo / Redo (their text names the step: "Undo Write of fact 12").
    QAction* undoAction() const { return m_undoAction; }
    QAction* redoAction() const { return m_redoAction; }
    /// The getting-started card on the Facts tab (null once used or dismissed).
    FirstRunCard* firstRunCard() const { return m_firstRun; }
    /// Help > Handbook (F1): the README in a window of its own ("handbookDialog").
    void showHandbook();
    /// The last engine error shown: "action: message".
    const QString& lastError() const { return m_lastError; }
    QStringList recentWorkspaces() const;

    /// $AppDataLocation/default.larimar (the folder is created).
    static QString defaultWorkspacePath();
    /// The workspace to start with: the last one used if it still exists, else the default.
    static QString startWorkspacePath();
    /// The settings file of the workbench.
    static std::unique_ptr<QSettings> settings();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createActions();
    void showError(const QString& action, const QString& message, const QString& hint);
    void workspaceOpened(const EngineInfo& info);
    void stateChanged(const EngineStatePtr& state);
    void updateActions();
    void updateRecentMenu();
    void chooseWorkspace(bool create);
    void chooseImportFile();
    void startBatch(const ImportRecords& records, const QString& reason);
    void showAbout();
    void showFirstRunCard(const EngineStatePtr& state);

    Engine* m_engine;
    QTabWidget* m_tabs;
    FactsPanel* m_facts;
    QueryPanel* m_query;
    MemoryPanel* m_memory;
    HistoryPanel* m_history;
    EvaluationPanel* m_evaluation;
    QLabel* m_modelLabel;
    QLabel* m_sizeLabel;
    QLabel* m_factsLabel;
    QLabel* m_workspaceLabel;
    QProgressBar* m_busy;
    QList<QWidget*> m_workspaceStatus;
    QMenu* m_recentMenu = nullptr;
    QAction* m_importAction = nullptr;
    QAction* m_exportAction = nullptr;
    QAction* m_exportMemoryAction = nullptr;
    QAction* m_auditReportAction = nullptr;
    QAction* m_undoAction = nullptr;
    QAction* m_redoAction = nullptr;
    QAction* m_forgetAction = nullptr;
    QAction* m_newAction = nullptr;
    QAction* m_openAction = nullptr;
    QPointer<QProgressDialog> m_progress;
    QString m_lastError;
    QString m_shownWorkspace;
    QPointer<FirstRunCard> m_firstRun;
    bool m_firstRunChecked = false;
    bool m_loading = false;
};

} // namespace larimar::ui
