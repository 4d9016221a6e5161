// `larimar eval forget FILE`: the paper's selective-forgetting table (core/eval/edit_eval.h
// evaluateForget) at N = K and N = 2K facts, or the sizes given with --n.
#include "app/cli/cmd_eval_experiment.h"

#include "core/eval/datasets.h"
#include "core/model/text_model.h"
#include "core/util/error.h"
#include "core/util/plot.h"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <ostream>

namespace larimar::cli {
namespace {

using nlohmann::json;
using namespace evalsupport;

class ForgetExperiment : public EvalExperiment {
public:
    void setup(CLI::App& eval) override {
        m_sub = eval.add_subcommand("forget", "Selective forgetting: write N facts, forget some, recall of forgotten and kept facts");
        m_sub->add_option("file", m_common.file, "CounterFact (ROME or EasyEdit) or zsRE file: the facts' edit sentences")
            ->required()
            ->check(CLI::ExistingFile);
        addCommonOptions(*m_sub, m_common);
        m_sub->get_option("--limit")->description("Evaluate at most N forgotten and N kept facts per size (0: all)");
        m_sub->add_option("--n", m_sizes, "Facts written, e.g. --n 128,256 (default: K and 2K, the paper's table)")
            ->delimiter(',')
            ->check(CLI::PositiveNumber);
        m_sub->add_option("--forget-fraction", m_fraction, "Fraction of the written facts forgotten")->capture_default_str()->check(CLI::Range(0.0, 1.0));
    }
    bool parsed() const override { return m_sub && m_sub->parsed(); }

