#pragma once
/// The Facts tab: every fact of the workspace (written and forgotten) in a sortable, filterable
/// table; a line to write a new fact; forget the selected facts (one reason for all); import.
#include "ui/engine_types.h"

#include <QSortFilterProxyModel>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace larimar::ui {

class Engine;
class FactTableModel;

/// Filters facts by state (all / written / forgotten) and by a text matched in every column.
class FactFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    enum StateFilter { All, Written, Forgotten };
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setStateFilter(StateFilter f);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    StateFilter m_state = All;
};

class FactsPanel : public QWidget {
    Q_OBJECT
public:
    explicit FactsPanel(Engine* engine, QWidget* parent = nullptr);

    FactTableModel* model() const { return m_model; }
    FactFilterProxy* proxy() const { return m_proxy; }
    QTableView* view() const { return m_view; }
    QLineEdit* filterEdit() const { return m_filter; }
    QLineEdit* newFactEdit() const { return m_newFact; }
    QPushButton* writeButton() const { return m_write; }
    QPushButton* forgetButton() const { return m_forget; }

    /// Ids of the selected written facts, in table order.
    QVector<qint64> selectedFactIds() const;
    /// Selects the row of a fact (if shown).
    void selectFact(qint64 id);

public slots:
    void setState(const larimar::ui::EngineStatePtr& state);
    /// Writes the text in the new-fact line.
    void writeNewFact();
    /// Asks once for a reason (non-blocking dialog), then forgets the selected facts.
    void forgetSelected();
    /// The written facts a new fact repeats or contradicts (non-blocking dialog "conflictDialog"):
    /// Replace (forget them, write it: one edit), Write Both, or Cancel.
    void askAboutConflicts(const QString& text, const larimar::ui::ConflictRows& conflicts);

signals:
    /// The current fact changed (0: none); the memory panel shows its write key.
    void currentFactChanged(qint64 id);
    void importRequested();

private:
    void updateButtons();

    Engine* m_engine;
    FactTableModel* m_model;
    FactFilterProxy* m_proxy;
    QTableView* m_view;
    QLineEdit* m_filter;
    QComboBox* m_stateBox;
    QLineEdit* m_newFact;
    QPushButton* m_write;
    QPushButton* m_forget;
    QPushButton* m_import;
    QLabel* m_count;
    QString m_submitted;
};

} // namespace larimar::ui
