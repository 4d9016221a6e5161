#include "app/cli/cmd_scope.h"

#include "app/cli/cmd_editor_support.h"
#include "core/eval/datasets.h"
#include "core/scope/scope_classifier.h"
#include "core/scope/scope_detectors.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace larimar::cli {
namespace {

constexpr double kUnset = -1e299;

std::string fixed3(double v) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(3) << v;
    return o.str();
}

/// One detector's view of the prompt.
struct DetectorReport {
    std::string name;
    bool available = false;
    std::string why; ///< when not available
    double score = 0, threshold = 0;
    bool inScope = false;
    std::optional<std::int64_t> nearestId;
    std::string nearestText;
    std::optional<double> distance, probability; ///< ISD only
    std::optional<int> sentence;                 ///< ESD only: which sentence matched

    nlohmann::json json() const {
        if (!available) return {{"available", false}, {"reason", why}};
        nlohmann::json j = {{"available", true}, {"detector", name}, {"score", score},
                            {"threshold", threshold}, {"in_scope", inScope}};
        if (nearestId) j["nearest_fact"] = {{"id", *nearestId}, {"text", nearestText}, {"similarity", score}};
        else j["nearest_fact"] = nullptr;
        if (sentence) j["sentence"] = *sentence;
        if (distance) j["distance"] = *distance;
        if (probability) j["probability"] = *probability;
        return j;
    }
};

DetectorReport reportEsd(EsdScopeDetector& esd, const std::string& text, double threshold) {
    DetectorReport r;
    r.name = esd.name();
    r.available = true;
    r.threshold = threshold;
    const ScopeDecision d = esd.decide(text, threshold);
    r.score = d.score;
    r.inScope = d.inScope;
    if (d.nearestFactId) {
        r.nearestId = d.nearestFactId;
        r.nearestText = esd.factText(*d.nearestFactId);
        r.sentence = d.sentence;
    }
    return r;
}

DetectorReport reportIsd(InternalScopeDetector& isd, const std::string& text, double threshold) {
    DetectorReport r;
    r.name = isd.name();
    r.available = true;
    r.threshold = threshold;
    const IsdDetails d = isd.details(text);
    r.score = d.score;
    r.inScope = d.score >= threshold;
    r.distance = d.distance;
    r.probability = d.probability;
    return r;
}

void printReport(std::ostream& out, const char* label, const DetectorReport& r) {
    out << label;
    if (!r.available) {
        out << "not available (" << r.why << ")\n";
        return;
    }
    out << "score " << fixed3(r.score) << (r.inScope ? " >= " : " < ") << fixed3(r.threshold) << "  "
        << (r.inScope ? "in scope" : "out of scope") << "  (" << r.name;
    if (r.distance) out << ", distance " << fixed3(*r.distance);
    if (r.probability) out << ", probability " << fixed3(*r.probability);
    out << ")\n";
    if (r.nearestId)
        out << "      nearest fact " << *r.nearestId << " (similarity " << fixed3(r.score) << "): " << r.nearestText
            << "\n";
}

} // namespace

void ScopeCommand::setup(CLI::App& app) {
    app.add_option("text", m_text, "The prompt to check (several sentences: the best one counts)");
    app.add_option("--threshold", m_threshold,
                   "Threshold for the chosen detector (default: the workspace's scope.threshold, else the "
                   "detector's)");
    app.add_option("--detector", m_detector, "Which detector decides: auto (ESD when its assets exist), esd, isd")
        ->check(CLI::IsMember({"auto", "esd", "isd"}));
    app.add_option("--set-threshold", m_setThreshold,
                   "Store this threshold in the workspace (scope.threshold) and exit")
        ->check(CLI::Range(-1.0, 1.0));
}

