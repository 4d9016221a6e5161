// `larimar eval counterfact FILE` and `larimar eval zsre FILE`: the editing experiments of
// core/eval/edit_eval.h in single, batch (with --sweep) and sequential mode.
#include "app/cli/cmd_eval_experiment.h"

#include "app/cli/cmd_editor_support.h"
#include "core/eval/datasets.h"
#include "core/model/text_model.h"
#include "core/scope/scope_eval.h"
#include "core/util/error.h"
#include "core/util/plot.h"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <algorithm>
#include <ostream>
#include <sstream>

namespace larimar::cli {
namespace {

using nlohmann::json;
using namespace evalsupport;

/// The paper's numbers (LARIMAR.md "Paper figures", the ICML table), percent. Larimar's rows are
/// with its scope detector, but for larimar_6b_no_scope (memory always read: our --no-scope).
json paperCounterFact() {
    return json{{"larimar_1.3b", {{"edit_success", 100}, {"paraphrase_success", 83.5}, {"neighbourhood_success", 74.7}, {"seconds_per_edit_a100", 1.1}}},
                {"larimar_6b", {{"edit_success", 99.6}, {"paraphrase_success", 88.4}, {"neighbourhood_success", 80.4}, {"seconds_per_edit_a100", 1.7}}},
                {"larimar_6b_no_scope", {{"edit_success", 99.6}, {"paraphrase_success", 93.6}, {"neighbourhood_success", 13.7}}},
                {"rome_gpt2_xl", {{"edit_success", 100}, {"paraphrase_success", 96.4}, {"neighbourhood_success", 75.4}, {"seconds_per_edit_a100", 4.8}}}};
}

class EditsExperiment : public EvalExperiment {
public:
    explicit EditsExperiment(EditMetric metric) : m_metric(metric) {}

    void setup(CLI::App& eval) override {
        const bool cf = m_metric == EditMetric::CounterFact;
        m_sub = eval.add_subcommand(cf ? "counterfact" : "zsre",
                                    cf ? "CounterFact: edit, paraphrase and neighbourhood success and magnitude, generation, locality"
                                       : "zsRE: token-level accuracy of the edit, its rephrase and locality");
        m_sub->add_option("file", m_common.file, cf ? "CounterFact file (ROME or EasyEdit schema)" : "zsRE file (MEND schema)")
            ->required()
            ->check(CLI::ExistingFile);
        addCommonOptions(*m_sub, m_common);
        m_sub->add_option("--mode", m_mode, "single: a fresh memory per edit; batch: --batch-size edits written together; "
                                            "sequential: all edits one after another into one memory")
            ->check(CLI::IsMember({"single", "batch", "sequential"}));
        m_sub->add_option("--batch-size", m_batchSize, "Batch mode: edits written together into one memory")->check(CLI::PositiveNumber);
        m_sub->add_option("--sweep", m_sweep, "Batch mode over these batch sizes, e.g. 1,4,16,64,128 (the batch-editing curve)");
        m_sub->add_option("--max-eval", m_maxEval, "Evaluate at most this many cases (per batch size with --sweep), spread over whole "
                                                    "batches (0: all)")
            ->check(CLI::NonNegativeNumber);
        m_sub->add_option("--every", m_every, "Sequential mode: measure retention after every k edits")->capture_default_str()->check(CLI::PositiveNumber);
        m_sub->add_option("--unrelated", m_unrelated, "Sequential mode: held-out cases whose neighbourhood prompts measure test retention")
            ->capture_default_str()
            ->check(CLI::NonNegativeNumber);
        m_sub->add_flag("--no-locality", m_noLocality, "Skip the output-unchanged locality measure");
        m_sub->add_flag("--no-memory", m_noMemory, "Baseline: decode without the memory readout (edits written but not read)");
        m_sub->add_flag("--no-scope", m_noScope,
                        "Every query reads the memory (the raw memory read). Default: the editor's scope detector "
                        "(ESD hybrid on MiniLM, threshold 0.56, as `larimar query`) decides per prompt, and a prompt out "
                        "of scope of the facts written is answered without the memory");
        if (cf)
            m_sub->add_flag("--read-with-fact", m_readWithFact,
                            "Ablation: edit and paraphrase prompts read the memory with the edit sentence's own encoding "
                            "(perfect retrieval: measures decoding alone)");
        m_sub->add_option("--max-paraphrases", m_maxParaphrases, "At most this many paraphrase prompts per case (0: all)")->check(CLI::NonNegativeNumber);
        m_sub->add_option("--max-neighbourhood", m_maxNeighbourhood, "At most this many neighbourhood prompts per case (0: all)")->check(CLI::NonNegativeNumber);
        m_sub->add_option("--backend", m_backends,
                          "Memory the edits are written into: larimar (one K x C memory, measured past its K facts "
                          "too), paged (K x C pages, capacity grows with facts), or several, comma-separated, "
                          "measured side by side on the same cases")
            ->capture_default_str();
        m_sub->add_option("--page-facts", m_pageFacts, "Paged backend: facts per page (0: K)")->check(CLI::NonNegativeNumber);
        m_sub->add_option("--generation-tokens", m_generationTokens, "Tokens generated for generation accuracy and locality")->capture_default_str()->check(CLI::PositiveNumber);
        if (!cf)
            m_sub->add_option("--target", m_target, "Edit target: alt (the counterfactual answer) or answers (answers[0], as the public code)")
                ->capture_default_str()
                ->check(CLI::IsMember({"alt", "answers"}));
    }
    bool parsed() const override { return m_sub && m_sub->parsed(); }

