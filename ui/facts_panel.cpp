#include "ui/facts_panel.h"

#include "ui/engine.h"
#include "ui/table_models.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace larimar::ui {

void FactFilterProxy::setStateFilter(StateFilter f) {
    if (f == m_state) return;
    m_state = f;
    invalidateRowsFilter();
}

bool FactFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const {
    if (m_state != All) {
        const bool written = sourceModel()->index(sourceRow, 0, sourceParent).data(WrittenRole).toBool();
        if (written != (m_state == Written)) return false;
    }
    return QSortFilterProxyModel::filterAcceptsRow(sourceRow, sourceParent);
}

FactsPanel::FactsPanel(Engine* engine, QWidget* parent) : QWidget(parent), m_engine(engine) {
    m_model = new FactTableModel(this);
    m_proxy = new FactFilterProxy(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setFilterKeyColumn(-1);
    m_proxy->setSortRole(Qt::DisplayRole);

    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("factFilter"));
    m_filter->setPlaceholderText(tr("Filter facts by text, source or id (Ctrl+F)"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
    m_stateBox = new QComboBox(this);
    m_stateBox->addItems({tr("All facts"), tr("Written"), tr("Forgotten")});
    connect(m_stateBox, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_proxy->setStateFilter(static_cast<FactFilterProxy::StateFilter>(i)); });
    m_count = new QLabel(this);

    auto* top = new QHBoxLayout;
    top->addWidget(m_filter, 1);
    top->addWidget(m_stateBox);
    top->addWidget(m_count);

    m_view = new QTableView(this);
    m_view->setObjectName(QStringLiteral("factsView"));
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(FactTableModel::Id, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 8);
    auto* header = m_view->horizontalHeader();
    header->setSectionResizeMode(FactTableModel::Id, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(FactTableModel::State, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(FactTableModel::Text, QHeaderView::Stretch);
    header->setSectionResizeMode(FactTableModel::Source, QHeaderView::Interactive);
    header->setSectionResizeMode(FactTableModel::Written, QHeaderView::ResizeToContents);
    header->resizeSection(FactTableModel::Source, 160);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &FactsPanel::updateButtons);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                emit currentFactChanged(current.isValid() ? current.data(IdRole).toLongLong() : 0);
            });

    m_newFact = new QLineEdit(this);
    m_newFact->setObjectName(QStringLiteral("newFact"));
    m_newFact->setPlaceholderText(tr("A new fact, e.g. \"The Eiffel Tower is located in Rome.\""));
    m_newFact->setClearButtonEnabled(true);
    connect(m_newFact, &QLineEdit::returnPressed, this, &FactsPanel::writeNewFact);
    connect(m_newFact, &QLineEdit::textChanged, this, &FactsPanel::updateButtons);
    m_write = new QPushButton(tr("&Write Fact"), this);
    m_write->setObjectName(QStringLiteral("writeFact"));
    m_write->setToolTip(tr("Write the fact into the memory (Enter)"));
    connect(m_write, &QPushButton::clicked, this, &FactsPanel::writeNewFact);
    m_forget = new QPushButton(tr("For&get Selected..."), this);
    m_forget->setObjectName(QStringLiteral("forgetFacts"));
    m_forget->setToolTip(tr("Forget the selected written facts (Delete)"));
    connect(m_forget, &QPushButton::clicked, this, &FactsPanel::forgetSelected);
    m_import = new QPushButton(tr("&Import File..."), this);
    m_import->setToolTip(tr("Write every fact of a text, CSV, JSONL, CounterFact or zsRE file (Ctrl+I); "
                            "you can also drop a file on the window"));
    connect(m_import, &QPushButton::clicked, this, &FactsPanel::importRequested);

    auto* bottom = new QHBoxLayout;
    bottom->addWidget(new QLabel(tr("New fact:"), this));
    bottom->addWidget(m_newFact, 1);
    bottom->addWidget(m_write);
    bottom->addSpacing(12);
    bottom->addWidget(m_forget);
    bottom->addWidget(m_import);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_view, 1);
    layout->addLayout(bottom);

    connect(m_engine, &Engine::writeConflicts, this, &FactsPanel::askAboutConflicts);
    connect(m_engine, &Engine::edited, this, [this] {
        if (!m_submitted.isEmpty() && m_newFact->text() == m_submitted) m_newFact->clear();
        m_submitted.clear();
    });
    connect(m_proxy, &QAbstractItemModel::modelReset, this, &FactsPanel::updateButtons);
    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, &FactsPanel::updateButtons);
    connect(m_proxy, &QAbstractItemModel::rowsRemoved, this, &FactsPanel::updateButtons);
    updateButtons();
}

void FactsPanel::setState(const EngineStatePtr& state) {
    const qint64 current = m_view->currentIndex().isValid() ? m_view->currentIndex().data(IdRole).toLongLong() : 0;
    m_model->setFacts(state->facts);
    if (current != 0) selectFact(current);
    updateButtons();
}

