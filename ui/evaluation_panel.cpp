#include "ui/evaluation_panel.h"

#include "ui/engine.h"
#include "ui/main_window.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace larimar::ui {

namespace {

QString percent(double v) {
    if (std::isnan(v)) return QStringLiteral("n/a");
    return QStringLiteral("%1%").arg(100.0 * v, 0, 'f', 1);
}

QString number(double v) {
    if (std::isnan(v)) return QStringLiteral("n/a");
    if (v == std::floor(v) && std::abs(v) < 1e9) return QString::number(static_cast<qint64>(v));
    return QString::number(v, 'g', 4);
}

const QColor kSeriesColours[] = {QColor(0x2a, 0x7a, 0xb8), QColor(0xc0, 0x70, 0x20), QColor(0x3a, 0x9a, 0x4a),
                                 QColor(0x88, 0x44, 0xaa)};

} // namespace

// --- models --------------------------------------------------------------------------------

void EvalMetricModel::setMetrics(const QVector<EvalMetric>& metrics) {
    beginResetModel();
    m_rows = metrics;
    endResetModel();
}

int EvalMetricModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int EvalMetricModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EvalMetricModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_rows.size()) return {};
    const EvalMetric& m = m_rows[index.row()];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Metric:
            return m.name;
        case Value:
            return m.percent ? percent(m.value) : number(m.value);
        case Note:
            return m.note;
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole && index.column() == Note && !m.note.isEmpty()) return m.note;
    if (role == Qt::UserRole && index.column() == Value) return m.value;
    if (role == Qt::TextAlignmentRole && index.column() == Value)
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant EvalMetricModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Metric:
        return tr("Metric");
    case Value:
        return tr("Value");
    case Note:
        return tr("Note");
    default:
        return {};
    }
}

void EvalCaseModel::setCases(const QVector<EvalCaseRow>& cases, bool zsre) {
    beginResetModel();
    m_rows = cases;
    m_zsre = zsre;
    endResetModel();
    emit headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
}

int EvalCaseModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int EvalCaseModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EvalCaseModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_rows.size()) return {};
    const EvalCaseRow& r = m_rows[index.row()];
    const auto yesNo = [](bool b) { return b ? tr("yes") : tr("no"); };
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Case:
            return r.caseId;
        case Prompt:
            return r.prompt;
        case NewTarget:
            return r.targetTrue.isEmpty() ? r.targetNew : tr("%1 (was %2)").arg(r.targetNew, r.targetTrue);
        case Edit:
            return yesNo(r.editSuccess);
        case EditScore:
            return m_zsre ? percent(r.edit) : QString::number(r.edit, 'g', 3);
        case Paraphrase:
            return percent(r.paraphrase);
        case Neighbourhood:
            return percent(r.neighbourhood);
        case Generation:
            return yesNo(r.generationCorrect);
        case Locality:
            return r.locality < 0 ? tr("n/a") : percent(r.locality);
        case Generated:
            return r.generated;
        default:
            return {};
        }
    }
    if (role == Qt::ForegroundRole && (index.column() == Edit || index.column() == Generation)) {
        const bool ok = index.column() == Edit ? r.editSuccess : r.generationCorrect;
        return QColor(ok ? QColor(0x1e, 0x7a, 0x34) : QColor(0xb0, 0x20, 0x20));
    }
    if (role == Qt::ToolTipRole && (index.column() == Prompt || index.column() == Generated))
        return index.column() == Prompt ? r.prompt : r.generated;
    if (role == Qt::TextAlignmentRole && index.column() >= Edit && index.column() <= Locality)
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant EvalCaseModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case Edit:
            return m_zsre ? tr("Every answer token right after the prompt") : tr("P(new) > P(true) on the prompt");
        case EditScore:
            return m_zsre ? tr("Token accuracy of the answer after the prompt") : tr("P(new) - P(true) on the prompt");
        case Paraphrase:
            return m_zsre ? tr("Token accuracy after the rephrased prompt")
                          : tr("Paraphrase prompts with P(new) > P(true)");
        case Neighbourhood:
            return m_zsre ? tr("Token accuracy of the locality answer")
                          : tr("Neighbourhood prompts with P(true) > P(new)");
        case Generation:
            return tr("The greedy continuation starts with the new target");
        case Locality:
            return tr("Neighbourhood prompts whose greedy output is unchanged by the edit");
        default:
            return {};
        }
    }
    if (role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Case:
        return tr("Case");
    case Prompt:
        return tr("Prompt");
    case NewTarget:
        return tr("New target");
    case Edit:
        return tr("Edit");
    case EditScore:
        return m_zsre ? tr("Edit acc.") : tr("Magnitude");
    case Paraphrase:
        return m_zsre ? tr("Paraphrase acc.") : tr("Paraphrase");
    case Neighbourhood:
        return m_zsre ? tr("Locality acc.") : tr("Neighbourhood");
    case Generation:
        return tr("Generation");
    case Locality:
        return tr("Unchanged");
    case Generated:
        return tr("Generated");
    default:
        return {};
    }
}

