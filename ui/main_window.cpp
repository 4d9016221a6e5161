#include "ui/main_window.h"

#include "ui/evaluation_panel.h"
#include "ui/facts_panel.h"
#include "ui/first_run_card.h"
#include "ui/history_panel.h"
#include "ui/import_dialog.h"
#include "ui/memory_panel.h"
#include "ui/query_panel.h"
#include "ui/table_models.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QInputDialog>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFile>
#include <QFrame>
#include <QKeyEvent>
#include <QPlainTextEdit>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <QAbstractSpinBox>
#include <QScreen>
#include <QUrl>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QProgressDialog>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QToolBar>

// The bundled icons live in larimar_ui (a static library): make sure they are linked in.
static void initLarimarResources() {
    Q_INIT_RESOURCE(larimar_workbench);
}

namespace {
/// A widget that keeps Ctrl+Z for its own typing.
bool isTextField(const QObject* o) {
    if (qobject_cast<const QLineEdit*>(o) || qobject_cast<const QAbstractSpinBox*>(o)) return true;
    if (const auto* t = qobject_cast<const QTextEdit*>(o)) return !t->isReadOnly();
    if (const auto* t = qobject_cast<const QPlainTextEdit*>(o)) return !t->isReadOnly();
    return false;
}
} // namespace

namespace larimar::ui {

namespace {
constexpr int kMaxRecent = 8;
constexpr int kWorkspaceLabelWidth = 240; // px of the status bar's workspace path
const char* kWorkspaceFilter = QT_TRANSLATE_NOOP("MainWindow", "Larimar workspaces (*.larimar);;All files (*)");
const char* kImportFilter = QT_TRANSLATE_NOOP(
    "MainWindow", "Fact files (*.txt *.csv *.jsonl *.json);;Plain text, one fact per line (*.txt);;CSV (*.csv);;"
                  "JSON Lines (*.jsonl);;CounterFact / zsRE JSON (*.json);;All files (*)");
} // namespace

QIcon appIcon() {
    initLarimarResources();
    QIcon fallback;
    for (int size : {16, 32, 48, 64, 128, 256})
        fallback.addFile(QStringLiteral(":/icons/larimar-workbench-%1.png").arg(size), QSize(size, size));
    return QIcon::fromTheme(QStringLiteral("larimar-workbench"), fallback);
}

std::unique_ptr<QSettings> MainWindow::settings() {
    // One file, named after the program, whatever the organisation name (tests run in
    // QStandardPaths test mode, which moves it to a throw-away place).
    return std::make_unique<QSettings>(QStringLiteral("larimar-workbench"), QStringLiteral("workbench"));
}

QString MainWindow::defaultWorkspacePath() {
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return QDir(dir).filePath(QStringLiteral("default.larimar"));
}

QString MainWindow::startWorkspacePath() {
    const QString last = settings()->value(QStringLiteral("lastWorkspace")).toString();
    if (!last.isEmpty() && QFileInfo::exists(last)) return last;
    return defaultWorkspacePath();
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("Larimar Workbench"));
    setWindowIcon(appIcon());
    setAcceptDrops(true);
    resize(1280, 800);

    m_engine = new Engine(this);
    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_facts = new FactsPanel(m_engine, m_tabs);
    m_query = new QueryPanel(m_engine, m_tabs);
    m_memory = new MemoryPanel(m_tabs);
    m_history = new HistoryPanel(m_engine, m_tabs);
    // Tab mnemonics clash with no menu (Alt+F is File, Alt+H Help, Alt+E Edit, Alt+V View).
    m_tabs->addTab(m_facts, tr("F&acts"));
    m_tabs->addTab(m_query, tr("&Query && Compare"));
    m_tabs->addTab(m_memory, tr("&Memory"));
    m_tabs->addTab(m_history, tr("Hi&story"));
    m_evaluation = new EvaluationPanel(m_engine, m_tabs);
    m_tabs->addTab(m_evaluation, tr("Eva&luation"));
    setCentralWidget(m_tabs);

