#include "core/eval/edit_eval.h"

#include "core/memory/episodic_memory.h"
#include "core/memory/memory_backend.h"
#include "core/util/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <unordered_map>

namespace larimar {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

bool cancelled(const std::atomic<bool>* cancel) { return cancel && cancel->load(); }

/// The public code's paraphrase clean-up: the text after the last ". ".
std::string afterLastSentence(const std::string& p) {
    const auto at = p.rfind(". ");
    return at == std::string::npos ? p : p.substr(at + 2);
}

/// A fresh memory of the options' backend, with the vectors of what is written kept in RAM
/// (the workspace's role in the product) and fact ids counted from 1.
class EvalMemory {
public:
    EvalMemory(TextModel& model, const EditEvalOptions& o) {
        const Eigen::MatrixXd reference = model.memoryPrior();
        MemorySettings settings;
        settings.pinv = model.pinv();
        settings.lambda = o.lambda;
        const EpisodicMemory empty(Eigen::MatrixXd::Zero(reference.rows(), reference.cols()), reference, settings);
        BackendSettings b = o.backend;
        // The evaluations measure one memory past its K facts on purpose (sequential, batch and
        // forget curves); the product refuses that (MemoryBackend::checkRoom).
        if (b.kind == "larimar" && b.maxFacts == 0) b.maxFacts = std::numeric_limits<std::int64_t>::max();
        m_memory = makeMemoryBackend(b, empty, m_vectors.loader());
    }
    MemoryBackend& operator*() { return *m_memory; }
    /// Writes the rows of z as new facts; returns their ids.
    std::vector<std::int64_t> write(const Eigen::MatrixXd& z) {
        std::vector<std::int64_t> ids;
        for (Eigen::Index r = 0; r < z.rows(); ++r) ids.push_back(m_next++);
        const Eigen::MatrixXd keys = m_memory->keys(z);
        m_vectors.add(ids, keys, z);
        m_memory->write(ids, keys, z);
        return ids;
    }
    void forget(const std::vector<std::int64_t>& ids) {
        Eigen::MatrixXd keys, z;
        m_vectors.loader()(ids, keys, z);
        m_memory->forget(ids, keys, z);
    }

private:
    InMemoryFactVectors m_vectors;
    std::unique_ptr<MemoryBackend> m_memory;
    std::int64_t m_next = 1;
};

using Latent = std::optional<Eigen::RowVectorXd>;

/// Scores cases against a memory. Keeps the no-edit greedy continuations of prompts, which
/// do not depend on the memory, so locality costs one generation per prompt and memory state.
/// With a scope gate, every query prompt is first put to it; out of scope it gets no latent.
class CaseScorer {
public:
    CaseScorer(TextModel& model, const EditEvalOptions& o) : m_model(model), m_o(o), m_zero(Eigen::RowVectorXd::Zero(model.latentSize())) {}

    /// Whether a scope gate decides which queries read the memory (not with the baseline).
    bool gated() const { return m_o.scope != nullptr && !m_o.noMemory; }
    /// A fresh memory (holding nothing yet) is what the queries read from now on.
    void resetScope(MemoryBackend& memory) {
        if (gated()) m_o.scope->reset(memory);
    }
    /// Edit texts just written into that memory.
    void addedToScope(const std::vector<std::string>& texts) {
        if (gated()) m_o.scope->added(texts);
    }
    /// Whether prompt reads the memory: always without a gate, else the gate's decision.
    bool reads(const std::string& prompt) { return !gated() || m_o.scope->inScope(prompt); }

