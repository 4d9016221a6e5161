#pragma once
/// The single-edit CounterFact/zsRE protocol of the public counterfact_eval.py (LARIMAR.md
/// "Evaluation"): per case a fresh memory holding one written sentence "prompt target_new", then
///   edit success          P(target_new) > P(target_true) on the prompt,
///   paraphrase success    the same on each paraphrase prompt,
///   neighbourhood success P(target_true) > P(target_new) on each neighbourhood prompt
///                         (zsRE: the locality answer's token accuracy is not this; see below),
/// where P is exp(mean token log-probability) of " target" after the prompt, conditioned on the
/// memory's readout for the prompt's encoding. Magnitudes are the mean differences of P.
/// Also the greedy-generation accuracy: the continuation of the prompt starts with target_new;
/// and generation-judged success as the WILD evaluation (arXiv 2502.11177) judges an edit: the
/// free greedy continuation of the edit prompt and of each paraphrase, not a teacher-forced
/// score, names the new answer in its first sentence before the old one (continuationNames).
/// Torch-free: runs on any TextModel.
#include "core/eval/datasets.h"
#include "core/model/text_model.h"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace larimar {

struct CaseResult {
    std::string caseId;
    bool editSuccess = false;
    double editMagnitude = 0;          ///< P(new) - P(true) on the prompt
    double paraphraseSuccess = 0;      ///< fraction of paraphrase prompts with P(new) > P(true)
    double paraphraseMagnitude = 0;
    double neighbourhoodSuccess = 0;   ///< fraction of neighbourhood prompts with P(true) > P(new)
    double neighbourhoodMagnitude = 0; ///< P(true) - P(new)
    bool generationCorrect = false;    ///< greedy continuation starts with target_new
    std::string generated;
    /// Generation-judged (WILD): the edit prompt's continuation names target_new
    /// (continuationNames); the fraction of paraphrase prompts whose continuation does.
    bool judgedEdit = false;
    double judgedParaphrase = 0;
    int paraphraseCount = 0, neighbourhoodCount = 0;
    /// Fraction of neighbourhood prompts whose greedy continuation is the same with the edit as
    /// without it ("output unchanged"); localityCount = 0 when not measured.
    double locality = 0;
    int localityCount = 0;
    /// zsRE token-level accuracies (edit, rephrase, locality answer); tokens counted in *Tokens.
    double editTokenAccuracy = 0, paraphraseTokenAccuracy = 0, neighbourhoodTokenAccuracy = 0;
    int editTokens = 0, paraphraseTokens = 0, neighbourhoodTokens = 0;
    /// Scope gating (EditEvalOptions::scope): whether a gate decided, and how many of the case's
    /// queries it put in scope (then read the memory): the edit prompt (0 or 1), paraphrase and
    /// neighbourhood prompts. Without a gate they stay 0.
    bool scoped = false;
    int editInScope = 0, paraphraseInScope = 0, neighbourhoodInScope = 0;
    int batch = 0;                     ///< batch mode: which group the case was written with
    double seconds = 0;                ///< evaluation time of this case (not the write)
};

struct CounterFactSummary {
    int cases = 0;
    double editSuccess = 0, editMagnitude = 0;
    double paraphraseSuccess = 0, paraphraseMagnitude = 0;
    double neighbourhoodSuccess = 0, neighbourhoodMagnitude = 0;
    double generationAccuracy = 0;
    /// Generation-judged success (WILD): edit prompts, and paraphrase prompts (mean over cases
    /// with paraphrases; NaN without generation or paraphrases).
    double judgedEditSuccess = 0, judgedParaphraseSuccess = 0;
    double secondsPerCase = 0;
    std::vector<CaseResult> perCase;
    double locality = 0;               ///< mean over cases with localityCount > 0
    double editTokenAccuracy = 0, paraphraseTokenAccuracy = 0, neighbourhoodTokenAccuracy = 0; ///< zsRE
    double secondsPerEdit = 0;         ///< encode + memory write of one edit
    int batchSize = 1;
    /// Scope gating: true when a gate decided (every case scoped). Query counts (cases,
    /// paraphrase and neighbourhood prompts) and how many of each were in scope (0 unscoped).
    bool scoped = false;
    int editQueries = 0, paraphraseQueries = 0, neighbourhoodQueries = 0;
    int editInScope = 0, paraphraseInScope = 0, neighbourhoodInScope = 0;
};

struct CounterFactEvalOptions {
    int limit = 0;                   ///< 0: all cases
    int maxParaphrases = 0;          ///< 0: all
    int maxNeighbourhood = 0;        ///< 0: all
    bool generation = true;          ///< also run greedy generation
    int generationTokens = 8;
    double lambda = 1e-3;            ///< memory regulariser (relative; see EpisodicMemory)
    bool locality = false;           ///< also "output unchanged" on neighbourhood prompts (2 generations each)
    bool stripParaphrasePrefix = false; ///< ROME schema: keep the text after the last ". " (public code)
};

/// Runs the protocol (evaluateEdits in core/eval/edit_eval.h, Single mode, CounterFact
/// metrics). progress(done, total) after each case; *cancel stops early (the summary
/// then covers the cases done). Cost per case: 1 + P + N encodings and 2 (1 + P + N) scores.
CounterFactSummary evaluateCounterFact(TextModel& model, const std::vector<EditCase>& cases,
                                       const CounterFactEvalOptions& options,
                                       const std::function<void(int, int)>& progress = {},
                                       const std::atomic<bool>* cancel = nullptr);

/// True if `generated` (a continuation) starts with target, ignoring leading spaces.
bool continuationStartsWith(const std::string& generated, const std::string& target);

/// The WILD judgement of a free continuation: its first sentence (up to the first ". ", "\n",
/// or the end) names `target` as whole words, ignoring case, and does not name `other` (when
/// given) before it. "Rome, France." names Rome; "Paris, not Rome" does not (Paris first).
bool continuationNames(const std::string& generated, const std::string& target, const std::string& other = {});

} // namespace larimar
