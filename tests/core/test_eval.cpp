// The evaluation protocols (core/eval/edit_eval.h) on a scripted model whose every score and
// continuation is set here, so each metric is checked against a value worked out by hand.
#include "test_eval_model.h"

#include "core/eval/counterfact_eval.h"
#include "core/eval/edit_eval.h"
#include "core/eval/latent_stats.h"
#include "core/util/error.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace larimar;
using larimar::test::ScriptedModel;

namespace {

EditCase makeCase(const std::string& id, const std::string& prompt, const std::string& newT, const std::string& trueT,
                  std::vector<std::string> paras = {}, std::vector<std::string> neigh = {}) {
    EditCase c;
    c.caseId = id;
    c.prompt = prompt;
    c.targetNew = newT;
    c.targetTrue = trueT;
    c.paraphrasePrompts = std::move(paras);
    c.neighbourhoodPrompts = std::move(neigh);
    c.neighbourhoodAnswers.assign(c.neighbourhoodPrompts.size(), trueT);
    return c;
}

/// Case A: "Paris is the capital of" France -> Germany, two paraphrases, two neighbours (one
/// naming Paris, so the memory changes its answer). Case B: Rome, Italy -> Spain, nothing else.
struct Fixture {
    ScriptedModel model;
    std::vector<EditCase> cases;
    Fixture() {
        model.addSubject("Paris");
        model.addSubject("Rome");
        cases.push_back(makeCase("A", "Paris is the capital of", "Germany", "France",
                                 {"Paris, the capital of", "Paris is capital of"},
                                 {"Lyon is a city in", "Paris has a river in"}));
        cases.push_back(makeCase("B", "Rome is the capital of", "Spain", "Italy"));
        // Edit prompt with the edit in memory: P(new) = e^-1 > P(true) = e^-2.
        model.setScore("Paris is the capital of", " Germany", true, -1);
        model.setScore("Paris is the capital of", " France", true, -2);
        // Paraphrase 1 fails, paraphrase 2 succeeds.
        model.setScore("Paris, the capital of", " Germany", true, -3);
        model.setScore("Paris, the capital of", " France", true, -2);
        model.setScore("Paris is capital of", " Germany", true, -0.5);
        model.setScore("Paris is capital of", " France", true, -4);
        // Neighbour 1 (no memory: Lyon is not written) keeps the true answer; neighbour 2 does not.
        model.setScore("Lyon is a city in", " Germany", false, -4);
        model.setScore("Lyon is a city in", " France", false, -1);
        model.setScore("Paris has a river in", " Germany", true, -1);
        model.setScore("Paris has a river in", " France", true, -3);
        model.setGen("Paris is the capital of", true, " Germany and so on");
        model.setGen("Paris has a river in", true, " Germany");
        // Generation-judged (WILD): paraphrase 1 names the old answer first, paraphrase 2 the new one.
        model.setGen("Paris, the capital of", true, " France, not Germany");
        model.setGen("Paris is capital of", true, " the country of Germany. It is");
        // B: the edit does not take.
        model.setScore("Rome is the capital of", " Spain", true, -2);
        model.setScore("Rome is the capital of", " Italy", true, -1);
    }
};

double e(double x) { return std::exp(x); }

EditEvalOptions cfOptions() {
    EditEvalOptions o;
    o.metric = EditMetric::CounterFact;
    return o;
}

TEST(EvalCounterFact, EveryMetricOfOneCaseByHand) {
    Fixture f;
    const CounterFactSummary s = evaluateEdits(f.model, {f.cases[0]}, cfOptions());
    ASSERT_EQ(s.cases, 1);
    const CaseResult& r = s.perCase[0];
    EXPECT_TRUE(r.editSuccess);
    EXPECT_NEAR(r.editMagnitude, e(-1) - e(-2), 1e-12);
    EXPECT_DOUBLE_EQ(r.paraphraseSuccess, 0.5);
    EXPECT_NEAR(r.paraphraseMagnitude, ((e(-3) - e(-2)) + (e(-0.5) - e(-4))) / 2, 1e-12);
    EXPECT_DOUBLE_EQ(r.neighbourhoodSuccess, 0.5);
    EXPECT_NEAR(r.neighbourhoodMagnitude, ((e(-1) - e(-4)) + (e(-3) - e(-1))) / 2, 1e-12);
    EXPECT_TRUE(r.generationCorrect);
    EXPECT_EQ(r.generated, " Germany and so on");
    EXPECT_TRUE(r.judgedEdit);
    EXPECT_DOUBLE_EQ(r.judgedParaphrase, 0.5);
    EXPECT_DOUBLE_EQ(s.judgedEditSuccess, 1.0);
    EXPECT_DOUBLE_EQ(s.judgedParaphraseSuccess, 0.5);
    // Lyon: " plain" with and without the edit; Paris has a river: " Germany" instead of " plain".
    EXPECT_EQ(r.localityCount, 2);
    EXPECT_DOUBLE_EQ(r.locality, 0.5);
    EXPECT_EQ(r.paraphraseCount, 2);
    EXPECT_EQ(r.neighbourhoodCount, 2);
}

// The WILD judgement reads the free continuation's first sentence for the new answer.
TEST(EvalCounterFact, ContinuationNamesTheAnswerInItsFirstSentenceBeforeTheOldOne) {
    EXPECT_TRUE(continuationNames(" Rome, France.", "Rome", "Paris"));
    EXPECT_TRUE(continuationNames(" the city of rome", "Rome"));        // case ignored, not at the start
    EXPECT_FALSE(continuationNames(" Paris, not Rome", "Rome", "Paris")); // the old answer first
    EXPECT_TRUE(continuationNames(" Rome, not Paris", "Rome", "Paris"));
    EXPECT_FALSE(continuationNames(" Romeo and Juliet", "Rome"));        // whole words only
    EXPECT_FALSE(continuationNames(" Paris. Rome is", "Rome"));          // after the first sentence
    EXPECT_FALSE(continuationNames(" Paris\nRome", "Rome"));
    EXPECT_TRUE(continuationNames(" St. Louis, Missouri. Then", "St. Louis")); // abbreviations do not end it
    EXPECT_TRUE(continuationNames(" the U.S. Army", "U.S. Army"));
    EXPECT_FALSE(continuationNames(" anything", ""));
}

TEST(EvalCounterFact, SummaryAveragesOverCasesLikeProcessResults) {
    Fixture f;
    const CounterFactSummary s = evaluateEdits(f.model, f.cases, cfOptions());
    ASSERT_EQ(s.cases, 2);
    EXPECT_FALSE(s.perCase[1].editSuccess);
    EXPECT_DOUBLE_EQ(s.editSuccess, 0.5);
    EXPECT_NEAR(s.editMagnitude, ((e(-1) - e(-2)) + (e(-2) - e(-1))) / 2, 1e-12);
    // B has no paraphrase or neighbourhood prompts: left out of those means, as np.mean per case.
    EXPECT_DOUBLE_EQ(s.paraphraseSuccess, 0.5);
    EXPECT_DOUBLE_EQ(s.neighbourhoodSuccess, 0.5);
    EXPECT_DOUBLE_EQ(s.generationAccuracy, 0.5);
    EXPECT_DOUBLE_EQ(s.locality, 0.5);
}

TEST(EvalCounterFact, NoMemoryBaselineReadsNothing) {
    Fixture f;
    EditEvalOptions o = cfOptions();
    o.noMemory = true;
    const CaseResult r = evaluateEdits(f.model, {f.cases[0]}, o).perCase[0];
    EXPECT_FALSE(r.editSuccess); // no scores set without memory: -5 vs -5
    EXPECT_DOUBLE_EQ(r.neighbourhoodSuccess, 0.5); // Lyon never used the memory
    EXPECT_DOUBLE_EQ(r.locality, 1.0);
    EXPECT_FALSE(r.generationCorrect);
}

// The ablation: edit and paraphrase prompts read with the edit sentence's own encoding, so a
// paraphrase that retrieval misses still sees the fact; neighbours keep their own reads.
TEST(EvalCounterFact, ReadWithFactGivesEditAndParaphrasePromptsTheFactsReadout) {
    Fixture f;
    EditCase c = f.cases[0];
    const std::string para = "The French seat of government is the capital of"; // names no subject
    c.paraphrasePrompts = {para};
    f.model.setScore(para, " Germany", true, -1);
    f.model.setScore(para, " France", true, -2);
    EditEvalOptions o = cfOptions();
    EXPECT_DOUBLE_EQ(evaluateEdits(f.model, {c}, o).perCase[0].paraphraseSuccess, 0.0) << "retrieval misses: -5 vs -5";
    o.readWithFact = true;
    const CaseResult r = evaluateEdits(f.model, {c}, o).perCase[0];
    EXPECT_DOUBLE_EQ(r.paraphraseSuccess, 1.0);
    EXPECT_TRUE(r.editSuccess);
    EXPECT_DOUBLE_EQ(r.neighbourhoodSuccess, 0.5) << "Lyon still reads nothing, Paris has a river still reads Paris";
}

TEST(EvalCounterFact, OldEntryPointGivesTheSameNumbers) {
    Fixture f;
    CounterFactEvalOptions o;
    const CounterFactSummary s = evaluateCounterFact(f.model, f.cases, o);
    EXPECT_DOUBLE_EQ(s.editSuccess, 0.5);
    EXPECT_DOUBLE_EQ(s.paraphraseSuccess, 0.5);
    EXPECT_EQ(s.perCase[0].localityCount, 0); // off by default there: the trainer's cost stays
}

TEST(EvalCounterFact, RomeParaphrasesLoseTheirGeneratedPrefix) {
    Fixture f;
    EditCase c = f.cases[0];
    c.paraphrasePrompts = {"Noise, noise. More noise. Paris is capital of"};
    EditEvalOptions o = cfOptions();
    EXPECT_DOUBLE_EQ(evaluateEdits(f.model, {c}, o).paraphraseSuccess, 0.0); // scored on the noisy prompt
    o.stripParaphrasePrefix = true;
    EXPECT_DOUBLE_EQ(evaluateEdits(f.model, {c}, o).paraphraseSuccess, 1.0); // "Paris is capital of"
}

TEST(EvalCounterFact, BatchWritesTheEditsIntoOneMemory) {
    Fixture f;
    // A neighbour of A that names Rome: unchanged when A is alone, changed when B shares the memory.
    f.cases[0].neighbourhoodPrompts = {"Rome lies south of"};
    f.cases[0].neighbourhoodAnswers = {"France"};
    f.model.setGen("Rome lies south of", true, " Spain");
    EditEvalOptions o = cfOptions();
    EXPECT_DOUBLE_EQ(evaluateEdits(f.model, f.cases, o).perCase[0].locality, 1.0);
    o.mode = EditMode::Batch;
    o.batchSize = 2;
    const CounterFactSummary s = evaluateEdits(f.model, f.cases, o);
    EXPECT_EQ(s.batchSize, 2);
    ASSERT_EQ(s.cases, 2);
    EXPECT_DOUBLE_EQ(s.perCase[0].locality, 0.0);
    EXPECT_DOUBLE_EQ(s.editSuccess, 0.5); // both edits are read back as in single mode
    // maxEval: both edits still written together, only one evaluated.
    o.maxEval = 1;
    const CounterFactSummary one = evaluateEdits(f.model, f.cases, o);
    ASSERT_EQ(one.cases, 1);
    EXPECT_EQ(one.perCase[0].caseId, "A");
    EXPECT_DOUBLE_EQ(one.perCase[0].locality, 0.0); // Rome was written too
    o.maxEval = 0;
    // An incomplete last group is left out; fewer cases than one batch is an error.
    o.batchSize = 3;
    EXPECT_THROW(evaluateEdits(f.model, f.cases, o), UserError);
}

TEST(EvalCounterFact, SweepSkipsSizesLargerThanTheFile) {
    Fixture f;
    EditEvalOptions o = cfOptions();
    const auto points = sweepBatchSizes(f.model, f.cases, o, {1, 2, 4});
    ASSERT_EQ(points.size(), 2u);
    EXPECT_EQ(points[0].batchSize, 1);
    EXPECT_EQ(points[1].batchSize, 2);
    EXPECT_EQ(points[1].summary.cases, 2);
    // maxEval caps every point: size 1 uses one memory, size 2 one batch with one case evaluated.
    std::vector<EditCase> many;
    for (int i = 0; i < 8; ++i) many.push_back(f.cases[i % 2]);
    o.maxEval = 3;
    const auto capped = sweepBatchSizes(f.model, many, o, {1, 2, 8});
    ASSERT_EQ(capped.size(), 3u);
    EXPECT_EQ(capped[0].summary.cases, 3); // 3 single-edit memories
    EXPECT_EQ(capped[1].summary.cases, 4); // 2 batches of 2
    EXPECT_EQ(capped[2].summary.cases, 3); // 1 batch of 8, 3 of its cases evaluated
}

TEST(EvalCounterFact, ProgressAndCancel) {
    Fixture f;
    std::atomic<bool> cancel{false};
    std::vector<std::pair<int, int>> calls;
    const CounterFactSummary s = evaluateEdits(f.model, f.cases, cfOptions(), [&](int done, int total) {
        calls.emplace_back(done, total);
        cancel = true;
    }, &cancel);
    EXPECT_EQ(s.cases, 1);
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0], std::make_pair(1, 2));
}