int ScopeCommand::execute(Context& ctx) {
    if (m_setThreshold > kUnset) {
        auto ws = openWorkspace(ctx);
        std::ostringstream v;
        v << std::setprecision(17) << m_setThreshold;
        ws->setMeta("scope.threshold", v.str());
        const ChainHead head = ws->chainHead(); // the setting is an audited edit: its new head
        if (ctx.global.json) {
            ctx.out << nlohmann::json{{"workspace", ws->path()}, {"scope.threshold", m_setThreshold},
                                      {"audit_head", head.toString()}}
                           .dump(2)
                    << "\n";
        } else {
            ctx.out << "scope threshold of " << ws->path() << " set to " << v.str() << "\n";
            printChainHead(ctx.out, head.editId, head.hash);
        }
        return 0;
    }
    if (m_text.empty()) throw UserError("scope: give the TEXT to check (or --set-threshold T)");

    // The editor's own detector decides, as a query would; the other one is built beside it.
    const std::string path = workspacePath(ctx.global);
    std::shared_ptr<TextModel> model;
    try {
        model = ctx.loadModel();
    } catch (const UserError& e) {
        if (m_detector == "isd") throw;
        return executeWithoutModel(ctx, path, e.what());
    }
    auto ed = [&] {
        const auto parent = std::filesystem::path(path).parent_path();
        std::error_code ec;
        if (!parent.empty()) std::filesystem::create_directories(parent, ec);
        EditorOptions o;
        o.scope = makeScopeDetector(scopeSetup(ctx, model, path, m_detector));
        auto e = std::make_unique<Editor>(model, path, o);
        connectScopeDetector(*o.scope, *e);
        return e;
    }();
    ScopeDetector& chosen = ed->scopeDetector();
    double threshold = chosen.defaultThreshold();
    std::string thresholdFrom = "detector default";
    if (m_threshold > kUnset) {
        threshold = m_threshold;
        thresholdFrom = "--threshold";
    } else if (const auto t = ed->workspace().meta("scope.threshold")) {
        try {
            threshold = std::stod(*t);
        } catch (const std::exception&) {
            throw UserError("workspace setting scope.threshold is '" + *t + "', not a number");
        }
        thresholdFrom = "workspace setting";
    }

    FactFilter written;
    written.state = FactState::Written;
    std::shared_ptr<ScopeDetector> esdHolder, isdHolder;
    auto* esd = dynamic_cast<EsdScopeDetector*>(&chosen);
    auto* isd = dynamic_cast<InternalScopeDetector*>(&chosen);
    DetectorReport esdReport, isdReport;
    if (!esd) {
        try {
            esdHolder = makeScopeDetector(scopeSetup(ctx, model, path, "esd"));
            esdHolder->reset(ed->facts(written));
            esd = dynamic_cast<EsdScopeDetector*>(esdHolder.get());
        } catch (const UserError& e) {
            esdReport.why = e.what();
        }
    }
    if (!isd) {
        isdHolder = makeScopeDetector(scopeSetup(ctx, model, path, "isd"));
        isdHolder->reset(ed->facts(written));
        connectScopeDetector(*isdHolder, *ed);
        isd = dynamic_cast<InternalScopeDetector*>(isdHolder.get());
    }
    if (esd) esdReport = reportEsd(*esd, m_text, esd == &chosen ? threshold : kEsdThreshold);
    isdReport = reportIsd(*isd, m_text, isd == &chosen ? threshold : kIsdThreshold);
    const DetectorReport& decision = esd == &chosen ? esdReport : isdReport;

    if (ctx.global.json) {
        nlohmann::json nearest;
        if (esdReport.available && esdReport.nearestId)
            nearest = {{"id", *esdReport.nearestId}, {"text", esdReport.nearestText}, {"similarity", esdReport.score}};
        ctx.out << nlohmann::json{{"text", m_text},
                                  {"detector", chosen.name()},
                                  {"threshold", threshold},
                                  {"threshold_from", thresholdFrom},
                                  {"in_scope", decision.inScope},
                                  {"score", decision.score},
                                  {"nearest_fact", nearest},
                                  {"esd", esdReport.json()},
                                  {"isd", isdReport.json()}}
                       .dump(2)
                << "\n";
        return 0;
    }
    ctx.out << "text:     " << m_text << "\n"
            << "decision: " << (decision.inScope ? "in scope" : "out of scope") << " by " << chosen.name()
            << " (score " << fixed3(decision.score) << (decision.inScope ? " >= " : " < ") << fixed3(threshold) << ", "
            << thresholdFrom << ")\n";
    printReport(ctx.out, "ESD:  ", esdReport);
    printReport(ctx.out, "ISD:  ", isdReport);
    return 0;
}

