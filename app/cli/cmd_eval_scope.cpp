#include "app/cli/cmd_eval_scope.h"

#include "core/eval/datasets.h"
#include "core/scope/scope_classifier.h"
#include "core/scope/scope_detectors.h"
#include "core/scope/scope_eval.h"
#include "core/util/csv.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <random>
#include <sstream>

namespace larimar::cli {
namespace {

std::string pct(double v) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(1) << 100.0 * v << "%";
    return o.str();
}
std::string fixed3(double v) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(3) << v;
    return o.str();
}

struct Latency {
    std::int64_t facts = 0;
    double meanMs = 0, p95Ms = 0;
};

/// Pads the ESD's index with random unit vectors up to `facts` entries, then times queries
/// (sentence splitting + encoding + 1-NN search), as a user's query would run.
Latency measureLatency(EsdScopeDetector& esd, const std::vector<std::string>& prompts, int facts) {
    Latency l;
    const int dim = esd.encoder().dimension();
    std::mt19937_64 rng(7);
    std::normal_distribution<float> normal;
    std::vector<std::int64_t> ids;
    std::vector<std::vector<float>> vecs;
    std::int64_t next = 10'000'000;
    for (auto n = static_cast<std::int64_t>(esd.index().size()); n < facts; ++n) {
        std::vector<float> v(static_cast<std::size_t>(dim));
        for (auto& x : v) x = normal(rng);
        ids.push_back(next++);
        vecs.push_back(std::move(v));
        if (ids.size() == 4096) {
            esd.addEmbeddings(ids, vecs);
            ids.clear();
            vecs.clear();
        }
    }
    esd.addEmbeddings(ids, vecs);
    l.facts = static_cast<std::int64_t>(esd.index().size());
    std::vector<double> ms;
    const std::size_t n = std::min<std::size_t>(prompts.size(), 200);
    for (std::size_t i = 0; i < n; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        (void)esd.score(prompts[i]);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    if (ms.empty()) return l;
    double sum = 0;
    for (double v : ms) sum += v;
    l.meanMs = sum / static_cast<double>(ms.size());
    std::sort(ms.begin(), ms.end());
    l.p95Ms = ms[std::min(ms.size() - 1, static_cast<std::size_t>(0.95 * static_cast<double>(ms.size())))];
    return l;
}

} // namespace

CLI::App* setupEvalScope(CLI::App& eval, EvalScopeArgs& a) {
    auto* s = eval.add_subcommand("scope", "Scope detector: rephrases of written facts vs neighbourhood prompts; "
                                           "EER, F1, AUC, ROC curve");
    s->add_option("file", a.file, "CounterFact (EasyEdit or ROME schema) or zsRE file")->required()->check(CLI::ExistingFile);
    s->add_option("--limit", a.limit, "Facts written (the first N cases; 0: all)")->capture_default_str()->check(CLI::NonNegativeNumber);
    s->add_option("--roc", a.roc, "Write the ROC curve to this .png or .svg file");
    s->add_option("--detector", a.detector,
                  "esd (the default sentence-encoder detector: esd-hybrid), esd-hybrid (MiniLM + word overlap), "
                  "esd-minilm (MiniLM cosine alone, the paper's ESD) or isd (the model's encoder and memory)")
        ->capture_default_str()
        ->check(CLI::IsMember({"esd", "esd-hybrid", "esd-minilm", "isd"}));
    s->add_option("--cosine-weight", a.cosineWeight, "ESD hybrid: share of the cosine in the score (tuning)")
        ->check(CLI::Range(0.0, 1.0));
    s->add_option("--common-word-weight", a.commonWordWeight,
                  "ESD hybrid: IDF factor of an unseen word the encoder's vocabulary holds whole (tuning)")
        ->check(CLI::Range(0.0, 1.0));
    s->add_option("--csv", a.csv, "Write one row per query (case, kind, score, prompt) to this CSV file");
    s->add_option("--threshold", a.threshold, "Threshold for F1 (default: the detector's default)");
    s->add_option("--latency-facts", a.latencyFacts,
                  "ESD: also time queries with this many stored facts (padded with random vectors)")
        ->check(CLI::Range(0, 10'000'000));
    s->add_flag("--control", a.control,
                "Control run: write the facts of other cases (the next N in the file), so no query is about a "
                "written fact; a detector that reads the memory drops to chance, one that judges the wording "
                "does not");
    return s;
}