    int execute(Context& ctx) override {
        const DatasetFormat format = detectFormat(m_common.file);
        json loaded;
        const auto cases = loadCases(ctx, m_common, format, loaded);
        EditEvalOptions o;
        o.metric = format == DatasetFormat::Zsre ? EditMetric::Zsre : EditMetric::CounterFact;
        o.seed = m_common.seed;
        o.shuffle = m_common.shuffle;
        o.generation = !m_common.noGeneration;
        o.locality = false;
        o.lambda = m_common.lambda;
        o.zsreNqPrefix = format == DatasetFormat::Zsre;
        std::string unit = "word";
        auto model = ctx.loadModel();
        if (o.metric == EditMetric::Zsre) o.splitTokens = modelSplitter(model, unit);
        const int k = static_cast<int>(model->memoryPrior().rows());
        std::vector<int> sizes = m_sizes.empty() ? std::vector<int>{k, 2 * k} : m_sizes;

        json settings = settingsJson(o, unit);
        settings["forget_fraction"] = m_fraction;
        settings["max_eval"] = m_common.limit;
        settings["sizes"] = sizes;
        settings.erase("locality");
        json doc{{"experiment", "forget"},
                 {"file", m_common.file},
                 {"format", formatName(format)},
                 {"metric", editMetricName(o.metric)},
                 {"model", {{"id", model->id()}, {"weights_sha256", model->weightsHash()}, {"slots", k}, {"latent", model->latentSize()}}},
                 {"settings", settings},
                 {"paper", {{"N=K", {{"forgotten_recall", 0.001}, {"kept_recall", 0.997}}},
                            {"N=2K", {{"forgotten_recall", 0.02}, {"kept_recall", 0.79}}},
                            {"model", "Larimar-1.3B, CounterFact"}}}};
        if (loaded.contains("skipped_records")) doc["skipped_records"] = loaded["skipped_records"];
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<ForgetResult> results;
        int before = 0, total = 0;
        for (int n : sizes) {
            const int f = std::clamp(static_cast<int>(std::lround(m_fraction * n)), 1, std::max(1, n - 1));
            const int cap = m_common.limit > 0 ? m_common.limit : n;
            total += 2 * std::min(f, cap) + std::min(n - f, cap);
        }
        const auto bar = progressBar(ctx, "eval forget");
        for (int n : sizes) {
            ForgetOptions f;
            f.facts = n;
            f.forgetFraction = m_fraction;
            f.maxEval = m_common.limit;
            ForgetResult r = evaluateForget(*model, cases, o, f, [&](int done, int) { if (bar) bar(before + done, total); });
            before += 2 * r.evaluatedForgotten + r.evaluatedKept;
            results.push_back(std::move(r));
        }
        ctx.endProgress();

        auto v = [](double x) { return std::isnan(x) ? json() : json(x); };
        json rows = json::array();
        std::vector<CaseResult> all;
        std::vector<std::string> nCol, forgottenCol;
        for (const auto& r : results) {
            rows.push_back({{"facts", r.facts},
                            {"facts_over_slots", double(r.facts) / r.slots},
                            {"forgotten", r.forgotten},
                            {"kept", r.kept},
                            {"evaluated_forgotten", r.evaluatedForgotten},
                            {"evaluated_kept", r.evaluatedKept},
                            {"forgotten_recall_before", v(r.forgottenRecallBefore)},
                            {"forgotten_recall", v(r.forgottenRecall)},
                            {"kept_recall", v(r.keptRecall)},
                            {"forgotten_generation", o.generation ? v(r.forgottenGeneration) : json()},
                            {"kept_generation", o.generation ? v(r.keptGeneration) : json()},
                            {"seconds_write", r.secondsWrite},
                            {"seconds_forget", r.secondsForget},
                            {"seconds_per_edit", r.facts ? r.secondsWrite / r.facts : 0.0}});
            for (std::size_t i = 0; i < r.perCase.size(); ++i) {
                all.push_back(r.perCase[i]);
                nCol.push_back(std::to_string(r.facts));
                forgottenCol.push_back(r.perCaseForgotten[i] ? "1" : "0");
            }
        }
        doc["rows"] = rows;
        doc["seconds_total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!m_common.csv.empty()) writeCaseCsv(m_common.csv, all, {{"facts", nCol}, {"forgotten", forgottenCol}});
        if (!m_common.plot.empty()) plot(results, model->id());
        emitJson(ctx, doc, m_common.jsonOut);
        if (ctx.global.json) return 0;
        ctx.out << "Selective forgetting with " << model->id() << " (K = " << k << " slots) on " << m_common.file << ", "
                << pct(m_fraction) << " of the facts forgotten\n";
        ctx.out << "  " << std::left << std::setw(8) << "N" << std::setw(12) << "forgotten" << std::setw(8) << "kept"
                << std::setw(26) << "recall forgotten (before)" << std::setw(14) << "recall kept" << "paper (Larimar-1.3B)\n";
        for (const auto& r : results) {
            std::string paper;
            if (r.facts == k) paper = "0.1% / 99.7%";
            if (r.facts == 2 * k) paper = "2% / 79%";
            ctx.out << "  " << std::setw(8) << r.facts << std::setw(12) << r.forgotten << std::setw(8) << r.kept << std::setw(26)
                    << (pct(r.forgottenRecall) + " (" + pct(r.forgottenRecallBefore) + ")") << std::setw(14) << pct(r.keptRecall)
                    << paper << "\n";
        }
        return 0;
    }

private:
    void plot(const std::vector<ForgetResult>& results, const std::string& modelId) const {
        Chart c;
        c.title = "Selective forgetting: " + modelId;
        c.xLabel = "facts written / slots (N / K)";
        c.yLabel = "recall (%)";
        c.yRange = std::make_pair(0.0, 100.0);
        Series f{"forgotten facts", {}, {}, Series::Style::LineAndPoints}, k{"kept facts", {}, {}, Series::Style::LineAndPoints};
        for (const auto& r : results) {
            const double x = double(r.facts) / r.slots;
            f.x.push_back(x), f.y.push_back(100 * r.forgottenRecall);
            k.x.push_back(x), k.y.push_back(100 * r.keptRecall);
        }
        Series pf{"paper: forgotten", {1, 2}, {0.1, 2}, Series::Style::Points};
        Series pk{"paper: kept", {1, 2}, {99.7, 79}, Series::Style::Points};
        c.series = {f, k, pf, pk};
        double maxX = 2;
        for (double x : f.x) maxX = std::max(maxX, x);
        c.xRange = std::make_pair(0.5, maxX + 0.5); // the points sit inside, not on the frame
        writeChart(m_common.plot, c);
    }

    CLI::App* m_sub = nullptr;
    CommonOptions m_common;
    std::vector<int> m_sizes;
    double m_fraction = 0.5;
};

} // namespace

std::unique_ptr<EvalExperiment> makeEvalForgetExperiment() { return std::make_unique<ForgetExperiment>(); }

} // namespace larimar::cli