    std::vector<std::string> paraphrases(const EditCase& c) const {
        const std::size_t n = m_o.maxParaphrases > 0 ? std::min<std::size_t>(m_o.maxParaphrases, c.paraphrasePrompts.size())
                                                    : c.paraphrasePrompts.size();
        std::vector<std::string> out;
        for (std::size_t i = 0; i < n; ++i)
            out.push_back(m_o.stripParaphrasePrefix ? afterLastSentence(c.paraphrasePrompts[i]) : c.paraphrasePrompts[i]);
        return out;
    }
    /// Neighbourhood prompts with the answer the metric needs (zsRE: loc_ans).
    std::vector<std::pair<std::string, std::string>> neighbourhood(const EditCase& c) const {
        const std::size_t n = m_o.maxNeighbourhood > 0 ? std::min<std::size_t>(m_o.maxNeighbourhood, c.neighbourhoodPrompts.size())
                                                      : c.neighbourhoodPrompts.size();
        std::vector<std::pair<std::string, std::string>> out;
        for (std::size_t i = 0; i < n; ++i) {
            std::string p = c.neighbourhoodPrompts[i];
            if (m_o.metric == EditMetric::Zsre) p = (m_o.zsreNqPrefix ? "nq question: " : "") + p + "?";
            out.emplace_back(p, i < c.neighbourhoodAnswers.size() ? c.neighbourhoodAnswers[i] : c.targetTrue);
        }
        return out;
    }
    std::string target(const EditCase& c) const {
        return (m_o.metric == EditMetric::Zsre && m_o.zsreAnswerTarget) ? c.targetTrue : c.targetNew;
    }
    /// The answer the edit replaces (zsRE with answers[0] as target: alt).
    std::string otherTarget(const EditCase& c) const {
        return (m_o.metric == EditMetric::Zsre && m_o.zsreAnswerTarget) ? c.targetNew : c.targetTrue;
    }
    std::string editText(const EditCase& c) const { return c.prompt + " " + target(c); }

    /// All metrics of one case read from `memory`.
    CaseResult evaluate(MemoryBackend& memory, const EditCase& c) {
        const auto t0 = Clock::now();
        CaseResult r;
        r.caseId = c.caseId;
        const auto paras = paraphrases(c);
        const auto neigh = neighbourhood(c);
        r.paraphraseCount = static_cast<int>(paras.size());
        r.neighbourhoodCount = static_cast<int>(neigh.size());

        std::vector<std::string> prompts{c.prompt};
        prompts.insert(prompts.end(), paras.begin(), paras.end());
        for (const auto& n : neigh) prompts.push_back(n.first);
        // One scope decision per prompt; only the prompts in scope are encoded and read.
        std::vector<char> in(prompts.size(), 1);
        std::vector<std::string> reading;
        std::vector<std::size_t> readRows;
        for (std::size_t row = 0; row < prompts.size(); ++row) {
            in[row] = reads(prompts[row]) ? 1 : 0;
            if (in[row]) reading.push_back(prompts[row]), readRows.push_back(row);
        }
        if (gated()) {
            r.scoped = true;
            r.editInScope = in[0];
            for (std::size_t k = 0; k < paras.size(); ++k) r.paraphraseInScope += in[1 + k];
            for (std::size_t k = 0; k < neigh.size(); ++k) r.neighbourhoodInScope += in[1 + paras.size() + k];
        }
        Eigen::MatrixXd readouts = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(prompts.size()), m_model.latentSize());
        if (!reading.empty()) {
            const Eigen::MatrixXd read = readout(memory, reading);
            for (std::size_t k = 0; k < readRows.size(); ++k)
                readouts.row(static_cast<Eigen::Index>(readRows[k])) = read.row(static_cast<Eigen::Index>(k));
        }
        if (m_o.readWithFact) {
            const Eigen::RowVectorXd fact = readout(memory, {editText(c)}).row(0);
            for (std::size_t row = 0; row <= paras.size(); ++row) readouts.row(static_cast<Eigen::Index>(row)) = fact;
        }
        auto latent = [&](std::size_t row) -> Latent {
            if (!in[row]) return std::nullopt; // out of scope: the plain model, as Editor::query
            return Eigen::RowVectorXd(readouts.row(static_cast<Eigen::Index>(row)));
        };

