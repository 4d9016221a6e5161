#include "ui/history_panel.h"

#include "ui/engine.h"
#include "ui/table_models.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardPaths>
#include <QTableView>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <algorithm>

namespace larimar::ui {

HistoryPanel::HistoryPanel(Engine* engine, QWidget* parent) : QWidget(parent), m_engine(engine) {
    m_model = new HistoryTableModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setFilterKeyColumn(-1);

    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("historyFilter"));
    m_filter->setPlaceholderText(tr("Filter the history by operation, fact id, actor, reason or time"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
    m_audit = new QLabel(this);
    m_audit->setObjectName(QStringLiteral("auditStatus"));
    m_audit->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* top = new QHBoxLayout;
    top->addWidget(m_filter, 1);
    top->addWidget(m_audit);

    m_view = new QTableView(this);
    m_view->setObjectName(QStringLiteral("historyView"));
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(HistoryTableModel::Id, Qt::DescendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 8);
    auto* header = m_view->horizontalHeader();
    for (int c : {HistoryTableModel::Id, HistoryTableModel::Time, HistoryTableModel::Op, HistoryTableModel::Actor,
                  HistoryTableModel::Digest, HistoryTableModel::Signer})
        header->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(HistoryTableModel::Facts, QHeaderView::Interactive);
    header->resizeSection(HistoryTableModel::Facts, 140);
    header->setSectionResizeMode(HistoryTableModel::Reason, QHeaderView::Stretch);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &HistoryPanel::updateButtons);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &HistoryPanel::showDetails);
    m_details = new QTextBrowser(this);
    m_details->setObjectName(QStringLiteral("editDetails"));
    m_details->setPlaceholderText(tr("Select an edit to see what it did."));

    m_rollback = new QPushButton(tr("&Roll Back to Here..."), this);
    m_rollback->setObjectName(QStringLiteral("rollback"));
    m_rollback->setToolTip(tr("Make the facts and the memory exactly as they were right after the selected edit. "
                              "The rollback is itself an audited edit, so it can be undone."));
    connect(m_rollback, &QPushButton::clicked, this, &HistoryPanel::rollbackToSelected);
    m_export = new QPushButton(tr("E&xport History..."), this);
    m_export->setToolTip(tr("Save the audited history as CSV or JSON (Ctrl+E)"));
    connect(m_export, &QPushButton::clicked, this, &HistoryPanel::exportHistory);
    auto* bottom = new QHBoxLayout;
    bottom->addStretch(1);
    bottom->addWidget(m_rollback);
    bottom->addWidget(m_export);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_view);
    split->addWidget(m_details);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);
    layout->addWidget(split, 1);
    layout->addLayout(bottom);
    connect(m_proxy, &QAbstractItemModel::modelReset, this, &HistoryPanel::updateButtons);
    updateButtons();
}

void HistoryPanel::setState(const EngineStatePtr& state) {
    m_state = state;
    const qint64 selected = selectedEditId();
    m_model->setEdits(state->edits);
    m_model->setBrokenEdit(state->auditOk ? 0 : state->auditBrokenEdit);
    if (selected != 0) selectEdit(selected);
    if (state->auditOk) {
        m_audit->setText(tr("<span style='color:#1e7b34'>&#10004; Audit verified</span>: %1")
                             .arg(countOf(state->edits.size(), "edit", "edits")));
        m_audit->setToolTip(state->auditMessage);
    } else {
        const int row = m_model->rowOf(state->auditBrokenEdit);
        m_audit->setText(tr("<span style='color:#b00020'><b>&#10008; Audit broken at row %1</b></span> (edit %2)")
                             .arg(row + 1)
                             .arg(state->auditBrokenEdit));
        m_audit->setToolTip(tr("%1\n\nThe history was changed outside Larimar. Keep a copy of this workspace "
                               "for investigation and restore it from a backup.")
                                .arg(state->auditMessage));
    }
    updateButtons();
    showDetails();
}