    int execute(Context& ctx) override {
        const DatasetFormat format = detectFormat(m_common.file);
        json loaded;
        const auto cases = loadCases(ctx, m_common, format, loaded);
        EditEvalOptions o;
        o.metric = m_metric;
        o.mode = m_mode == "batch" ? EditMode::Batch : m_mode == "sequential" ? EditMode::Sequential : EditMode::Single;
        if (!m_sweep.empty() && o.mode == EditMode::Sequential) throw UserError("--sweep is a batch-mode option, not sequential");
        if (!m_sweep.empty()) o.mode = EditMode::Batch;
        if (m_batchSize > 1 && o.mode == EditMode::Single) o.mode = EditMode::Batch;
        o.limit = m_common.limit;
        o.seed = m_common.seed;
        o.shuffle = m_common.shuffle;
        o.batchSize = o.mode == EditMode::Batch ? m_batchSize : 1;
        o.maxEval = m_maxEval;
        o.every = m_every;
        o.unrelated = m_unrelated;
        o.maxParaphrases = m_maxParaphrases;
        o.maxNeighbourhood = m_maxNeighbourhood;
        o.generation = !m_common.noGeneration;
        o.locality = !m_common.noGeneration && !m_noLocality;
        o.generationTokens = m_generationTokens;
        o.lambda = m_common.lambda;
        o.noMemory = m_noMemory;
        o.readWithFact = m_readWithFact;
        if (m_readWithFact && (m_noMemory || o.mode == EditMode::Sequential))
            throw UserError("--read-with-fact applies to single and batch mode with the memory read (not --no-memory)");
        o.stripParaphrasePrefix = format == DatasetFormat::CounterFact || format == DatasetFormat::EasyEdit;
        o.zsreAnswerTarget = m_target == "answers";
        o.zsreNqPrefix = format == DatasetFormat::Zsre;
        std::string unit = "word";
        auto model = ctx.loadModel();
        if (m_metric == EditMetric::Zsre) o.splitTokens = modelSplitter(model, unit);
        // The scope gate: the detector the editor builds (cmd_editor_support scopeSetup, kind
        // auto), with no workspace embedding cache, at the detector's own threshold.
        std::unique_ptr<DetectorEditScope> scope;
        if (!m_noScope && !m_noMemory) {
            scope = std::make_unique<DetectorEditScope>(makeScopeDetector(scopeSetup(ctx, model, std::string())));
            o.scope = scope.get();
        }
        json doc{{"experiment", editMetricName(m_metric)},
                 {"file", m_common.file},
                 {"format", formatName(format)},
                 {"model", {{"id", model->id()}, {"weights_sha256", model->weightsHash()}, {"slots", model->memoryPrior().rows()},
                            {"latent", model->latentSize()}}},
                 {"settings", settingsJson(o, unit)}};
        doc["settings"]["no_scope"] = m_noScope;
        doc["scope"] = scopeJson(scope.get());
        if (loaded.contains("skipped_records")) doc["skipped_records"] = loaded["skipped_records"];
        const auto t0 = std::chrono::steady_clock::now();
        const std::string label = std::string("eval ") + editMetricName(m_metric);
        const std::vector<BackendSettings> backends = parseBackends();
        int rc = 0;
        if (backends.size() == 1) {
            o.backend = backends[0];
            doc["settings"]["backend"] = describe(o.backend);
            rc = runOne(ctx, *model, cases, o, doc, label, m_common.plot);
        } else {
            // The same cases, scope gate and settings for each backend, one after another.
            json runs = json::array();
            std::vector<std::pair<std::string, json>> rows;
            for (const auto& b : backends) {
                o.backend = b;
                json one = doc;
                one["settings"]["backend"] = describe(b);
                if (!ctx.global.json) ctx.out << "== backend " << describe(b) << "\n";
                // One chart of all backends (below); a sweep draws its curve per backend.
                const std::string plot =
                    m_common.plot.empty() || m_sweep.empty() ? std::string() : suffixed(m_common.plot, b.kind);
                rc = std::max(rc, runOne(ctx, *model, cases, o, one, label + " (" + b.kind + ")", plot));
                if (!ctx.global.json) ctx.out << "\n";
                rows.emplace_back(describe(b), one);
                runs.push_back({{"backend", describe(b)},
                                {"mode", one.value("mode", json())},
                                {"metrics", one.value("metrics", json())},
                                {"points", one.value("points", json())}});
            }
            doc["backends"] = runs;
            if (!m_common.plot.empty() && m_sweep.empty()) plotSideBySide(model->id(), o, rows);
            if (!ctx.global.json) printSideBySide(ctx, rows);
        }
        doc["seconds_total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        emitJson(ctx, doc, m_common.jsonOut);
        return rc;
    }

private:
    bool cf() const { return m_metric == EditMetric::CounterFact; }

    int runOne(Context& ctx, TextModel& model, const std::vector<EditCase>& cases, const EditEvalOptions& o, json& doc,
               const std::string& label, const std::string& plot) {
        const std::string saved = m_common.plot;
        m_common.plot = plot;
        int rc = 0;
        try {
            if (!m_sweep.empty())
                rc = runSweep(ctx, model, cases, o, doc, label);
            else if (o.mode == EditMode::Sequential)
                rc = runSequential(ctx, model, cases, o, doc, label);
            else
                rc = runBatch(ctx, model, cases, o, doc, label);
        } catch (...) {
            m_common.plot = saved;
            throw;
        }
        m_common.plot = saved;
        return rc;
    }

    std::vector<BackendSettings> parseBackends() const {
        std::vector<BackendSettings> out;
        std::stringstream ss(m_backends);
        std::string item;
        while (std::getline(ss, item, ',')) {
            BackendSettings b;
            b.kind = item;
            b.pageFacts = m_pageFacts;
            const auto kinds = memoryBackendKinds();
            if (std::find(kinds.begin(), kinds.end(), item) == kinds.end())
                throw UserError("--backend: unknown memory backend '" + item + "' (known: paged, larimar)");
            for (const auto& seen : out)
                if (seen.kind == item) throw UserError("--backend names " + item + " twice");
            out.push_back(b);
        }
        if (out.empty()) throw UserError("--backend: name at least one memory backend (paged, larimar)");
        return out;
    }

    /// "runs/cf.png" -> "runs/cf-paged.png".
    static std::string suffixed(const std::string& path, const std::string& tag) {
        const auto slash = path.find_last_of('/');
        const auto dot = path.find_last_of('.');
        if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return path + "-" + tag;
        return path.substr(0, dot) + "-" + tag + path.substr(dot);
    }

    /// Single/batch: the three headline numbers, one bar series per backend. Sequential: edit
    /// retention over edits written, one line per backend.
    void plotSideBySide(const std::string& modelId, const EditEvalOptions& o,
                        const std::vector<std::pair<std::string, json>>& rows) const {
        Chart c;
        const std::string data = cf() ? "CounterFact" : "zsRE";
        if (o.mode == EditMode::Sequential) {
            c.title = "Sequential editing, " + data + ", memory backends: " + modelId;
            c.xLabel = "edits written";
            c.yLabel = "edit retention";
            c.yRange = std::make_pair(0.0, 1.0);
            for (const auto& [name, d] : rows) {
                Series s{name, {}, {}, Series::Style::LineAndPoints};
                for (const auto& p : d.value("points", json::array()))
                    if (p.value("edit_retention", json()).is_number()) {
                        s.x.push_back(p["edits"].get<double>());
                        s.y.push_back(p["edit_retention"].get<double>());
                    }
                c.series.push_back(s);
            }
        } else {
            c.title = data + (o.batchSize == 1 ? std::string(", single edits") : ", batches of " + std::to_string(o.batchSize)) +
                      ", memory backends: " + modelId;
            c.yLabel = "%";
            c.xLabel = cf() ? "0 edit, 1 paraphrase, 2 neighbourhood success" : "0 edit, 1 paraphrase, 2 locality accuracy";
            c.yRange = std::make_pair(0.0, 100.0);
            c.xRange = std::make_pair(-0.5, 2.5);
            const char* keys[3] = {cf() ? "edit_success" : "edit_token_accuracy",
                                   cf() ? "paraphrase_success" : "paraphrase_token_accuracy",
                                   cf() ? "neighbourhood_success" : "neighbourhood_token_accuracy"};
            const double width = 0.8 / static_cast<double>(rows.size());
            for (std::size_t b = 0; b < rows.size(); ++b) {
                const json m = rows[b].second.value("metrics", json::object());
                Series s{rows[b].first, {}, {}, Series::Style::Bars};
                for (int k = 0; k < 3; ++k) {
                    s.x.push_back(k - 0.4 + width * (static_cast<double>(b) + 0.5));
                    s.y.push_back(m.contains(keys[k]) && m[keys[k]].is_number() ? 100.0 * m[keys[k]].get<double>() : 0.0);
                }
                c.series.push_back(s);
            }
        }
        writeChart(m_common.plot, c);
    }

    /// One row per backend: the final metrics of each run.
    void printSideBySide(Context& ctx, const std::vector<std::pair<std::string, json>>& rows) const {
        const auto names = headlineNames();
        const char* keys[3] = {cf() ? "edit_success" : "edit_token_accuracy",
                               cf() ? "paraphrase_success" : "paraphrase_token_accuracy",
                               cf() ? "neighbourhood_success" : "neighbourhood_token_accuracy"};
        ctx.out << "Side by side, the same cases:\n  " << std::left << std::setw(28) << "backend";
        for (const char* n : names) ctx.out << std::setw(24) << n;
        ctx.out << "generation\n";
        for (const auto& [name, d] : rows) {
            const json m = d.value("metrics", json::object());
            auto get = [&](const char* k) {
                return m.is_object() && m.contains(k) && m[k].is_number() ? m[k].get<double>() : std::nan("");
            };
            ctx.out << "  " << std::setw(28) << name;
            for (const char* k : keys) ctx.out << std::setw(24) << pct(get(k));
            ctx.out << pct(get("generation_accuracy")) << "\n";
        }
    }

    /// "esd hybrid, threshold 0.56", "none (--no-scope)" or "none (--no-memory)".
    std::string scopeText(const EditScope* scope) const {
        if (scope) return scope->description();
        return m_noMemory ? "none (--no-memory: the memory is not read)" : "none (--no-scope: every query reads the memory)";
    }
    json scopeJson(const DetectorEditScope* scope) const {
        if (!scope) return {{"applied", false}, {"detector", nullptr}, {"threshold", nullptr}, {"description", scopeText(nullptr)}};
        return {{"applied", true},
                {"detector", scope->detector().name()},
                {"threshold", scope->threshold()},
                {"description", scope->description()}};
    }
    /// "  scope: esd hybrid, threshold 0.56; in scope: edit 3/3, paraphrase 4/6, neighbourhood 2/30"
    void printScope(std::ostream& out, const EditEvalOptions& o, const CounterFactSummary* s) const {
        out << "  scope: " << scopeText(o.scope);
        if (s && s->scoped)
            out << "; in scope: edit " << s->editInScope << "/" << s->editQueries << ", paraphrase " << s->paraphraseInScope
                << "/" << s->paraphraseQueries << ", " << (cf() ? "neighbourhood " : "locality ") << s->neighbourhoodInScope
                << "/" << s->neighbourhoodQueries;
        out << "\n";
    }

    /// The three headline numbers of a summary (CounterFact successes or zsRE token accuracies).
    std::array<double, 3> headline(const CounterFactSummary& s) const {
        if (cf()) return {s.editSuccess, s.paraphraseSuccess, s.neighbourhoodSuccess};
        return {s.editTokenAccuracy, s.paraphraseTokenAccuracy, s.neighbourhoodTokenAccuracy};
    }
    std::array<const char*, 3> headlineNames() const {
        if (cf()) return {"edit success", "paraphrase success", "neighbourhood success"};
        return {"edit accuracy", "paraphrase accuracy", "locality accuracy"};
    }

    int runBatch(Context& ctx, TextModel& model, const std::vector<EditCase>& cases, const EditEvalOptions& o, json& doc,
                 const std::string& label) {
        const CounterFactSummary s = evaluateEdits(model, cases, o, progressBar(ctx, label), nullptr);
        ctx.endProgress();
        doc["mode"] = editModeName(o.mode);
        doc["settings"]["batch_size"] = o.batchSize;
        doc["metrics"] = summaryJson(s, m_metric, o.generation, o.locality);
        if (cf() && o.mode == EditMode::Single) doc["paper"] = paperCounterFact();
        if (!m_common.csv.empty()) writeCaseCsv(m_common.csv, s.perCase);
        if (!m_common.plot.empty()) plotBars(s, model.id(), o.scope != nullptr);
        if (ctx.global.json) return 0;
        const auto h = headline(s);
        const auto n = headlineNames();
        ctx.out << (cf() ? "CounterFact" : "zsRE") << ' ' << (o.mode == EditMode::Single ? "single-edit" : "batch")
                << " evaluation of " << model.id() << " on " << s.cases << " cases of " << m_common.file;
        if (o.mode == EditMode::Batch) ctx.out << " (batches of " << o.batchSize << ")";
        if (o.noMemory) ctx.out << " (baseline: memory not read)";
        if (o.readWithFact) ctx.out << " (ablation: edit and paraphrase prompts read with the fact's own encoding)";
        ctx.out << "\n";
        printScope(ctx.out, o, &s);
        // The paper's row that was measured the same way: with its scope detector, or memory always read.
        const char* scoped[3] = {"   (paper, Larimar-1.3B: 100%, 6B: 99.6%, with scope detector)", "   (83.5%, 88.4%)",
                                 "   (74.7%, 80.4%)"};
        const char* raw[3] = {"   (paper, Larimar-6B, memory always read: 99.6%)", "   (93.6%)", "   (13.7%)"};
        const char* const* paper = o.scope ? scoped : raw;
        for (int i = 0; i < 3; ++i) {
            ctx.out << "  " << std::left << std::setw(24) << n[i] << pct(h[i]);
            if (cf() && o.mode == EditMode::Single && !o.noMemory) ctx.out << paper[i];
            ctx.out << "\n";
        }
        if (cf()) {
            ctx.out << "  " << std::setw(24) << "edit magnitude" << std::defaultfloat << std::setprecision(4) << s.editMagnitude << "\n"
                    << "  " << std::setw(24) << "paraphrase magnitude" << s.paraphraseMagnitude << "\n"
                    << "  " << std::setw(24) << "neighbourhood magnitude" << s.neighbourhoodMagnitude << "\n";
        }
        if (o.generation) {
            ctx.out << "  " << std::setw(24) << "generation accuracy" << pct(s.generationAccuracy) << "\n"
                    << "  " << std::setw(24) << "judged edit (WILD)" << pct(s.judgedEditSuccess) << "\n"
                    << "  " << std::setw(24) << "judged paraphrase" << pct(s.judgedParaphraseSuccess) << "\n";
        }
        if (o.locality) ctx.out << "  " << std::setw(24) << "locality (unchanged)" << pct(s.locality) << "\n";
        ctx.out << "  " << std::fixed << std::setprecision(4) << s.secondsPerEdit << " s per edit (encode + write), "
                << s.secondsPerCase << " s per case evaluated\n";
        return 0;
    }

    int runSweep(Context& ctx, TextModel& model, const std::vector<EditCase>& cases, const EditEvalOptions& o, json& doc,
                 const std::string& label) {
        const std::vector<int> sizes = parseSizes(m_sweep);
        const auto points = sweepBatchSizes(model, cases, o, sizes, progressBar(ctx, label), nullptr);
        ctx.endProgress();
        doc["mode"] = "sweep";
        doc["settings"]["sizes"] = sizes;
        json arr = json::array();
        std::vector<CaseResult> all;
        std::vector<std::string> sizeCol;
        for (const auto& p : points) {
            json j = summaryJson(p.summary, m_metric, o.generation, o.locality);
            j["batch_size"] = p.batchSize;
            arr.push_back(j);
            for (const auto& r : p.summary.perCase) {
                all.push_back(r);
                sizeCol.push_back(std::to_string(p.batchSize));
            }
        }
        doc["points"] = arr;
        doc["paper"] = "Larimar-1.3B: about 100% rewrite accuracy up to K = 512 facts in one memory, 82% at 1,024";
        if (!m_common.csv.empty()) writeCaseCsv(m_common.csv, all, {{"batch_size", sizeCol}});
        if (!m_common.plot.empty()) {
            Chart c;
            c.title = std::string("Batch editing, ") + (cf() ? "CounterFact" : "zsRE") + ": " + model.id() + " (K = " +
                      std::to_string(model.memoryPrior().rows()) + " slots)";
            c.xLabel = "edits written together (batch size)";
            c.yLabel = "accuracy (%)";
            c.logX = true;
            c.yRange = std::make_pair(0.0, 100.0);
            const auto names = headlineNames();
            for (int k = 0; k < 3; ++k) {
                Series s{names[k], {}, {}, Series::Style::LineAndPoints};
                for (const auto& p : points) {
                    s.x.push_back(p.batchSize);
                    s.y.push_back(100.0 * headline(p.summary)[static_cast<std::size_t>(k)]);
                }
                c.series.push_back(s);
            }
            if (o.generation) {
                Series s{"generation accuracy", {}, {}, Series::Style::LineAndPoints};
                for (const auto& p : points) {
                    s.x.push_back(p.batchSize);
                    s.y.push_back(100.0 * p.summary.generationAccuracy);
                }
                c.series.push_back(s);
            }
            c.horizontalLines.emplace_back(100.0, "paper: ~100% up to K");
            writeChart(m_common.plot, c);
        }
        if (ctx.global.json) return 0;
        const auto n = headlineNames();
        ctx.out << "Batch-editing sweep of " << model.id() << " on " << m_common.file << " (K = " << model.memoryPrior().rows()
                << " slots)\n";
        printScope(ctx.out, o, nullptr);
        ctx.out << "  " << std::left << std::setw(8) << "batch" << std::setw(8) << "cases";
        for (const char* name : n) ctx.out << std::setw(24) << name;
        if (o.generation) ctx.out << "generation";
        if (o.scope) ctx.out << (o.generation ? "  " : "") << "in scope (edit, paraphrase, " << (cf() ? "neighbourhood" : "locality") << ")";
        ctx.out << "\n";
        for (const auto& p : points) {
            ctx.out << "  " << std::setw(8) << p.batchSize << std::setw(8) << p.summary.cases;
            for (double v : headline(p.summary)) ctx.out << std::setw(24) << pct(v);
            if (o.generation) ctx.out << pct(p.summary.generationAccuracy);
            if (p.summary.scoped)
                ctx.out << (o.generation ? "  " : "") << "(in scope: " << p.summary.editInScope << "/" << p.summary.editQueries
                        << ", " << p.summary.paraphraseInScope << "/" << p.summary.paraphraseQueries << ", "
                        << p.summary.neighbourhoodInScope << "/" << p.summary.neighbourhoodQueries << ")";
            ctx.out << "\n";
        }
        return 0;
    }

    int runSequential(Context& ctx, TextModel& model, const std::vector<EditCase>& cases, const EditEvalOptions& o,
                      json& doc, const std::string& label) {
        const SequentialResult r = evaluateSequential(model, cases, o, progressBar(ctx, label), nullptr);
        ctx.endProgress();
        doc["mode"] = "sequential";
        doc["settings"]["every"] = o.every;
        doc["settings"]["unrelated"] = o.unrelated;
        doc["unrelated_prompts"] = r.unrelatedPrompts;
        doc["unrelated_from_edits"] = r.unrelatedFromEdits;
        json arr = json::array();
        for (const auto& p : r.points) {
            auto v = [](double x) { return std::isnan(x) ? json() : json(x); };
            arr.push_back({{"edits", p.edits},
                           {"edit_retention", v(p.editRetention)},
                           {"test_retention", v(p.testRetention)},
                           {"unchanged", v(p.unchanged)},
                           {"edit_in_scope", v(p.editInScope)},
                           {"test_in_scope", v(p.testInScope)},
                           {"seconds", p.seconds}});
        }
        doc["points"] = arr;
        doc["metrics"] = summaryJson(r.final, m_metric, o.generation, o.locality);
        doc["seconds_per_edit"] = r.secondsPerEdit;
        doc["paper"] = "sequential zsRE editing, edit retention: Larimar-1.3B 0.97, GRACE 0.93, MEND 0.27";
        if (!m_common.csv.empty()) writeCaseCsv(m_common.csv, r.final.perCase);
        if (!m_common.plot.empty()) {
            Chart c;
            c.title = std::string("Sequential editing, ") + (cf() ? "CounterFact" : "zsRE") + ": " + model.id();
            c.xLabel = "edits written";
            c.yLabel = "retention";
            c.yRange = std::make_pair(0.0, 1.0);
            Series er{"edit retention", {}, {}, Series::Style::LineAndPoints};
            Series tr{"test retention", {}, {}, Series::Style::LineAndPoints};
            Series un{"unrelated output unchanged", {}, {}, Series::Style::LineAndPoints};
            for (const auto& p : r.points) {
                er.x.push_back(p.edits), er.y.push_back(p.editRetention);
                tr.x.push_back(p.edits), tr.y.push_back(p.testRetention);
                un.x.push_back(p.edits), un.y.push_back(p.unchanged);
            }
            c.series = {er, tr};
            if (o.locality) c.series.push_back(un);
            c.horizontalLines.emplace_back(0.97, "paper (zsRE): 0.97");
            writeChart(m_common.plot, c);
        }
        if (ctx.global.json) return 0;
        ctx.out << "Sequential editing of " << model.id() << ": " << r.final.cases << " edits of " << m_common.file
                << " into one memory (K = " << model.memoryPrior().rows() << " slots); test retention on "
                << r.unrelatedPrompts << " unrelated prompts" << (r.unrelatedFromEdits ? " (the edits' own neighbours)" : "")
                << "\n";
        printScope(ctx.out, o, &r.final);
        const bool scoped = o.scope != nullptr;
        ctx.out << "  " << std::left << std::setw(8) << "edits" << std::setw(18) << "edit retention" << std::setw(18)
                << "test retention" << std::setw(scoped ? 12 : 0) << (o.locality ? "unchanged" : "")
                << (scoped ? "edit / test in scope" : "") << "\n";
        for (const auto& p : r.points) {
            ctx.out << "  " << std::setw(8) << p.edits << std::setw(18) << pct(p.editRetention) << std::setw(18)
                    << pct(p.testRetention) << std::setw(scoped ? 12 : 0) << (o.locality ? pct(p.unchanged) : "");
            if (scoped) ctx.out << pct(p.editInScope) << " / " << pct(p.testInScope);
            ctx.out << "\n";
        }
        ctx.out << "  " << std::fixed << std::setprecision(4) << r.secondsPerEdit << " s per edit (encode + write)\n";
        return 0;
    }

    /// Single/batch: our three headline numbers, beside the paper's for CounterFact.
    void plotBars(const CounterFactSummary& s, const std::string& modelId, bool scope) const {
        Chart c;
        c.title = std::string(cf() ? "CounterFact" : "zsRE") + ": " + modelId;
        c.yLabel = "%";
        c.xLabel = cf() ? "0 edit, 1 paraphrase, 2 neighbourhood success" : "0 edit, 1 paraphrase, 2 locality accuracy";
        c.yRange = std::make_pair(0.0, 100.0);
        c.xRange = std::make_pair(-0.5, 2.5);
        const auto h = headline(s);
        Series ours{modelId, {-0.15, 0.85, 1.85}, {100 * h[0], 100 * h[1], 100 * h[2]}, Series::Style::Bars};
        c.series.push_back(ours);
        if (cf() && scope)
            c.series.push_back({"paper, Larimar-1.3B with scope detector", {0.15, 1.15, 2.15}, {100, 83.5, 74.7}, Series::Style::Bars});
        else if (cf())
            c.series.push_back({"paper, Larimar-6B, memory always read", {0.15, 1.15, 2.15}, {99.6, 93.6, 13.7}, Series::Style::Bars});
        writeChart(m_common.plot, c);
    }

    EditMetric m_metric;
    CLI::App* m_sub = nullptr;
    CommonOptions m_common;
    std::string m_mode = "single", m_sweep, m_target = "alt", m_backends = "larimar";
    int m_pageFacts = 0;
    int m_batchSize = 1, m_maxEval = 0, m_every = 10, m_unrelated = 20;
    int m_maxParaphrases = 0, m_maxNeighbourhood = 0, m_generationTokens = 8;
    bool m_noLocality = false, m_noMemory = false, m_readWithFact = false, m_noScope = false;
};

} // namespace

std::vector<std::unique_ptr<EvalExperiment>> makeEvalEditExperiments() {
    std::vector<std::unique_ptr<EvalExperiment>> v;
    v.push_back(std::make_unique<EditsExperiment>(EditMetric::CounterFact));
    v.push_back(std::make_unique<EditsExperiment>(EditMetric::Zsre));
    return v;
}

} // namespace larimar::cli
