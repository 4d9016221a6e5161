#include "core/eval/counterfact_eval.h"

#include "core/eval/edit_eval.h"

#include <cctype>

namespace larimar {
namespace {

std::string ltrim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\n");
    return b == std::string::npos ? std::string() : s.substr(b);
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool wordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80); }

/// The first position of `word` in `text` as whole words (npos if none).
std::size_t findWords(const std::string& text, const std::string& word) {
    if (word.empty()) return std::string::npos;
    for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
        const bool before = at == 0 || !wordChar(text[at - 1]) || !wordChar(word.front());
        const std::size_t end = at + word.size();
        const bool after = end >= text.size() || !wordChar(text[end]) || !wordChar(word.back());
        if (before && after) return at;
    }
    return std::string::npos;
}

} // namespace

bool continuationNames(const std::string& generated, const std::string& target, const std::string& other) {
    std::string g = lower(ltrim(generated));
    std::size_t cut = g.find('\n');
    for (std::size_t dot = g.find(". "); dot != std::string::npos; dot = g.find(". ", dot + 1)) {
        // "St. Louis", "U.S. Army": a full stop after one or two letters is an abbreviation.
        std::size_t w = dot;
        while (w > 0 && wordChar(g[w - 1])) --w;
        if (dot - w > 2) {
            cut = std::min(cut, dot);
            break;
        }
    }
    if (cut != std::string::npos) g.resize(cut);
    const std::string t = lower(ltrim(target)), o = lower(ltrim(other));
    const std::size_t at = findWords(g, t);
    if (at == std::string::npos) return false;
    const std::size_t otherAt = o.empty() || o == t ? std::string::npos : findWords(g, o);
    return otherAt == std::string::npos || otherAt > at;
}

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