    m_modelLabel = new QLabel(tr("Loading the model..."), this);
    m_modelLabel->setObjectName(QStringLiteral("statusModel"));
    m_sizeLabel = new QLabel(this);
    m_sizeLabel->setObjectName(QStringLiteral("statusSize"));
    m_factsLabel = new QLabel(this);
    m_factsLabel->setObjectName(QStringLiteral("statusFacts"));
    m_workspaceLabel = new QLabel(this);
    m_workspaceLabel->setObjectName(QStringLiteral("statusWorkspace"));
    m_busy = new QProgressBar(this);
    m_busy->setRange(0, 0);
    m_busy->setMaximumWidth(90);
    m_busy->setMaximumHeight(m_busy->fontMetrics().height());
    m_busy->setToolTip(tr("The engine is working"));
    m_busy->hide();
    statusBar()->addPermanentWidget(m_busy);
    statusBar()->addPermanentWidget(m_modelLabel);
    // The workspace's labels, each after a separator, appear once a workspace is open.
    for (QLabel* l : {m_sizeLabel, m_factsLabel, m_workspaceLabel}) {
        auto* line = new QFrame(this);
        line->setFrameShape(QFrame::VLine);
        line->setFrameShadow(QFrame::Sunken);
        line->hide();
        l->hide();
        m_workspaceStatus << line << l;
        statusBar()->addPermanentWidget(line);
        l->setContentsMargins(4, 0, 4, 0);
        statusBar()->addPermanentWidget(l);
    }
    m_modelLabel->setContentsMargins(4, 0, 4, 0);

    createActions();

    connect(m_engine, &Engine::failed, this, &MainWindow::showError);
    connect(m_engine, &Engine::busyChanged, m_busy, &QWidget::setVisible);
    connect(m_engine, &Engine::modelLoaded, this, [this](const EngineInfo& info) {
        m_modelLabel->setText(tr("Model: %1").arg(info.modelId));
        m_modelLabel->setToolTip(info.modelDir);
        if (m_loading) statusBar()->showMessage(tr("Loading the workspace..."));
    });
    connect(m_engine, &Engine::workspaceOpened, this, &MainWindow::workspaceOpened);
    connect(m_engine, &Engine::stateChanged, this, &MainWindow::stateChanged);
    connect(m_engine, &Engine::edited, this, [this](const QString& s) { statusBar()->showMessage(s, 8000); });
    connect(m_engine, &Engine::memoryExported, this,
            [this](const QString& path) { statusBar()->showMessage(tr("Memory exported to %1").arg(path), 8000); });
    connect(m_engine, &Engine::historyExported, this,
            [this](const QString& path) { statusBar()->showMessage(tr("History exported to %1").arg(path), 8000); });
    connect(m_engine, &Engine::auditReportWritten, this, [this](const QString& path, bool verified, const QString& result) {
        if (verified)
            statusBar()->showMessage(tr("Audit report written to %1 (%2)").arg(path, result), 8000);
        else
            QMessageBox::warning(this, tr("Audit Report"),
                                 tr("The audit report was written to %1, and it says the audit FAILED:\n%2")
                                     .arg(path, result));
    });
    connect(m_engine, &Engine::idle, this, [this] {
        m_loading = false;
        if (m_engine->info().modelId.isEmpty()) m_modelLabel->setText(tr("No model loaded"));
        updateActions();
    });
    connect(m_engine, &Engine::importPreviewReady, this, [this](const QString& path, const ImportRecords& records) {
        statusBar()->showMessage(tr("Read %1 from %2").arg(factCount(records ? records->size() : 0),
                                                          QFileInfo(path).fileName()),
                                 8000);
        auto* dialog = new ImportDialog(path, records, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &QDialog::accepted, this, [this, dialog] { startBatch(dialog->records(), dialog->reason()); });
        dialog->open();
    });
    connect(m_engine, &Engine::openProgress, this, [this](qint64 done, qint64 total) {
        statusBar()->showMessage(tr("Preparing the scope detector: %1 of %2 facts").arg(done).arg(total), 3000);
    });
    connect(m_engine, &Engine::batchProgress, this, [this](qint64 done, qint64 total) {
        if (!m_progress) return;
        m_progress->setMaximum(static_cast<int>(total));
        m_progress->setValue(static_cast<int>(done));
    });
    connect(m_engine, &Engine::batchFinished, this, [this](bool, const QString& message) {
        if (m_progress) {
            m_progress->hide();
            m_progress->deleteLater();
            m_progress = nullptr;
        }
        statusBar()->showMessage(message, 10000);
    });
    connect(m_facts, &FactsPanel::currentFactChanged, this, [this](qint64 id) {
        if (id != 0)
            m_engine->requestWriteKey(id);
        else
            m_memory->clearWriteKey();
    });
    connect(m_engine, &Engine::writeKeyReady, m_memory, &MemoryPanel::setWriteKey);
    connect(m_engine, &Engine::compared, this, [this](const CompareView& v) {
        m_memory->setReadWeights(v.prompt, v.readWeights, v.inScope);
        if (m_firstRun && v.written > 0) m_firstRun->markDone(FirstRunCard::CompareStep);
    });
    connect(m_facts, &FactsPanel::importRequested, this, &MainWindow::chooseImportFile);

