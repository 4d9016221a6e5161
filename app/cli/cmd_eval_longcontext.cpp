// `larimar eval longcontext FILE`: needle in a haystack (core/editor/longcontext.h). A document
// of CounterFact's true sentences with counterfactual needles at chosen depths is ingested into a
// fresh workspace per length; each needle's prompt is asked with the memory, and of the plain
// decoder with the document's last --window tokens before it. Recall per length and depth.
#include "app/cli/cmd_eval_experiment.h"

#include "app/cli/cmd_editor_support.h"
#include "core/editor/longcontext.h"
#include "core/eval/datasets.h"
#include "core/util/error.h"
#include "core/util/plot.h"

#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

namespace larimar::cli {
namespace {

using nlohmann::json;
using namespace evalsupport;

class LongContextExperiment : public EvalExperiment {
public:
    void setup(CLI::App& eval) override {
        m_sub = eval.add_subcommand("longcontext", "Needle in a haystack: recall of facts at chosen depths of a long "
                                                   "document, from the memory and from the plain decoder's window");
        m_sub->add_option("file", m_common.file, "CounterFact file: needles are its first edits, filler its true facts")
            ->required()
            ->check(CLI::ExistingFile);
        addCommonOptions(*m_sub, m_common);
        m_sub->add_option("--lengths", m_lengths, "Document lengths in the decoder's tokens")->capture_default_str();
        m_sub->add_option("--depths", m_depths, "Where the needles sit (0: start, 1: end)")->capture_default_str();
        m_sub->add_option("--window", m_window, "Tokens of the document the plain decoder sees before the question")
            ->capture_default_str()
            ->check(CLI::Range(16, 1 << 20));
        m_sub->add_flag("--no-plain", m_noPlain, "Skip the plain decoder");
        m_sub->add_option("--backend", m_backend, "Memory of the scratch workspaces (paged or larimar)")
            ->capture_default_str()
            ->check(CLI::IsMember({"paged", "larimar"}));
    }
    bool parsed() const override { return m_sub && m_sub->parsed(); }

    int execute(Context& ctx) override {
        json loaded;
        const auto cases = loadCases(ctx, m_common, detectFormat(m_common.file), loaded);
        LongContextOptions o;
        o.lengths = parseSizes(m_lengths, "--lengths");
        o.depths = parseFractions(m_depths, "--depths");
        o.window = m_window;
        o.plain = !m_noPlain;
        o.backend.kind = m_backend;
        auto model = ctx.loadModel();
        o.scope = [&ctx, model](const std::string& path) { return makeScopeDetector(scopeSetup(ctx, model, path)); };
        const LongContextResult r = evaluateLongContext(model, cases, o, progressBar(ctx, "eval longcontext"));
        ctx.endProgress();
        // Recall per length (over depths), memory and plain decoder.
        std::map<int, std::pair<int, int>> memory, plain;
        std::map<int, int> count;
        json needles = json::array();
        for (const auto& n : r.needles) {
            ++count[n.tokens];
            memory[n.tokens].first += n.memoryRecalled;
            plain[n.tokens].first += n.plainRecalled;
            needles.push_back({{"tokens", n.tokens},
                               {"depth", n.depth},
                               {"needle", n.needle},
                               {"question", n.question},
                               {"target", n.target},
                               {"in_scope", n.inScope},
                               {"memory_answer", n.memoryAnswer},
                               {"memory_recalled", n.memoryRecalled},
                               {"inside_window", n.insideWindow},
                               {"plain_answer", o.plain ? json(n.plainAnswer) : json()},
                               {"plain_recalled", o.plain ? json(n.plainRecalled) : json()}});
        }
        json perLength = json::array();
        for (const auto& [t, n] : count)
            perLength.push_back({{"tokens", t},
                                 {"needles", n},
                                 {"memory_recall", double(memory[t].first) / n},
                                 {"plain_recall", o.plain ? json(double(plain[t].first) / n) : json()}});
        json doc{{"experiment", "longcontext"},
                 {"file", m_common.file},
                 {"model", model->id()},
                 {"backend", describe(o.backend)},
                 {"window", o.window},
                 {"sentences_longest", r.sentences},
                 {"per_length", perLength},
                 {"needles", needles},
                 {"seconds_total", r.secondsIngest}};
        if (!m_common.plot.empty()) {
            Chart c;
            c.title = "Needle in a haystack: " + model->id();
            c.xLabel = "document length (tokens)";
            c.yLabel = "recall (%)";
            c.logX = true;
            c.yRange = std::make_pair(0.0, 100.0);
            Series mem{"memory (" + describe(o.backend) + ")", {}, {}, Series::Style::LineAndPoints};
            Series dec{"plain decoder, last " + std::to_string(o.window) + " tokens", {}, {}, Series::Style::LineAndPoints};
            for (const auto& [t, n] : count) {
                mem.x.push_back(t), mem.y.push_back(100.0 * memory[t].first / n);
                dec.x.push_back(t), dec.y.push_back(100.0 * plain[t].first / n);
            }
            c.series.push_back(mem);
            if (o.plain) c.series.push_back(dec);
            writeChart(m_common.plot, c);
        }
        emitJson(ctx, doc, m_common.jsonOut);
        if (ctx.global.json) return 0;
        ctx.out << "Needle in a haystack, " << model->id() << ", memory " << describe(o.backend) << "; plain decoder: the "
                << "document's last " << o.window << " tokens\n";
        ctx.out << "  " << std::left << std::setw(10) << "tokens" << std::setw(8) << "depth" << std::setw(10) << "memory"
                << std::setw(10) << "plain" << "needle\n";
        for (const auto& n : r.needles)
            ctx.out << "  " << std::setw(10) << n.tokens << std::setw(8) << n.depth << std::setw(10)
                    << (n.memoryRecalled ? "recalled" : "missed") << std::setw(10)
                    << (!o.plain ? "-" : n.plainRecalled ? "recalled" : (n.insideWindow ? "missed" : "outside"))
                    << n.needle << "\n";
        for (const auto& [t, n] : count)
            ctx.out << "  recall at " << t << " tokens: memory " << pct(double(memory[t].first) / n)
                    << (o.plain ? ", plain decoder " + pct(double(plain[t].first) / n) : std::string()) << "\n";
        return 0;
    }

private:
    CLI::App* m_sub = nullptr;
    CommonOptions m_common;
    std::string m_lengths = "4096,16384,65536", m_depths = "0.1,0.5,0.9", m_backend = "paged";
    int m_window = 2048;
    bool m_noPlain = false;
};

} // namespace

std::unique_ptr<EvalExperiment> makeEvalLongContextExperiment() { return std::make_unique<LongContextExperiment>(); }

} // namespace larimar::cli
