#include "ui/import_dialog.h"

#include "ui/table_models.h"

#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace larimar::ui {

ImportDialog::ImportDialog(const QString& path, const ImportRecords& records, QWidget* parent)
    : QDialog(parent), m_records(records) {
    setObjectName(QStringLiteral("importDialog"));
    setWindowTitle(tr("Import Facts"));
    const QString name = QFileInfo(path).fileName();
    const int n = records ? records->size() : 0;

    auto* intro = new QLabel(tr("<b>%1</b> holds %2. They are written as one batch edit: all of them or, "
                                "if you cancel or something fails, none.")
                                 .arg(name.toHtmlEscaped(), factCount(n)),
                             this);
    intro->setWordWrap(true);

    m_model = new ImportTableModel(this);
    m_model->setRecords(records);
    m_view = new QTableView(this);
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 8);
    auto* header = m_view->horizontalHeader();
    header->setSectionResizeMode(ImportTableModel::Text, QHeaderView::Stretch);
    for (int c :
         {ImportTableModel::Subject, ImportTableModel::Prompt, ImportTableModel::Target, ImportTableModel::Source}) {
        header->setSectionResizeMode(c, QHeaderView::Interactive);
        header->resizeSection(c, 120);
    }

    m_reason = new QLineEdit(this);
    m_reason->setObjectName(QStringLiteral("importReason"));
    m_reason->setText(tr("import %1").arg(name));
    auto* form = new QFormLayout;
    form->addRow(tr("Reason (kept in the history):"), m_reason);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(n == 1 ? tr("Write 1 Fact") : tr("Write %1 Facts").arg(n));
    buttons->button(QDialogButtonBox::Ok)->setEnabled(n > 0);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(m_view, 1);
    layout->addLayout(form);
    layout->addWidget(buttons);
    resize(860, 480);
}

QString ImportDialog::reason() const {
    return m_reason->text().trimmed();
}

} // namespace larimar::ui
