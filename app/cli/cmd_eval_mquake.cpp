// `larimar eval mquake FILE`: the MQuAKE multi-hop check (core/eval/mquake.h): each case's edits
// written into a fresh memory, then its multi-hop questions, the edits' own questions and the
// chain hop by hop, with and without the memory. Ctrl+C stops after the current case and reports
// the cases done.
#include "app/cli/cmd_eval_experiment.h"

#include "core/eval/datasets.h"
#include "core/eval/mquake.h"
#include "core/model/text_model.h"
#include "core/util/error.h"
#include "core/util/plot.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace larimar::cli {
namespace {

using nlohmann::json;
using namespace evalsupport;

std::atomic<bool> g_stop{false};
extern "C" void onMquakeSignal(int) { g_stop = true; }

/// SIGINT/SIGTERM set g_stop while a run is in progress; the default handlers come back after.
class StopOnSignal {
public:
    StopOnSignal() {
        g_stop = false;
        m_int = std::signal(SIGINT, onMquakeSignal);
        m_term = std::signal(SIGTERM, onMquakeSignal);
    }
    ~StopOnSignal() {
        std::signal(SIGINT, m_int == SIG_ERR ? SIG_DFL : m_int);
        std::signal(SIGTERM, m_term == SIG_ERR ? SIG_DFL : m_term);
    }
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;

private:
    void (*m_int)(int);
    void (*m_term)(int);
};

json answersJson(const std::vector<MquakeAnswer>& answers) {
    json a = json::array();
    for (const auto& x : answers)
        a.push_back({{"prompt", x.prompt}, {"generated", x.generated}, {"new", x.newAnswer}, {"old", x.oldAnswer}});
    return a;
}

json runJson(const MquakeRun& r) {
    if (!r.ran) return json();
    return {{"multi_hop", answersJson(r.multiHop)},
            {"edit_questions", answersJson(r.editQuestions)},
            {"edit_prompts", answersJson(r.editPrompts)},
            {"hops", answersJson(r.hops)}};
}

json orNull(double v) { return std::isnan(v) ? json() : json(v); }

json ratesJson(const MquakeRates& r) {
    if (r.cases == 0) return json();
    return {{"cases", r.cases},
            {"questions", r.questions},
            {"multi_hop_accuracy", orNull(r.multiHop)},
            {"multi_hop_question_accuracy", orNull(r.multiHopQuestion)},
            {"multi_hop_old_answer", orNull(r.multiHopOld)},
            {"multi_hop_old_answer_question", orNull(r.multiHopOldQuestion)},
            {"edits", r.edits},
            {"edit_questions", r.editQuestions},
            {"single_hop_question_accuracy", orNull(r.editQuestion)},
            {"single_hop_question_old_answer", orNull(r.editQuestionOld)},
            {"single_hop_prompt_accuracy", orNull(r.editPrompt)},
            {"single_hop_prompt_old_answer", orNull(r.editPromptOld)},
            {"chains", r.chains},
            {"hops", r.hops},
            {"hop_by_hop_accuracy", orNull(r.chain)},
            {"hop_by_hop_old_answer", orNull(r.chainOld)},
            {"hop_by_hop_all_hops", orNull(r.chainAllHops)},
            {"hop_by_hop_hop_accuracy", orNull(r.chainHop)}};
}

std::string quoted(const std::string& s) {
    std::string q = "\"";
    for (char ch : s) q += (ch == '"') ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
}

class MquakeExperiment : public EvalExperiment {
public:
    void setup(CLI::App& eval) override {
        m_sub = eval.add_subcommand("mquake", "MQuAKE: several edits per case, then multi-hop questions whose answer must "
                                              "follow them (and the chain hop by hop)");
        m_sub->add_option("file", m_file, "MQuAKE file (original schema: requested_rewrite list, questions, new_answer, "
                                          "new_single_hops)")
            ->required()
            ->check(CLI::ExistingFile);
        m_sub->add_option("--limit", m_options.limit, "Use only the first N cases (0: all)")->check(CLI::NonNegativeNumber);
        m_sub->add_flag("--skip-invalid", m_skipInvalid, "Leave out invalid records (counted and reported) instead of refusing the file");
        m_sub->add_option("--csv", m_csv, "Write one row per case to this CSV file");
        m_sub->add_option("--plot", m_plot, "Draw the accuracies to this .png or .svg file");
        m_sub->add_option("--json-out", m_jsonOut, "Also save the JSON results to this file");
        m_sub->add_flag("--no-memory", m_noMemory, "Only the base model: the questions asked with no memory (no edits)");
        m_sub->add_flag("--no-hop-by-hop", m_noHops, "Skip asking the new chain hop by hop");
        m_sub->add_option("--generation-tokens", m_options.generationTokens, "Greedy tokens per question")
            ->capture_default_str()
            ->check(CLI::PositiveNumber);
        m_sub->add_option("--question-template", m_options.questionTemplate,
                          "How questions are asked, {} for the question, e.g. \"Q: {} A:\" (clozes are asked as they are)")
            ->capture_default_str();
        m_sub->add_option("--lambda", m_options.lambda, "Memory regulariser, relative (see EpisodicMemory)")
            ->capture_default_str()
            ->check(CLI::PositiveNumber);
    }
    bool parsed() const override { return m_sub && m_sub->parsed(); }