int ScopeCommand::executeWithoutModel(Context& ctx, const std::string& path, const std::string& why) {
    // Without a model only the ESD can run: the facts come from the workspace file itself.
    auto encoder = sharedSentenceEncoder();
    if (!encoder) throw UserError(why + "; and the external scope detector's assets are missing too");
    std::vector<Fact> facts;
    double threshold = kEsdThreshold;
    std::string thresholdFrom = "detector default";
    EsdOptions o;
    if (std::filesystem::exists(path)) {
        auto ws = openWorkspace(ctx);
        FactFilter written;
        written.state = FactState::Written;
        facts = ws->facts(written);
        if (const auto t = ws->meta("scope.threshold")) {
            try {
                threshold = std::stod(*t);
            } catch (const std::exception&) {
                throw UserError("workspace setting scope.threshold is '" + *t + "', not a number");
            }
            thresholdFrom = "workspace setting";
        }
        o.workspacePath = path;
    }
    if (m_threshold > kUnset) {
        threshold = m_threshold;
        thresholdFrom = "--threshold";
    }
    EsdScopeDetector esd(encoder, o);
    esd.reset(facts);
    const DetectorReport r = reportEsd(esd, m_text, threshold);
    DetectorReport isd;
    isd.why = "no model: " + why;
    if (ctx.global.json) {
        nlohmann::json nearest;
        if (r.nearestId) nearest = {{"id", *r.nearestId}, {"text", r.nearestText}, {"similarity", r.score}};
        ctx.out << nlohmann::json{{"text", m_text},          {"detector", esd.name()},
                                  {"threshold", threshold},  {"threshold_from", thresholdFrom},
                                  {"in_scope", r.inScope},   {"score", r.score},
                                  {"nearest_fact", nearest}, {"esd", r.json()},
                                  {"isd", isd.json()}}
                       .dump(2)
                << "\n";
        return 0;
    }
    ctx.out << "text:     " << m_text << "\n"
            << "decision: " << (r.inScope ? "in scope" : "out of scope") << " by " << esd.name() << " (score "
            << fixed3(r.score) << (r.inScope ? " >= " : " < ") << fixed3(threshold) << ", " << thresholdFrom << ")\n";
    printReport(ctx.out, "ESD:  ", r);
    printReport(ctx.out, "ISD:  ", isd);
    return 0;
}

// ---------------------------------------------------------------------------------------

void TrainScopeCommand::setup(CLI::App& app) {
    app.add_option("--data", m_data,
                   "CounterFact-style training data (EasyEdit or ROME schema); default: "
                   "shared/data/counterfact/easyedit-train.json beside the source tree")
        ->check(CLI::ExistingFile);
    app.add_option("--output", m_output, "Model directory to save scope_classifier.safetensors in (default: the model's)");
    app.add_option("--limit", m_limit, "Use only the first N cases")->check(CLI::NonNegativeNumber);
    app.add_option("--facts-per-memory", m_factsPerMemory, "Facts written into each training memory")
        ->check(CLI::Range(1, 100000));
    app.add_option("--iterations", m_iterations, "Gradient steps")->check(CLI::Range(1, 100000));
}

int TrainScopeCommand::execute(Context& ctx) {
    std::string data = m_data;
    if (data.empty()) {
        const auto guess = std::filesystem::path(LARIMAR_SOURCE_DIR) / ".." / "shared" / "data" / "counterfact" /
                           "easyedit-train.json";
        if (!std::filesystem::exists(guess))
            throw UserError("train-scope: no training data given; pass --data FILE (CounterFact, EasyEdit schema)");
        data = guess.lexically_normal().string();
    }
    std::string output = m_output;
    if (output.empty()) output = resolveModelDir(ctx.global);
    if (!std::filesystem::is_directory(output)) throw UserError("train-scope: --output " + output + " is not a directory");
    std::vector<std::string> skipped;
    const auto cases = loadEditCases(data, DatasetFormat::Auto, &skipped);
    auto model = ctx.loadModel();
    ScopeTrainOptions o;
    o.limit = m_limit;
    o.factsPerMemory = m_factsPerMemory;
    o.iterations = m_iterations;
    auto bar = ctx.progress("train-scope");
    const auto r = trainScopeClassifier(*model, cases, o, [&](std::int64_t done, std::int64_t total) {
        if (bar) bar(double(done) / double(total));
    });
    ctx.endProgress();
    const std::string file = (std::filesystem::path(output) / kScopeClassifierFile).string();
    r.classifier.save(file);
    if (ctx.global.json) {
        ctx.out << nlohmann::json{{"data", data},          {"output", file},
                                  {"model", model->id()},  {"positives", r.positives},
                                  {"negatives", r.negatives}, {"train_accuracy", r.trainAccuracy},
                                  {"skipped_records", skipped.size()}, {"seconds", r.seconds}}
                       .dump(2)
                << "\n";
        return 0;
    }
    ctx.out << "trained the internal scope detector of " << model->id() << " on " << r.positives << " positives and "
            << r.negatives << " negatives from " << data << "\n"
            << "  training accuracy " << fixed3(r.trainAccuracy) << ", " << fixed3(r.seconds) << " s\n"
            << "  saved " << file << "\n";
    return 0;
}

} // namespace larimar::cli
