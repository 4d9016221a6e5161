// `larimar eval latents FILE`: what the encoder writes into the memory (core/eval/latent_stats.h).
// A model developer's check: are fact latents told apart, does a prompt find its fact, does the
// answer change a fact's latent at all.
#include "app/cli/cmd_eval_experiment.h"

#include "core/eval/latent_stats.h"

#include <cmath>
#include <iomanip>
#include <ostream>

namespace larimar::cli {
namespace {

using nlohmann::json;
using namespace evalsupport;

class LatentsExperiment : public EvalExperiment {
public:
    void setup(CLI::App& eval) override {
        m_sub = eval.add_subcommand("latents", "What the encoder writes: are fact latents told apart, does a prompt find "
                                               "its fact, does the answer change a latent");
        m_sub->add_option("file", m_common.file, "CounterFact (ROME or EasyEdit) or zsRE file")
            ->required()
            ->check(CLI::ExistingFile);
        m_common.limit = 500; // 1,500 encodings: seconds, and enough for stable means
        m_sub->add_option("--limit", m_common.limit, "Use only the first N cases (after --shuffle); 0: all")
            ->capture_default_str()
            ->check(CLI::NonNegativeNumber);
        m_sub->add_option("--seed", m_common.seed, "Seed of --shuffle")->capture_default_str();
        m_sub->add_flag("--shuffle", m_common.shuffle, "Shuffle the cases with --seed before taking --limit");
        m_sub->add_flag("--skip-invalid", m_common.skipInvalid, "Leave out invalid records (counted) instead of stopping");
        m_sub->add_option("--json-out", m_common.jsonOut, "Also write the JSON document to this file");
    }
    bool parsed() const override { return m_sub && m_sub->parsed(); }

    int execute(Context& ctx) override {
        json doc{{"experiment", "latents"}, {"file", m_common.file}};
        const auto all = loadCases(ctx, m_common, detectFormat(m_common.file), doc);
        const auto cases = selectCases(all, m_common.limit, m_common.shuffle, m_common.seed);
        auto model = ctx.loadModel();
        const LatentStats s = measureLatents(*model, cases);
        doc["model"] = {{"id", model->id()}, {"weights_sha256", model->weightsHash()}, {"latent", model->latentSize()}};
        doc["settings"] = {{"limit", m_common.limit}, {"shuffle", m_common.shuffle}, {"seed", m_common.seed}};
        doc["cases"] = s.cases;
        doc["stats"] = {{"mean_norm", s.meanNorm},
                        {"pair_cosine", s.pairCosine},
                        {"centred_pair_cosine", s.centredPairCosine},
                        {"shared_fraction", s.sharedFraction},
                        {"spread", s.spread},
                        {"prompt_own_cosine", s.promptOwnCosine},
                        {"prompt_other_cosine", s.promptOtherCosine},
                        {"retrieval_top1", s.retrievalTop1},
                        {"answer_share", s.answerShare},
                        {"answer_identified", std::isnan(s.answerIdentified) ? json() : json(s.answerIdentified)},
                        {"answer_cases", s.answerCases},
                        {"answer_classes", s.answerClasses}};
        emitJson(ctx, doc, m_common.jsonOut);
        if (ctx.global.json) return 0;
        auto row = [&](const char* what, double v, const char* note) {
            ctx.out << "  " << std::left << std::setw(44) << what << std::right << std::setw(9) << std::fixed
                    << std::setprecision(4) << v << "   " << note << "\n";
        };
        ctx.out << "Latents of " << model->id() << " on " << s.cases << " cases of " << m_common.file << "\n";
        row("mean |z| of a fact", s.meanNorm, "");
        row("mean cosine between two facts", s.pairCosine, "near 1: every fact writes almost the same vector");
        row("  the same around the facts' mean", s.centredPairCosine, "");
        row("share of |z|^2 all facts have in common", s.sharedFraction, "");
        row("spread (std over facts, mean over dims)", s.spread, "");
        row("cosine of a prompt with its own fact", s.promptOwnCosine, "");
        row("cosine of a prompt with other facts", s.promptOtherCosine, "");
        row("prompts nearest to their own fact", s.retrievalTop1, "fraction");
        row("answer share", s.answerShare, "|z(p_i + a_j) - z(p_i + a_i)| / |z_j - z_i|; 0: the answer changes nothing");
        if (s.answerCases > 0) {
            const std::string note = "of " + std::to_string(s.answerCases) + " cases whose answer has 3 or more; " +
                                     std::to_string(s.answerClasses) + " answers, chance about " +
                                     pct(1.0 / s.answerClasses);
            row("answer named from z(fact) - z(prompt)", s.answerIdentified, note.c_str());
        } else {
            ctx.out << "  answer named from z(fact) - z(prompt): n/a (no answer has 3 cases; raise --limit)\n";
        }
        return 0;
    }

private:
    CLI::App* m_sub = nullptr;
    CommonOptions m_common;
};

} // namespace

std::unique_ptr<EvalExperiment> makeEvalLatentsExperiment() { return std::make_unique<LatentsExperiment>(); }

} // namespace larimar::cli
