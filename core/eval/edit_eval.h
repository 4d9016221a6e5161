#pragma once
/// The Larimar paper's knowledge-editing experiments on any TextModel (LARIMAR.md "Evaluation",
/// "Paper figures"): single edits, batches of edits written together, sequential edits into one
/// memory, and selective forgetting. Torch-free; each call is synchronous, reports progress
/// through a callback and stops early when *cancel becomes true (the result then covers the work
/// done), so the CLI and the GUI's worker thread run the same code.
///
/// Metrics, exactly as the public counterfact_eval.py computes them (per case, then the mean
/// over cases):
///  - CounterFact: with NLL = mean token negative log-likelihood of " target" after the prompt,
///    conditioned on the memory readout for the prompt's encoding, and P = exp(-NLL):
///      edit / paraphrase success    NLL(new) < NLL(true), i.e. P(new) > P(true)
///      neighbourhood success        NLL(true) < NLL(new) (the edit's two targets; CounterFact's
///                                   neighbourhood prompts share the edit's true answer)
///      magnitudes                   mean of P(new) - P(true) (neighbourhood: P(true) - P(new))
///    The public code keeps only the text after the last ". " of each paraphrase prompt (in
///    CounterFact they start with unrelated generated text, in both the ROME and the EasyEdit
///    files): stripParaphrasePrefix, which the CLI sets for CounterFact files.
///  - zsRE: token-level accuracy. The answer " target" is split into tokens t_1..t_n; token i
///    counts as correct when the greedy next token after prompt + t_1..t_{i-1}, conditioned on
///    the readout for the encoding of that same text, is t_i. Edit (prompt), paraphrase (the
///    rephrase) and locality ("nq question: " + loc + "?" with the answer loc_ans).
///  - Both: generation accuracy (the greedy continuation of the prompt starts with the target)
///    and locality as "output unchanged by the edit": the greedy continuation of each
///    neighbourhood prompt is the same with the edited memory as with no edit (zero readout;
///    with a scope gate, no latent: what the editor answers while nothing is written).
///
/// Scope gating (EditEvalOptions::scope, the Larimar paper's scope detector, on by default in
/// `larimar eval counterfact|zsre`): before a query prompt reads the memory, the gate is asked
/// whether the prompt is in scope of the facts written into that memory (single: the case's
/// fact; batch: its batch; sequential: every edit written so far). Out of scope the prompt is
/// scored and continued with no latent (std::nullopt), exactly as Editor::query answers it; in
/// scope with the memory readout. One decision per prompt: the edit prompt (also its
/// generation), each paraphrase, each neighbourhood prompt (also its locality generations);
/// zsRE decides on the prompt and applies it to every teacher-forced prefix of the answer.
#include "core/eval/counterfact_eval.h"
#include "core/memory/episodic_memory.h"
#include "core/memory/memory_backend.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace larimar {

enum class EditMetric { CounterFact, Zsre };
enum class EditMode { Single, Batch, Sequential };

const char* editMetricName(EditMetric metric);
const char* editModeName(EditMode mode);

/// Splits " answer" into the model's tokens (their texts, concatenating to the input). The CLI
/// passes the model's BPE tokenizer; without one, whitespace-separated words are the tokens.
using TokenSplitter = std::function<std::vector<std::string>(const std::string& text)>;
/// The fallback splitter: " a b" -> {" a", " b"} (each word with the spaces before it).
std::vector<std::string> splitWords(const std::string& text);

/// progress(done, total): units are cases (single/batch), edits (sequential) or facts (forget).
using EvalProgress = std::function<void(int done, int total)>;

/// The scope gate of the memory reads (see the top of this file). core/scope/scope_eval.h
/// adapts the editor's ScopeDetector to it (DetectorEditScope), so the evaluation and the
/// product decide scope alike; tests may supply their own.
class EditScope {
public:
    virtual ~EditScope() = default;
    /// The queries that follow read `memory`, which holds no fact yet (it outlives them).
    virtual void reset(MemoryBackend& memory) = 0;
    /// These edit texts were just written into that memory, in this order.
    virtual void added(const std::vector<std::string>& facts) = 0;
    /// Whether prompt is in scope of the facts added since reset().
    virtual bool inScope(const std::string& prompt) = 0;
    /// What reports show, e.g. "esd hybrid, threshold 0.56".
    virtual std::string description() const = 0;
};

