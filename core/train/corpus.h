#pragma once
/// What the bundled model learns from: knowledge-editing cases (CounterFact and zsRE train
/// splits, loaded with core/eval/datasets.h) and plain English for the language-model term
/// (WordNet glosses from Debian's wordnet-base). Torch-free.
#include "core/eval/datasets.h"

#include <string>
#include <vector>

namespace larimar {

struct CorpusSources {
    std::vector<std::string> editFiles; ///< CounterFact (ROME/EasyEdit) or zsRE files
    std::string wordnetDir;             ///< e.g. /usr/share/wordnet; empty: no glosses
    std::size_t maxPlainSentences = 200000;
};

struct TrainingCorpus {
    std::vector<EditCase> cases;
    std::vector<std::string> plainText;
    std::vector<std::string> skipped; ///< invalid records left out, with the reason

    /// Loads every source; throws UserError naming a missing or malformed file.
    static TrainingCorpus load(const CorpusSources& sources);
    /// Every text the model will see (facts, prompts, answers, plain text), for BPE training.
    std::vector<std::string> allTexts() const;
};

/// Sentences from WordNet's data.{noun,verb,adj,adv}: "A dog is a member of the genus Canis."
/// and the quoted usage examples. Deterministic order; at most `limit`.
std::vector<std::string> loadWordNetSentences(const std::string& dir, std::size_t limit);

} // namespace larimar
