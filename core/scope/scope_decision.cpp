#include "core/scope/scope_decision.h"

#include "core/scope/sentence_split.h"
#include "core/util/error.h"

#include <cmath>
#include <string>

namespace larimar {

ScopeDecision decideScope(const NearestFactIndex& index, const std::vector<std::vector<float>>& sentenceEmbeddings,
                          float threshold) {
    if (!(threshold >= -1.0f && threshold <= 1.0f))
        throw UserError("scope threshold must be a cosine similarity between -1 and 1, got " + std::to_string(threshold));
    ScopeDecision decision;
    if (index.empty()) return decision;
    for (std::size_t i = 0; i < sentenceEmbeddings.size(); ++i) {
        const auto n = index.nearest(sentenceEmbeddings[i]);
        if (n && (!decision.nearestFactId || n->cosine > decision.score)) {
            decision.score = n->cosine;
            decision.nearestFactId = n->id;
            decision.sentence = static_cast<int>(i);
        }
    }
    decision.inScope = decision.nearestFactId.has_value() && decision.score >= threshold;
    return decision;
}

ScopeDecision decideScope(const SentenceEncoder& encoder, const NearestFactIndex& index, std::string_view query,
                          float threshold) {
    if (index.empty()) return decideScope(index, {}, threshold);
    return decideScope(index, encoder.embed(splitSentences(query)), threshold);
}

} // namespace larimar
