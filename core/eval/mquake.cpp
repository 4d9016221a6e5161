#include "core/eval/mquake.h"

#include "core/eval/counterfact_eval.h"
#include "core/util/error.h"

#include <cctype>
#include <chrono>
#include <algorithm>
#include <limits>
#include <map>
#include <optional>

namespace larimar {
namespace {

using Clock = std::chrono::steady_clock;
using Latent = std::optional<Eigen::RowVectorXd>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The three things the runner does with a memory (see MquakeMemory in the header).
std::unique_ptr<MquakeMemory> freshCopy(const MquakeMemory& empty) { return std::make_unique<MquakeMemory>(empty); }
void writeFacts(MquakeMemory& memory, TextModel& model, const std::vector<std::string>& facts) {
    memory.write(model.encode(facts));
}
Eigen::MatrixXd readouts(const MquakeMemory& memory, TextModel& model, const std::vector<std::string>& prompts) {
    return memory.read(model.encode(prompts)).readout;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> names(const std::string& answer, const std::vector<std::string>& aliases) {
    std::vector<std::string> out{answer};
    out.insert(out.end(), aliases.begin(), aliases.end());
    return out;
}

std::string applyTemplate(const std::string& templ, const std::string& question) {
    const auto at = templ.find("{}");
    return templ.substr(0, at) + question + templ.substr(at + 2);
}

/// Asks prompts under one condition: with a memory, each reads it with its own encoding; without,
/// the plain decoder.
class Asker {
public:
    Asker(TextModel& model, const MquakeMemory* memory, int tokens) : m_model(model), m_memory(memory) {
        m_decode.maxNewTokens = tokens;
    }

    /// Greedy continuations. A prompt asked before (a hop whose prompt is an edit's prompt) gets
    /// the same text without a second generation: the memory does not change within a case.
    std::vector<std::string> ask(const std::vector<std::string>& prompts) {
        std::vector<std::string> fresh;
        for (const auto& p : prompts)
            if (!m_asked.count(p) && std::find(fresh.begin(), fresh.end(), p) == fresh.end()) fresh.push_back(p);
        if (!fresh.empty()) {
            Eigen::MatrixXd z;
            if (m_memory) z = readouts(*m_memory, m_model, fresh);
            for (std::size_t i = 0; i < fresh.size(); ++i) {
                const Latent latent = m_memory ? Latent(z.row(static_cast<Eigen::Index>(i))) : std::nullopt;
                m_asked[fresh[i]] = m_model.generate(fresh[i], latent, m_decode).text;
            }
        }
        std::vector<std::string> out;
        for (const auto& p : prompts) out.push_back(m_asked.at(p));
        return out;
    }
    std::string ask(const std::string& prompt) { return ask(std::vector<std::string>{prompt}).front(); }

private:
    TextModel& m_model;
    const MquakeMemory* m_memory;
    DecodeSettings m_decode;
    std::map<std::string, std::string> m_asked;
};

MquakeAnswer judged(const std::string& prompt, const std::string& generated, const std::vector<std::string>& newNames,
                    const std::vector<std::string>& oldNames) {
    MquakeAnswer a;
    a.prompt = prompt;
    a.generated = generated;
    a.newAnswer = continuationNamesAny(generated, newNames, oldNames);
    a.oldAnswer = !oldNames.empty() && continuationNamesAny(generated, oldNames, newNames);
    return a;
}

MquakeRun runCondition(TextModel& model, const MquakeMemory* memory, const MquakeCase& c, const MquakeOptions& o) {
    MquakeRun run;
    run.ran = true;
    Asker asker(model, memory, o.generationTokens);
    const auto newNames = names(c.newAnswer, c.newAnswerAliases), oldNames = names(c.answer, c.answerAliases);

    // Questions, edit questions and edit prompts do not depend on one another: one batch.
    auto asked = [&](const std::string& question) { return applyTemplate(o.questionTemplate, question); };
    std::vector<std::string> prompts;
    for (const auto& q : c.questions) prompts.push_back(asked(q));
    std::vector<std::size_t> withQuestion;
    for (std::size_t i = 0; i < c.edits.size(); ++i)
        if (!c.edits[i].question.empty()) prompts.push_back(asked(c.edits[i].question)), withQuestion.push_back(i);
    for (const auto& e : c.edits) prompts.push_back(e.rewrite.prompt);
    const auto generated = asker.ask(prompts);
    std::size_t at = 0;
    for (std::size_t i = 0; i < c.questions.size(); ++i, ++at)
        run.multiHop.push_back(judged(prompts[at], generated[at], newNames, oldNames));
    for (std::size_t i : withQuestion) {
        const MquakeEdit& e = c.edits[i];
        run.editQuestions.push_back(
            judged(prompts[at], generated[at], names(e.rewrite.targetNew, e.newAliases), {e.rewrite.targetTrue}));
        ++at;
    }
    for (const auto& e : c.edits)
        run.editPrompts.push_back(
            judged(e.rewrite.prompt, generated[at++], names(e.rewrite.targetNew, e.newAliases), {e.rewrite.targetTrue}));

    if (o.hopByHop && c.chainable()) {
        const auto& hops = c.newSingleHops;
        const bool oldChain = c.singleHops.size() == hops.size();
        std::string previous; // the model's answer to the hop before
        for (std::size_t i = 0; i < hops.size(); ++i) {
            const bool last = i + 1 == hops.size();
            const auto target = last ? newNames : names(hops[i].answer, hops[i].aliases);
            std::vector<std::string> other;
            if (last) other = oldNames;
            else if (oldChain) other = names(c.singleHops[i].answer, c.singleHops[i].aliases);
            std::string prompt = hops[i].cloze;
            if (i > 0) {
                if (previous.empty()) { // no answer to go on with: the rest of the chain fails
                    run.hops.push_back(MquakeAnswer{});
                    continue;
                }
                prompt.replace(prompt.find(hops[i - 1].answer), hops[i - 1].answer.size(), previous);
            }
            MquakeAnswer a = judged(prompt, asker.ask(prompt), target, other);
            previous = firstPhrase(a.generated);
            run.hops.push_back(std::move(a));
        }
    }
    return run;
}

double rate(int hits, int n) { return n ? double(hits) / n : kNaN; }

} // namespace

std::unique_ptr<MquakeMemory> makeMquakeMemory(TextModel& model, double lambda) {
    const Eigen::MatrixXd reference = model.memoryPrior();
    MemorySettings settings;
    settings.pinv = model.pinv();
    settings.lambda = lambda;
    return std::make_unique<MquakeMemory>(Eigen::MatrixXd::Zero(reference.rows(), reference.cols()), reference, settings);
}

bool continuationNamesAny(const std::string& generated, const std::vector<std::string>& targets,
                          const std::vector<std::string>& others) {
    for (const auto& t : targets) {
        if (trim(t).empty()) continue;
        bool first = continuationNames(generated, t);
        for (std::size_t k = 0; first && k < others.size(); ++k)
            if (!trim(others[k]).empty()) first = continuationNames(generated, t, others[k]);
        if (first) return true;
    }
    return false;
}

std::string firstPhrase(const std::string& generated) {
    const std::string g = trim(generated);
    std::size_t end = g.size();
    for (std::size_t i = 0; i < g.size(); ++i) {
        const char ch = g[i];
        if (ch == '\n' || ch == ',' || ch == ';' || ch == ':' || ch == '(' || ch == '!' || ch == '?') {
            end = i;
            break;
        }
        if (ch == '.') {
            // "U.S. Army", "St. Louis": a full stop after one or two letters, with more text
            // after it, is an abbreviation; "Band B." ends with one.
            std::size_t w = i;
            while (w > 0 && std::isalpha(static_cast<unsigned char>(g[w - 1]))) --w;
            if (i - w > 2 || i - w == 0 || i + 1 == g.size()) {
                end = i;
                break;
            }
        }
    }
    std::string p = trim(g.substr(0, end));
    while (!p.empty() && (p.front() == '"' || p.front() == '\'')) p.erase(0, 1);
    while (!p.empty() && (p.back() == '"' || p.back() == '\'')) p.pop_back();
    return trim(p);
}

bool MquakeRun::multiHopCorrect() const {
    for (const auto& a : multiHop)
        if (a.newAnswer) return true;
    return false;
}
bool MquakeRun::multiHopOld() const {
    for (const auto& a : multiHop)
        if (a.oldAnswer) return true;
    return false;
}
bool MquakeRun::chainCorrect() const { return !hops.empty() && hops.back().newAnswer; }
bool MquakeRun::chainAllHops() const {
    if (hops.empty()) return false;
    for (const auto& h : hops)
        if (!h.newAnswer) return false;
    return true;
}

MquakeCaseResult evaluateMquakeCase(TextModel& model, MquakeMemory* memory, const MquakeCase& c, const MquakeOptions& o) {
    const auto t0 = Clock::now();
    MquakeCaseResult r;
    r.caseId = c.caseId;
    if (memory) {
        std::vector<std::string> facts;
        for (const auto& e : c.edits) facts.push_back(e.rewrite.editText());
        writeFacts(*memory, model, facts);
        r.edited = runCondition(model, memory, c, o);
    }
    if (o.base) r.base = runCondition(model, nullptr, c, o);
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
}

MquakeRates mquakeRates(const std::vector<MquakeCaseResult>& results, bool edited) {
    MquakeRates s;
    int mh = 0, mhq = 0, mho = 0, mhoq = 0, eq = 0, eqo = 0, ep = 0, epo = 0, ch = 0, chOld = 0, chAll = 0, hop = 0;
    for (const auto& cr : results) {
        const MquakeRun& r = edited ? cr.edited : cr.base;
        if (!r.ran) continue;
        ++s.cases;
        mh += r.multiHopCorrect();
        mho += r.multiHopOld();
        for (const auto& a : r.multiHop) ++s.questions, mhq += a.newAnswer, mhoq += a.oldAnswer;
        for (const auto& a : r.editQuestions) ++s.editQuestions, eq += a.newAnswer, eqo += a.oldAnswer;
        for (const auto& a : r.editPrompts) ++s.edits, ep += a.newAnswer, epo += a.oldAnswer;
        if (!r.hops.empty()) {
            ++s.chains;
            ch += r.chainCorrect();
            chOld += r.hops.back().oldAnswer;
            chAll += r.chainAllHops();
            for (const auto& h : r.hops) ++s.hops, hop += h.newAnswer;
        }
    }
    s.multiHop = rate(mh, s.cases);
    s.multiHopOld = rate(mho, s.cases);
    s.multiHopQuestion = rate(mhq, s.questions);
    s.multiHopOldQuestion = rate(mhoq, s.questions);
    s.editQuestion = rate(eq, s.editQuestions);
    s.editQuestionOld = rate(eqo, s.editQuestions);
    s.editPrompt = rate(ep, s.edits);
    s.editPromptOld = rate(epo, s.edits);
    s.chain = rate(ch, s.chains);
    s.chainOld = rate(chOld, s.chains);
    s.chainAllHops = rate(chAll, s.chains);
    s.chainHop = rate(hop, s.hops);
    return s;
}

MquakeSummary evaluateMquake(TextModel& model, const std::vector<MquakeCase>& all, const MquakeOptions& o,
                             const EvalProgress& progress, const std::atomic<bool>* cancel) {
    if (o.generationTokens < 1) throw UserError("generation tokens must be at least 1");
    if (o.questionTemplate.find("{}") == std::string::npos)
        throw UserError("the question template '" + o.questionTemplate + "' has no {} where the question goes");
    if (!(o.lambda > 0)) throw UserError("lambda must be positive");
    if (!o.memory && !o.base) throw UserError("nothing to measure: neither the memory nor the base model");
    if (all.empty()) throw UserError("no MQuAKE cases to evaluate");
    const std::size_t n = o.limit > 0 ? std::min<std::size_t>(static_cast<std::size_t>(o.limit), all.size()) : all.size();
    // One empty memory made, and a fresh copy of it per case (making one costs a pseudo-inverse).
    std::unique_ptr<MquakeMemory> empty;
    if (o.memory) empty = o.makeMemory ? o.makeMemory(model) : makeMquakeMemory(model, o.lambda);
    if (o.memory && !empty) throw Error("the memory factory made no memory");
    MquakeSummary s;
    double seconds = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (cancel && cancel->load()) {
            s.cancelled = true;
            break;
        }
        const std::unique_ptr<MquakeMemory> memory = empty ? freshCopy(*empty) : nullptr;
        s.perCase.push_back(evaluateMquakeCase(model, memory.get(), all[i], o));
        seconds += s.perCase.back().seconds;
        if (progress) progress(static_cast<int>(i + 1), static_cast<int>(n));
    }
    s.cases = static_cast<int>(s.perCase.size());
    s.edited = mquakeRates(s.perCase, true);
    s.base = mquakeRates(s.perCase, false);
    s.secondsPerCase = s.cases ? seconds / s.cases : 0.0;
    return s;
}

} // namespace larimar