/// A scope gate by rule: in scope when a written fact names a word of `in` that the prompt also
/// contains. Records what it was told and asked.
class WordScope : public EditScope {
public:
    explicit WordScope(std::vector<std::string> words) : m_words(std::move(words)) {}
    void reset(MemoryBackend& memory) override {
        memory_ = &memory;
        written.clear();
        ++resets;
    }
    void added(const std::vector<std::string>& facts) override { written.insert(written.end(), facts.begin(), facts.end()); }
    bool inScope(const std::string& prompt) override {
        asked.push_back(prompt);
        for (const auto& f : written)
            for (const auto& w : m_words)
                if (f.find(w) != std::string::npos && prompt.find(w) != std::string::npos) return true;
        return false;
    }
    std::string description() const override { return "words"; }
    const MemoryBackend* memory_ = nullptr;
    std::vector<std::string> written, asked;
    int resets = 0;

private:
    std::vector<std::string> m_words;
};

// The scope gate (the paper's scope detector): a neighbour that the memory would change is,
// when out of scope, scored and continued without any latent, as the editor answers it.
TEST(EvalCounterFact, OutOfScopePromptsAreScoredWithoutTheMemory) {
    Fixture f;
    // "Paris has a river in" reads Paris's fact (Germany wins) but is not about the edit.
    f.model.setScore("Paris has a river in", " Germany", false, -4);
    f.model.setScore("Paris has a river in", " France", false, -1);
    WordScope scope({"capital"}); // edit prompt and paraphrases share "capital" with the fact
    EditEvalOptions o = cfOptions();
    o.scope = &scope;
    const CounterFactSummary s = evaluateEdits(f.model, {f.cases[0]}, o);
    const CaseResult& r = s.perCase[0];
    EXPECT_EQ(scope.resets, 1);
    EXPECT_NE(scope.memory_, nullptr);
    EXPECT_EQ(scope.written, (std::vector<std::string>{"Paris is the capital of Germany"}));
    // Every query prompt was asked about, once.
    EXPECT_EQ(scope.asked, (std::vector<std::string>{"Paris is the capital of", "Paris, the capital of", "Paris is capital of",
                                                     "Lyon is a city in", "Paris has a river in"}));
    // In scope: the edit and paraphrases read the memory as before.
    EXPECT_TRUE(r.editSuccess);
    EXPECT_NEAR(r.editMagnitude, e(-1) - e(-2), 1e-12);
    EXPECT_DOUBLE_EQ(r.paraphraseSuccess, 0.5);
    EXPECT_TRUE(r.generationCorrect);
    // Out of scope: both neighbours keep their true answer and their plain continuation.
    EXPECT_DOUBLE_EQ(r.neighbourhoodSuccess, 1.0);
    EXPECT_NEAR(r.neighbourhoodMagnitude, ((e(-1) - e(-4)) + (e(-1) - e(-4))) / 2, 1e-12);
    EXPECT_DOUBLE_EQ(r.locality, 1.0);
    EXPECT_TRUE(r.scoped);
    EXPECT_EQ(r.editInScope, 1);
    EXPECT_EQ(r.paraphraseInScope, 2);
    EXPECT_EQ(r.neighbourhoodInScope, 0);
    EXPECT_TRUE(s.scoped);
    EXPECT_EQ(s.editQueries, 1);
    EXPECT_EQ(s.paraphraseQueries, 2);
    EXPECT_EQ(s.neighbourhoodQueries, 2);
    EXPECT_EQ(s.neighbourhoodInScope, 0);

    // The same neighbour's score with the gate is its score with no memory at all.
    EditEvalOptions base = cfOptions();
    base.noMemory = true;
    base.scope = &scope; // not consulted by the baseline
    const int asked = static_cast<int>(scope.asked.size());
    const CounterFactSummary b = evaluateEdits(f.model, {f.cases[0]}, base);
    EXPECT_EQ(static_cast<int>(scope.asked.size()), asked);
    EXPECT_FALSE(b.scoped);
    EXPECT_DOUBLE_EQ(b.perCase[0].neighbourhoodMagnitude, r.neighbourhoodMagnitude);

    // Without a gate (--no-scope) the neighbour reads the memory: Germany wins there.
    const CaseResult raw = evaluateEdits(f.model, {f.cases[0]}, cfOptions()).perCase[0];
    EXPECT_DOUBLE_EQ(raw.neighbourhoodSuccess, 0.5);
    EXPECT_FALSE(raw.scoped);
    EXPECT_EQ(raw.neighbourhoodInScope, 0);

    // Everything out of scope: the edit no longer shows either.
    WordScope none({"nothing"});
    o.scope = &none;
    const CaseResult off = evaluateEdits(f.model, {f.cases[0]}, o).perCase[0];
    EXPECT_FALSE(off.editSuccess); // -5 vs -5 without memory
    EXPECT_EQ(off.editInScope, 0);
    EXPECT_FALSE(off.generationCorrect);
}

