#include "ui/table_models.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include <algorithm>

namespace larimar::ui {

namespace {
/// "2024-05-01T12:00:00.123Z" -> "2024-05-01 12:00:00" (UTC), for reading at a glance.
QString shortTime(const QString& iso) {
    QString t = iso.left(19);
    t.replace(QLatin1Char('T'), QLatin1Char(' '));
    return t;
}

/// Sorted ids as runs, "4, 7-9, 12", at most maxRuns of them, then ", ...".
QString idRuns(QVector<qint64> ids, int maxRuns) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    QStringList runs;
    for (int i = 0; i < ids.size();) {
        int j = i;
        while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1)
            ++j;
        if (runs.size() == maxRuns) {
            runs << QStringLiteral("...");
            break;
        }
        runs << (j == i ? QString::number(ids[i]) : QStringLiteral("%1-%2").arg(ids[i]).arg(ids[j]));
        i = j + 1;
    }
    return runs.join(QStringLiteral(", "));
}

/// A few ids as they are; more with their count first, so a narrow column that elides the
/// end still says how many (a 3,000-fact batch reads "3000 facts: 1-3000").
QString idList(const QVector<qint64>& ids) {
    if (ids.size() <= 3) {
        QStringList parts;
        for (qint64 id : ids)
            parts << QString::number(id);
        return parts.join(QStringLiteral(", "));
    }
    return QObject::tr("%1: %2").arg(factCount(ids.size()), idRuns(ids, 4));
}
} // namespace

// --- facts ---------------------------------------------------------------------------------

void FactTableModel::setFacts(const QVector<FactRow>& facts) {
    beginResetModel();
    m_facts = facts;
    endResetModel();
}

int FactTableModel::rowOf(qint64 id) const {
    for (int i = 0; i < m_facts.size(); ++i)
        if (m_facts[i].id == id) return i;
    return -1;
}

int FactTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_facts.size();
}
int FactTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant FactTableModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const FactRow& f = m_facts[index.row()];
    if (role == IdRole) return f.id;
    if (role == WrittenRole) return f.written;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Id:
            return f.id;
        case State:
            return f.written ? tr("written") : tr("forgotten");
        case Text:
            return f.text;
        case Source:
            return f.source;
        case Written:
            return shortTime(f.createdAt);
        }
    }
    if (role == Qt::ToolTipRole) {
        QString tip = f.text.toHtmlEscaped();
        if (!f.subject.isEmpty()) tip += tr("<br>subject: %1").arg(f.subject.toHtmlEscaped());
        if (!f.relation.isEmpty()) tip += tr("<br>prompt: %1").arg(f.relation.toHtmlEscaped());
        if (!f.target.isEmpty()) tip += tr("<br>target: %1").arg(f.target.toHtmlEscaped());
        tip += tr("<br>written by edit %1 at %2 UTC").arg(f.createdEdit).arg(shortTime(f.createdAt));
        return tip;
    }
    if (role == Qt::ForegroundRole && !f.written) return QBrush(QColor(0x80, 0x80, 0x80));
    if (role == Qt::FontRole && !f.written && index.column() == Text) {
        QFont font;
        font.setStrikeOut(true);
        return font;
    }
    if (role == Qt::TextAlignmentRole && index.column() == Id)
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant FactTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Id:
        return tr("ID");
    case State:
        return tr("State");
    case Text:
        return tr("Fact");
    case Source:
        return tr("Source");
    case Written:
        return tr("Written (UTC)");
    }
    return {};
}

// --- history -------------------------------------------------------------------------------

void HistoryTableModel::setEdits(const QVector<EditRow>& edits) {
    beginResetModel();
    m_edits = edits;
    endResetModel();
}

