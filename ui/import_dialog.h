#pragma once
/// Shows what a file will write before anything is written: every record, how many, and a
/// reason for the history. Accepting starts the batch; the dialog itself writes nothing.
#include "ui/engine_types.h"

#include <QDialog>

class QLineEdit;
class QTableView;

namespace larimar::ui {

class ImportTableModel;

class ImportDialog : public QDialog {
    Q_OBJECT
public:
    ImportDialog(const QString& path, const ImportRecords& records, QWidget* parent = nullptr);

    const ImportRecords& records() const { return m_records; }
    QString reason() const;
    ImportTableModel* model() const { return m_model; }

private:
    ImportRecords m_records;
    ImportTableModel* m_model;
    QTableView* m_view;
    QLineEdit* m_reason;
};

} // namespace larimar::ui