// --- panel ---------------------------------------------------------------------------------

EvaluationPanel::EvaluationPanel(Engine* engine, QWidget* parent) : QWidget(parent), m_engine(engine) {
    setObjectName(QStringLiteral("evaluationPanel"));
    m_fileEdit = new QLineEdit(this);
    m_fileEdit->setObjectName(QStringLiteral("evalFile"));
    m_fileEdit->setReadOnly(true);
    m_fileEdit->setPlaceholderText(tr("Choose a CounterFact (ROME or EasyEdit schema) or zsRE file"));
    m_choose = new QPushButton(tr("&Choose File..."), this);
    m_choose->setObjectName(QStringLiteral("evalChoose"));

    m_mode = new QComboBox(this);
    m_mode->setObjectName(QStringLiteral("evalMode"));
    m_mode->addItem(tr("Single edits"), EvalRequest::Single);
    m_mode->addItem(tr("Batch"), EvalRequest::Batch);
    m_mode->addItem(tr("Sequential"), EvalRequest::Sequential);
    m_mode->setItemData(0, tr("A fresh memory per case holding its one edit"), Qt::ToolTipRole);
    m_mode->setItemData(1, tr("Edits written together into one memory"), Qt::ToolTipRole);
    m_mode->setItemData(2, tr("All edits one after another into one memory; retention measured as it fills"),
                        Qt::ToolTipRole);
    m_batchSize = new QSpinBox(this);
    m_batchSize->setObjectName(QStringLiteral("evalBatchSize"));
    m_batchSize->setRange(1, 100000);
    m_batchSize->setValue(4);
    m_batchSize->setToolTip(tr("Edits written together into one memory"));
    m_sweep = new QCheckBox(tr("S&weep 1, 2, 4, ..."), this);
    m_sweep->setObjectName(QStringLiteral("evalSweep"));
    m_sweep->setChecked(true);
    m_sweep->setToolTip(tr("Also run the batch sizes 1, 2, 4, ... below it: the accuracy curve of the paper's "
                           "batch-editing figure"));
    m_every = new QSpinBox(this);
    m_every->setObjectName(QStringLiteral("evalEvery"));
    m_every->setRange(1, 100000);
    m_every->setToolTip(tr("Measure retention after every k edits"));
    m_limit = new QSpinBox(this);
    m_limit->setObjectName(QStringLiteral("evalLimit"));
    m_limit->setRange(0, 10000000);
    m_limit->setSpecialValueText(tr("all"));
    m_limit->setValue(100);
    m_limit->setToolTip(tr("Use the first N cases of the file (after shuffling); all: every case"));
    m_shuffle = new QCheckBox(tr("Sh&uffle"), this);
    m_shuffle->setObjectName(QStringLiteral("evalShuffle"));
    m_shuffle->setToolTip(tr("Shuffle the cases with the seed before taking the limit"));
    m_seed = new QSpinBox(this);
    m_seed->setObjectName(QStringLiteral("evalSeed"));
    m_seed->setRange(0, 2147483647);
    m_seed->setValue(1);
    m_seed->setToolTip(tr("Seed of every random choice of a run (the shuffle)"));
    m_generation = new QCheckBox(tr("&Generation and locality"), this);
    m_generation->setObjectName(QStringLiteral("evalGeneration"));
    m_generation->setChecked(true);
    m_generation->setToolTip(tr("Also generate: generation accuracy and \"output unchanged\" locality (slower)"));

    m_run = new QPushButton(QIcon::fromTheme(QStringLiteral("media-playback-start")), tr("&Run"), this);
    m_run->setObjectName(QStringLiteral("evalRun"));
    m_run->setDefault(true);
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("evalCancel"));
    m_cancel->setEnabled(false);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("evalProgress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("%v of %m"));
    m_status = new QLabel(tr("Choose a file and press Run. The model the workbench loaded is evaluated."), this);
    m_status->setObjectName(QStringLiteral("evalStatus"));
    m_status->setWordWrap(true);

    m_metrics = new EvalMetricModel(this);
    m_metricsView = new QTableView(this);
    m_metricsView->setObjectName(QStringLiteral("evalMetrics"));
    m_metricsView->setModel(m_metrics);
    m_metricsView->verticalHeader()->hide();
    m_metricsView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_metricsView->setAlternatingRowColors(true);
    m_metricsView->horizontalHeader()->setSectionResizeMode(EvalMetricModel::Metric, QHeaderView::ResizeToContents);
    m_metricsView->horizontalHeader()->setSectionResizeMode(EvalMetricModel::Value, QHeaderView::ResizeToContents);
    m_metricsView->horizontalHeader()->setStretchLastSection(true);
    m_metricsView->setWordWrap(false);
    m_metricsView->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);

    m_cases = new EvalCaseModel(this);
    m_casesView = new QTableView(this);
    m_casesView->setObjectName(QStringLiteral("evalCases"));
    m_casesView->setModel(m_cases);
    m_casesView->verticalHeader()->hide();
    m_casesView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_casesView->setAlternatingRowColors(true);
    m_casesView->setWordWrap(false);
    m_casesView->horizontalHeader()->setStretchLastSection(true);
    m_casesView->setColumnWidth(EvalCaseModel::Case, 60);
    m_casesView->setColumnWidth(EvalCaseModel::Prompt, 300);
    m_casesView->setColumnWidth(EvalCaseModel::NewTarget, 170);

    m_chart = new QCustomPlot(this);
    m_chart->setObjectName(QStringLiteral("evalChart"));
    m_chart->setMinimumSize(280, 200);
    m_chart->plotLayout()->insertRow(0);
    QFont bold = m_chart->font();
    bold.setBold(true);
    m_chart->plotLayout()->addElement(0, 0,
                                      new QCPTextElement(m_chart, tr("Run an evaluation to see its chart"), bold));
    // The legend sits in a row below the axes, so it never covers a curve.
    auto* legendRow = new QCPLayoutGrid;
    m_chart->plotLayout()->addElement(2, 0, legendRow);
    legendRow->setMargins(QMargins(5, 0, 5, 5));
    m_chart->axisRect()->insetLayout()->take(m_chart->legend);
    legendRow->addElement(0, 0, m_chart->legend);
    m_chart->legend->setFillOrder(QCPLegend::foColumnsFirst);
    m_chart->legend->setBorderPen(Qt::NoPen);
    m_chart->plotLayout()->setRowStretchFactor(2, 0.001);
    m_chart->legend->setFont(font());
    m_chart->yAxis->setRange(0, 100);

    // Controls: the file, then the settings, then run/cancel with progress.
    auto* controls = new QGridLayout;
    auto* fileRow = new QHBoxLayout;
    fileRow->addWidget(m_fileEdit, 1);
    fileRow->addWidget(m_choose);
    auto* fileLabel = new QLabel(tr("F&ile:"), this);
    fileLabel->setBuddy(m_choose);
    controls->addWidget(fileLabel, 0, 0);
    controls->addLayout(fileRow, 0, 1);
    auto* settingsRow = new QHBoxLayout;
    auto label = [this](const QString& text, QWidget* buddy) {
        auto* l = new QLabel(text, this);
        l->setBuddy(buddy);
        return l;
    };
    settingsRow->addWidget(m_mode);
    settingsRow->addSpacing(8);
    settingsRow->addWidget(label(tr("&Batch size:"), m_batchSize));
    settingsRow->addWidget(m_batchSize);
    settingsRow->addWidget(m_sweep);
    settingsRow->addSpacing(8);
    settingsRow->addWidget(label(tr("Retentio&n every:"), m_every));
    settingsRow->addWidget(m_every);
    settingsRow->addStretch(1);
    // Which cases and what is measured on a row of their own: one row of every option made
    // the window at least 1212 px wide, more than a 1366 x 768 laptop at 125% (1093 px).
    auto* casesRow = new QHBoxLayout;
    casesRow->addWidget(m_limit);
    casesRow->addWidget(m_shuffle);
    casesRow->addSpacing(8);
    casesRow->addWidget(label(tr("See&d:"), m_seed));
    casesRow->addWidget(m_seed);
    casesRow->addSpacing(16);
    casesRow->addWidget(m_generation);
    casesRow->addStretch(1);
    controls->addWidget(label(tr("M&ode:"), m_mode), 1, 0);
    controls->addLayout(settingsRow, 1, 1);
    controls->addWidget(label(tr("Limi&t:"), m_limit), 2, 0);
    controls->addLayout(casesRow, 2, 1);
    auto* runRow = new QHBoxLayout;
    runRow->addWidget(m_run);
    runRow->addWidget(m_cancel);
    runRow->addWidget(m_progress, 1);
    controls->addLayout(runRow, 3, 1);
    controls->addWidget(m_status, 4, 1);
    controls->setColumnStretch(1, 1);

    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(m_metricsView);
    top->addWidget(m_chart);
    top->setStretchFactor(0, 2);
    top->setStretchFactor(1, 3);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->setObjectName(QStringLiteral("evalSplitter"));
    split->addWidget(top);
    split->addWidget(m_casesView);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setChildrenCollapsible(false);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(split, 1);

    // The last run's settings (no file until one is chosen).
    auto s = MainWindow::settings();
    s->beginGroup(QStringLiteral("evaluation"));
    const QString last = s->value(QStringLiteral("file")).toString();
    if (!last.isEmpty() && QFileInfo::exists(last)) m_fileEdit->setText(last);
    m_mode->setCurrentIndex(std::clamp(s->value(QStringLiteral("mode"), 0).toInt(), 0, 2));
    m_batchSize->setValue(s->value(QStringLiteral("batchSize"), m_batchSize->value()).toInt());
    m_sweep->setChecked(s->value(QStringLiteral("sweep"), true).toBool());
    m_every->setValue(s->value(QStringLiteral("every"), 10).toInt()); // the CLI's default
    m_limit->setValue(s->value(QStringLiteral("limit"), m_limit->value()).toInt());
    m_shuffle->setChecked(s->value(QStringLiteral("shuffle"), false).toBool());
    m_seed->setValue(s->value(QStringLiteral("seed"), 1).toInt());
    m_generation->setChecked(s->value(QStringLiteral("generation"), true).toBool());
    s->endGroup();

    connect(m_choose, &QPushButton::clicked, this, &EvaluationPanel::chooseFile);
    connect(m_run, &QPushButton::clicked, this, &EvaluationPanel::run);
    connect(m_cancel, &QPushButton::clicked, this, &EvaluationPanel::cancel);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &EvaluationPanel::updateControls);
    connect(m_sweep, &QCheckBox::toggled, this, &EvaluationPanel::updateControls);
    connect(m_shuffle, &QCheckBox::toggled, this, &EvaluationPanel::updateControls);
    connect(m_engine, &Engine::modelLoaded, this, &EvaluationPanel::updateControls);
    connect(m_engine, &Engine::idle, this, &EvaluationPanel::updateControls);
    connect(m_engine, &Engine::evaluationProgress, this, &EvaluationPanel::progress);
    connect(m_engine, &Engine::evaluationFinished, this, &EvaluationPanel::showOutcome);
    updateControls();
}