        if (m_o.metric == EditMetric::CounterFact) {
            auto pair = [&](std::size_t row) {
                const Latent z = latent(row);
                return std::make_pair(std::exp(m_model.score(prompts[row], " " + c.targetNew, z)),
                                      std::exp(m_model.score(prompts[row], " " + c.targetTrue, z)));
            };
            const auto e = pair(0);
            r.editSuccess = e.first > e.second;
            r.editMagnitude = e.first - e.second;
            for (std::size_t k = 0; k < paras.size(); ++k) {
                const auto p = pair(1 + k);
                r.paraphraseSuccess += p.first > p.second ? 1.0 : 0.0;
                r.paraphraseMagnitude += p.first - p.second;
            }
            for (std::size_t k = 0; k < neigh.size(); ++k) {
                const auto p = pair(1 + paras.size() + k);
                r.neighbourhoodSuccess += p.second > p.first ? 1.0 : 0.0;
                r.neighbourhoodMagnitude += p.second - p.first;
            }
            if (!paras.empty()) {
                r.paraphraseSuccess /= double(paras.size());
                r.paraphraseMagnitude /= double(paras.size());
            }
            if (!neigh.empty()) {
                r.neighbourhoodSuccess /= double(neigh.size());
                r.neighbourhoodMagnitude /= double(neigh.size());
            }
        } else {
            const std::string t = target(c);
            // Rows [begin, end) of prompts, all with the answer `answer`.
            auto acc = [&](std::size_t begin, std::size_t end, const std::string& answer, double& accuracy, int& tokens) {
                int right = 0, all = 0;
                for (std::size_t row = begin; row < end; ++row) {
                    const auto [ok, n] = tokenAccuracy(memory, prompts[row], answer, in[row] != 0);
                    right += ok;
                    all += n;
                }
                tokens = all;
                accuracy = all ? double(right) / all : 0.0;
            };
            acc(0, 1, t, r.editTokenAccuracy, r.editTokens);
            acc(1, 1 + paras.size(), t, r.paraphraseTokenAccuracy, r.paraphraseTokens);
            int right = 0, all = 0;
            for (std::size_t k = 0; k < neigh.size(); ++k) {
                const std::size_t row = 1 + paras.size() + k;
                const auto [ok, cnt] = tokenAccuracy(memory, prompts[row], neigh[k].second, in[row] != 0);
                right += ok;
                all += cnt;
            }
            r.neighbourhoodTokens = all;
            r.neighbourhoodTokenAccuracy = all ? double(right) / all : 0.0;
            r.editSuccess = r.editTokens > 0 && r.editTokenAccuracy == 1.0;
        }

        if (m_o.generation) {
            const std::string t = target(c), other = otherTarget(c);
            r.generated = greedy(prompts[0], latent(0));
            r.generationCorrect = continuationStartsWith(r.generated, t);
            r.judgedEdit = continuationNames(r.generated, t, other);
            for (std::size_t k = 0; k < paras.size(); ++k)
                r.judgedParaphrase += continuationNames(greedy(prompts[1 + k], latent(1 + k)), t, other) ? 1.0 : 0.0;
            if (!paras.empty()) r.judgedParaphrase /= double(paras.size());
        }
        if (m_o.locality && !neigh.empty()) {
            int same = 0;
            for (std::size_t k = 0; k < neigh.size(); ++k) {
                const std::size_t row = 1 + paras.size() + k;
                same += greedy(prompts[row], latent(row)) == plain(prompts[row]) ? 1 : 0;
            }
            r.localityCount = static_cast<int>(neigh.size());
            r.locality = double(same) / double(neigh.size());
        }
        r.seconds = secondsSince(t0);
        return r;
    }

    /// The edit score used for retention and recall: CounterFact edit success (0/1), zsRE edit
    /// token accuracy. Reads only the edit prompt (when in scope; inScope receives whether).
    double editScore(MemoryBackend& memory, const EditCase& c, bool* inScope = nullptr) {
        const bool read = reads(c.prompt);
        if (inScope) *inScope = read;
        if (m_o.metric == EditMetric::Zsre) {
            const auto [ok, n] = tokenAccuracy(memory, c.prompt, target(c), read);
            return n ? double(ok) / n : 0.0;
        }
        const Latent z = read ? Latent(readout(memory, {c.prompt}).row(0)) : std::nullopt;
        return m_model.score(c.prompt, " " + c.targetNew, z) > m_model.score(c.prompt, " " + c.targetTrue, z) ? 1.0 : 0.0;
    }