// Batch: the gate knows every fact of the batch; sequential: every edit written so far.
TEST(EvalCounterFact, ScopeGateFollowsTheFactsOfEachMemory) {
    Fixture f;
    WordScope scope({"Paris", "Rome"});
    EditEvalOptions o = cfOptions();
    o.scope = &scope;
    o.mode = EditMode::Batch;
    o.batchSize = 2;
    evaluateEdits(f.model, f.cases, o);
    EXPECT_EQ(scope.resets, 1);
    EXPECT_EQ(scope.written, (std::vector<std::string>{"Paris is the capital of Germany", "Rome is the capital of Spain"}));

    o.mode = EditMode::Sequential;
    o.batchSize = 1;
    o.every = 1;
    o.unrelated = 0;
    WordScope seq({"Paris", "Rome"});
    o.scope = &seq;
    const SequentialResult r = evaluateSequential(f.model, f.cases, o);
    EXPECT_EQ(seq.resets, 1);
    EXPECT_EQ(seq.written.size(), 2u);
    ASSERT_EQ(r.points.size(), 3u);
    EXPECT_TRUE(std::isnan(r.points[0].editInScope));
    EXPECT_DOUBLE_EQ(r.points[1].editInScope, 1.0);
    EXPECT_DOUBLE_EQ(r.points[2].editInScope, 1.0);
    EXPECT_TRUE(r.final.scoped);
    EXPECT_EQ(r.final.editInScope, 2);
    EXPECT_EQ(r.final.neighbourhoodInScope, 1); // "Paris has a river in"; Lyon is not about a fact
}