void EvaluationPanel::setFile(const QString& path) {
    m_fileEdit->setText(path.isEmpty() ? QString() : QFileInfo(path).absoluteFilePath());
    m_fileEdit->setToolTip(m_fileEdit->text());
    saveSettings();
    updateControls();
}

QString EvaluationPanel::file() const {
    return m_fileEdit->text();
}

void EvaluationPanel::chooseFile() {
    const QString dir = file().isEmpty() ? MainWindow::settings()->value(QStringLiteral("evaluation/dir")).toString()
                                         : QFileInfo(file()).absolutePath();
    auto* dialog = new QFileDialog(this, tr("Choose an Evaluation File"), dir,
                                   tr("CounterFact / zsRE (*.json *.jsonl);;All files (*)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::ExistingFile);
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString& path) {
        MainWindow::settings()->setValue(QStringLiteral("evaluation/dir"), QFileInfo(path).absolutePath());
        setFile(path);
    });
    dialog->open();
}

EvalRequest EvaluationPanel::request() const {
    EvalRequest r;
    r.file = file();
    r.mode = static_cast<EvalRequest::Mode>(m_mode->currentData().toInt());
    r.batchSize = m_batchSize->value();
    r.sweep = m_sweep->isChecked();
    r.every = m_every->value();
    r.limit = m_limit->value();
    r.shuffle = m_shuffle->isChecked();
    r.seed = static_cast<quint64>(m_seed->value());
    r.generation = m_generation->isChecked();
    r.tokenizerDir = m_tokenizerDir;
    return r;
}