    /// Test retention on an unrelated prompt: CounterFact P(answer) > P(other); zsRE token accuracy.
    struct Unrelated {
        std::string prompt, answer, other;
    };
    /// inScope counts the prompts the scope gate let read the memory.
    std::pair<double, int> unrelatedScore(MemoryBackend& memory, const Unrelated& u, bool withLocality, int& same,
                                          int& inScope) {
        const bool read = reads(u.prompt);
        inScope += read ? 1 : 0;
        if (m_o.metric == EditMetric::Zsre) {
            const auto [ok, n] = tokenAccuracy(memory, u.prompt, u.answer, read);
            if (withLocality) same += unchangedAt(memory, u.prompt, read);
            return {double(ok), n};
        }
        const Latent z = read ? Latent(readout(memory, {u.prompt}).row(0)) : std::nullopt;
        const double s = m_model.score(u.prompt, " " + u.answer, z) > m_model.score(u.prompt, " " + u.other, z) ? 1.0 : 0.0;
        if (withLocality) same += greedy(u.prompt, z) == plain(u.prompt) ? 1 : 0;
        return {s, 1};
    }

    std::string greedy(const std::string& prompt, const Latent& z) {
        DecodeSettings d;
        d.maxNewTokens = m_o.generationTokens;
        return m_model.generate(prompt, z, d).text;
    }
    /// The greedy continuation with no edit, cached per prompt: the zero readout of an empty
    /// memory, or with a scope gate no latent (nothing written: every query is out of scope).
    const std::string& plain(const std::string& prompt) {
        auto it = m_plain.find(prompt);
        if (it == m_plain.end()) it = m_plain.emplace(prompt, greedy(prompt, gated() ? Latent() : Latent(m_zero))).first;
        return it->second;
    }

    /// The memory readouts for the texts' encodings (zero with noMemory: the baseline).
    Eigen::MatrixXd readout(MemoryBackend& memory, const std::vector<std::string>& texts) {
        if (m_o.noMemory) return Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(texts.size()), m_model.latentSize());
        return memory.read(m_model.encode(texts)).readout;
    }

private:
    int unchangedAt(MemoryBackend& memory, const std::string& prompt, bool read) {
        const Latent z = read ? Latent(readout(memory, {prompt}).row(0)) : std::nullopt;
        return greedy(prompt, z) == plain(prompt) ? 1 : 0;
    }

    /// Teacher-forced greedy token accuracy (zsRE): (correct tokens, tokens). read: the prompt is
    /// in scope, so every prefix reads the memory with its own encoding; else none does.
    std::pair<int, int> tokenAccuracy(MemoryBackend& memory, const std::string& prompt, const std::string& answer,
                                      bool read) {
        const std::string spaced = " " + answer;
        const std::vector<std::string> tokens = m_o.splitTokens ? m_o.splitTokens(spaced) : splitWords(spaced);
        if (tokens.empty()) return {0, 0};
        std::vector<std::string> prefixes;
        std::string p = prompt;
        for (const auto& t : tokens) {
            prefixes.push_back(p);
            p += t;
        }
        const Eigen::MatrixXd readouts = read ? readout(memory, prefixes) : Eigen::MatrixXd();
        DecodeSettings d;
        d.maxNewTokens = 1;
        d.stopStrings.clear();
        int ok = 0;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            const Latent z = read ? Latent(readouts.row(static_cast<Eigen::Index>(i))) : std::nullopt;
            const GeneratedText g = m_model.generate(prefixes[i], z, d);
            const std::string next = g.tokens.empty() ? g.text : g.tokens.front().text;
            ok += next == tokens[i] ? 1 : 0;
        }
        return {ok, static_cast<int>(tokens.size())};
    }

    TextModel& m_model;
    const EditEvalOptions& m_o;
    Eigen::RowVectorXd m_zero;
    std::unordered_map<std::string, std::string> m_plain;
};

/// With maxEval: (batches used, cases evaluated per batch), about maxEval evaluated in all.
std::pair<int, int> evaluatedShare(int groups, int n, int maxEval) {
    if (maxEval <= 0 || static_cast<long long>(maxEval) >= static_cast<long long>(groups) * n) return {groups, n};
    const int used = std::min(groups, (maxEval + n - 1) / n);
    return {used, std::min(n, (maxEval + used - 1) / used)};
}

