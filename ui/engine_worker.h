#pragma once
/// The worker behind ui::Engine: a QObject living on the engine thread. It owns the model and
/// the Editor; its methods run there only (Engine posts them) and report by signals, which reach
/// the GUI thread queued. Internal to ui/.
#include "ui/engine.h"

#include <QObject>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace larimar {
class Editor;
}

namespace larimar::ui {

class EngineWorker : public QObject {
    Q_OBJECT
public:
    EngineWorker();
    ~EngineWorker() override;

    void loadModel(const ModelFactory& factory, const QString& label, const ScopeFactory& scope);
    void openWorkspace(const QString& path, const QString& backend = {});
    void write(const QString& text, const QString& reason, bool allowConflicts);
    void replace(const QVector<qint64>& ids, const QString& text, const QString& reason);
    void forget(const QVector<qint64>& ids, const QString& reason);
    void previewImport(const QString& path);
    void writeBatch(const ImportRecords& records, const QString& reason, const std::atomic<bool>* cancel);
    void rollback(qint64 editId, const QString& reason);
    void undo(bool redo);
    void compare(const QString& prompt, std::optional<double> threshold);
    void writeKey(qint64 factId);
    void setWorkspaceThreshold(double threshold);
    void exportHistory(const QString& path);
    void exportMemory(const QString& path);
    void writeAuditReport(const QString& path);
    void evaluate(const EvalRequest& request, const std::atomic<bool>* cancel);

signals:
    void modelLoaded(const larimar::ui::EngineInfo& info);
    void workspaceOpened(const larimar::ui::EngineInfo& info);
    void stateChanged(const larimar::ui::EngineStatePtr& state);
    void compared(const larimar::ui::CompareView& view);
    void writeKeyReady(qint64 factId, const QVector<double>& key);
    void importPreviewReady(const QString& path, const larimar::ui::ImportRecords& records);
    void writeConflicts(const QString& text, const larimar::ui::ConflictRows& conflicts);
    void batchProgress(qint64 done, qint64 total);
    void openProgress(qint64 done, qint64 total);
    void batchFinished(bool written, const QString& message);
    void edited(const QString& summary);
    void historyExported(const QString& path);
    void memoryExported(const QString& path);
    void auditReportWritten(const QString& path, bool verified, const QString& verification);
    void thresholdSaved(double threshold);
    void evaluationProgress(int done, int total);
    void evaluationFinished(const larimar::ui::EvalOutcomePtr& outcome);
    void failed(const QString& action, const QString& message, const QString& hint);
    void jobDone();

private:
    /// True (after emitting failed) when no workspace is open.
    bool needEditor(const QString& action);
    /// Runs f; turns exceptions into failed(action, message, hint).
    template <class F> bool guarded(const QString& action, const QString& hint, F&& f);
    EngineInfo info() const;
    void publishState();

    std::shared_ptr<TextModel> m_model;
    ScopeFactory m_scopeFactory;
    QString m_modelDir;
    std::unique_ptr<Editor> m_editor;
    std::string m_lastPrompt;
    std::optional<double> m_lastThreshold;
};

} // namespace larimar::ui