void EvaluationPanel::saveSettings() const {
    auto s = MainWindow::settings();
    s->beginGroup(QStringLiteral("evaluation"));
    s->setValue(QStringLiteral("file"), file());
    s->setValue(QStringLiteral("mode"), m_mode->currentIndex());
    s->setValue(QStringLiteral("batchSize"), m_batchSize->value());
    s->setValue(QStringLiteral("sweep"), m_sweep->isChecked());
    s->setValue(QStringLiteral("every"), m_every->value());
    s->setValue(QStringLiteral("limit"), m_limit->value());
    s->setValue(QStringLiteral("shuffle"), m_shuffle->isChecked());
    s->setValue(QStringLiteral("seed"), m_seed->value());
    s->setValue(QStringLiteral("generation"), m_generation->isChecked());
    s->endGroup();
}

void EvaluationPanel::updateControls() {
    const auto mode = static_cast<EvalRequest::Mode>(m_mode->currentData().toInt());
    const bool model = !m_engine->info().modelId.isEmpty();
    for (QWidget* w : std::initializer_list<QWidget*>{m_choose, m_mode, m_limit, m_shuffle, m_generation})
        w->setEnabled(!m_running);
    m_batchSize->setEnabled(!m_running && mode == EvalRequest::Batch);
    m_sweep->setEnabled(!m_running && mode == EvalRequest::Batch);
    m_every->setEnabled(!m_running && mode == EvalRequest::Sequential);
    m_seed->setEnabled(!m_running && m_shuffle->isChecked());
    m_run->setEnabled(!m_running && model && !file().isEmpty());
    m_cancel->setEnabled(m_running && !m_cancelling);
    m_run->setToolTip(model ? tr("Run the evaluation on %1").arg(m_engine->info().modelId)
                            : tr("Waiting for the model to load"));
}

