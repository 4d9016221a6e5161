#pragma once
/// Plain values the engine worker hands to the GUI thread through queued signals. They hold Qt
/// types only (no Editor state), so they can be copied across threads freely.
#include <QByteArray>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include <memory>

namespace larimar::ui {

/// "1 fact", "3 facts" (English plurals without a translator loaded).
inline QString countOf(qint64 n, const char* one, const char* many) {
    return QStringLiteral("%1 %2").arg(n).arg(QLatin1String(n == 1 ? one : many));
}
inline QString factCount(qint64 n) {
    return countOf(n, "fact", "facts");
}

/// A probability as the whole GUI shows it: a percentage with one decimal ("84.9%", "1.8%").
inline QString percentText(double p) {
    return QStringLiteral("%1%").arg(100.0 * p, 0, 'f', 1);
}

/// text cut to at most about `limit` characters at a word boundary, with an ellipsis.
inline QString shortText(const QString& text, int limit) {
    if (text.size() <= limit) return text;
    int cut = static_cast<int>(text.lastIndexOf(QLatin1Char(' '), limit - 1));
    if (cut < limit / 2) cut = limit - 1; // one long word: cut inside it
    return text.left(cut).trimmed() + QChar(0x2026);
}

/// One row of the facts table.
struct FactRow {
    qint64 id = 0;
    QString text;
    QString subject;
    QString relation;
    QString target;
    QString source;
    bool written = true;
    qint64 createdEdit = 0;
    QString createdAt; ///< timestamp of the edit that wrote it
};

/// One row of the history table.
struct EditRow {
    qint64 id = 0;
    QString time;
    QString op;
    QVector<qint64> factIds;
    QString actor;
    QString reason;
    QString digestBefore;
    QString digestAfter;
    QString modelId;
    QString hash; ///< this row's audit hash
    QString signer;     ///< the signer's public key (hex); empty: unsigned
    QString signerName; ///< the name the workspace trusts that key as; empty: unsigned or untrusted
};

/// A named run of the latent's dimensions (core LatentBlock).
struct LatentBlockInfo {
    QString name;
    int begin = 0;
    int size = 0;
};

/// What the engine has open: shown in the status bar and the About box.
struct EngineInfo {
    QString modelId;
    QString modelDir;
    QString workspace;
    QString detector;
    double defaultThreshold = 0.5;
    int slotCount = 0; ///< K
    int width = 0;     ///< C
    QString backend;   ///< the workspace's memory, e.g. "paged (256 facts per page)"
    int pages = 1;     ///< memory pages in use
    int page = 0;      ///< the page the Memory tab shows (the last written or read)
    qint64 maxFacts = 0; ///< writes beyond this are refused
    QVector<LatentBlockInfo> blocks; ///< the latent's parts (the Memory tab scales each)
};

/// Everything the panels show about the workspace, rebuilt after every change.
struct EngineState {
    EngineInfo info;
    QVector<FactRow> facts;
    QVector<EditRow> edits;
    qint64 written = 0;
    // The memory.
    int slotCount = 0;
    int width = 0;
    QVector<double> memory;                            ///< K x C, row-major
    QVector<double> singularValues;                    ///< descending
    QVector<QVector<QPair<qint64, double>>> slotFacts; ///< per slot: (fact id, key[slot])
    QString digest;
    // The audit chain.
    bool auditOk = true;
    qint64 auditBrokenEdit = 0; ///< the first edit that does not match (0: none)
    QString auditMessage;
    qint64 lastEdit = 0; ///< the newest edit's id (0: none): the memory state this describes
    // Read weights of the last query's prompt against the current memory (empty: none).
    QString readPrompt;
    QVector<double> readWeights;
    bool readInScope = true; ///< the prompt scores at or above the threshold its query used
    double readScore = 0;
    double readThreshold = 0;
    // Edit > Undo / Redo: what each takes back or brings back ("Write of fact 12"; empty: none).
    QString undoText;
    QString redoText;
};
using EngineStatePtr = std::shared_ptr<const EngineState>;

/// One generated token and what the model thought of it.
struct TokenInfo {
    QByteArray bytes; ///< the token's bytes (a byte-level token may hold part of a character)
    QString text;     ///< the bytes as text, for showing
    double probability = 0;
    QVector<QPair<QString, double>> alternatives;
};

/// A query answered with and without memory.
struct CompareView {
    QString prompt;
    QString withoutMemory;
    QString withMemory;
    QVector<TokenInfo> withoutTokens;
    QVector<TokenInfo> withTokens;
    /// Word diff withoutMemory -> withMemory: (kind, words); kind 0 same, 1 removed, 2 added.
    QVector<QPair<int, QString>> diff;
    bool differs = false;
    bool inScope = false;
    double score = 0;
    double threshold = 0;
    QString detector;
    qint64 nearestFactId = 0; ///< 0: none
    QString nearestText;
    QVector<double> readWeights;
    // The memory state the answers belong to.
    qint64 lastEdit = 0;  ///< the newest edit when it was answered (0: none)
    qint64 written = 0;   ///< facts written then
    QString digest;       ///< the memory digest then
};

/// A written fact that a fact about to be written repeats or contradicts.
struct ConflictRow {
    qint64 factId = 0;
    QString factText;
    QString kind;        ///< duplicate, other-answer, same-subject, similar
    QString description; ///< "fact 1 ('...'): the same prompt with another answer"
    double score = 0;    ///< similar: the scope detector's score
};
using ConflictRows = QVector<ConflictRow>;

/// The records a file holds, before they are written.
struct ImportRecord {
    QString text;
    QString subject;
    QString prompt;
    QString target;
    QString source;
};
using ImportRecords = std::shared_ptr<const QVector<ImportRecord>>;

} // namespace larimar::ui

Q_DECLARE_METATYPE(larimar::ui::EngineInfo)
Q_DECLARE_METATYPE(larimar::ui::EngineStatePtr)
Q_DECLARE_METATYPE(larimar::ui::CompareView)
Q_DECLARE_METATYPE(larimar::ui::ImportRecords)
Q_DECLARE_METATYPE(larimar::ui::ConflictRows)