    auto s = settings();
    restoreGeometry(s->value(QStringLiteral("geometry")).toByteArray());
    restoreState(s->value(QStringLiteral("windowState")).toByteArray());
    m_tabs->setCurrentIndex(s->value(QStringLiteral("tab"), 0).toInt());
    updateRecentMenu();
    updateActions();
    // Ctrl+Z in a text field and Ctrl+E in a line edit (see eventFilter).
    qApp->installEventFilter(this);
}

MainWindow::~MainWindow() {
    qApp->removeEventFilter(this);
}

void MainWindow::createActions() {
    auto* style = QApplication::style();
    auto* file = menuBar()->addMenu(tr("&File"));
    m_newAction = file->addAction(style->standardIcon(QStyle::SP_FileIcon), tr("&New Workspace..."), this,
                                  [this] { chooseWorkspace(true); });
    m_newAction->setShortcut(QKeySequence::New);
    m_newAction->setToolTip(tr("Start an empty workspace with the loaded model (Ctrl+N)"));
    m_openAction = file->addAction(style->standardIcon(QStyle::SP_DialogOpenButton), tr("&Open Workspace..."), this,
                                   [this] { chooseWorkspace(false); });
    m_openAction->setShortcut(QKeySequence::Open);
    m_openAction->setToolTip(tr("Open a workspace (Ctrl+O)"));
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    file->addSeparator();
    m_importAction = file->addAction(style->standardIcon(QStyle::SP_ArrowDown), tr("&Import Facts..."), this,
                                     &MainWindow::chooseImportFile);
    m_importAction->setShortcut(Qt::CTRL | Qt::Key_I);
    m_importAction->setToolTip(tr("Write every fact of a file as one batch (Ctrl+I)"));
    m_exportAction = file->addAction(tr("&Export History..."), m_history, &HistoryPanel::exportHistory);
    m_exportAction->setShortcut(Qt::CTRL | Qt::Key_E);
    m_exportMemoryAction = file->addAction(tr("Export &Memory (.npy)..."), this, [this] {
        auto* dialog = new QFileDialog(this, tr("Export Memory"),
                                       QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation),
                                       tr("NumPy arrays (*.npy)"));
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->setAcceptMode(QFileDialog::AcceptSave);
        dialog->setDefaultSuffix(QStringLiteral("npy"));
        dialog->selectFile(QStringLiteral("memory.npy"));
        connect(dialog, &QFileDialog::fileSelected, m_engine, &Engine::exportMemory);
        dialog->open();
    });
    m_exportMemoryAction->setToolTip(tr("Save the memory matrix M (K x C, float64) for NumPy"));
    m_auditReportAction = file->addAction(tr("&Audit Report..."), this, [this] {
        auto* dialog = new QFileDialog(this, tr("Audit Report"),
                                       QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation),
                                       tr("PDF documents (*.pdf);;Web pages (*.html)"));
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->setAcceptMode(QFileDialog::AcceptSave);
        dialog->setDefaultSuffix(QStringLiteral("pdf"));
        dialog->selectFile(QStringLiteral("audit-report.pdf"));
        connect(dialog, &QFileDialog::fileSelected, m_engine, &Engine::writeAuditReport);
        dialog->open();
    });
    m_auditReportAction->setToolTip(
        tr("Verify the audit chain and write every edit, its signer, the facts it changed and the head to a PDF or "
           "HTML file, for record keeping"));
    file->addSeparator();
    auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    auto* edit = menuBar()->addMenu(tr("&Edit"));
    m_undoAction = edit->addAction(style->standardIcon(QStyle::SP_ArrowBack), tr("&Undo"), m_engine, &Engine::undo);
    m_undoAction->setObjectName(QStringLiteral("undoEdit"));
    m_undoAction->setShortcut(QKeySequence::Undo);
    m_undoAction->setIconText(tr("Undo"));
    m_redoAction = edit->addAction(style->standardIcon(QStyle::SP_ArrowForward), tr("&Redo"), m_engine, &Engine::redo);
    m_redoAction->setObjectName(QStringLiteral("redoEdit"));
    m_redoAction->setShortcuts({QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)});
    m_redoAction->setIconText(tr("Redo"));
    m_forgetAction =
        edit->addAction(style->standardIcon(QStyle::SP_TrashIcon), tr("&Forget Selected Facts..."), this, [this] {
            m_tabs->setCurrentWidget(m_facts);
            m_facts->forgetSelected();
        });
    m_forgetAction->setShortcut(QKeySequence::Delete);
    edit->addSeparator();
    auto* find = edit->addAction(tr("&Find..."), this, [this] {
        QLineEdit* filter = m_tabs->currentWidget() == m_history ? m_history->filterEdit() : m_facts->filterEdit();
        if (filter == m_facts->filterEdit()) m_tabs->setCurrentWidget(m_facts);
        filter->setFocus();
        filter->selectAll();
    });
    find->setShortcut(QKeySequence::Find);
    auto* ask = edit->addAction(tr("&Ask a Prompt..."), this, [this] {
        m_tabs->setCurrentWidget(m_query);
        m_query->promptEdit()->setFocus();
        m_query->promptEdit()->selectAll();
    });
    ask->setShortcut(Qt::CTRL | Qt::Key_L);

    auto* view = menuBar()->addMenu(tr("&View"));
    const QStringList names = {tr("Facts"), tr("Query && Compare"), tr("Memory"), tr("History"), tr("Evaluation")};
    for (int i = 0; i < names.size(); ++i) {
        auto* a = view->addAction(names[i], this, [this, i] { m_tabs->setCurrentIndex(i); });
        a->setShortcut(QKeySequence(Qt::ALT | static_cast<Qt::Key>(Qt::Key_1 + i)));
    }

    auto* help = menuBar()->addMenu(tr("&Help"));
    auto* handbook = help->addAction(tr("&Handbook"), this, &MainWindow::showHandbook);
    handbook->setObjectName(QStringLiteral("handbook"));
    handbook->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("&About Larimar Workbench"), this, &MainWindow::showAbout);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);

    auto* bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->setMovable(false);
    bar->addAction(m_openAction);
    bar->addAction(m_importAction);
    bar->addSeparator();
    bar->addAction(m_undoAction);
    bar->addAction(m_redoAction);
    bar->addAction(m_forgetAction);
}