bool EvaluationPanel::run() {
    if (m_running || file().isEmpty() || m_engine->info().modelId.isEmpty()) return false;
    saveSettings();
    m_running = true;
    m_cancelling = false;
    m_progress->setRange(0, 0); // busy until the first progress report
    m_status->setText(tr("Reading %1...").arg(QFileInfo(file()).fileName()));
    m_status->setToolTip(QString());
    // The previous run's chart and tables belong to another run: they go at once.
    m_last.reset();
    m_metrics->setMetrics({});
    m_cases->setCases({}, false);
    m_chart->clearPlottables();
    m_chart->legend->setVisible(false);
    if (auto* title = qobject_cast<QCPTextElement*>(m_chart->plotLayout()->element(0, 0)))
        title->setText(tr("Evaluating %1...").arg(QFileInfo(file()).fileName()));
    m_chart->replot(QCustomPlot::rpQueuedReplot);
    updateControls();
    m_engine->evaluate(request());
    return true;
}

void EvaluationPanel::cancel() {
    if (!m_running) return;
    m_cancelling = true;
    m_engine->cancelEvaluation();
    m_status->setText(tr("Cancelling; the results will cover the cases done..."));
    updateControls();
}

void EvaluationPanel::progress(int done, int total) {
    if (!m_running) return;
    m_progress->setRange(0, std::max(1, total));
    m_progress->setValue(done);
    if (!m_cancelling)
        m_status->setText(tr("Evaluating %1 on %2: %3 of %4")
                              .arg(QFileInfo(file()).fileName(), m_engine->info().modelId)
                              .arg(done)
                              .arg(total));
}

