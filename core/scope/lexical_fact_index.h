#pragma once
/// Word overlap between a query and the stored facts, weighted by how rare each word is among the
/// facts themselves (IDF), for the external scope detector's hybrid score. A fact's words and a
/// query's words are sets of lowercased NFKC words (runs of letters, digits and any non-ASCII
/// code point; ASCII punctuation and spaces separate them). The similarity of a query q and a
/// fact f is the cosine of their binary TF-IDF vectors:
///     lex(q, f) = sum_{w in q and f} idf(w)^2 / (|q| |f|),   |x| = sqrt(sum_{w in x} idf(w)^2),
///     idf(w) = ln((N + 1) / df(w)),   N facts stored, df(w) >= 1 of them contain w,
/// in [0, 1] (N + 1, not N, so that with a single fact its words still count: ln 2). A word no
/// stored fact contains gets the largest IDF, ln(N + 1) (as if one fact had it), times
/// unseenWeight(word) (default 1): a query about a name nobody wrote down (a neighbouring fact's
/// subject) is diluted by it, while the owner can let a common word of the language (a
/// rephrase's new wording) weigh less. Words shared by every fact ("the", "is") weigh almost
/// nothing, so no stop-word list is needed.
/// The IDFs follow add() and remove() incrementally (document frequencies and posting lists).
/// No libtorch here.
///
/// Cost: add/remove O(words of the fact * df of its words) (posting lists are vectors of slots;
/// words are kept as integer ids, and a word once seen stays in the word table); a query
/// touches the posting lists of its words (at most N entries each) plus, after any add or
/// remove, one pass over every stored fact's words to refresh the fact norms (the IDFs of all
/// words move with N). Both O(facts).
///
/// Thread-safety: none (the scope detector's owner serialises calls; best() refreshes a cache).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace larimar {

/// The word set lex() uses: NFKC (ICU), ASCII lowercased, split at ASCII non-alphanumerics,
/// deduplicated, in first-seen order. Throws UserError for invalid UTF-8.
std::vector<std::string> lexicalWords(std::string_view text);

struct LexicalMatch {
    std::int64_t id = 0;
    double similarity = 0; ///< lex(q, f) in [0, 1]
};

class LexicalFactIndex {
public:
    /// Stores the words of text under id (replacing what id had).
    void add(std::int64_t id, std::string_view text);
    /// Drops id; false if it was not there.
    bool remove(std::int64_t id);
    void clear();
    /// The factor on ln(N + 1) for a query word no stored fact contains (see above); empty: 1.
    void setUnseenWeight(std::function<double(const std::string&)> weight) { m_unseenWeight = std::move(weight); }
    std::size_t size() const { return m_ids.size(); }
    bool contains(std::int64_t id) const { return m_slotOf.count(id) != 0; }

    /// The k stored facts most similar to query (similarity > 0 only), best first, plus
    /// similarities for the facts in also (in also's order, 0 for unknown ids) when asked.
    std::vector<LexicalMatch> best(std::string_view query, std::size_t k, const std::vector<std::int64_t>& also = {},
                                   std::vector<double>* alsoSimilarity = nullptr) const;
    /// lex(query, fact id); 0 when id is not stored.
    double similarity(std::string_view query, std::int64_t id) const;
    /// idf(word) as defined above (word as lexicalWords gives it), unseenWeight included.
    double idf(const std::string& word) const;
    /// How many stored facts contain word.
    std::int64_t documentFrequency(const std::string& word) const;

private:
    void refreshNorms() const;

    std::uint32_t wordId(const std::string& word); // adds unknown words to the table
    std::int64_t df(std::uint32_t word) const { return static_cast<std::int64_t>(m_postings[word].size()); }
    double idfOf(std::int64_t df) const;

    std::unordered_map<std::string, std::uint32_t> m_wordIds;   // every word seen so far
    std::vector<std::vector<std::uint32_t>> m_postings;          // word id -> slots
    std::vector<std::vector<std::uint32_t>> m_words; // per slot: its word ids
    std::vector<std::int64_t> m_ids;                // per slot (compact)
    std::unordered_map<std::int64_t, std::uint32_t> m_slotOf;
    mutable std::vector<double> m_norm;             // per slot, valid when !m_dirty
    mutable bool m_dirty = true;
    std::function<double(const std::string&)> m_unseenWeight;
    mutable std::vector<double> m_acc;              // per-query accumulator, kept to avoid allocations
};

} // namespace larimar