void MainWindow::start(ModelFactory model, const QString& modelLabel, const QString& workspace, ScopeFactory scope) {
    m_loading = true;
    m_modelLabel->setText(tr("Loading the model..."));
    statusBar()->showMessage(tr("Loading the model and the workspace %1...").arg(QFileInfo(workspace).fileName()));
    m_engine->loadModel(std::move(model), modelLabel, std::move(scope));
    m_engine->openWorkspace(workspace);
    updateActions();
}

void MainWindow::openWorkspace(const QString& path, const QString& backend) {
    if (!m_loading && m_engine->info().modelId.isEmpty()) {
        showError(tr("Opening the workspace %1").arg(path), tr("No model is loaded."),
                  tr("Start the workbench with --model DIR, or set LARIMAR_MODEL_DIR to a model directory."));
        return;
    }
    m_engine->openWorkspace(path, backend);
}

void MainWindow::workspaceOpened(const EngineInfo& info) {
    setWindowTitle(tr("%1 - Larimar Workbench").arg(QFileInfo(info.workspace).fileName()));
    // Elided in the middle: a long path would leave the status bar's messages no room (they were
    // cut mid-word); the tooltip has all of it.
    const QString native = QDir::toNativeSeparators(info.workspace);
    m_workspaceLabel->setText(m_workspaceLabel->fontMetrics().elidedText(native, Qt::ElideMiddle, kWorkspaceLabelWidth));
    m_workspaceLabel->setToolTip(tr("%1\nThe workspace file: facts, audited history and memory snapshots").arg(native));
    showMemoryStatus(info);
    if (info.workspace != m_shownWorkspace) m_query->clearResult();
    if (m_loading || info.workspace != m_shownWorkspace)
        statusBar()->showMessage(tr("Opened %1").arg(QFileInfo(info.workspace).fileName()), 5000);
    m_shownWorkspace = info.workspace;
    m_query->setInfo(info);
    for (QWidget* w : m_workspaceStatus)
        w->show();
    auto s = settings();
    const QString path = QFileInfo(info.workspace).absoluteFilePath();
    QStringList recent = s->value(QStringLiteral("recentWorkspaces")).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    s->setValue(QStringLiteral("recentWorkspaces"), recent);
    s->setValue(QStringLiteral("lastWorkspace"), path);
    updateRecentMenu();
    updateActions();
}