void checkOptions(const EditEvalOptions& o) {
    if (o.batchSize < 1) throw UserError("batch size must be at least 1");
    if (o.every < 1) throw UserError("--every must be at least 1");
    if (o.generationTokens < 1) throw UserError("generation tokens must be at least 1");
    if (!(o.lambda > 0)) throw UserError("lambda must be positive");
}

} // namespace

const char* editMetricName(EditMetric metric) { return metric == EditMetric::Zsre ? "zsre" : "counterfact"; }

const char* editModeName(EditMode mode) {
    switch (mode) {
    case EditMode::Single: return "single";
    case EditMode::Batch: return "batch";
    case EditMode::Sequential: return "sequential";
    }
    return "?";
}

std::vector<std::string> splitWords(const std::string& text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t j = text.find_first_not_of(" \t\n", i);
        if (j == std::string::npos) break;
        const std::size_t end = text.find_first_of(" \t\n", j);
        const std::size_t stop = end == std::string::npos ? text.size() : end;
        out.push_back(text.substr(i, stop - i));
        i = stop;
    }
    return out;
}

std::vector<EditCase> selectCases(const std::vector<EditCase>& cases, int limit, bool shuffle, std::uint64_t seed) {
    std::vector<EditCase> out = cases;
    if (shuffle) {
        std::mt19937_64 rng(seed);
        std::shuffle(out.begin(), out.end(), rng);
    }
    if (limit > 0 && out.size() > static_cast<std::size_t>(limit)) out.resize(static_cast<std::size_t>(limit));
    return out;
}

CounterFactSummary summarize(std::vector<CaseResult> perCase) {
    CounterFactSummary s;
    s.perCase = std::move(perCase);
    s.cases = static_cast<int>(s.perCase.size());
    int withPara = 0, withNeigh = 0, withLoc = 0, withParaTok = 0, withNeighTok = 0;
    double seconds = 0;
    for (const auto& r : s.perCase) {
        s.scoped = s.scoped || r.scoped;
        s.editQueries += 1;
        s.paraphraseQueries += r.paraphraseCount;
        s.neighbourhoodQueries += r.neighbourhoodCount;
        s.editInScope += r.editInScope;
        s.paraphraseInScope += r.paraphraseInScope;
        s.neighbourhoodInScope += r.neighbourhoodInScope;
        s.editSuccess += r.editSuccess;
        s.editMagnitude += r.editMagnitude;
        s.generationAccuracy += r.generationCorrect;
        s.judgedEditSuccess += r.judgedEdit;
        s.editTokenAccuracy += r.editTokenAccuracy;
        seconds += r.seconds;
        if (r.paraphraseCount) {
            ++withPara;
            s.judgedParaphraseSuccess += r.judgedParaphrase;
            s.paraphraseSuccess += r.paraphraseSuccess;
            s.paraphraseMagnitude += r.paraphraseMagnitude;
        }
        if (r.neighbourhoodCount) {
            ++withNeigh;
            s.neighbourhoodSuccess += r.neighbourhoodSuccess;
            s.neighbourhoodMagnitude += r.neighbourhoodMagnitude;
        }
        if (r.localityCount) {
            ++withLoc;
            s.locality += r.locality;
        }
        if (r.paraphraseTokens) {
            ++withParaTok;
            s.paraphraseTokenAccuracy += r.paraphraseTokenAccuracy;
        }
        if (r.neighbourhoodTokens) {
            ++withNeighTok;
            s.neighbourhoodTokenAccuracy += r.neighbourhoodTokenAccuracy;
        }
    }
    if (s.cases) {
        s.editSuccess /= s.cases;
        s.editMagnitude /= s.cases;
        s.generationAccuracy /= s.cases;
        s.judgedEditSuccess /= s.cases;
        s.editTokenAccuracy /= s.cases;
        s.secondsPerCase = seconds / s.cases;
    }
    auto div = [](double& v, int n) { v = n ? v / n : kNaN; };
    div(s.paraphraseSuccess, withPara);
    div(s.judgedParaphraseSuccess, withPara);
    div(s.paraphraseMagnitude, withPara);
    div(s.neighbourhoodSuccess, withNeigh);
    div(s.neighbourhoodMagnitude, withNeigh);
    div(s.locality, withLoc);
    div(s.paraphraseTokenAccuracy, withParaTok);
    div(s.neighbourhoodTokenAccuracy, withNeighTok);
    return s;
}