    int execute(Context& ctx) override {
        json doc{{"experiment", "mquake"}, {"file", m_file}, {"format", "mquake"}};
        std::vector<std::string> skipped;
        const auto cases = loadMquakeCases(m_file, m_skipInvalid ? &skipped : nullptr);
        if (m_skipInvalid) {
            json first = json::array();
            for (std::size_t i = 0; i < skipped.size() && i < 10; ++i) first.push_back(skipped[i]);
            doc["skipped_records"] = {{"count", skipped.size()}, {"first", first}};
            if (!skipped.empty())
                ctx.err << "larimar eval: skipped " << skipped.size() << " invalid record(s); first: " << skipped.front() << "\n";
        }
        if (cases.empty()) throw UserError(m_file + ": no valid records");
        MquakeOptions o = m_options;
        o.memory = !m_noMemory;
        o.base = true;
        o.hopByHop = !m_noHops;
        auto model = ctx.loadModel();
        doc["model"] = {{"id", model->id()}, {"weights_sha256", model->weightsHash()}, {"slots", model->memoryPrior().rows()},
                        {"latent", model->latentSize()}};
        doc["settings"] = {{"limit", o.limit},
                           {"memory", o.memory},
                           {"base", o.base},
                           {"hop_by_hop", o.hopByHop},
                           {"generation_tokens", o.generationTokens},
                           {"question_template", o.questionTemplate},
                           {"lambda", o.lambda},
                           {"scope", "none: every question reads the memory"},
                           {"judge", "first sentence names the answer or an alias (whole words, any case) before the other answer"}};
        doc["field"] = {{"best_multi_hop", 0.57},
                        {"best_multi_hop_method", "retrieval (question decomposition with edits retrieved per hop)"},
                        {"weight_editors_multi_hop_at_most", 0.10},
                        {"paper", "MQuAKE, arXiv 2305.14795"}};

        const auto t0 = std::chrono::steady_clock::now();
        MquakeSummary s;
        {
            StopOnSignal stop;
            s = evaluateMquake(*model, cases, o, progressBar(ctx, "eval mquake"), &g_stop);
        }
        ctx.endProgress();
        doc["cases"] = s.cases;
        doc["cancelled"] = s.cancelled;
        doc["metrics"] = {{"memory", ratesJson(s.edited)}, {"base", ratesJson(s.base)}};
        doc["seconds_per_case"] = s.secondsPerCase;
        json perCase = json::array();
        for (const auto& r : s.perCase)
            perCase.push_back({{"case_id", r.caseId}, {"memory", runJson(r.edited)}, {"base", runJson(r.base)}, {"seconds", r.seconds}});
        doc["per_case"] = perCase;
        doc["seconds_total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!m_csv.empty()) writeCsv(s);
        if (!m_plot.empty()) plot(s, model->id());
        emitJson(ctx, doc, m_jsonOut);
        if (s.cancelled) ctx.err << "larimar eval mquake: stopped after " << s.cases << " case(s); the results cover those\n";
        if (ctx.global.json) return 0;
        printText(ctx.out, s, model->id(), cases, o);
        return 0;
    }

private:
    void printText(std::ostream& out, const MquakeSummary& s, const std::string& modelId, const std::vector<MquakeCase>& cases,
                   const MquakeOptions& o) const {
        out << "MQuAKE multi-hop evaluation of " << modelId << " on " << s.cases << " cases of " << m_file;
        if (!cases.empty())
            out << " (case 1: " << cases.front().edits.size() << " edits, " << cases.front().questions.size() << " questions)";
        out << "\n  each case's edits written into a fresh memory; every question reads it (no scope gate)"
            << (s.cancelled ? "; stopped early by a signal" : "") << "\n";
        const bool mem = s.edited.cases > 0;
        auto cell = [](double newRate, double oldRate) {
            std::string c = pct(newRate);
            if (!std::isnan(oldRate)) c += " (old " + pct(oldRate) + ")";
            return c;
        };
        out << "  " << std::left << std::setw(34) << "answer after the edits" << std::setw(26)
            << (mem ? "with the edits in memory" : "") << "base model (no memory)\n";
        auto row = [&](const std::string& name, double en, double eo, double bn, double bo, bool withOld = true) {
            out << "  " << std::setw(34) << name << std::setw(26) << (mem ? cell(en, withOld ? eo : NAN) : "")
                << cell(bn, withOld ? bo : NAN) << "\n";
        };
        const MquakeRates& e = s.edited;
        const MquakeRates& b = s.base;
        row("multi-hop (case: any question)", e.multiHop, e.multiHopOld, b.multiHop, b.multiHopOld);
        row("multi-hop (per question)", e.multiHopQuestion, e.multiHopOldQuestion, b.multiHopQuestion, b.multiHopOldQuestion);
        row("single hop: the edits' questions", e.editQuestion, e.editQuestionOld, b.editQuestion, b.editQuestionOld);
        row("single hop: the edits' prompts", e.editPrompt, e.editPromptOld, b.editPrompt, b.editPromptOld);
        if (o.hopByHop) {
            const int chains = mem ? e.chains : b.chains;
            out << "  hop by hop (" << chains << " chains; the dataset's decomposition, the model's own answers fed on):\n";
            row("  final answer", e.chain, e.chainOld, b.chain, b.chainOld);
            row("  every hop right", e.chainAllHops, NAN, b.chainAllHops, NAN, false);
            row("  per hop", e.chainHop, NAN, b.chainHop, NAN, false);
        }
        out << "  field (MQuAKE): best multi-hop 57% (retrieval, hop by hop); weight editors at most 10%\n";
        out << "  " << std::fixed << std::setprecision(2) << s.secondsPerCase << " s per case\n";
    }

    void writeCsv(const MquakeSummary& s) const {
        std::ofstream csv(m_csv, std::ios::trunc);
        if (!csv) throw UserError("cannot write " + m_csv);
        csv << "case_id,memory_multi_hop,memory_questions_new,memory_questions_old,memory_edit_questions_new,"
               "memory_edit_prompts_new,memory_hop_by_hop,memory_hops_right,base_multi_hop,base_questions_new,"
               "base_questions_old,base_edit_prompts_new,base_hop_by_hop,seconds,memory_answer,base_answer,memory_last_hop\n";
        auto count = [](const std::vector<MquakeAnswer>& v, bool isNew) {
            int n = 0;
            for (const auto& a : v) n += isNew ? a.newAnswer : a.oldAnswer;
            return n;
        };
        for (const auto& r : s.perCase) {
            const MquakeRun& e = r.edited;
            const MquakeRun& b = r.base;
            auto opt = [](bool ran, int v) { return ran ? std::to_string(v) : std::string(); };
            csv << quoted(r.caseId) << ',' << opt(e.ran, e.multiHopCorrect()) << ',' << opt(e.ran, count(e.multiHop, true))
                << ',' << opt(e.ran, count(e.multiHop, false)) << ',' << opt(e.ran, count(e.editQuestions, true)) << ','
                << opt(e.ran, count(e.editPrompts, true)) << ',' << opt(e.ran && !e.hops.empty(), e.chainCorrect()) << ','
                << opt(e.ran && !e.hops.empty(), count(e.hops, true)) << ',' << opt(b.ran, b.multiHopCorrect()) << ','
                << opt(b.ran, count(b.multiHop, true)) << ',' << opt(b.ran, count(b.multiHop, false)) << ','
                << opt(b.ran, count(b.editPrompts, true)) << ',' << opt(b.ran && !b.hops.empty(), b.chainCorrect()) << ','
                << std::setprecision(4) << r.seconds << ',' << quoted(e.multiHop.empty() ? "" : e.multiHop.front().generated)
                << ',' << quoted(b.multiHop.empty() ? "" : b.multiHop.front().generated) << ','
                << quoted(e.hops.empty() ? "" : e.hops.back().generated) << '\n';
        }
        if (!csv.flush()) throw UserError("cannot write " + m_csv);
    }

    void plot(const MquakeSummary& s, const std::string& modelId) const {
        Chart c;
        c.title = "MQuAKE: " + modelId + ", " + std::to_string(s.cases) + " cases";
        c.yLabel = "new answer (%)";
        c.xLabel = "0 multi-hop, 1 per question, 2 edits' questions, 3 edits' prompts, 4 hop by hop";
        c.yRange = std::make_pair(0.0, 100.0);
        c.xRange = std::make_pair(-0.5, 4.5);
        auto bars = [](const std::string& label, const MquakeRates& r, double shift) {
            Series b{label, {}, {}, Series::Style::Bars};
            const double v[5] = {r.multiHop, r.multiHopQuestion, r.editQuestion, r.editPrompt, r.chain};
            for (int i = 0; i < 5; ++i) {
                b.x.push_back(i + shift);
                b.y.push_back(std::isnan(v[i]) ? NAN : 100 * v[i]);
            }
            return b;
        };
        if (s.edited.cases) c.series.push_back(bars("with the edits in memory", s.edited, -0.15));
        if (s.base.cases) c.series.push_back(bars("base model (no memory)", s.base, 0.15));
        c.horizontalLines.emplace_back(57.0, "field best (retrieval): 57%");
        c.horizontalLines.emplace_back(10.0, "weight editors: <= 10%");
        writeChart(m_plot, c);
    }

    CLI::App* m_sub = nullptr;
    std::string m_file, m_csv, m_plot, m_jsonOut;
    MquakeOptions m_options;
    bool m_skipInvalid = false, m_noMemory = false, m_noHops = false;
};

} // namespace

std::unique_ptr<EvalExperiment> makeEvalMquakeExperiment() { return std::make_unique<MquakeExperiment>(); }

} // namespace larimar::cli
