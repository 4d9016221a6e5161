#include "core/eval/counterfact_eval.h"

#include "core/memory/episodic_memory.h"

#include <chrono>
#include <cmath>

namespace larimar {
namespace {

std::string ltrim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\n");
    return b == std::string::npos ? std::string() : s.substr(b);
}

struct PairScore {
    double pNew, pTrue;
};

} // namespace

bool continuationStartsWith(const std::string& generated, const std::string& target) {
    const std::string g = ltrim(generated), t = ltrim(target);
    return !t.empty() && g.compare(0, t.size(), t) == 0;
}

CounterFactSummary evaluateCounterFact(TextModel& model, const std::vector<EditCase>& all,
                                       const CounterFactEvalOptions& o, const std::function<void(int, int)>& progress,
                                       const std::atomic<bool>* cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    const int total = o.limit > 0 ? std::min<int>(o.limit, static_cast<int>(all.size())) : static_cast<int>(all.size());
    const Eigen::MatrixXd reference = model.memoryPrior();
    MemorySettings settings;
    settings.pinv = model.pinv();
    settings.lambda = o.lambda;

    CounterFactSummary s;
    for (int i = 0; i < total; ++i) {
        if (cancel && cancel->load()) break;
        const EditCase& c = all[static_cast<std::size_t>(i)];
        EpisodicMemory memory(Eigen::MatrixXd::Zero(reference.rows(), reference.cols()), reference, settings);
        memory.write(model.encode({c.editText()}));

        auto prompts = std::vector<std::string>{c.prompt};
        const std::size_t np = o.maxParaphrases > 0 ? std::min<std::size_t>(o.maxParaphrases, c.paraphrasePrompts.size())
                                                    : c.paraphrasePrompts.size();
        const std::size_t nn = o.maxNeighbourhood > 0
                                   ? std::min<std::size_t>(o.maxNeighbourhood, c.neighbourhoodPrompts.size())
                                   : c.neighbourhoodPrompts.size();
        prompts.insert(prompts.end(), c.paraphrasePrompts.begin(), c.paraphrasePrompts.begin() + static_cast<std::ptrdiff_t>(np));
        prompts.insert(prompts.end(), c.neighbourhoodPrompts.begin(), c.neighbourhoodPrompts.begin() + static_cast<std::ptrdiff_t>(nn));
        const Eigen::MatrixXd readouts = memory.read(model.encode(prompts)).readout;

        auto scorePair = [&](std::size_t row, const std::string& newT, const std::string& trueT) {
            const Eigen::RowVectorXd latent = readouts.row(static_cast<Eigen::Index>(row));
            return PairScore{std::exp(model.score(prompts[row], " " + newT, latent)),
                             std::exp(model.score(prompts[row], " " + trueT, latent))};
        };

        CaseResult r;
        r.caseId = c.caseId;
        const PairScore e = scorePair(0, c.targetNew, c.targetTrue);
        r.editSuccess = e.pNew > e.pTrue;
        r.editMagnitude = e.pNew - e.pTrue;
        r.paraphraseCount = static_cast<int>(np);
        for (std::size_t k = 0; k < np; ++k) {
            const PairScore p = scorePair(1 + k, c.targetNew, c.targetTrue);
            r.paraphraseSuccess += (p.pNew > p.pTrue) ? 1.0 : 0.0;
            r.paraphraseMagnitude += p.pNew - p.pTrue;
        }
        if (np) {
            r.paraphraseSuccess /= double(np);
            r.paraphraseMagnitude /= double(np);
        }
        r.neighbourhoodCount = static_cast<int>(nn);
        for (std::size_t k = 0; k < nn; ++k) {
            // The neighbourhood prompt's own true answer against the edit's new target.
            const PairScore p = scorePair(1 + np + k, c.targetNew, c.neighbourhoodAnswers[k]);
            r.neighbourhoodSuccess += (p.pTrue > p.pNew) ? 1.0 : 0.0;
            r.neighbourhoodMagnitude += p.pTrue - p.pNew;
        }
        if (nn) {
            r.neighbourhoodSuccess /= double(nn);
            r.neighbourhoodMagnitude /= double(nn);
        }
        if (o.generation) {
            DecodeSettings d;
            d.maxNewTokens = o.generationTokens;
            r.generated = model.generate(c.prompt, Eigen::RowVectorXd(readouts.row(0)), d).text;
            r.generationCorrect = continuationStartsWith(r.generated, c.targetNew);
        }
        s.perCase.push_back(std::move(r));
        if (progress) progress(i + 1, total);
    }

    s.cases = static_cast<int>(s.perCase.size());
    int withPara = 0, withNeigh = 0;
    for (const auto& r : s.perCase) {
        s.editSuccess += r.editSuccess;
        s.editMagnitude += r.editMagnitude;
        s.generationAccuracy += r.generationCorrect;
        if (r.paraphraseCount) {
            ++withPara;
            s.paraphraseSuccess += r.paraphraseSuccess;
            s.paraphraseMagnitude += r.paraphraseMagnitude;
        }
        if (r.neighbourhoodCount) {
            ++withNeigh;
            s.neighbourhoodSuccess += r.neighbourhoodSuccess;
            s.neighbourhoodMagnitude += r.neighbourhoodMagnitude;
        }
    }
    if (s.cases) {
        s.editSuccess /= s.cases;
        s.editMagnitude /= s.cases;
        s.generationAccuracy /= s.cases;
        s.secondsPerCase = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / s.cases;
    }
    if (withPara) {
        s.paraphraseSuccess /= withPara;
        s.paraphraseMagnitude /= withPara;
    }
    if (withNeigh) {
        s.neighbourhoodSuccess /= withNeigh;
        s.neighbourhoodMagnitude /= withNeigh;
    }
    return s;
}

} // namespace larimar
