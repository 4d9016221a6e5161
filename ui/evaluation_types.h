#pragma once
/// What the Evaluation tab asks the engine worker to run and what comes back: plain Qt values
/// (no core types), copied across threads by queued signals. The run itself is
/// ui/evaluation_run.h, the same core/eval code `larimar eval counterfact|zsre` runs.
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include <memory>

namespace larimar::ui {

/// The settings of one evaluation run (the CLI's options of the same names).
struct EvalRequest {
    enum Mode { Single, Batch, Sequential };
    QString file; ///< CounterFact (ROME or EasyEdit schema) or zsRE file
    Mode mode = Single;
    int batchSize = 4;    ///< Batch: edits written together
    bool sweep = true;    ///< Batch: also the sizes 1, 2, 4, ... below batchSize (the curve)
    int every = 1;        ///< Sequential: measure retention after every k edits
    int limit = 0;        ///< the first N cases (after shuffling); 0: all
    bool shuffle = false; ///< shuffle the cases with seed before taking limit
    quint64 seed = 1;
    bool generation = true; ///< generation accuracy and "output unchanged" locality
    QString tokenizerDir;   ///< zsRE tokens: the model's BPE tokenizer there; empty: words
};

/// One line of the results table.
struct EvalMetric {
    QString name;
    double value = 0;
    bool percent = false; ///< a fraction shown as a percentage
    QString note;         ///< e.g. the paper's number, the unit
};

/// One evaluated case.
struct EvalCaseRow {
    QString caseId;
    QString prompt;
    QString targetNew;
    QString targetTrue;
    bool editSuccess = false;
    double edit = 0;          ///< CounterFact: P(new) - P(true); zsRE: edit token accuracy
    double paraphrase = 0;    ///< CounterFact: success fraction; zsRE: token accuracy
    double neighbourhood = 0; ///< CounterFact: success fraction; zsRE: locality token accuracy
    int paraphraseCount = 0, neighbourhoodCount = 0;
    bool generationCorrect = false;
    QString generated;
    double locality = -1; ///< output unchanged fraction; -1: not measured
    int batch = 0;
    double seconds = 0;
};

/// A curve: accuracy vs batch size (batch sweep) or retention vs edits (sequential).
struct EvalCurve {
    QString title, xLabel, yLabel;
    bool logX = false;
    QVector<double> x;
    QStringList names;
    QVector<QVector<double>> y; ///< one series per name, fractions (NaN: no value)
};

struct EvalOutcome {
    EvalRequest request;
    QString metric; ///< "counterfact" or "zsre"
    QString format; ///< the file's schema: counterfact, easyedit, zsre
    QString mode;   ///< single, batch, sequential
    QString modelId;
    QString tokenUnit; ///< zsRE: "bpe" or "word"
    int casesInFile = 0;   ///< valid cases (invalid records are skipped)
    int skippedRecords = 0; ///< invalid records left out
    QStringList skippedFirst; ///< the first ten of their messages ("record 535: ...")
    int casesSelected = 0; ///< after limit
    bool cancelled = false;
    QString error; ///< empty: the run finished (or was cancelled)
    double seconds = 0;
    QVector<EvalMetric> metrics;
    QVector<EvalCaseRow> cases;
    EvalCurve curve; ///< empty x: the mode has no curve (single: bars of the headline metrics)
};
using EvalOutcomePtr = std::shared_ptr<const EvalOutcome>;

} // namespace larimar::ui

Q_DECLARE_METATYPE(larimar::ui::EvalRequest)
Q_DECLARE_METATYPE(larimar::ui::EvalOutcomePtr)