TEST(EvalZsre, OutOfScopePromptsDecodeEveryTokenWithoutTheMemory) {
    ScriptedModel m;
    m.addSubject("UniFirst");
    EditCase c = makeCase("z", "What does UniFirst make?", "unmanned aircraft", "uniform", {}, {"UniFirst is based in"});
    c.neighbourhoodAnswers = {"Wilmington"};
    m.setGen("What does UniFirst make?", true, " unmanned");
    m.setGen("What does UniFirst make? unmanned", true, " aircraft");
    // The locality prompt names the subject, so the memory would change its answer.
    m.setGen("nq question: UniFirst is based in?", false, " Wilmington");
    m.setGen("nq question: UniFirst is based in?", true, " unmanned");
    EditEvalOptions o;
    o.metric = EditMetric::Zsre;
    EXPECT_DOUBLE_EQ(evaluateEdits(m, {c}, o).perCase[0].neighbourhoodTokenAccuracy, 0.0);
    WordScope scope({"make"});
    o.scope = &scope;
    const CaseResult r = evaluateEdits(m, {c}, o).perCase[0];
    EXPECT_DOUBLE_EQ(r.editTokenAccuracy, 1.0);
    EXPECT_DOUBLE_EQ(r.neighbourhoodTokenAccuracy, 1.0);
    EXPECT_EQ(r.editInScope, 1);
    EXPECT_EQ(r.neighbourhoodInScope, 0);
    // One decision per prompt, not per teacher-forced prefix.
    EXPECT_EQ(scope.asked, (std::vector<std::string>{"What does UniFirst make?", "nq question: UniFirst is based in?"}));
}