CounterFactSummary evaluateEdits(TextModel& model, const std::vector<EditCase>& all, const EditEvalOptions& o,
                                 const EvalProgress& progress, const std::atomic<bool>* cancel) {
    checkOptions(o);
    const std::vector<EditCase> cases = selectCases(all, o.limit, o.shuffle, o.seed);
    const int n = o.mode == EditMode::Batch ? o.batchSize : 1;
    const int allGroups = static_cast<int>(cases.size()) / n;
    if (allGroups == 0)
        throw UserError("batch size " + std::to_string(n) + " needs at least that many cases; there are " +
                        std::to_string(cases.size()));
    const auto [groups, perGroup] = evaluatedShare(allGroups, n, o.maxEval);
    const int total = groups * perGroup;
    CaseScorer scorer(model, o);
    std::vector<CaseResult> results;
    double writeSeconds = 0;
    int written = 0;
    for (int g = 0; g < groups && !cancelled(cancel); ++g) {
        const auto begin = cases.begin() + static_cast<std::ptrdiff_t>(g) * n;
        std::vector<std::string> texts;
        for (auto it = begin; it != begin + n; ++it) texts.push_back(scorer.editText(*it));
        const auto t0 = Clock::now();
        EvalMemory fresh(model, o);
        fresh.write(model.encode(texts));
        MemoryBackend& memory = *fresh;
        writeSeconds += secondsSince(t0);
        written += n;
        scorer.resetScope(memory);
        scorer.addedToScope(texts);
        for (int k = 0; k < perGroup && !cancelled(cancel); ++k) {
            // Spread the evaluated cases over the group when only some are evaluated.
            const int idx = perGroup == n ? k : static_cast<int>((static_cast<long long>(k) * n) / perGroup);
            CaseResult r = scorer.evaluate(memory, *(begin + idx));
            r.batch = g;
            results.push_back(std::move(r));
            if (progress) progress(static_cast<int>(results.size()), total);
        }
    }
    CounterFactSummary s = summarize(std::move(results));
    s.scoped = scorer.gated();
    s.batchSize = n;
    s.secondsPerEdit = written ? writeSeconds / written : 0.0;
    return s;
}

std::vector<BatchPoint> sweepBatchSizes(TextModel& model, const std::vector<EditCase>& all, EditEvalOptions o,
                                        const std::vector<int>& sizes, const EvalProgress& progress,
                                        const std::atomic<bool>* cancel) {
    const std::vector<EditCase> cases = selectCases(all, o.limit, o.shuffle, o.seed);
    o.limit = 0;
    o.shuffle = false;
    o.mode = EditMode::Batch;
    std::vector<int> used;
    int total = 0;
    for (int n : sizes) {
        if (n < 1) throw UserError("batch sizes must be at least 1");
        if (static_cast<std::size_t>(n) > cases.size()) continue;
        used.push_back(n);
        const auto [groups, perGroup] = evaluatedShare(static_cast<int>(cases.size()) / n, n, o.maxEval);
        total += groups * perGroup;
    }
    if (used.empty()) throw UserError("every batch size is larger than the " + std::to_string(cases.size()) + " cases");
    std::vector<BatchPoint> points;
    int before = 0;
    for (int n : used) {
        if (cancelled(cancel)) break;
        o.batchSize = n;
        BatchPoint p;
        p.batchSize = n;
        p.summary = evaluateEdits(model, cases, o, [&](int done, int) { if (progress) progress(before + done, total); }, cancel);
        before += p.summary.cases;
        points.push_back(std::move(p));
    }
    return points;
}

