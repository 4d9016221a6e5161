// The text rules behind Editor::conflicts: which written facts a new sentence repeats or
// contradicts, judged on words alone (the detector's similarity is added by the Editor).
#include "core/editor/editor.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

namespace larimar {

const char* toString(ConflictKind kind) {
    switch (kind) {
    case ConflictKind::Duplicate: return "duplicate";
    case ConflictKind::OtherAnswer: return "other-answer";
    case ConflictKind::SameSubject: return "same-subject";
    case ConflictKind::Similar: return "similar";
    }
    return "duplicate";
}

std::string describe(const FactConflict& c) {
    std::string why;
    switch (c.kind) {
    case ConflictKind::Duplicate: why = "the same text"; break;
    case ConflictKind::OtherAnswer: why = "the same prompt with another answer"; break;
    case ConflictKind::SameSubject: why = "the same subject and relation with another answer"; break;
    case ConflictKind::Similar: {
        char score[32];
        std::snprintf(score, sizeof score, "%.2f", c.score);
        why = std::string("nearly the same (scope score ") + score + ")";
        break;
    }
    }
    return "fact " + std::to_string(c.fact.id) + " ('" + c.fact.text + "'): " + why;
}

namespace {

/// Lower-case words without the punctuation around them: "The  Eiffel Tower." -> the eiffel tower.
std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string w;
    auto punct = [](unsigned char c) { return std::ispunct(c) != 0; };
    while (in >> w) {
        std::size_t b = 0, e = w.size();
        while (b < e && punct(static_cast<unsigned char>(w[b]))) ++b;
        while (e > b && punct(static_cast<unsigned char>(w[e - 1]))) --e;
        if (b == e) continue;
        std::string word = w.substr(b, e - b);
        for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.push_back(std::move(word));
    }
    return out;
}

std::string joined(const std::string& text) {
    std::string out;
    for (const auto& w : words(text)) out += (out.empty() ? "" : " ") + w;
    return out;
}

/// Up to this many trailing words are "the answer" ("Rome", "New York City").
constexpr std::size_t kAnswerWords = 3;
/// The shared start must be at least this many words ("X is located in" is 4 and more).
constexpr std::size_t kPromptWords = 3;

bool otherAnswer(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    std::size_t p = 0;
    while (p < a.size() && p < b.size() && a[p] == b[p]) ++p;
    const std::size_t ra = a.size() - p, rb = b.size() - p;
    return p >= kPromptWords && ra >= 1 && rb >= 1 && ra <= kAnswerWords && rb <= kAnswerWords;
}

} // namespace

std::vector<FactConflict> textConflicts(const std::vector<Fact>& written, const std::string& text,
                                        const FactMeta& meta) {
    const auto mine = words(text);
    const std::string subject = joined(meta.subject), prompt = joined(meta.prompt), target = joined(meta.target);
    std::vector<FactConflict> duplicates, others;
    for (const Fact& f : written) {
        if (f.state != FactState::Written) continue;
        const auto theirs = words(f.text);
        if (!mine.empty() && theirs == mine) {
            duplicates.push_back({ConflictKind::Duplicate, f, 0});
            continue;
        }
        const std::string relation = joined(f.relation);
        const bool differentTarget = target.empty() || joined(f.target) != target;
        if (!prompt.empty() && relation == prompt && differentTarget &&
            (subject.empty() || joined(f.subject).empty() || joined(f.subject) == subject)) {
            others.push_back({subject.empty() || joined(f.subject) != subject ? ConflictKind::OtherAnswer
                                                                                : ConflictKind::SameSubject,
                              f, 0});
            continue;
        }
        if (otherAnswer(mine, theirs)) others.push_back({ConflictKind::OtherAnswer, f, 0});
    }
    duplicates.insert(duplicates.end(), others.begin(), others.end());
    return duplicates;
}

} // namespace larimar
