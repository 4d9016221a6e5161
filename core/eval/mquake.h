#pragma once
/// The MQuAKE multi-hop check (arXiv 2305.14795) on any TextModel. Per case, its edits are
/// written as facts ("Hey Jude was performed by Madonna": each rewrite's prompt filled with the
/// subject + target_new, as the CounterFact evaluation phrases edits) into an empty memory; then
///  - multi-hop: each of the case's questions is continued greedily, reading the memory with the
///    question's encoding; the case counts as answered when any question is (MQuAKE's rule);
///  - single-hop (a sanity check of the write): each edit's own question, and its cloze prompt;
///  - hop by hop (when the record gives the new chain, MquakeCase::chainable): the chain's cloze
///    prompts are asked in turn, each with the answer the model gave to the hop before substituted
///    for the dataset's (the decomposition is the dataset's, the answers are the model's own):
///    the retrieval-style approach (MeLLo) the field's best multi-hop numbers come from;
///  - the same with no memory (the plain decoder, no latent: the base model's old and new answer
///    rates).
/// A continuation counts as giving an answer when continuationNamesAny finds it (or one of its
/// aliases) in the first sentence before any of the other answer's names: the WILD-style
/// judgement of core/eval/counterfact_eval.h. The memory is always read (no scope gate).
/// Synchronous; progress and cancel as core/eval/edit_eval.h.
#include "core/eval/datasets.h"
#include "core/eval/edit_eval.h"
#include "core/memory/episodic_memory.h"
#include "core/model/text_model.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace larimar {

/// The memory a case's edits are written into. The one place that names its type: the runner
/// makes an empty one (MquakeMemoryFactory), and only copies it, writes encodings into a copy and
/// reads readouts through three functions in mquake.cpp, so a memory interface (issue 18,
/// --backend) swaps it here and there.
using MquakeMemory = EpisodicMemory;
/// Makes an empty memory for `model`. The runner makes one and gives each case a fresh copy.
using MquakeMemoryFactory = std::function<std::unique_ptr<MquakeMemory>(TextModel& model)>;
/// The evaluation's memory (as evaluateEdits makes it): zero prior, the model's learned prior as
/// reference, its pseudo-inverse settings, regulariser lambda.
std::unique_ptr<MquakeMemory> makeMquakeMemory(TextModel& model, double lambda);

/// continuationNames for a set of names: true when the first sentence of `generated` names one
/// of `targets` (whole words, any case) and none of `others` before it.
bool continuationNamesAny(const std::string& generated, const std::vector<std::string>& targets,
                          const std::vector<std::string>& others = {});

/// The answer a continuation gives, to feed into the next hop: its first phrase, up to the first
/// newline or , ; : ( ! ? or full stop (not one after a one- or two-letter abbreviation inside
/// the text, "U.S. Army"),
/// trimmed, without surrounding quotes. " Madonna, the singer." -> "Madonna".
std::string firstPhrase(const std::string& generated);

struct MquakeOptions {
    int limit = 0;             ///< the first N cases; 0: all
    bool memory = true;        ///< run with the edits written (false: the base model only)
    bool base = true;          ///< also the base model (no memory)
    bool hopByHop = true;      ///< also ask chainable cases hop by hop
    int generationTokens = 8;  ///< greedy tokens per question (as the CounterFact evaluation)
    /// How a question is put to the model: "{}" the question itself; "Q: {} A:" as MQuAKE's
    /// prompts. Applies to the multi-hop questions and the edits' questions, not to clozes.
    std::string questionTemplate = "{}";
    double lambda = 1e-3;      ///< memory regulariser (relative; see EpisodicMemory)
    MquakeMemoryFactory makeMemory; ///< empty: makeMquakeMemory(model, lambda)
};

/// One question asked and judged.
struct MquakeAnswer {
    std::string prompt, generated;
    bool newAnswer = false; ///< names the answer after the edits (or an alias) before the old one
    bool oldAnswer = false; ///< names the answer before the edits (or an alias) before the new one
};

/// One case under one condition (memory or base).
struct MquakeRun {
    bool ran = false;
    std::vector<MquakeAnswer> multiHop;      ///< one per question
    std::vector<MquakeAnswer> editQuestions; ///< one per edit with a question: new = target_new
    std::vector<MquakeAnswer> editPrompts;   ///< one per edit: its cloze prompt
    /// Hop by hop: one per hop of the new chain (empty when not chainable or not asked). newAnswer:
    /// the hop's continuation names that hop's answer; the last hop is judged as the multi-hop
    /// answer. After a hop whose continuation gives no answer, the rest are not asked (empty
    /// prompt) and count as wrong.
    std::vector<MquakeAnswer> hops;
    bool multiHopCorrect() const;  ///< any question names the new answer
    bool multiHopOld() const;      ///< any question names the old answer
    bool chainCorrect() const;     ///< the last hop names the new answer (false without hops)
    bool chainAllHops() const;     ///< every hop names its answer (false without hops)
};

struct MquakeCaseResult {
    std::string caseId;
    MquakeRun edited, base;
    double seconds = 0;
};

/// Rates over the cases of one condition; NaN where nothing was counted.
struct MquakeRates {
    int cases = 0, questions = 0, edits = 0, editQuestions = 0, chains = 0, hops = 0;
    double multiHop = 0;           ///< cases with any question answered new (MQuAKE's accuracy)
    double multiHopQuestion = 0;   ///< questions answered new
    double multiHopOld = 0;        ///< cases with any question answered old
    double multiHopOldQuestion = 0;
    double editQuestion = 0, editQuestionOld = 0; ///< single hop: the edits' questions
    double editPrompt = 0, editPromptOld = 0;     ///< single hop: the edits' cloze prompts
    double chain = 0;              ///< hop by hop: chains whose last answer is the new answer
    double chainOld = 0;           ///< chains whose last answer is the old answer
    double chainAllHops = 0;       ///< chains with every hop right
    double chainHop = 0;           ///< hops right
};

struct MquakeSummary {
    int cases = 0;
    bool cancelled = false;
    MquakeRates edited, base;      ///< each with cases = 0 when not run
    double secondsPerCase = 0;
    std::vector<MquakeCaseResult> perCase;
};

/// Rates of one condition over results (edited or base, chosen by `edited`).
MquakeRates mquakeRates(const std::vector<MquakeCaseResult>& results, bool edited);

/// One case. With `memory` (which must be empty; it holds the case's edits afterwards) the case is
/// asked with its edits written, and with options.base also with no memory. Cost: E encodings
/// written, then per condition Q + 2E + H greedy generations of generationTokens (Q questions,
/// E edits, H hops) and as many encodings read.
MquakeCaseResult evaluateMquakeCase(TextModel& model, MquakeMemory* memory, const MquakeCase& c,
                                    const MquakeOptions& options);

/// Every case (the first options.limit), each with a fresh copy of one empty memory.
/// progress(done, total) after each case; *cancel stops after the current case (the summary then
/// covers the cases done, cancelled = true). Throws UserError for bad options or no cases.
MquakeSummary evaluateMquake(TextModel& model, const std::vector<MquakeCase>& cases, const MquakeOptions& options,
                             const EvalProgress& progress = {}, const std::atomic<bool>* cancel = nullptr);

} // namespace larimar