struct EditEvalOptions {
    EditMetric metric = EditMetric::CounterFact;
    EditMode mode = EditMode::Single;
    int limit = 0;                ///< use the first N cases (after shuffling); 0: all
    bool shuffle = false;         ///< shuffle the cases with `seed` before taking `limit`
    std::uint64_t seed = 1;       ///< every random choice of a run (shuffle, forget subset)
    int batchSize = 1;            ///< Batch: edits written together into one fresh memory
    int maxEval = 0;              ///< Single/Batch: evaluate at most this many cases in all, spread
                                  ///< evenly over the batches (all written in full); 0: all
    int every = 1;                ///< Sequential: measure retention after every k edits
    int unrelated = 20;           ///< Sequential: held-out cases whose neighbourhood prompts form
                                  ///< the test-retention set (taken after the edited cases)
    int maxParaphrases = 0;       ///< 0: all
    int maxNeighbourhood = 0;     ///< 0: all
    bool generation = true;       ///< greedy-generation accuracy of the edit prompt
    bool locality = true;         ///< "output unchanged" on the neighbourhood prompts (2 generations each)
    int generationTokens = 8;
    bool stripParaphrasePrefix = false; ///< CounterFact paraphrases (see above)
    bool zsreAnswerTarget = false; ///< zsRE: edit towards answers[0] (public code) instead of alt
    bool zsreNqPrefix = true;     ///< zsRE: locality prompt "nq question: " + loc + "?" (public code)
    double lambda = 1e-3;         ///< memory regulariser (relative; see EpisodicMemory)
    BackendSettings backend;      ///< the memory the edits are written into (default: one Larimar
                                  ///< memory, allowed past its K facts: the curves measure that)
    bool noMemory = false;        ///< baseline: every readout zero (the public code's "unconstrained"
                                  ///< mode): what the decoder answers without the edits
    bool readWithFact = false;    ///< ablation (Single/Batch, CounterFact metric): the edit and paraphrase
                                  ///< prompts read the memory with the edit sentence's own encoding,
                                  ///< so retrieval is as good as it gets and only decoding is measured
    TokenSplitter splitTokens;    ///< zsRE tokens; empty: splitWords
    /// Scope gate (not owned; must outlive the call). Null: every query reads the memory (the
    /// CLI's --no-scope). Not consulted with noMemory, nor by evaluateForget.
    EditScope* scope = nullptr;
};

/// The cases a run uses: shuffled with seed when asked, then the first `limit`.
std::vector<EditCase> selectCases(const std::vector<EditCase>& cases, int limit, bool shuffle, std::uint64_t seed);

/// Single (batchSize 1: a fresh memory per case holding its edit sentence) or Batch (fresh
/// memory per group of batchSize consecutive cases, all their edit sentences written together;
/// a last incomplete group is left out). Metrics of every evaluated case: all, or with maxEval
/// about maxEval of them, taken from as few whole batches as hold that many. Cost per evaluated case:
/// CounterFact 1 + P + N encodings and 2 (1 + P + N) scores, plus 1 + 2N generations with
/// generation and locality on; zsRE one encoding and one 1-token generation per answer token.
/// Throws UserError when there are fewer cases than one batch.
CounterFactSummary evaluateEdits(TextModel& model, const std::vector<EditCase>& cases, const EditEvalOptions& options,
                                 const EvalProgress& progress = {}, const std::atomic<bool>* cancel = nullptr);

/// One point of the batch-editing curve.
struct BatchPoint {
    int batchSize = 0;
    CounterFactSummary summary;
};