TEST(EvalCounterFact, LimitAndSeededShuffle) {
    std::vector<EditCase> cases;
    for (int i = 0; i < 20; ++i) cases.push_back(makeCase(std::to_string(i), "p", "a", "b"));
    EXPECT_EQ(selectCases(cases, 3, false, 1)[2].caseId, "2");
    const auto a = selectCases(cases, 5, true, 42), b = selectCases(cases, 5, true, 42), c = selectCases(cases, 5, true, 43);
    ASSERT_EQ(a.size(), 5u);
    std::string sa, sb, sc;
    for (int i = 0; i < 5; ++i) sa += a[i].caseId + ",", sb += b[i].caseId + ",", sc += c[i].caseId + ",";
    EXPECT_EQ(sa, sb);
    EXPECT_NE(sa, sc);
}

TEST(EvalZsre, TokenLevelAccuracyByHand) {
    ScriptedModel m;
    m.addSubject("UniFirst");
    EditCase c = makeCase("z", "What does UniFirst make?", "unmanned aircraft", "uniform", {"What is made by UniFirst?"},
                          {"who wrote hamlet"});
    c.neighbourhoodAnswers = {"William Shakespeare"};
    // Edit prompt: first token right, second wrong -> 1/2.
    m.setGen("What does UniFirst make?", true, " unmanned vehicle");
    m.setGen("What does UniFirst make? unmanned", true, " vehicle");
    // Rephrase: both right -> 1.
    m.setGen("What is made by UniFirst?", true, " unmanned");
    m.setGen("What is made by UniFirst? unmanned", true, " aircraft");
    // Locality: the public prompt "nq question: " + loc + "?", no memory about it -> both right.
    m.setGen("nq question: who wrote hamlet?", false, " William");
    m.setGen("nq question: who wrote hamlet? William", false, " Shakespeare");
    EditEvalOptions o;
    o.metric = EditMetric::Zsre;
    const CounterFactSummary s = evaluateEdits(m, {c}, o);
    const CaseResult& r = s.perCase[0];
    EXPECT_EQ(r.editTokens, 2);
    EXPECT_DOUBLE_EQ(r.editTokenAccuracy, 0.5);
    EXPECT_EQ(r.paraphraseTokens, 2);
    EXPECT_DOUBLE_EQ(r.paraphraseTokenAccuracy, 1.0);
    EXPECT_EQ(r.neighbourhoodTokens, 2);
    EXPECT_DOUBLE_EQ(r.neighbourhoodTokenAccuracy, 1.0);
    EXPECT_FALSE(r.generationCorrect); // " unmanned vehicle" does not start with the target
    EXPECT_DOUBLE_EQ(r.locality, 1.0);
    EXPECT_DOUBLE_EQ(s.editTokenAccuracy, 0.5);
    // The public code's target (answers[0]): " uniform" is never predicted.
    o.zsreAnswerTarget = true;
    EXPECT_DOUBLE_EQ(evaluateEdits(m, {c}, o).editTokenAccuracy, 0.0);
    // A tokenizer given by the caller decides what a token is.
    o.zsreAnswerTarget = false;
    o.splitTokens = [](const std::string& t) { return std::vector<std::string>{t}; };
    m.setGen("What does UniFirst make?", true, " unmanned aircraft");
    EXPECT_DOUBLE_EQ(evaluateEdits(m, {c}, o).perCase[0].editTokenAccuracy, 0.0); // one token " unmanned aircraft" vs " unmanned"
}