void MainWindow::showMemoryStatus(const EngineInfo& info) {
    m_sizeLabel->setText(tr("%1 · %2 · K x C = %3 x %4")
                             .arg(info.backend.section(QLatin1Char(' '), 0, 0))
                             .arg(info.pages == 1 ? tr("1 page") : tr("%1 pages").arg(info.pages))
                             .arg(info.slotCount)
                             .arg(info.width));
    m_sizeLabel->setToolTip(tr("The workspace's memory: %1, %2 in use, at most %3 facts; each page has K slots "
                               "x C latent dimensions")
                                .arg(info.backend)
                                .arg(info.pages == 1 ? tr("1 page") : tr("%1 pages").arg(info.pages))
                                .arg(info.maxFacts));
}

void MainWindow::stateChanged(const EngineStatePtr& state) {
    showMemoryStatus(state->info); // pages come and go with writes and forgets
    m_facts->setState(state);
    m_memory->setState(state);
    m_history->setState(state);
    m_factsLabel->setText(tr("%1 written").arg(factCount(state->written)));
    showFirstRunCard(state);
    updateActions();
}

void MainWindow::updateActions() {
    const bool open = m_engine->hasWorkspace();
    const bool model = !m_engine->info().modelId.isEmpty();
    m_importAction->setEnabled(open);
    m_exportAction->setEnabled(open);
    m_exportMemoryAction->setEnabled(open);
    m_auditReportAction->setEnabled(open);
    // The menu names the step each takes back or brings back.
    const EngineStatePtr state = m_engine->state();
    const QString undo = open && state ? state->undoText : QString();
    const QString redo = open && state ? state->redoText : QString();
    m_undoAction->setEnabled(!undo.isEmpty());
    m_undoAction->setText(undo.isEmpty() ? tr("&Undo") : tr("&Undo %1").arg(undo));
    m_undoAction->setToolTip(undo.isEmpty() ? tr("Nothing to undo")
                                            : tr("Undo %1 (Ctrl+Z; in a text field Ctrl+Z undoes the typing)").arg(undo));
    m_redoAction->setEnabled(!redo.isEmpty());
    m_redoAction->setText(redo.isEmpty() ? tr("&Redo") : tr("&Redo %1").arg(redo));
    m_redoAction->setToolTip(redo.isEmpty() ? tr("Nothing to redo") : tr("Redo %1 (Ctrl+Shift+Z)").arg(redo));
    m_forgetAction->setEnabled(open);
    m_newAction->setEnabled(model || m_loading);
    m_openAction->setEnabled(model || m_loading);
    m_recentMenu->setEnabled((model || m_loading) && !m_recentMenu->isEmpty());
    m_query->compareButton()->setEnabled(open);
}