SequentialResult evaluateSequential(TextModel& model, const std::vector<EditCase>& all, const EditEvalOptions& o,
                                    const EvalProgress& progress, const std::atomic<bool>* cancel) {
    checkOptions(o);
    std::vector<EditCase> ordered = selectCases(all, 0, o.shuffle, o.seed);
    const std::size_t t = o.limit > 0 ? std::min<std::size_t>(o.limit, ordered.size()) : ordered.size();
    const std::vector<EditCase> edits(ordered.begin(), ordered.begin() + static_cast<std::ptrdiff_t>(t));
    if (edits.empty()) throw UserError("no cases to edit");

    CaseScorer scorer(model, o);
    SequentialResult result;
    std::vector<CaseScorer::Unrelated> unrelated;
    auto addUnrelated = [&](const EditCase& c) {
        for (const auto& [p, a] : scorer.neighbourhood(c)) unrelated.push_back({p, a, c.targetNew});
    };
    const std::size_t held = std::min<std::size_t>(std::max(0, o.unrelated), ordered.size() - t);
    for (std::size_t i = 0; i < held; ++i) addUnrelated(ordered[t + i]);
    if (unrelated.empty() && o.unrelated > 0) {
        result.unrelatedFromEdits = true;
        for (std::size_t i = 0; i < edits.size() && static_cast<int>(i) < o.unrelated; ++i) addUnrelated(edits[i]);
    }
    result.unrelatedPrompts = static_cast<int>(unrelated.size());

    const auto t0 = Clock::now();
    EvalMemory fresh(model, o);
    MemoryBackend& memory = *fresh;
    scorer.resetScope(memory);
    auto measure = [&](int written) {
        SequentialPoint p;
        p.edits = written;
        p.editInScope = kNaN;
        if (written == 0) {
            p.editRetention = kNaN;
        } else {
            double sum = 0;
            int in = 0;
            for (int i = 0; i < written; ++i) {
                bool read = false;
                sum += scorer.editScore(memory, edits[static_cast<std::size_t>(i)], &read);
                in += read ? 1 : 0;
            }
            p.editRetention = sum / written;
            if (scorer.gated()) p.editInScope = double(in) / written;
        }
        double right = 0;
        int count = 0, same = 0, in = 0;
        for (const auto& u : unrelated) {
            const auto [ok, n] = scorer.unrelatedScore(memory, u, o.locality, same, in);
            right += ok;
            count += n;
        }
        p.testRetention = count ? right / count : kNaN;
        p.unchanged = (o.locality && !unrelated.empty()) ? double(same) / double(unrelated.size()) : kNaN;
        p.testInScope = (scorer.gated() && !unrelated.empty()) ? double(in) / double(unrelated.size()) : kNaN;
        p.seconds = secondsSince(t0);
        result.points.push_back(p);
    };
    measure(0);
    double writeSeconds = 0;
    int written = 0;
    for (const auto& c : edits) {
        if (cancelled(cancel)) break;
        const auto w0 = Clock::now();
        fresh.write(model.encode({scorer.editText(c)}));
        writeSeconds += secondsSince(w0);
        ++written;
        scorer.addedToScope({scorer.editText(c)});
        if (written % o.every == 0 || written == static_cast<int>(edits.size())) measure(written);
        if (progress) progress(written, static_cast<int>(edits.size()));
    }
    if (written > 0 && result.points.back().edits != written && !cancelled(cancel)) measure(written);
    std::vector<CaseResult> finals;
    for (int i = 0; i < written && !cancelled(cancel); ++i) finals.push_back(scorer.evaluate(memory, edits[static_cast<std::size_t>(i)]));
    result.final = summarize(std::move(finals));
    result.final.scoped = scorer.gated();
    result.secondsPerEdit = written ? writeSeconds / written : 0.0;
    result.final.secondsPerEdit = result.secondsPerEdit;
    return result;
}

