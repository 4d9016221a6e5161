#include "core/eval/datasets.h"
#include "core/eval/edit_eval.h"
#include "core/model/text_model.h"
#include "core/model/tokenizer.h"
#include "core/util/error.h"

#include "ui/evaluation_run.h"

#include <QFileInfo>
#include <QObject>

#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#undef slots

namespace larimar::ui {

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// zsRE answers split into the model's own tokens (as the CLI does), else into the BPE tokens of
/// the tokenizer in dir, else into words.
TokenSplitter splitter(TextModel& model, const QString& dir, QString& unit) {
    unit = QStringLiteral("word");
    if (!model.tokenTexts("a").empty()) {
        unit = QStringLiteral("bpe");
        return [&model](const std::string& text) { return model.tokenTexts(text); };
    }
    if (dir.isEmpty()) return {};
    std::shared_ptr<Tokenizer> tok;
    try {
        tok = std::make_shared<Tokenizer>(Tokenizer::fromDirectory(dir.toStdString()));
    } catch (const std::exception&) {
        return {};
    }
    unit = QStringLiteral("bpe");
    return [tok](const std::string& text) {
        std::vector<std::string> out;
        for (const std::int32_t id : tok->encode(text))
            out.push_back(tok->tokenText(id));
        return out;
    };
}

/// The three headline numbers of a summary (CounterFact successes or zsRE token accuracies).
std::array<double, 3> headline(const CounterFactSummary& s, bool cf) {
    if (cf) return {s.editSuccess, s.paraphraseSuccess, s.neighbourhoodSuccess};
    return {s.editTokenAccuracy, s.paraphraseTokenAccuracy, s.neighbourhoodTokenAccuracy};
}
QStringList headlineNames(bool cf) {
    if (cf)
        return {QObject::tr("edit success"), QObject::tr("paraphrase success"), QObject::tr("neighbourhood success")};
    return {QObject::tr("edit accuracy"), QObject::tr("paraphrase accuracy"), QObject::tr("locality accuracy")};
}

void addSummary(EvalOutcome& out, const CounterFactSummary& s, bool cf, const EditEvalOptions& o) {
    auto add = [&](const QString& name, double v, bool percent, const QString& note = {}) {
        out.metrics.append({name, v, percent, note});
    };
    add(QObject::tr("cases evaluated"), s.cases, false);
    if (cf) {
        add(QObject::tr("edit success"), s.editSuccess, true, QObject::tr("P(new) > P(true); Larimar-1.3B: 100%"));
        add(QObject::tr("edit magnitude"), s.editMagnitude, false, QObject::tr("mean P(new) - P(true)"));
        add(QObject::tr("paraphrase success"), s.paraphraseSuccess, true, QObject::tr("Larimar-1.3B: 41.7%"));
        add(QObject::tr("paraphrase magnitude"), s.paraphraseMagnitude, false);
        add(QObject::tr("neighbourhood success"), s.neighbourhoodSuccess, true,
            QObject::tr("P(true) > P(new); Larimar-1.3B: 74.7%"));
        add(QObject::tr("neighbourhood magnitude"), s.neighbourhoodMagnitude, false);
    } else {
        add(QObject::tr("edit token accuracy"), s.editTokenAccuracy, true);
        add(QObject::tr("paraphrase token accuracy"), s.paraphraseTokenAccuracy, true);
        add(QObject::tr("locality token accuracy"), s.neighbourhoodTokenAccuracy, true);
    }
    if (o.generation)
        add(QObject::tr("generation accuracy"), s.generationAccuracy, true,
            QObject::tr("greedy output starts with the new target"));
    if (o.locality)
        add(QObject::tr("locality (output unchanged)"), s.locality, true,
            QObject::tr("neighbourhood answers as before the edit"));
    add(QObject::tr("seconds per edit"), s.secondsPerEdit, false, QObject::tr("encode + memory write"));
    add(QObject::tr("seconds per case"), s.secondsPerCase, false, QObject::tr("evaluation of one case"));
}

void addCases(EvalOutcome& out, const std::vector<CaseResult>& results,
              const std::map<std::string, const EditCase*>& byId, bool cf) {
    out.cases.reserve(static_cast<int>(results.size()));
    for (const CaseResult& r : results) {
        EvalCaseRow row;
        row.caseId = qs(r.caseId);
        if (auto it = byId.find(r.caseId); it != byId.end()) {
            row.prompt = qs(it->second->prompt);
            row.targetNew = qs(it->second->targetNew);
            row.targetTrue = qs(it->second->targetTrue);
        }
        row.editSuccess = cf ? r.editSuccess : r.editTokenAccuracy >= 1.0;
        row.edit = cf ? r.editMagnitude : r.editTokenAccuracy;
        row.paraphrase = cf ? (r.paraphraseCount ? r.paraphraseSuccess : kNaN)
                            : (r.paraphraseTokens ? r.paraphraseTokenAccuracy : kNaN);
        row.neighbourhood = cf ? (r.neighbourhoodCount ? r.neighbourhoodSuccess : kNaN)
                               : (r.neighbourhoodTokens ? r.neighbourhoodTokenAccuracy : kNaN);
        row.paraphraseCount = r.paraphraseCount;
        row.neighbourhoodCount = r.neighbourhoodCount;
        row.generationCorrect = r.generationCorrect;
        row.generated = qs(r.generated);
        row.locality = r.localityCount ? r.locality : -1;
        row.batch = r.batch;
        row.seconds = r.seconds;
        out.cases.append(row);
    }
}

} // namespace