void HistoryTableModel::setBrokenEdit(qint64 editId) {
    if (editId == m_broken) return;
    m_broken = editId;
    if (!m_edits.isEmpty()) emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

int HistoryTableModel::rowOf(qint64 id) const {
    for (int i = 0; i < m_edits.size(); ++i)
        if (m_edits[i].id == id) return i;
    return -1;
}

int HistoryTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_edits.size();
}
int HistoryTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant HistoryTableModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const EditRow& e = m_edits[index.row()];
    if (role == IdRole) return e.id;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Id:
            return e.id;
        case Time:
            return shortTime(e.time);
        case Op:
            return e.op;
        case Facts:
            return idList(e.factIds);
        case Actor:
            return e.actor;
        case Reason:
            return e.reason;
        case Digest:
            return e.digestAfter.left(12);
        case Signer:
            // A badge for what an auditor cannot attribute: no signature, or a key the
            // workspace does not trust.
            if (e.signer.isEmpty()) return tr("\u26A0 unsigned");
            if (e.signerName.isEmpty()) return tr("\u26A0 untrusted %1").arg(e.signer.left(12));
            return e.signerName;
        }
    }
    if (role == Qt::ToolTipRole) {
        if (index.column() == Digest)
            return tr("memory before: %1\nmemory after: %2").arg(e.digestBefore, e.digestAfter);
        if (index.column() == Facts) return tr("%1: %2").arg(factCount(e.factIds.size()), idRuns(e.factIds, 200));
        if (index.column() == Signer) {
            if (e.signer.isEmpty()) return tr("Not signed: made before edits were signed, or by an actor without a key");
            if (e.signerName.isEmpty()) return tr("Signed by key %1, which this workspace does not trust").arg(e.signer);
            return tr("Signed by %1 (key %2), trusted by this workspace").arg(e.signerName, e.signer);
        }
        return {};
    }
    if (role == Qt::BackgroundRole && m_broken != 0 && e.id == m_broken) return QBrush(QColor(0xff, 0xd0, 0xd0));
    if (role == Qt::ForegroundRole && index.column() == Signer && e.signerName.isEmpty())
        return QBrush(QColor(0xb0, 0x50, 0x00));
    if (role == Qt::TextAlignmentRole && index.column() == Id)
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::FontRole && index.column() == Digest) {
        QFont font(QStringLiteral("monospace"));
        font.setStyleHint(QFont::Monospace);
        return font;
    }
    return {};
}

QVariant HistoryTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Id:
        return tr("Edit");
    case Time:
        return tr("Time (UTC)");
    case Op:
        return tr("Operation");
    case Facts:
        return tr("Facts");
    case Actor:
        return tr("Actor");
    case Reason:
        return tr("Reason");
    case Digest:
        return tr("Memory digest");
    case Signer:
        return tr("Signed by");
    }
    return {};
}

// --- tokens --------------------------------------------------------------------------------

namespace {
/// A token as a reader sees it: visible spaces and line breaks.
QString visibleToken(const QString& t) {
    QString s = t;
    s.replace(QLatin1Char(' '), QChar(0x00B7)).replace(QLatin1Char('\n'), QStringLiteral("\\n"));
    return s;
}
} // namespace

void TokenTableModel::setTokens(const QVector<TokenInfo>& tokens) {
    beginResetModel();
    m_tokens = tokens;
    endResetModel();
}

int TokenTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_tokens.size();
}
int TokenTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TokenTableModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const TokenInfo& t = m_tokens[index.row()];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Index:
            return index.row() + 1;
        case Token:
            return visibleToken(t.text);
        case Probability:
            return percentText(t.probability);
        case Alternatives: {
            QStringList alts;
            for (const auto& [alt, p] : t.alternatives)
                if (alt != t.text) alts << QStringLiteral("%1 %2").arg(visibleToken(alt), percentText(p));
            return alts.join(QStringLiteral(", "));
        }
        }
    }
    if (role == Qt::BackgroundRole && index.column() == Probability) {
        // Pale amber for tokens the model was unsure of (red is the diff's: words only the plain
        // model says).
        const double unsure = 1.0 - std::clamp(t.probability, 0.0, 1.0);
        return QBrush(QColor(255, static_cast<int>(255 - 40 * unsure), static_cast<int>(255 - 110 * unsure)));
    }
    if (role == Qt::TextAlignmentRole && (index.column() == Index || index.column() == Probability))
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant TokenTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole) {
        if (section == Token || section == Alternatives)
            return tr("The token as the model wrote it; \u00B7 stands for a space, \\n for a line break");
        if (section == Probability) return tr("The model's probability of this token; amber: it was unsure");
        return {};
    }
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Index:
        return tr("#");
    case Token:
        return tr("Token");
    case Probability:
        return tr("p");
    case Alternatives:
        return tr("Alternatives (p)");
    }
    return {};
}

// --- import preview ------------------------------------------------------------------------

void ImportTableModel::setRecords(const ImportRecords& records) {
    beginResetModel();
    m_records = records;
    endResetModel();
}

int ImportTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() || !m_records ? 0 : m_records->size();
}
int ImportTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ImportTableModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole) return {};
    const ImportRecord& r = (*m_records)[index.row()];
    switch (index.column()) {
    case Text:
        return r.text;
    case Subject:
        return r.subject;
    case Prompt:
        return r.prompt;
    case Target:
        return r.target;
    case Source:
        return r.source;
    }
    return {};
}

QVariant ImportTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Text:
        return tr("Fact to write");
    case Subject:
        return tr("Subject");
    case Prompt:
        return tr("Prompt");
    case Target:
        return tr("Target");
    case Source:
        return tr("Source");
    }
    return {};
}

} // namespace larimar::ui
