#include "core/eval/counterfact_eval.h"

#include "core/eval/edit_eval.h"

namespace larimar {
namespace {

std::string ltrim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\n");
    return b == std::string::npos ? std::string() : s.substr(b);
}

} // namespace

bool continuationStartsWith(const std::string& generated, const std::string& target) {
    const std::string g = ltrim(generated), t = ltrim(target);
    return !t.empty() && g.compare(0, t.size(), t) == 0;
}

CounterFactSummary evaluateCounterFact(TextModel& model, const std::vector<EditCase>& cases,
                                       const CounterFactEvalOptions& o, const std::function<void(int, int)>& progress,
                                       const std::atomic<bool>* cancel) {
    EditEvalOptions e;
    e.metric = EditMetric::CounterFact;
    e.mode = EditMode::Single;
    e.limit = o.limit;
    e.maxParaphrases = o.maxParaphrases;
    e.maxNeighbourhood = o.maxNeighbourhood;
    e.generation = o.generation;
    e.generationTokens = o.generationTokens;
    e.lambda = o.lambda;
    e.locality = o.locality;
    e.stripParaphrasePrefix = o.stripParaphrasePrefix;
    return evaluateEdits(model, cases, e, progress, cancel);
}

} // namespace larimar