ForgetResult evaluateForget(TextModel& model, const std::vector<EditCase>& cases, const EditEvalOptions& o,
                            const ForgetOptions& f, const EvalProgress& progress, const std::atomic<bool>* cancel) {
    checkOptions(o);
    if (!(f.forgetFraction > 0 && f.forgetFraction < 1)) throw UserError("--forget-fraction must lie strictly between 0 and 1");
    ForgetResult r;
    r.slots = static_cast<int>(model.memoryPrior().rows());
    r.facts = f.facts > 0 ? f.facts : r.slots;
    if (static_cast<std::size_t>(r.facts) > cases.size())
        throw UserError("forgetting needs " + std::to_string(r.facts) + " facts; the file has " + std::to_string(cases.size()) +
                        " cases");
    // The facts: the first N cases (or N shuffled ones); the forgotten subset drawn with seed.
    const std::vector<EditCase> facts = selectCases(cases, r.facts, o.shuffle, o.seed);
    std::vector<int> order(static_cast<std::size_t>(r.facts));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(o.seed ^ 0x9e3779b97f4a7c15ull);
    std::shuffle(order.begin(), order.end(), rng);
    r.forgotten = std::clamp(static_cast<int>(std::lround(f.forgetFraction * r.facts)), 1, r.facts - 1);
    r.kept = r.facts - r.forgotten;
    std::vector<int> forgotten(order.begin(), order.begin() + r.forgotten), kept(order.begin() + r.forgotten, order.end());
    std::sort(forgotten.begin(), forgotten.end());
    std::sort(kept.begin(), kept.end());
    if (f.maxEval > 0) {
        if (static_cast<int>(forgotten.size()) > f.maxEval) forgotten.resize(static_cast<std::size_t>(f.maxEval));
        if (static_cast<int>(kept.size()) > f.maxEval) kept.resize(static_cast<std::size_t>(f.maxEval));
    }
    r.evaluatedForgotten = static_cast<int>(forgotten.size());
    r.evaluatedKept = static_cast<int>(kept.size());
    const int total = 2 * r.evaluatedForgotten + r.evaluatedKept;
    int done = 0;
    auto step = [&] { if (progress) progress(++done, total); };

    EditEvalOptions ungated = o; // forgetting measures the memory itself: no scope gate
    ungated.scope = nullptr;
    CaseScorer scorer(model, ungated);
    std::vector<std::string> texts;
    for (const auto& c : facts) texts.push_back(scorer.editText(c));
    auto t0 = Clock::now();
    EvalMemory fresh(model, o);
    MemoryBackend& memory = *fresh;
    const Eigen::MatrixXd z = model.encode(texts);
    const std::vector<std::int64_t> ids = fresh.write(z);
    r.secondsWrite = secondsSince(t0);

    double before = 0;
    for (int i : forgotten) {
        if (cancelled(cancel)) return r;
        before += scorer.editScore(memory, facts[static_cast<std::size_t>(i)]);
        step();
    }
    r.forgottenRecallBefore = forgotten.empty() ? kNaN : before / double(forgotten.size());

    // Forget every chosen fact (not only the evaluated ones).
    std::vector<int> allForgotten(order.begin(), order.begin() + r.forgotten);
    std::vector<std::int64_t> forgottenIds;
    for (const int i : allForgotten) forgottenIds.push_back(ids[static_cast<std::size_t>(i)]);
    t0 = Clock::now();
    fresh.forget(forgottenIds);
    r.secondsForget = secondsSince(t0);

    auto measure = [&](const std::vector<int>& which, bool isForgotten, double& recall, double& generation) {
        double sum = 0, gen = 0;
        int n = 0;
        for (int i : which) {
            if (cancelled(cancel)) break;
            const EditCase& c = facts[static_cast<std::size_t>(i)];
            CaseResult cr;
            cr.caseId = c.caseId;
            const double score = scorer.editScore(memory, c);
            cr.editSuccess = score > 0.5;
            if (o.metric == EditMetric::Zsre) cr.editTokenAccuracy = score;
            if (o.generation) {
                const Eigen::RowVectorXd zq = memory.read(model.encode({c.prompt})).readout.row(0);
                cr.generated = scorer.greedy(c.prompt, zq);
                cr.generationCorrect = continuationStartsWith(cr.generated, scorer.target(c));
                gen += cr.generationCorrect;
            }
            sum += score;
            ++n;
            r.perCase.push_back(std::move(cr));
            r.perCaseForgotten.push_back(isForgotten);
            step();
        }
        recall = n ? sum / n : kNaN;
        generation = (n && o.generation) ? gen / n : kNaN;
    };
    measure(forgotten, true, r.forgottenRecall, r.forgottenGeneration);
    measure(kept, false, r.keptRecall, r.keptGeneration);
    return r;
}

} // namespace larimar