void EvaluationPanel::showOutcome(const EvalOutcomePtr& outcome) {
    m_running = false;
    m_cancelling = false;
    if (m_progress->maximum() == 0) m_progress->setRange(0, 1);
    updateControls();
    if (!outcome) return;
    const QString name = QFileInfo(outcome->request.file).fileName();
    if (!outcome->error.isEmpty()) {
        // The engine's failed() signal has shown the dialog with the message.
        m_progress->setValue(0);
        m_status->setText(tr("Evaluating %1 failed; see the message.").arg(name));
        emit finished(outcome);
        return;
    }
    m_last = outcome;
    m_metrics->setMetrics(outcome->metrics);
    m_cases->setCases(outcome->cases, outcome->metric == QLatin1String("zsre"));
    drawChart(*outcome);
    QString what = tr("%1 (%2, %3 mode) on %4").arg(name, outcome->format, outcome->mode, outcome->modelId);
    if (outcome->skippedRecords > 0)
        what += tr(". Skipped %1 (first: %2).")
                    .arg(countOf(outcome->skippedRecords, "invalid record", "invalid records"),
                         outcome->skippedFirst.value(0));
    m_status->setToolTip(outcome->skippedFirst.isEmpty()
                             ? QString()
                             : tr("Invalid records left out:\n%1%2")
                                   .arg(outcome->skippedFirst.join(QLatin1Char('\n')),
                                        outcome->skippedRecords > outcome->skippedFirst.size()
                                            ? tr("\n... and %1 more").arg(outcome->skippedRecords -
                                                                          outcome->skippedFirst.size())
                                            : QString()));
    if (outcome->cancelled) {
        m_status->setText(tr("Cancelled: %1 of %2 cases evaluated before Cancel; the results cover those only. %3")
                              .arg(outcome->cases.size())
                              .arg(outcome->casesSelected)
                              .arg(what));
    } else {
        m_progress->setValue(m_progress->maximum());
        m_status->setText(tr("Done: %1 of %2 cases evaluated in %3 s. %4")
                              .arg(outcome->cases.size())
                              .arg(outcome->casesSelected)
                              .arg(outcome->seconds, 0, 'f', 1)
                              .arg(what));
    }
    emit finished(outcome);
}

