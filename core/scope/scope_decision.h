#pragma once
/// The external scope detector's decision: is a query about a stored fact? Score = the best
/// cosine similarity between any sentence of the query and its nearest stored fact; in scope
/// when score >= threshold (default 0.7, the public Larimar code's 1 - cos <= 0.3). An empty
/// index is out of scope for every query. No libtorch in this header.
#include "core/scope/nearest_fact_index.h"
#include "core/scope/sentence_encoder.h"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace larimar {

inline constexpr float kDefaultScopeThreshold = 0.7f;

struct ScopeDecision {
    bool inScope = false;
    float score = -1.0f;                        ///< best cosine; -1 when nothing was compared
    std::optional<std::int64_t> nearestFactId;  ///< the fact behind score
    int sentence = -1;                          ///< which sentence of the query gave score
};

/// Decides from the embeddings of a query's sentences. O(sentences * index size * dimension).
/// Throws UserError for a threshold outside [-1, 1] or embeddings of the wrong length.
ScopeDecision decideScope(const NearestFactIndex& index, const std::vector<std::vector<float>>& sentenceEmbeddings,
                          float threshold = kDefaultScopeThreshold);

/// Splits query into sentences (splitSentences), embeds them and decides. Costs one embed()
/// call (about 1-2 ms per sentence) plus the index search; nothing is embedded when the index
/// is empty.
ScopeDecision decideScope(const SentenceEncoder& encoder, const NearestFactIndex& index, std::string_view query,
                          float threshold = kDefaultScopeThreshold);

} // namespace larimar
