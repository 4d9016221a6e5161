#include "core/scope/lexical_fact_index.h"

#include "core/util/error.h"
#include "core/util/utf8.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace larimar {
namespace {

/// NFKC by ICU (the Unicode data the WordPiece tokenizer uses too). NUL bytes are fine here; only
/// the encoding must be valid.
std::string nfkc(std::string_view utf8) {
    for (std::size_t start = 0; start < utf8.size();) {
        const auto nul = utf8.find('\0', start);
        const auto part = utf8.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start);
        if (auto problem = findUtf8Problem(part))
            throw UserError("text is not valid UTF-8: " + problem->what + " at byte " +
                            std::to_string(start + problem->offset));
        if (nul == std::string_view::npos) break;
        start = nul + 1;
    }
    // Valid UTF-8 with no byte >= 0xC2 is ASCII, which NFKC leaves as it is (the common case).
    if (std::all_of(utf8.begin(), utf8.end(), [](char c) { return static_cast<unsigned char>(c) < 0xC2; }))
        return std::string(utf8);
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFKCInstance(status);
    if (U_FAILURE(status)) throw Error(std::string("ICU has no NFKC data: ") + u_errorName(status));
    const icu::UnicodeString normalised =
        n->normalize(icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size()))),
                     status);
    if (U_FAILURE(status)) throw Error(std::string("ICU NFKC failed: ") + u_errorName(status));
    std::string out;
    normalised.toUTF8String(out);
    return out;
}

} // namespace

std::vector<std::string> lexicalWords(std::string_view text) {
    const std::string n = nfkc(text);
    std::vector<std::string> out;
    std::unordered_set<std::string> seen;
    std::string w;
    auto flush = [&]() {
        if (!w.empty() && seen.insert(w).second) out.push_back(w);
        w.clear();
    };
    for (const char ch : n) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) {
            w += ch;
        } else if (c >= 'A' && c <= 'Z') {
            w += static_cast<char>(c - 'A' + 'a');
        } else {
            flush();
        }
    }
    flush();
    return out;
}

std::uint32_t LexicalFactIndex::wordId(const std::string& word) {
    const auto [it, added] = m_wordIds.emplace(word, static_cast<std::uint32_t>(m_postings.size()));
    if (added) m_postings.emplace_back();
    return it->second;
}

void LexicalFactIndex::add(std::int64_t id, std::string_view text) {
    remove(id);
    const auto slot = static_cast<std::uint32_t>(m_ids.size());
    std::vector<std::uint32_t> words;
    for (const auto& w : lexicalWords(text)) words.push_back(wordId(w));
    for (const auto w : words) m_postings[w].push_back(slot);
    m_words.push_back(std::move(words));
    m_ids.push_back(id);
    m_slotOf.emplace(id, slot);
    m_dirty = true;
}

bool LexicalFactIndex::remove(std::int64_t id) {
    const auto it = m_slotOf.find(id);
    if (it == m_slotOf.end()) return false;
    const std::uint32_t slot = it->second;
    const auto last = static_cast<std::uint32_t>(m_ids.size() - 1);
    m_slotOf.erase(it);
    for (const auto w : m_words[slot]) {
        auto& list = m_postings[w];
        list.erase(std::find(list.begin(), list.end(), slot));
    }
    if (slot != last) { // move the last fact into the hole
        for (const auto w : m_words[last]) {
            auto& list = m_postings[w];
            *std::find(list.begin(), list.end(), last) = slot;
        }
        m_words[slot] = std::move(m_words[last]);
        m_ids[slot] = m_ids[last];
        m_slotOf[m_ids[slot]] = slot;
    }
    m_words.pop_back();
    m_ids.pop_back();
    m_dirty = true;
    return true;
}

void LexicalFactIndex::clear() {
    m_wordIds.clear();
    m_postings.clear();
    m_words.clear();
    m_ids.clear();
    m_slotOf.clear();
    m_norm.clear();
    m_dirty = true;
}

std::int64_t LexicalFactIndex::documentFrequency(const std::string& word) const {
    const auto it = m_wordIds.find(word);
    return it == m_wordIds.end() ? 0 : df(it->second);
}

double LexicalFactIndex::idfOf(std::int64_t df) const {
    const double n = static_cast<double>(m_ids.size());
    return df == 0 ? std::log(n + 1.0) : std::log((n + 1.0) / static_cast<double>(df));
}

double LexicalFactIndex::idf(const std::string& word) const {
    const auto d = documentFrequency(word);
    const double v = idfOf(d);
    return d == 0 && m_unseenWeight ? v * m_unseenWeight(word) : v;
}

void LexicalFactIndex::refreshNorms() const {
    if (!m_dirty) return;
    // Integer word ids: one log per word and one array lookup per stored word (a few ms for
    // 100,000 facts).
    std::vector<double> idf2(m_postings.size(), 0.0);
    for (std::size_t w = 0; w < m_postings.size(); ++w)
        if (!m_postings[w].empty()) {
            const double v = idfOf(static_cast<std::int64_t>(m_postings[w].size()));
            idf2[w] = v * v;
        }
    m_norm.assign(m_ids.size(), 0.0);
    for (std::size_t s = 0; s < m_words.size(); ++s) {
        double sum = 0;
        for (const auto w : m_words[s]) sum += idf2[w];
        m_norm[s] = std::sqrt(sum);
    }
    m_dirty = false;
}

std::vector<LexicalMatch> LexicalFactIndex::best(std::string_view query, std::size_t k,
                                                 const std::vector<std::int64_t>& also,
                                                 std::vector<double>* alsoSimilarity) const {
    std::vector<LexicalMatch> out;
    if (alsoSimilarity) alsoSimilarity->assign(also.size(), 0.0);
    if (m_ids.empty()) return out;
    refreshNorms();
    const auto words = lexicalWords(query);
    double q2 = 0;
    m_acc.assign(m_ids.size(), 0.0);
    std::vector<std::uint32_t> touched;
    for (const auto& w : words) {
        const double v = idf(w); // ln(N + 1) (times unseenWeight) for a word no fact has
        q2 += v * v;
        const auto it = m_wordIds.find(w);
        if (it == m_wordIds.end()) continue;
        for (const auto s : m_postings[it->second]) {
            if (m_acc[s] == 0.0) touched.push_back(s);
            m_acc[s] += v * v;
        }
    }
    const double qn = std::sqrt(q2);
    auto sim = [&](std::uint32_t s) {
        const double d = qn * m_norm[s];
        return d > 0 ? std::clamp(m_acc[s] / d, 0.0, 1.0) : 0.0;
    };
    if (alsoSimilarity)
        for (std::size_t i = 0; i < also.size(); ++i)
            if (const auto it = m_slotOf.find(also[i]); it != m_slotOf.end()) (*alsoSimilarity)[i] = sim(it->second);
    out.reserve(touched.size());
    for (const auto s : touched)
        if (const double v = sim(s); v > 0) out.push_back({m_ids[s], v});
    const std::size_t keep = std::min(k, out.size());
    auto better = [](const LexicalMatch& a, const LexicalMatch& b) {
        return a.similarity != b.similarity ? a.similarity > b.similarity : a.id < b.id;
    };
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(keep), out.end(), better);
    out.resize(keep);
    return out;
}

double LexicalFactIndex::similarity(std::string_view query, std::int64_t id) const {
    std::vector<double> s;
    best(query, 0, {id}, &s);
    return s.at(0);
}

} // namespace larimar