QStringList MainWindow::recentWorkspaces() const {
    return settings()->value(QStringLiteral("recentWorkspaces")).toStringList();
}

void MainWindow::updateRecentMenu() {
    m_recentMenu->clear();
    int n = 0;
    for (const QString& path : recentWorkspaces()) {
        if (!QFileInfo::exists(path)) continue;
        auto* a = m_recentMenu->addAction(QStringLiteral("&%1 %2").arg(++n).arg(QDir::toNativeSeparators(path)), this,
                                          [this, path] { openWorkspace(path); });
        a->setToolTip(path);
    }
    m_recentMenu->setEnabled(!m_recentMenu->isEmpty());
}

void MainWindow::chooseWorkspace(bool create) {
    auto* dialog = new QFileDialog(
        this, create ? tr("New Workspace") : tr("Open Workspace"),
        QFileInfo(m_engine->info().workspace.isEmpty() ? defaultWorkspacePath() : m_engine->info().workspace)
            .absolutePath(),
        tr(kWorkspaceFilter));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (create) {
        dialog->setAcceptMode(QFileDialog::AcceptSave);
        dialog->setDefaultSuffix(QStringLiteral("larimar"));
    } else {
        dialog->setFileMode(QFileDialog::ExistingFile);
    }
    connect(dialog, &QFileDialog::fileSelected, this, [this, create](const QString& path) {
        // A new workspace must not silently open an existing file of the same name.
        if (create && QFileInfo::exists(path)) {
            showError(tr("Creating the workspace %1").arg(path), tr("A file with this name exists."),
                      tr("Choose another name, or open it with File > Open Workspace."));
            return;
        }
        if (!create) {
            openWorkspace(path);
            return;
        }
        // The memory is chosen once, when the workspace is made (a workspace keeps its own).
        const QStringList choices{tr("Paged: pages of K facts, capacity grows with the facts (recommended)"),
                                  tr("Larimar: one memory of K slots, at most K facts")};
        bool ok = false;
        const QString choice = QInputDialog::getItem(this, tr("Memory of the New Workspace"),
                                                     tr("How the workspace's memory holds its facts:"), choices, 0,
                                                     false, &ok);
        if (!ok) return;
        openWorkspace(path, choice == choices[1] ? QStringLiteral("larimar") : QStringLiteral("paged"));
    });
    dialog->open();
}

void MainWindow::chooseImportFile() {
    if (!m_engine->hasWorkspace()) return;
    auto s = settings();
    auto* dialog =
        new QFileDialog(this, tr("Import Facts"), s->value(QStringLiteral("importDir")).toString(), tr(kImportFilter));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::ExistingFile);
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString& path) {
        settings()->setValue(QStringLiteral("importDir"), QFileInfo(path).absolutePath());
        importFile(path);
    });
    dialog->open();
}

void MainWindow::importFile(const QString& path) {
    if (!m_engine->hasWorkspace()) {
        showError(tr("Importing %1").arg(QFileInfo(path).fileName()), tr("No workspace is open."),
                  tr("Open or create a workspace first (File > Open Workspace)."));
        return;
    }
    statusBar()->showMessage(tr("Reading %1...").arg(QFileInfo(path).fileName()));
    m_engine->previewImport(path);
}