TEST(EvalZsre, SplitWordsKeepsLeadingSpaces) {
    EXPECT_EQ(splitWords(" a  bc d"), (std::vector<std::string>{" a", "  bc", " d"}));
    EXPECT_TRUE(splitWords("   ").empty());
}

TEST(EvalSequential, RetentionCurveByHand) {
    ScriptedModel m;
    for (const char* s : {"Paris", "Rome", "Oslo", "Madrid"}) m.addSubject(s);
    std::vector<EditCase> cases{makeCase("A", "Paris is in", "Germany", "France"), makeCase("B", "Rome is in", "Spain", "Italy"),
                                makeCase("C", "Oslo is in", "Chile", "Norway"),
                                makeCase("D", "Madrid is in", "France", "Spain", {}, {"Barcelona is in", "Seville is in"})};
    m.setScore("Paris is in", " Germany", true, -1);
    m.setScore("Rome is in", " Spain", true, -1);
    m.setScore("Oslo is in", " Chile", true, -3); // C's edit does not take
    m.setScore("Oslo is in", " Norway", true, -1);
    m.setScore("Barcelona is in", " Spain", false, -1); // unrelated prompt 1 keeps its answer
    m.setScore("Barcelona is in", " France", false, -2);
    EditEvalOptions o;
    o.limit = 3; // A, B, C edited; D held out
    o.every = 2;
    o.unrelated = 5;
    const SequentialResult r = evaluateSequential(m, cases, o);
    ASSERT_EQ(r.points.size(), 3u);
    EXPECT_EQ(r.points[0].edits, 0);
    EXPECT_TRUE(std::isnan(r.points[0].editRetention));
    EXPECT_EQ(r.points[1].edits, 2);
    EXPECT_DOUBLE_EQ(r.points[1].editRetention, 1.0);
    EXPECT_EQ(r.points[2].edits, 3);
    EXPECT_NEAR(r.points[2].editRetention, 2.0 / 3.0, 1e-12);
    EXPECT_EQ(r.unrelatedPrompts, 2);
    EXPECT_FALSE(r.unrelatedFromEdits);
    for (const auto& p : r.points) {
        EXPECT_DOUBLE_EQ(p.testRetention, 0.5); // Barcelona yes, Seville (no scores set) no
        EXPECT_DOUBLE_EQ(p.unchanged, 1.0);
    }
    EXPECT_EQ(r.final.cases, 3);
    EXPECT_NEAR(r.final.editSuccess, 2.0 / 3.0, 1e-12);
}