void FactsPanel::updateButtons() {
    const bool open = m_engine->hasWorkspace();
    m_write->setEnabled(open && !m_newFact->text().trimmed().isEmpty());
    m_forget->setEnabled(open && !selectedFactIds().isEmpty());
    m_import->setEnabled(open);
    m_newFact->setEnabled(open);
    const int written = static_cast<int>(
        std::count_if(m_model->facts().begin(), m_model->facts().end(), [](const FactRow& f) { return f.written; }));
    m_count->setText(tr("%1 shown, %2 written, %3 forgotten")
                         .arg(m_proxy->rowCount())
                         .arg(written)
                         .arg(m_model->rowCount() - written));
}

QVector<qint64> FactsPanel::selectedFactIds() const {
    QVector<qint64> ids;
    const auto rows = m_view->selectionModel()->selectedRows();
    for (const QModelIndex& i : rows)
        if (i.data(WrittenRole).toBool()) ids.append(i.data(IdRole).toLongLong());
    std::sort(ids.begin(), ids.end());
    return ids;
}

void FactsPanel::selectFact(qint64 id) {
    const int row = m_model->rowOf(id);
    if (row < 0) return;
    const QModelIndex i = m_proxy->mapFromSource(m_model->index(row, 0));
    if (!i.isValid()) return;
    m_view->selectionModel()->setCurrentIndex(i, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_view->scrollTo(i);
}

void FactsPanel::writeNewFact() {
    const QString text = m_newFact->text().trimmed();
    if (text.isEmpty() || !m_engine->hasWorkspace()) return;
    m_submitted = m_newFact->text();
    m_engine->write(text);
}

void FactsPanel::askAboutConflicts(const QString& text, const ConflictRows& conflicts) {
    auto* box = new QMessageBox(QMessageBox::Question, tr("Conflict"),
                                conflicts.size() == 1 ? tr("<b>A written fact says something else.</b>")
                                                      : tr("<b>%1 written facts say something else.</b>")
                                                            .arg(conflicts.size()),
                                QMessageBox::NoButton, this);
    box->setObjectName(QStringLiteral("conflictDialog"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    QString list;
    QVector<qint64> ids;
    for (const ConflictRow& c : conflicts) {
        list += QStringLiteral("<li>%1</li>").arg(c.description.toHtmlEscaped());
        ids.append(c.factId);
    }
    box->setInformativeText(
        tr("<p>New: %1</p><ul>%2</ul><p>Written beside it, the memory may keep the old answer. <b>Replace</b> "
           "forgets %3 and writes the new fact as one audited edit.</p>")
            .arg(text.toHtmlEscaped(), list, ids.size() == 1 ? tr("the old fact") : tr("the old facts")));
    QPushButton* replace = box->addButton(tr("&Replace"), QMessageBox::AcceptRole);
    replace->setObjectName(QStringLiteral("replaceButton"));
    QPushButton* both = box->addButton(tr("Write &Both"), QMessageBox::ActionRole);
    both->setObjectName(QStringLiteral("writeBothButton"));
    box->addButton(QMessageBox::Cancel);
    box->setDefaultButton(replace);
    connect(box, &QMessageBox::buttonClicked, this, [this, replace, both, ids, text](QAbstractButton* b) {
        QStringList old;
        for (qint64 id : ids)
            old << QString::number(id);
        if (b == replace)
            m_engine->replace(ids, text, tr("correction: replaces fact %1").arg(old.join(QStringLiteral(", "))));
        else if (b == both)
            m_engine->write(text, QString(), true);
        else
            m_submitted.clear(); // cancelled: the text stays in the line for another try
    });
    box->open();
}

void FactsPanel::forgetSelected() {
    const QVector<qint64> ids = selectedFactIds();
    if (ids.isEmpty()) return;
    auto* dialog = new QInputDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setObjectName(QStringLiteral("forgetReasonDialog"));
    dialog->setWindowTitle(tr("Forget Facts"));
    dialog->setLabelText(tr("Forget %1. Reason (kept in the audited history):").arg(factCount(ids.size())));
    dialog->setOkButtonText(tr("Forget"));
    // A forget needs a reason, as the engine insists: Forget is pressable once there is one.
    if (auto* buttons = dialog->findChild<QDialogButtonBox*>()) {
        QPushButton* ok = buttons->button(QDialogButtonBox::Ok);
        ok->setEnabled(false);
        connect(dialog, &QInputDialog::textValueChanged, ok,
                [ok](const QString& text) { ok->setEnabled(!text.trimmed().isEmpty()); });
    }
    connect(dialog, &QInputDialog::textValueSelected, this,
            [this, ids](const QString& reason) { m_engine->forget(ids, reason.trimmed()); });
    dialog->open();
}

} // namespace larimar::ui