void MainWindow::startBatch(const ImportRecords& records, const QString& reason) {
    const int n = records ? records->size() : 0;
    // Not modal: a modal QProgressDialog pumps events inside setValue(). The window stays
    // usable; anything asked meanwhile runs after the batch.
    m_progress = new QProgressDialog(tr("Writing %1...").arg(factCount(n)), tr("Cancel"), 0, std::max(1, n), this);
    m_progress->setObjectName(QStringLiteral("batchProgress"));
    m_progress->setWindowTitle(tr("Import Facts"));
    m_progress->setWindowModality(Qt::NonModal);
    m_progress->setMinimumDuration(0);
    m_progress->setAutoClose(false);
    m_progress->setAutoReset(false);
    m_progress->setValue(0);
    QPointer<QProgressDialog> dialog = m_progress;
    connect(m_progress, &QProgressDialog::canceled, this, [this, dialog] {
        m_engine->cancelBatch();
        if (dialog) {
            // Until the worker answers it is not known whether the commit came first.
            dialog->setLabelText(tr("Cancelling..."));
            dialog->show();
        }
    });
    m_progress->show();
    statusBar()->showMessage(tr("Writing %1...").arg(factCount(n)));
    m_engine->writeBatch(records, reason);
}

void MainWindow::showError(const QString& action, const QString& message, const QString& hint) {
    m_lastError = action + QStringLiteral(": ") + message;
    if (m_loading && m_engine->info().modelId.isEmpty()) m_modelLabel->setText(tr("No model loaded"));
    statusBar()->showMessage(m_lastError, 10000);
    auto* box = new QMessageBox(QMessageBox::Warning, tr("Larimar Workbench"),
                                tr("<b>%1 failed.</b>").arg(action.toHtmlEscaped()), QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("errorDialog"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setInformativeText(
        hint.isEmpty() ? message.toHtmlEscaped()
                       : tr("%1<p><b>What to do:</b> %2</p>").arg(message.toHtmlEscaped(), hint.toHtmlEscaped()));
    box->open();
}

void MainWindow::showAbout() {
    const EngineInfo& i = m_engine->info();
    auto* box = new QMessageBox(this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setWindowTitle(tr("About Larimar Workbench"));
    box->setIconPixmap(appIcon().pixmap(64, 64));
    box->setText(tr("<b>Larimar Workbench %1</b>").arg(QStringLiteral(LARIMAR_VERSION)));
    box->setInformativeText(
        tr("<p>Write, forget and audit the facts of a Larimar language model with an episodic memory.</p>"
           "<p>Model: <b>%1</b><br>from %2<br>Memory: K x C = %3 x %4<br>Scope detector: %5<br>Workspace: %6</p>"
           "<p>Licensed under the Apache License, Version 2.0. The bundled model's parts keep their own "
           "licences (Apache-2.0 and MIT), listed in the package's copyright file.</p>"
           "<p>Qt %7</p>")
            .arg(i.modelId.isEmpty() ? tr("none loaded") : i.modelId.toHtmlEscaped(),
                 i.modelDir.isEmpty() ? tr("-") : i.modelDir.toHtmlEscaped())
            .arg(i.slotCount)
            .arg(i.width)
            .arg(i.detector.isEmpty() ? tr("-") : i.detector.toHtmlEscaped(),
                 i.workspace.isEmpty() ? tr("none open") : i.workspace.toHtmlEscaped(),
                 QString::fromLatin1(qVersion())));
    box->open();
}

void MainWindow::showHandbook() {
    initLarimarResources();
    auto* dialog = new QDialog(this);
    dialog->setObjectName(QStringLiteral("handbookDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Handbook"));
    auto* browser = new QTextBrowser(dialog);
    browser->setObjectName(QStringLiteral("handbookText"));
    browser->setOpenExternalLinks(true);
    // The README and docs/ are compiled in (resources/larimar-workbench.qrc), so the handbook is
    // the one of this build, installed or not; its relative links (docs/audit.md) resolve there.
    browser->setSource(QUrl(QStringLiteral("qrc:/handbook/README.md")), QTextDocument::MarkdownResource);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(browser);
    layout->addWidget(buttons);
    const QSize avail = screen() ? screen()->availableSize() : QSize(1280, 800);
    dialog->resize(std::min(900, avail.width() - 40), std::min(760, avail.height() - 80));
    dialog->show();
}

void MainWindow::showFirstRunCard(const EngineStatePtr& state) {
    // Once per start: a new user's empty workspace, until the card was used up or dismissed.
    if (!m_firstRunChecked) {
        m_firstRunChecked = true;
        if (state->edits.isEmpty() && !settings()->value(QStringLiteral("firstRunDone"), false).toBool()) {
            m_firstRun = new FirstRunCard(m_facts);
            if (auto* box = qobject_cast<QVBoxLayout*>(m_facts->layout())) box->insertWidget(0, m_firstRun);
            m_firstRun->show();
            connect(m_firstRun, &FirstRunCard::exampleRequested, this, [this] {
                m_facts->newFactEdit()->setText(FirstRunCard::exampleFact());
                m_facts->newFactEdit()->setFocus();
            });
            connect(m_firstRun, &FirstRunCard::askRequested, this, [this] {
                m_tabs->setCurrentWidget(m_query);
                m_query->promptEdit()->setText(FirstRunCard::examplePrompt());
                m_query->compareNow();
            });
            connect(m_firstRun, &FirstRunCard::samplesRequested, this, [this] {
                QFile f(QStringLiteral(":/samples/sample-facts.txt"));
                auto records = std::make_shared<QVector<ImportRecord>>();
                if (f.open(QIODevice::ReadOnly | QIODevice::Text))
                    for (const QString& line : QString::fromUtf8(f.readAll()).split(QLatin1Char('\n')))
                        if (!line.trimmed().isEmpty()) records->append({line.trimmed(), {}, {}, {}, QStringLiteral("sample")});
                if (!records->isEmpty()) startBatch(records, tr("sample facts"));
            });
            connect(m_firstRun, &FirstRunCard::finished, this, [this] {
                settings()->setValue(QStringLiteral("firstRunDone"), true);
                if (m_firstRun) m_firstRun->deleteLater();
                m_firstRun = nullptr;
            });
        }
    }
    if (!m_firstRun) return;
    for (const EditRow& e : state->edits) {
        if (e.op == QLatin1String("write") || e.op == QLatin1String("batch")) m_firstRun->markDone(FirstRunCard::WriteStep);
        if (e.op == QLatin1String("forget") && m_firstRun) m_firstRun->markDone(FirstRunCard::ForgetStep);
        if (!m_firstRun) return;
    }
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::ShortcutOverride && isTextField(watched)) {
        auto* w = static_cast<QWidget*>(watched);
        auto* key = static_cast<QKeyEvent*>(event);
        if (w->window() == this) {
            const QKeySequence pressed(key->keyCombination());
            // Ctrl+E is Export History in the whole window: a line edit would take it as "end of line".
            if (m_exportAction->isEnabled() && pressed == m_exportAction->shortcut()) {
                event->ignore();
                return true; // not overridden: the shortcut fires
            }
            // Ctrl+Z in a text field undoes the typing there, not an edit of the workspace: say so.
            if (key->matches(QKeySequence::Undo) && m_undoAction->isEnabled())
                statusBar()->showMessage(
                    tr("Ctrl+Z undid typing only (Edit > Undo: %1)")
                        .arg(m_engine->state() ? m_engine->state()->undoText : QString()),
                    8000);
        }
    }
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    auto s = settings();
    s->setValue(QStringLiteral("geometry"), saveGeometry());
    s->setValue(QStringLiteral("windowState"), saveState());
    s->setValue(QStringLiteral("tab"), m_tabs->currentIndex());
    if (m_progress) m_engine->cancelBatch();
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.front().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (urls.isEmpty() || !urls.front().isLocalFile()) return;
    const QString path = urls.front().toLocalFile();
    event->acceptProposedAction();
    if (path.endsWith(QLatin1String(".larimar"), Qt::CaseInsensitive))
        openWorkspace(path);
    else {
        m_tabs->setCurrentWidget(m_facts);
        importFile(path);
    }
}

} // namespace larimar::ui