TEST(EvalForget, ForgottenFactsAreNoLongerRecalled) {
    ScriptedModel m;
    std::vector<EditCase> cases;
    const std::vector<std::string> subjects{"Paris", "Rome", "Oslo", "Madrid", "Lima", "Quito"};
    for (const auto& s : subjects) {
        m.addSubject(s);
        cases.push_back(makeCase(s, s + " is in", "Mars", "Earth"));
        m.setScore(s + " is in", " Mars", true, -1); // recalled only while the memory holds it
        m.setGen(s + " is in", true, " Mars");
    }
    EditEvalOptions o;
    o.seed = 3;
    ForgetOptions f;
    f.facts = 4;
    f.forgetFraction = 0.5;
    const ForgetResult r = evaluateForget(m, cases, o, f);
    EXPECT_EQ(r.slots, ScriptedModel::kWidth);
    EXPECT_EQ(r.facts, 4);
    EXPECT_EQ(r.forgotten, 2);
    EXPECT_EQ(r.kept, 2);
    EXPECT_DOUBLE_EQ(r.forgottenRecallBefore, 1.0);
    EXPECT_DOUBLE_EQ(r.forgottenRecall, 0.0);
    EXPECT_DOUBLE_EQ(r.keptRecall, 1.0);
    EXPECT_DOUBLE_EQ(r.forgottenGeneration, 0.0);
    EXPECT_DOUBLE_EQ(r.keptGeneration, 1.0);
    ASSERT_EQ(r.perCase.size(), 4u);
    // Only the first four cases were written: Lima and Quito never appear.
    for (const auto& c : r.perCase) EXPECT_TRUE(c.caseId != "Lima" && c.caseId != "Quito") << c.caseId;
    f.facts = 7;
    EXPECT_THROW(evaluateForget(m, cases, o, f), UserError);
    f.facts = 4;
    f.forgetFraction = 1.0;
    EXPECT_THROW(evaluateForget(m, cases, o, f), UserError);
}

} // namespace

