#pragma once
/// The Evaluation tab: runs the CounterFact/zsRE knowledge-editing evaluation (the code of
/// `larimar eval counterfact|zsre`) on a chosen file with the model the workbench loaded, on the
/// engine's worker thread, with progress and Cancel. Shows the metrics, every case, and a chart:
/// accuracy vs batch size (batch sweep), retention vs edits (sequential), else the headline
/// metrics as bars. The file and the settings are kept with QSettings.
#include "ui/evaluation_types.h"

#include <QAbstractTableModel>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;

namespace larimar::ui {

class Engine;

/// The results table: metric, value, note.
class EvalMetricModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Metric, Value, Note, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    void setMetrics(const QVector<EvalMetric>& metrics);
    const QVector<EvalMetric>& metrics() const { return m_rows; }
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVector<EvalMetric> m_rows;
};

/// One row per evaluated case. Column titles follow the metric (CounterFact or zsRE).
class EvalCaseModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Case,
        Prompt,
        NewTarget,
        Edit,
        EditScore,
        Paraphrase,
        Neighbourhood,
        Generation,
        Locality,
        Generated,
        ColumnCount
    };
    using QAbstractTableModel::QAbstractTableModel;
    void setCases(const QVector<EvalCaseRow>& cases, bool zsre);
    const QVector<EvalCaseRow>& cases() const { return m_rows; }
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVector<EvalCaseRow> m_rows;
    bool m_zsre = false;
};

class EvaluationPanel : public QWidget {
    Q_OBJECT
public:
    explicit EvaluationPanel(Engine* engine, QWidget* parent = nullptr);

    /// The file to evaluate (as if chosen in the file dialog; remembered in the settings).
    void setFile(const QString& path);
    QString file() const;
    /// Where the model's tokenizer is (zsRE answers are split into its tokens; else words).
    void setTokenizerDir(const QString& dir) { m_tokenizerDir = dir; }
    /// The settings of the controls as a request.
    EvalRequest request() const;
    /// Starts a run with the current settings (what Run does); false when it cannot start.
    bool run();
    void cancel();
    bool isRunning() const { return m_running; }
    /// The last finished run (null before the first).
    const EvalOutcomePtr& last() const { return m_last; }

    QLineEdit* fileEdit() const { return m_fileEdit; }
    QComboBox* modeBox() const { return m_mode; }
    QSpinBox* batchSizeSpin() const { return m_batchSize; }
    QCheckBox* sweepBox() const { return m_sweep; }
    QSpinBox* everySpin() const { return m_every; }
    QSpinBox* limitSpin() const { return m_limit; }
    QCheckBox* shuffleBox() const { return m_shuffle; }
    QSpinBox* seedSpin() const { return m_seed; }
    QCheckBox* generationBox() const { return m_generation; }
    QPushButton* runButton() const { return m_run; }
    QPushButton* cancelButton() const { return m_cancel; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* statusLabel() const { return m_status; }
    EvalMetricModel* metricsModel() const { return m_metrics; }
    EvalCaseModel* casesModel() const { return m_cases; }
    QTableView* casesView() const { return m_casesView; }
    QCustomPlot* chart() const { return m_chart; }

signals:
    /// A run ended (finished, cancelled or failed).
    void finished(const larimar::ui::EvalOutcomePtr& outcome);

private:
    void chooseFile();
    void updateControls();
    void progress(int done, int total);
    void showOutcome(const EvalOutcomePtr& outcome);
    void drawChart(const EvalOutcome& outcome);
    void saveSettings() const;

    Engine* m_engine;
    QLineEdit* m_fileEdit;
    QPushButton* m_choose;
    QComboBox* m_mode;
    QSpinBox* m_batchSize;
    QCheckBox* m_sweep;
    QSpinBox* m_every;
    QSpinBox* m_limit;
    QCheckBox* m_shuffle;
    QSpinBox* m_seed;
    QCheckBox* m_generation;
    QPushButton* m_run;
    QPushButton* m_cancel;
    QProgressBar* m_progress;
    QLabel* m_status;
    EvalMetricModel* m_metrics;
    EvalCaseModel* m_cases;
    QTableView* m_metricsView;
    QTableView* m_casesView;
    QCustomPlot* m_chart;
    QString m_tokenizerDir;
    EvalOutcomePtr m_last;
    bool m_running = false;
    bool m_cancelling = false;
};

} // namespace larimar::ui