int executeEvalScope(Context& ctx, const EvalScopeArgs& a) {
    if (!a.roc.empty()) {
        auto ext = std::filesystem::path(a.roc).extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
        if (ext != ".png" && ext != ".svg") throw UserError("--roc " + a.roc + ": the file must end in .png or .svg");
    }
    std::vector<std::string> skipped;
    auto cases = loadEditCases(a.file, DatasetFormat::Auto, &skipped);
    if (a.control) {
        // Queries of cases [0, n), facts of cases [n, 2n): none of the queries' facts is written.
        std::size_t n = cases.size() / 2;
        if (a.limit > 0) n = std::min(n, static_cast<std::size_t>(a.limit));
        if (n == 0) throw UserError("--control needs at least 2 cases");
        std::vector<EditCase> swapped(cases.begin(), cases.begin() + static_cast<std::ptrdiff_t>(n));
        for (std::size_t i = 0; i < n; ++i) {
            swapped[i].prompt = cases[n + i].prompt;
            swapped[i].targetNew = cases[n + i].targetNew;
        }
        cases = std::move(swapped);
    }
    for (const auto& s : skipped) ctx.err << "skipped " << s << "\n";

    ScopeDetectorSetup setup;
    setup.kind = a.detector;
    if (a.cosineWeight >= 0) setup.esdCosineWeight = a.cosineWeight;
    if (a.commonWordWeight >= 0) setup.esdCommonWordWeight = a.commonWordWeight;
    std::shared_ptr<TextModel> model;
    std::optional<EpisodicMemory> memory;
    std::function<void(const std::vector<std::string>&)> writeMemory;
    if (a.detector == "isd") {
        model = ctx.loadModel();
        setup.model = model;
        if (!ctx.modelFactory || !ctx.global.model.empty()) setup.modelDir = resolveModelDir(ctx.global);
        memory.emplace(makeEmptyMemory(*model));
        writeMemory = [&](const std::vector<std::string>& texts) {
            for (std::size_t b = 0; b < texts.size(); b += 64) {
                const std::size_t e = std::min(texts.size(), b + 64);
                memory->write(model->encode(std::vector<std::string>(texts.begin() + b, texts.begin() + e)));
            }
        };
    }
    auto detector = makeScopeDetector(setup);
    if (auto* isd = dynamic_cast<InternalScopeDetector*>(detector.get()))
        isd->setMemory([&]() -> const EpisodicMemory* { return &*memory; });

    // Progress on stderr: a bar on a terminal, else a line every 10%.
    auto bar = ctx.progress("eval scope");
    int lastDecile = -1;
    auto progress = [&](std::int64_t done, std::int64_t total) {
        const double f = total > 0 ? double(done) / double(total) : 1.0;
        if (bar) {
            bar(f);
        } else if (const int d = static_cast<int>(f * 10); d != lastDecile) {
            lastDecile = d;
            ctx.err << "eval scope: " << done << "/" << total << " (facts written, then queries scored)\n";
        }
    };
    const ScopeScores scores = collectScopeScores(*detector, cases, a.limit, writeMemory, progress);
    ctx.endProgress();
    const double threshold = a.threshold > -1e299 ? a.threshold : detector->defaultThreshold();
    const ScopeMetrics m = scopeMetrics(scores.positives, scores.negatives, threshold);
    if (!a.roc.empty()) writeRocChart(a.roc, m, "Scope detector " + detector->name() + " on " +
                                                     std::filesystem::path(a.file).filename().string());
    if (!a.csv.empty()) {
        std::ofstream csv(a.csv, std::ios::trunc);
        if (!csv) throw UserError("cannot write " + a.csv);
        csv << "case_id,kind,score,prompt\n";
        std::size_t p = 0, n = 0;
        for (std::size_t i = 0; i < static_cast<std::size_t>(scores.facts); ++i) {
            for (const auto& q : cases[i].paraphrasePrompts)
                csv << csvField(cases[i].caseId) << ",rephrase," << scores.positives.at(p++) << ',' << csvField(q) << '\n';
            for (const auto& q : cases[i].neighbourhoodPrompts)
                csv << csvField(cases[i].caseId) << ",neighbourhood," << scores.negatives.at(n++) << ',' << csvField(q) << '\n';
        }
    }
    std::optional<Latency> latency;
    if (a.latencyFacts > 0) {
        auto* esd = dynamic_cast<EsdScopeDetector*>(detector.get());
        if (!esd) throw UserError("--latency-facts measures the ESD; use --detector esd, esd-hybrid or esd-minilm");
        std::vector<std::string> prompts;
        for (const auto& c : cases)
            for (const auto& p : c.paraphrasePrompts) prompts.push_back(p);
        latency = measureLatency(*esd, prompts, a.latencyFacts);
    }

    if (ctx.global.json) {
        nlohmann::json roc = nlohmann::json::array();
        for (const auto& pt : m.roc)
            if (std::isfinite(pt.threshold)) roc.push_back({{"threshold", pt.threshold}, {"fpr", pt.fpr}, {"tpr", pt.tpr}});
        nlohmann::json j = {{"file", a.file},
                            {"detector", detector->name()},
                            {"facts", scores.facts},
                            {"positives", m.positives},
                            {"negatives", m.negatives},
                            {"threshold", m.threshold},
                            {"eer", m.eer},
                            {"eer_threshold", m.eerThreshold},
                            {"f1", m.f1},
                            {"precision", m.precision},
                            {"recall", m.recall},
                            {"accuracy", m.accuracy},
                            {"auc", m.auc},
                            {"seconds_per_query", scores.secondsPerQuery},
                            {"control", a.control},
                            {"roc_file", a.roc.empty() ? nlohmann::json() : nlohmann::json(a.roc)},
                            {"roc", roc}};
        if (latency)
            j["latency"] = {{"facts", latency->facts}, {"mean_ms", latency->meanMs}, {"p95_ms", latency->p95Ms}};
        ctx.out << j.dump(2) << "\n";
        return 0;
    }
    const ScopeMetrics atEer = scopeMetrics(scores.positives, scores.negatives, m.eerThreshold);
    if (a.control) ctx.out << "CONTROL RUN: the written facts are other cases' facts; no query is about them\n";
    ctx.out << "Scope detector " << detector->name() << " on " << a.file << ": " << scores.facts << " facts written, "
            << m.positives << " rephrases (positives), " << m.negatives << " neighbourhood prompts (negatives)\n"
            << "  equal error rate   " << pct(m.eer) << " at threshold " << fixed3(m.eerThreshold)
            << "   (paper, ESD MiniLM: 2.9%)\n"
            << "  F1 at " << fixed3(m.threshold) << "        " << fixed3(m.f1) << " (precision " << fixed3(m.precision)
            << ", recall " << fixed3(m.recall) << ")   (paper: 0.974)\n"
            << "  F1 at EER point    " << fixed3(atEer.f1) << "\n"
            << "  AUC                " << fixed3(m.auc) << "\n"
            << "  " << std::fixed << std::setprecision(2) << 1000.0 * scores.secondsPerQuery << " ms per query\n";
    if (latency)
        ctx.out << "  latency with " << latency->facts << " stored facts: mean " << std::setprecision(2)
                << latency->meanMs << " ms, p95 " << latency->p95Ms << " ms (encoding included)\n";
    if (!a.roc.empty()) ctx.out << "  ROC curve: " << a.roc << "\n";
    return 0;
}

} // namespace larimar::cli