namespace {

TEST(EvalSequential, CancelStopsBetweenEdits) {
    Fixture f;
    std::atomic<bool> cancel{false};
    EditEvalOptions o;
    o.every = 5;
    int calls = 0;
    const SequentialResult r = evaluateSequential(f.model, f.cases, o, [&](int, int) { ++calls, cancel = true; }, &cancel);
    EXPECT_EQ(calls, 1);
    ASSERT_EQ(r.points.size(), 1u); // only the point before any edit
    EXPECT_EQ(r.final.cases, 0);
}

// measureLatents on a scripted encoder: a shared direction (weight `shared`), one direction per
// subject and, weighted by `answer`, one per answer word. Three cases, so every statistic can be
// worked out by hand.
class WordEncoder : public ScriptedModel {
public:
    double shared = 0, answer = 0;
    Eigen::MatrixXd encode(const std::vector<std::string>& texts) override {
        const std::vector<std::string> subjects = {"Paris", "Rome", "Oslo"}, answers = {"Germany", "Spain", "Chile"};
        Eigen::MatrixXd z = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(texts.size()), kWidth);
        for (std::size_t i = 0; i < texts.size(); ++i) {
            const auto r = static_cast<Eigen::Index>(i);
            z(r, 0) = shared;
            for (std::size_t k = 0; k < 3; ++k) {
                if (texts[i].find(subjects[k]) != std::string::npos) z(r, 1 + Eigen::Index(k)) = 1.0;
                if (texts[i].find(answers[k]) != std::string::npos) z(r, 4 + Eigen::Index(k)) = answer;
            }
        }
        return z;
    }
};

TEST(LatentStats, CollapsedLatentsAndAnswersTheEncoderIgnoresAreMeasured) {
    const std::vector<EditCase> cases = {makeCase("A", "Paris is in", "Germany", "France"),
                                         makeCase("B", "Rome is in", "Spain", "Italy"),
                                         makeCase("C", "Oslo is in", "Chile", "Norway")};
    WordEncoder m;
    m.shared = 10;
    m.answer = 0;
    LatentStats s = measureLatents(m, cases);
    EXPECT_EQ(s.cases, 3);
    EXPECT_NEAR(s.meanNorm, std::sqrt(101.0), 1e-9);
    EXPECT_NEAR(s.pairCosine, 100.0 / 101.0, 1e-9);           // only the shared part in common
    EXPECT_NEAR(s.centredPairCosine, -0.5, 1e-9);             // three centred one-hots
    EXPECT_NEAR(s.sharedFraction, (100.0 + 3.0 / 9.0) / 101.0, 1e-9);
    EXPECT_NEAR(s.spread, (3 * std::sqrt(1.0 / 3.0)) / ScriptedModel::kWidth, 1e-9); // 3 of 16 dimensions vary
    EXPECT_NEAR(s.promptOwnCosine, 1.0, 1e-9);                // the answer adds nothing to a latent
    EXPECT_DOUBLE_EQ(s.retrievalTop1, 1.0);
    EXPECT_NEAR(s.answerShare, 0.0, 1e-12);

    // No shared part, answers weigh as much as subjects: prompt i + answer j differs from fact i
    // by two answer dimensions, as much as fact i differs from fact j in its answer.
    m.shared = 0;
    m.answer = 1;
    s = measureLatents(m, cases);
    EXPECT_NEAR(s.pairCosine, 0.0, 1e-12);
    EXPECT_NEAR(s.promptOwnCosine, std::sqrt(0.5), 1e-9);
    EXPECT_NEAR(s.answerShare, std::sqrt(2.0) / 2.0, 1e-9);   // |a_j - a_i| over |s_j - s_i + a_j - a_i|
    EXPECT_THROW(measureLatents(m, {cases[0]}), UserError);
    EXPECT_EQ(s.answerCases, 0) << "no answer has 3 cases";
    EXPECT_TRUE(std::isnan(s.answerIdentified));

    // Two answers of three cases each: named every time when the encoder writes them, at chance
    // (the first answer's share) when it ignores them.
    std::vector<EditCase> six;
    for (const char* a : {"Germany", "Spain"})
        for (const char* p : {"Paris is in", "Rome is in", "Oslo is in"}) six.push_back(makeCase("x", p, a, "France"));
    s = measureLatents(m, six);
    EXPECT_EQ(s.answerCases, 6);
    EXPECT_EQ(s.answerClasses, 2);
    EXPECT_DOUBLE_EQ(s.answerIdentified, 1.0);
    m.answer = 0;
    m.shared = 10;
    s = measureLatents(m, six);
    EXPECT_DOUBLE_EQ(s.answerIdentified, 0.5);
}

} // namespace