QVector<int> sweepSizes(int n) {
    QVector<int> sizes;
    for (int s = 1; s < n; s *= 2)
        sizes.append(s);
    sizes.append(std::max(1, n));
    return sizes;
}

EvalOutcomePtr runEvaluation(TextModel& model, const EvalRequest& request,
                             const std::function<void(int, int)>& progress, const std::atomic<bool>* cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    auto out = std::make_shared<EvalOutcome>();
    out->request = request;
    out->modelId = qs(model.id());
    const std::string path = request.file.toStdString();
    const DatasetFormat format = detectFormat(path);
    // As `larimar eval --skip-invalid`: one bad record (zsRE train has an empty alt) does not
    // block the file; the skipped ones are counted and the first named.
    std::vector<std::string> skipped;
    const auto cases = loadEditCases(path, format, &skipped);
    if (cases.empty() && !skipped.empty())
        throw UserError("every record of " + QFileInfo(request.file).fileName().toStdString() + " is invalid (" +
                        std::to_string(skipped.size()) + "); the first: " + skipped.front());
    out->skippedRecords = static_cast<int>(skipped.size());
    for (std::size_t i = 0; i < skipped.size() && i < 10; ++i)
        out->skippedFirst.append(qs(skipped[i]));
    out->casesInFile = static_cast<int>(cases.size());
    out->format = QString::fromLatin1(formatName(format));

    EditEvalOptions o;
    o.metric = format == DatasetFormat::Zsre ? EditMetric::Zsre : EditMetric::CounterFact;
    const bool cf = o.metric == EditMetric::CounterFact;
    o.mode = request.mode == EvalRequest::Batch        ? EditMode::Batch
             : request.mode == EvalRequest::Sequential ? EditMode::Sequential
                                                       : EditMode::Single;
    o.limit = request.limit;
    o.shuffle = request.shuffle;
    o.seed = request.seed;
    o.batchSize = o.mode == EditMode::Batch ? std::max(1, request.batchSize) : 1;
    o.every = std::max(1, request.every);
    o.generation = request.generation;
    o.locality = request.generation;
    // As `larimar eval` sets them for these schemas.
    o.stripParaphrasePrefix = format == DatasetFormat::CounterFact || format == DatasetFormat::EasyEdit;
    o.zsreNqPrefix = format == DatasetFormat::Zsre;
    if (!cf) o.splitTokens = splitter(model, request.tokenizerDir, out->tokenUnit);
    out->metric = QString::fromLatin1(editMetricName(o.metric));
    out->mode = QString::fromLatin1(editModeName(o.mode));

    const auto selected = selectCases(cases, o.limit, o.shuffle, o.seed);
    out->casesSelected = static_cast<int>(selected.size());
    std::map<std::string, const EditCase*> byId;
    for (const auto& c : selected)
        byId[c.caseId] = &c;
    const EvalProgress report = [&progress](int done, int total) {
        if (progress) progress(done, total);
    };
    const QStringList names = headlineNames(cf);

    if (o.mode == EditMode::Sequential) {
        const SequentialResult r = evaluateSequential(model, cases, o, report, cancel);
        addSummary(*out, r.final, cf, o);
        out->metrics.append({QObject::tr("unrelated prompts"), double(r.unrelatedPrompts), false,
                             r.unrelatedFromEdits ? QObject::tr("the edits' own neighbourhood prompts")
                                                  : QObject::tr("held-out cases' neighbourhood prompts")});
        if (!r.points.empty()) {
            const SequentialPoint& last = r.points.back();
            out->metrics.append({QObject::tr("edit retention"), last.editRetention, true,
                                 QObject::tr("after %1 edits; Larimar-1.3B (zsRE): 97%").arg(last.edits)});
            out->metrics.append({QObject::tr("test retention"), last.testRetention, true,
                                 QObject::tr("after %1 edits").arg(last.edits)});
        }
        addCases(*out, r.final.perCase, byId, cf);
        EvalCurve& c = out->curve;
        c.title = QObject::tr("Sequential editing: retention");
        c.xLabel = QObject::tr("edits written");
        c.yLabel = QObject::tr("retention (%)");
        c.names = {QObject::tr("edit retention"), QObject::tr("test retention")};
        if (o.locality) c.names << QObject::tr("unrelated output unchanged");
        c.y.resize(c.names.size());
        for (const auto& p : r.points) {
            c.x.append(p.edits);
            c.y[0].append(p.editRetention);
            c.y[1].append(p.testRetention);
            if (o.locality) c.y[2].append(p.unchanged);
        }
    } else if (o.mode == EditMode::Batch && request.sweep) {
        const QVector<int> q = sweepSizes(o.batchSize);
        const std::vector<int> sizes(q.begin(), q.end());
        const auto points = sweepBatchSizes(model, cases, o, sizes, report, cancel);
        if (!points.empty()) {
            const BatchPoint& last = points.back();
            out->metrics.append({QObject::tr("batch size"), double(last.batchSize), false,
                                 QObject::tr("edits written together into one memory")});
            addSummary(*out, last.summary, cf, o);
            addCases(*out, last.summary.perCase, byId, cf);
        }
        EvalCurve& c = out->curve;
        c.title = QObject::tr("Batch editing: accuracy vs edits written together");
        c.xLabel = QObject::tr("batch size (log scale)");
        c.yLabel = QObject::tr("accuracy (%)");
        c.logX = true;
        c.names = names;
        if (o.generation) c.names << QObject::tr("generation accuracy");
        c.y.resize(c.names.size());
        for (const auto& p : points) {
            c.x.append(p.batchSize);
            const auto h = headline(p.summary, cf);
            for (int k = 0; k < 3; ++k)
                c.y[k].append(h[static_cast<std::size_t>(k)]);
            if (o.generation) c.y[3].append(p.summary.generationAccuracy);
        }
    } else {
        const CounterFactSummary s = evaluateEdits(model, cases, o, report, cancel);
        if (o.mode == EditMode::Batch)
            out->metrics.append({QObject::tr("batch size"), double(o.batchSize), false,
                                 QObject::tr("edits written together into one memory")});
        addSummary(*out, s, cf, o);
        addCases(*out, s.perCase, byId, cf);
    }
    out->cancelled = cancel && cancel->load();
    out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

} // namespace larimar::ui