void HistoryPanel::showDetails() {
    const qint64 id = selectedEditId();
    const int row = m_model->rowOf(id);
    if (id == 0 || row < 0 || !m_state) {
        m_details->clear();
        return;
    }
    const EditRow& e = m_model->edits()[row];
    QHash<qint64, const FactRow*> facts;
    for (const auto& f : m_state->facts)
        facts.insert(f.id, &f);
    QString html = tr("<b>Edit %1</b> &middot; %2 &middot; %3 UTC &middot; by %4 &middot; model %5")
                       .arg(e.id)
                       .arg(e.op.toHtmlEscaped(), e.time.left(19).replace(QLatin1Char('T'), QLatin1Char(' ')),
                            e.actor.toHtmlEscaped(), e.modelId.toHtmlEscaped());
    if (!e.reason.isEmpty()) html += tr("<br>Reason: %1").arg(e.reason.toHtmlEscaped());
    html += tr("<br>Memory: <tt>%1</tt> &rarr; <tt>%2</tt><br>Audit hash: <tt>%3</tt>")
                .arg(e.digestBefore.left(16), e.digestAfter.left(16), e.hash.left(16));
    html += tr("<br>%1:").arg(factCount(e.factIds.size()));
    const int shown = std::min<int>(static_cast<int>(e.factIds.size()), 200);
    html += QStringLiteral("<ul style='margin-top:0'>");
    for (int i = 0; i < shown; ++i) {
        const FactRow* f = facts.value(e.factIds[i]);
        html += QStringLiteral("<li>%1: %2 <i>(now %3)</i></li>")
                    .arg(e.factIds[i])
                    .arg(f ? f->text.toHtmlEscaped() : QString())
                    .arg(f && f->written ? tr("written") : tr("forgotten"));
    }
    html += QStringLiteral("</ul>");
    if (shown < e.factIds.size()) html += tr("... and %1 more").arg(e.factIds.size() - shown);
    m_details->setHtml(html);
}

qint64 HistoryPanel::selectedEditId() const {
    const auto rows = m_view->selectionModel()->selectedRows();
    return rows.isEmpty() ? 0 : rows.front().data(IdRole).toLongLong();
}

void HistoryPanel::selectEdit(qint64 editId) {
    const int row = m_model->rowOf(editId);
    if (row < 0) return;
    const QModelIndex i = m_proxy->mapFromSource(m_model->index(row, 0));
    if (!i.isValid()) return;
    m_view->selectionModel()->setCurrentIndex(i, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_view->scrollTo(i);
}

void HistoryPanel::updateButtons() {
    const qint64 id = selectedEditId();
    const bool last = !m_model->edits().isEmpty() && id == m_model->edits().back().id;
    m_rollback->setEnabled(m_engine->hasWorkspace() && id != 0 && !last);
    m_rollback->setToolTip(last
                               ? tr("This is the latest edit; select an earlier one to roll back to.")
                               : tr("Make the facts and the memory exactly as they were right after the selected edit. "
                                    "The rollback is itself an audited edit, so it can be undone."));
    m_export->setEnabled(m_engine->hasWorkspace());
}

void HistoryPanel::rollbackToSelected() {
    const qint64 id = selectedEditId();
    if (id == 0) return;
    auto* dialog = new QInputDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setObjectName(QStringLiteral("rollbackDialog"));
    dialog->setWindowTitle(tr("Roll Back"));
    dialog->setLabelText(tr("Roll back to right after edit %1? Later writes become forgotten and later forgets "
                            "are undone.\nReason (kept in the audited history):")
                             .arg(id));
    dialog->setOkButtonText(tr("Roll Back"));
    connect(dialog, &QInputDialog::textValueSelected, this,
            [this, id](const QString& reason) { m_engine->rollback(id, reason.trimmed()); });
    dialog->open();
}

void HistoryPanel::exportHistory() {
    auto* dialog =
        new QFileDialog(this, tr("Export History"), QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation),
                        tr("CSV (*.csv);;JSON (*.json)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    dialog->setDefaultSuffix(QStringLiteral("csv"));
    dialog->selectFile(QStringLiteral("larimar-history.csv"));
    connect(dialog, &QFileDialog::filterSelected, dialog, [dialog](const QString& filter) {
        dialog->setDefaultSuffix(filter.contains(QLatin1String("json")) ? QStringLiteral("json")
                                                                        : QStringLiteral("csv"));
    });
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString& path) { m_engine->exportHistory(path); });
    dialog->open();
}

} // namespace larimar::ui