/// evaluateEdits in Batch mode for each size (sizes larger than the number of cases are
/// skipped). progress counts cases over all sizes. Cost: about (number of sizes) x (one run).
std::vector<BatchPoint> sweepBatchSizes(TextModel& model, const std::vector<EditCase>& cases, EditEvalOptions options,
                                        const std::vector<int>& sizes, const EvalProgress& progress = {},
                                        const std::atomic<bool>* cancel = nullptr);

/// Retention after `edits` sequential edits.
struct SequentialPoint {
    int edits = 0;
    double editRetention = 0;  ///< mean edit score over the edits written so far (CounterFact:
                               ///< edit success; zsRE: edit token accuracy); NaN at 0 edits
    double testRetention = 0;  ///< mean score on the unrelated prompts (CounterFact: P(true) >
                               ///< P(new) of their own case; zsRE: locality token accuracy)
    double unchanged = 0;      ///< fraction of unrelated prompts whose greedy output is as with no
                               ///< edit (NaN with locality off)
    double editInScope = 0;    ///< with a scope gate: fraction of the edit prompts measured that
                               ///< were in scope (NaN without a gate or at 0 edits)
    double testInScope = 0;    ///< with a scope gate: fraction of the unrelated prompts in scope
    double seconds = 0;        ///< since the start
};

struct SequentialResult {
    std::vector<SequentialPoint> points; ///< the first at 0 edits (the model before editing)
    CounterFactSummary final;            ///< full metrics of every edit, from the final memory
    int unrelatedPrompts = 0;
    bool unrelatedFromEdits = false;     ///< no held-out cases left: the edits' own neighbourhood prompts
    double secondsPerEdit = 0;           ///< encode + write of one edit
};

/// Sequential mode: the cases' edit sentences written one after another into one memory; after
/// every `every` edits (and after the last), retention on all earlier edits and on the unrelated
/// set. Cost: O(T^2 / every) edit-prompt evaluations for T edits, plus the final metrics.
SequentialResult evaluateSequential(TextModel& model, const std::vector<EditCase>& cases, const EditEvalOptions& options,
                                    const EvalProgress& progress = {}, const std::atomic<bool>* cancel = nullptr);

struct ForgetOptions {
    int facts = 0;              ///< N facts written into one memory; 0: the model's K slots
    double forgetFraction = 0.5; ///< fraction of them forgotten afterwards (chosen with seed)
    int maxEval = 0;            ///< evaluate at most this many forgotten and this many kept facts; 0: all
};

struct ForgetResult {
    int slots = 0, facts = 0, forgotten = 0, kept = 0;
    int evaluatedForgotten = 0, evaluatedKept = 0;
    double forgottenRecallBefore = 0; ///< recall of the to-be-forgotten facts before the forget
    double forgottenRecall = 0;       ///< after: the paper's 0.001 (N = K) / 0.02 (N = 2K)
    double keptRecall = 0;            ///< after: the paper's 0.997 / 0.79
    double forgottenGeneration = 0, keptGeneration = 0; ///< generation accuracy after (NaN when off)
    double secondsWrite = 0, secondsForget = 0;
    std::vector<CaseResult> perCase;  ///< evaluated facts after the forget (forgotten first)
    std::vector<bool> perCaseForgotten;
};

/// Selective forgetting: writes `facts` edit sentences into one memory, forgets a subset
/// exactly (EpisodicMemory::forget), then measures recall (the edit score: CounterFact P(new) >
/// P(true) on the prompt; zsRE edit token accuracy) of forgotten and of kept facts. Uses
/// options.metric, seed, generation, splitTokens, lambda. Throws UserError when the file has
/// fewer cases than facts.
ForgetResult evaluateForget(TextModel& model, const std::vector<EditCase>& cases, const EditEvalOptions& options,
                            const ForgetOptions& forget, const EvalProgress& progress = {},
                            const std::atomic<bool>* cancel = nullptr);

/// Means over cases, the way counterfact_eval.py's process_results does (cases without
/// paraphrase / neighbourhood prompts left out of those means).
CounterFactSummary summarize(std::vector<CaseResult> perCase);

} // namespace larimar
