#pragma once
/// The item models of the workbench's tables: facts, the edit history and the records of a file
/// about to be imported. Each is a flat QAbstractTableModel over a vector of plain rows, replaced
/// wholesale when the engine publishes a new state; sort and filter with a QSortFilterProxyModel.
#include "ui/engine_types.h"

#include <QAbstractTableModel>

namespace larimar::ui {

/// Qt::UserRole on any cell: the row's id (fact id, edit id).
constexpr int IdRole = Qt::UserRole;
/// On any cell of the facts table: true while the fact is written.
constexpr int WrittenRole = Qt::UserRole + 1;

class FactTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Id, State, Text, Source, Written, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;

    void setFacts(const QVector<FactRow>& facts);
    const QVector<FactRow>& facts() const { return m_facts; }
    /// Row of a fact id, -1 if absent.
    int rowOf(qint64 id) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVector<FactRow> m_facts;
};

class HistoryTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Id, Time, Op, Facts, Actor, Reason, Digest, Signer, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;

    void setEdits(const QVector<EditRow>& edits);
    /// The edit the audit found broken (0: none); its row is drawn in red.
    void setBrokenEdit(qint64 editId);
    const QVector<EditRow>& edits() const { return m_edits; }
    int rowOf(qint64 id) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVector<EditRow> m_edits;
    qint64 m_broken = 0;
};

/// The tokens of one generated answer: text, probability and the alternatives the model weighed.
class TokenTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Index, Token, Probability, Alternatives, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;

    void setTokens(const QVector<TokenInfo>& tokens);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVector<TokenInfo> m_tokens;
};

class ImportTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Text, Subject, Prompt, Target, Source, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;

    void setRecords(const ImportRecords& records);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    ImportRecords m_records;
};

} // namespace larimar::ui
