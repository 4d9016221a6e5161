#pragma once
/// The History tab: the audited edit log (time, operation, facts, actor, reason, memory digest),
/// filterable; "Roll back to here"; export; the audit chain's status (verified / broken at row N).
#include "ui/engine_types.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;
class QTextBrowser;

namespace larimar::ui {

class Engine;
class HistoryTableModel;

class HistoryPanel : public QWidget {
    Q_OBJECT
public:
    explicit HistoryPanel(Engine* engine, QWidget* parent = nullptr);

    HistoryTableModel* model() const { return m_model; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QTableView* view() const { return m_view; }
    QLineEdit* filterEdit() const { return m_filter; }
    QLabel* auditLabel() const { return m_audit; }
    /// What the selected edit did, fact by fact.
    QTextBrowser* details() const { return m_details; }
    QPushButton* rollbackButton() const { return m_rollback; }
    /// The selected edit (0: none).
    qint64 selectedEditId() const;
    void selectEdit(qint64 editId);

public slots:
    void setState(const larimar::ui::EngineStatePtr& state);
    /// Asks for confirmation and a reason (non-blocking), then rolls back to the selected edit.
    void rollbackToSelected();
    /// Asks for a file (non-blocking), then exports the history as CSV or JSON.
    void exportHistory();

private:
    void updateButtons();
    void showDetails();

    Engine* m_engine;
    HistoryTableModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QTableView* m_view;
    QLineEdit* m_filter;
    QLabel* m_audit;
    QPushButton* m_rollback;
    QPushButton* m_export;
    QTextBrowser* m_details;
    EngineStatePtr m_state;
};

} // namespace larimar::ui
