#pragma once
/// The GUI's one door to the engine. Engine lives on the GUI thread and owns ONE worker thread
/// that owns the larimar::Editor (and the model); every engine call runs there. Calls return at
/// once; results come back as queued signals. The GUI thread never waits on the engine, except
/// the destructor, which cancels a running batch and then joins the thread
/// (requestInterruption(), quit(), wait()).
#include "ui/engine_types.h"
#include "ui/evaluation_types.h"

#include <QObject>
#include <QThread>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace larimar {
class Editor;
class TextModel;
class ScopeDetector;
} // namespace larimar

namespace larimar::ui {

class EngineWorker;

/// Makes the model; called on the worker thread (loading takes seconds).
using ModelFactory = std::function<std::shared_ptr<TextModel>()>;
/// Reports (done, total) of long work while opening a workspace (a scope detector embedding
/// the facts it has not seen).
using OpenProgress = std::function<void(std::int64_t, std::int64_t)>;

/// Makes the scope detector of each workspace opened (on the worker thread); empty: the
/// Editor's default. `connect` (optional) runs once the Editor exists (a detector that reads
/// the memory needs it).
struct ScopeFactory {
    std::function<std::shared_ptr<ScopeDetector>(const std::shared_ptr<TextModel>& model, const std::string& workspace,
                                                 const OpenProgress& progress)>
        make;
    std::function<void(ScopeDetector&, const Editor&)> connect;
    explicit operator bool() const { return static_cast<bool>(make); }
};

class Engine : public QObject {
    Q_OBJECT
public:
    explicit Engine(QObject* parent = nullptr);
    ~Engine() override;

    /// Loads the model (replacing any) with `factory` on the worker; `label` names it in errors.
    void loadModel(ModelFactory factory, const QString& label, ScopeFactory scope = {});
    /// Opens or creates a workspace with the loaded model (queued behind loadModel).
    /// backend: the memory of a NEW workspace ("paged", "larimar"); empty: the default. An
    /// existing workspace keeps its own.
    void openWorkspace(const QString& path, const QString& backend = {});

    /// Writes one fact. Unless allowConflicts, a fact that repeats or contradicts written ones
    /// is not written: writeConflicts names them (then replace(), or write(..., true)).
    void write(const QString& text, const QString& reason = {}, bool allowConflicts = false);
    /// Forgets the facts and writes text as one audited edit (a correction).
    void replace(const QVector<qint64>& factIds, const QString& text, const QString& reason);
    void forget(const QVector<qint64>& factIds, const QString& reason);
    /// Reads a file of facts (any supported format); importPreviewReady or failed.
    void previewImport(const QString& path);
    /// Writes records as one batch edit. cancelBatch() stops it and nothing is written.
    void writeBatch(const ImportRecords& records, const QString& reason);
    /// Raises the running batch's cancel flag (safe from the GUI thread at any time).
    void cancelBatch();
    void rollback(qint64 editId, const QString& reason = {});
    /// Takes back the newest step of the workspace's undo stack (Editor::undo), itself an
    /// audited rollback edit; repeated, it walks back edit by edit. state()->undoText names it.
    void undo();
    /// Brings back what the last undo took back (Editor::redo); state()->redoText names it.
    void redo();
    /// Query with and without memory; threshold empty: the workspace's or the detector's.
    void compare(const QString& prompt, std::optional<double> threshold = std::nullopt);
    void requestWriteKey(qint64 factId);
    /// Stores the scope threshold in the workspace ("scope.threshold"; the CLI uses it too).
    void setWorkspaceThreshold(double threshold);
    /// format from the extension: .json, else CSV.
    void exportHistory(const QString& path);
    /// The memory matrix M (K x C, float64) as a NumPy .npy file.
    void exportMemory(const QString& path);
    /// The audit report (core/store/audit_report.h) as .html or .pdf (ui/audit_report_file.h),
    /// verified when it is made; auditReportWritten says whether the chain verified.
    void writeAuditReport(const QString& path);
    /// Runs the CounterFact/zsRE evaluation (ui/evaluation_run.h) on the loaded model, on the
    /// worker thread; evaluationProgress, then evaluationFinished (also after an error, which
    /// failed() reports). cancelEvaluation() stops it early.
    void evaluate(const EvalRequest& request);
    /// Raises the running evaluation's cancel flag (safe from the GUI thread at any time).
    void cancelEvaluation();
    /// Runs job on the worker thread, in order with the other calls (tests use it to hold the
    /// worker while they act on the GUI).
    void post(std::function<void()> job);

    /// Calls posted and not yet finished.
    int pending() const { return m_pending; }
    /// An evaluation is queued or running (a query asked now waits for it).
    bool evaluating() const { return m_evaluations > 0; }
    bool hasWorkspace() const { return m_hasWorkspace; }
    const EngineInfo& info() const { return m_info; }
    EngineStatePtr state() const { return m_state; }

signals:
    void modelLoaded(const larimar::ui::EngineInfo& info);
    void workspaceOpened(const larimar::ui::EngineInfo& info);
    /// After opening and after every change: the facts, history, memory and audit.
    void stateChanged(const larimar::ui::EngineStatePtr& state);
    void compared(const larimar::ui::CompareView& view);
    void writeKeyReady(qint64 factId, const QVector<double>& key);
    void importPreviewReady(const QString& path, const larimar::ui::ImportRecords& records);
    /// write() found written facts the text repeats or contradicts; nothing was written.
    void writeConflicts(const QString& text, const larimar::ui::ConflictRows& conflicts);
    void batchProgress(qint64 done, qint64 total);
    /// Progress of opening a workspace (the scope detector preparing its facts).
    void openProgress(qint64 done, qint64 total);
    /// written false: cancelled or failed (nothing was written).
    void batchFinished(bool written, const QString& message);
    /// A change was committed; summary for the status bar ("edit 5 (write): fact 3").
    void edited(const QString& summary);
    void historyExported(const QString& path);
    void memoryExported(const QString& path);
    /// verified false: the report was written and says FAILED (verification: the one-line result).
    void auditReportWritten(const QString& path, bool verified, const QString& verification);
    void evaluationProgress(int done, int total);
    /// outcome->error set: it failed (failed() was emitted too); cancelled: stopped early.
    void evaluationFinished(const larimar::ui::EvalOutcomePtr& outcome);
    /// The workspace's threshold was stored.
    void thresholdSaved(double threshold);
    /// An engine call failed: what was attempted, the engine's message, what to do now.
    void failed(const QString& action, const QString& message, const QString& hint);
    /// Emitted when pending() drops to zero (tests and the --screenshot option wait for it).
    void idle();
    /// True while a call runs or waits (the status bar shows a busy indicator).
    void busyChanged(bool busy);

private:
    void dispatch(std::function<void(EngineWorker&)> job);

    QThread m_thread;
    EngineWorker* m_worker = nullptr;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    std::shared_ptr<std::atomic<bool>> m_evalCancel;
    int m_pending = 0;
    int m_evaluations = 0;
    bool m_hasWorkspace = false;
    EngineInfo m_info;
    EngineStatePtr m_state;
};

} // namespace larimar::ui