void EvaluationPanel::drawChart(const EvalOutcome& o) {
    m_chart->clearPlottables();
    // Four series names do not fit one row of a narrow chart: two per row there.
    m_chart->legend->setWrap(m_chart->width() < 800 ? 2 : 0);
    m_chart->legend->setFillOrder(QCPLegend::foColumnsFirst, true);
    auto* title = qobject_cast<QCPTextElement*>(m_chart->plotLayout()->element(0, 0));
    m_chart->xAxis->setScaleType(QCPAxis::stLinear);
    m_chart->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    m_chart->yAxis->setLabel(tr("%"));
    m_chart->yAxis->setRange(0, 105);
    if (o.curve.x.isEmpty()) {
        // No curve in this mode: the headline metrics as bars.
        QVector<double> keys, values;
        auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
        for (const EvalMetric& m : o.metrics) {
            if (!m.percent || std::isnan(m.value)) continue;
            keys.append(keys.size());
            values.append(100.0 * m.value);
            QString label = m.name;
            label.replace(QLatin1Char(' '), QLatin1Char('\n'));
            ticker->addTick(keys.back(), label);
        }
        auto* bars = new QCPBars(m_chart->xAxis, m_chart->yAxis);
        bars->setName(o.modelId);
        bars->setPen(Qt::NoPen);
        bars->setBrush(kSeriesColours[0]);
        bars->setWidth(0.6);
        bars->setData(keys, values, true);
        m_chart->xAxis->setTicker(ticker);
        m_chart->xAxis->setLabel(QString());
        m_chart->xAxis->setRange(-0.6, std::max(0.6, keys.size() - 0.4));
        m_chart->legend->setVisible(true);
        m_chart->xAxis->grid()->setVisible(false);
        if (title)
            title->setText(
                tr("%1, %2 mode: %3")
                    .arg(o.metric == QLatin1String("zsre") ? tr("zsRE") : tr("CounterFact"), o.mode, o.modelId));
    } else {
        const EvalCurve& c = o.curve;
        if (c.logX) {
            m_chart->xAxis->setScaleType(QCPAxis::stLogarithmic);
            auto ticker = QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog);
            ticker->setLogBase(2);
            m_chart->xAxis->setTicker(ticker);
            m_chart->xAxis->setNumberFormat(QStringLiteral("g"));
        }
        m_chart->xAxis->setLabel(c.xLabel);
        m_chart->yAxis->setLabel(c.yLabel);
        for (int k = 0; k < c.names.size() && k < c.y.size(); ++k) {
            auto* g = m_chart->addGraph();
            g->setName(c.names[k]);
            g->setPen(QPen(kSeriesColours[k % 4], 2));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
            QVector<double> xs, ys;
            for (int i = 0; i < c.x.size() && i < c.y[k].size(); ++i)
                if (!std::isnan(c.y[k][i])) {
                    xs.append(c.x[i]);
                    ys.append(100.0 * c.y[k][i]);
                }
            g->setData(xs, ys, true);
        }
        double lo = c.x.front(), hi = c.x.back();
        if (c.logX) {
            lo = std::max(0.5, lo / 1.5);
            hi = std::max(hi * 1.5, lo * 2);
        } else {
            const double pad = std::max(0.5, 0.04 * (hi - lo));
            lo -= pad;
            hi += pad;
        }
        m_chart->xAxis->setRange(lo, hi);
        m_chart->xAxis->grid()->setVisible(true);
        m_chart->legend->setVisible(true);
        if (title) title->setText(c.title + QStringLiteral(": ") + o.modelId);
    }
    m_chart->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace larimar::ui
