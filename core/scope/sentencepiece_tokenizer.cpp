#include "core/scope/sentencepiece_tokenizer.h"

#include "core/scope/nfkc.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <unordered_map>

namespace larimar {
namespace {

// The reference skips the first 6 ids (unknown, <s>, </s>, 3 extra ids) when building its trie.
constexpr std::size_t kReservedSymbols = 6;
constexpr char32_t kSeparator = U'\u2581';

} // namespace

struct SentencePieceTokenizer::Impl {
    struct Node {
        bool end = false;
        double score = 0.0;
        std::int32_t id = 0;
        std::int32_t length = 0;  // in code points
    };
    std::vector<std::string> pieces;
    std::vector<std::int32_t> utf16Length;  // the reference steps back by the piece's JS .length
    // Trie over code points: node 0 is the root; children keyed by (node << 21) | code point.
    std::vector<Node> nodes{Node{}};
    std::unordered_map<std::uint64_t, std::int32_t> children;

    std::int32_t child(std::int32_t node, char32_t cp) const {
        auto it = children.find((static_cast<std::uint64_t>(node) << 21) | cp);
        return it == children.end() ? -1 : it->second;
    }

    void insert(const std::u32string& word, double score, std::int32_t id) {
        std::int32_t node = 0;
        for (char32_t cp : word) {
            const auto key = (static_cast<std::uint64_t>(node) << 21) | cp;
            auto it = children.find(key);
            if (it == children.end()) {
                nodes.push_back(Node{});
                nodes.back().length = nodes[static_cast<std::size_t>(node)].length + 1;
                it = children.emplace(key, static_cast<std::int32_t>(nodes.size() - 1)).first;
            }
            node = it->second;
        }
        if (word.empty()) return;  // the reference inserts nothing for an empty piece
        auto& n = nodes[static_cast<std::size_t>(node)];
        n.end = true;
        n.score = score;
        n.id = id;
    }
};

SentencePieceTokenizer::SentencePieceTokenizer(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}
SentencePieceTokenizer::~SentencePieceTokenizer() = default;
SentencePieceTokenizer::SentencePieceTokenizer(const SentencePieceTokenizer&) = default;
SentencePieceTokenizer& SentencePieceTokenizer::operator=(const SentencePieceTokenizer&) = default;
SentencePieceTokenizer::SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept = default;
SentencePieceTokenizer& SentencePieceTokenizer::operator=(SentencePieceTokenizer&&) noexcept = default;

SentencePieceTokenizer SentencePieceTokenizer::fromFile(const std::string& vocabPath) {
    std::ifstream in(vocabPath, std::ios::binary);
    if (!in) throw UserError(vocabPath + ": cannot open the vocabulary (run models/fetch-assets.sh)");
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        throw UserError(vocabPath + ": not valid JSON (" + e.what() + "); run models/fetch-assets.sh again");
    }
    if (!json.is_array() || json.size() <= kReservedSymbols)
        throw UserError(vocabPath + ": expected a JSON array of [piece, score] pairs");
    auto impl = std::make_shared<Impl>();
    impl->pieces.reserve(json.size());
    for (std::size_t i = 0; i < json.size(); ++i) {
        const auto& e = json[i];
        // A few user-defined pieces (":", "://", "▁:)") have a null score, which the reference's
        // arithmetic turns into 0.
        if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !(e[1].is_number() || e[1].is_null()))
            throw UserError(vocabPath + ": entry " + std::to_string(i) + " is not a [piece, score] pair");
        impl->pieces.push_back(e[0].get<std::string>());
        const std::u32string cps = utf8ToCodePoints(impl->pieces.back());
        std::int32_t units = 0;
        for (char32_t cp : cps) units += cp >= 0x10000 ? 2 : 1;
        impl->utf16Length.push_back(units);
        if (i >= kReservedSymbols) impl->insert(cps, e[1].is_null() ? 0.0 : e[1].get<double>(), static_cast<std::int32_t>(i));
    }
    return SentencePieceTokenizer(std::move(impl));
}

std::size_t SentencePieceTokenizer::size() const { return m_impl->pieces.size(); }

const std::string& SentencePieceTokenizer::piece(std::int32_t id) const {
    return m_impl->pieces.at(static_cast<std::size_t>(id));
}

std::vector<std::int32_t> SentencePieceTokenizer::encode(std::string_view text) const {
    const Impl& m = *m_impl;
    std::u32string symbols = utf8ToCodePoints(nfkc(text));
    if (symbols.empty()) return {};
    for (auto& c : symbols)
        if (c == U' ') c = kSeparator;
    symbols.insert(symbols.begin(), kSeparator);
    const std::size_t n = symbols.size();

    // Lattice: for each end position, the pieces ending there, by ascending start (the order in
    // which the reference visits them).
    struct Edge {
        std::size_t start;
        double score;
        std::int32_t id;
    };
    std::vector<std::vector<Edge>> ending(n + 1);
    for (std::size_t i = 0; i < n; ++i) {
        bool any = false;
        std::int32_t node = m.child(0, symbols[i]);
        for (std::size_t k = i; k < n && node >= 0;) {
            const auto& nd = m.nodes[static_cast<std::size_t>(node)];
            if (nd.end) {
                ending[i + static_cast<std::size_t>(nd.length)].push_back({i, nd.score, nd.id});
                any = true;
            }
            if (++k < n) node = m.child(node, symbols[k]);
            else node = -1;
        }
        if (!any) ending[i + 1].push_back({i, 0.0, 0});  // unknown: one code point, score 0
    }

    // Viterbi as the reference does it, with its "0 means unset" and ">=" (later start wins ties).
    std::vector<double> best(n + 1, 0.0);
    std::vector<std::int32_t> words(n + 1, 0);
    for (std::size_t end = 0; end <= n; ++end) {
        for (const Edge& e : ending[end]) {
            const double score = e.score + best[e.start];
            if (best[end] == 0.0 || score >= best[end]) {
                best[end] = score;
                words[end] = e.id;
            }
        }
    }

    std::vector<std::int32_t> reversed;
    for (std::ptrdiff_t it = static_cast<std::ptrdiff_t>(n); it > 0;) {
        const std::int32_t id = words[static_cast<std::size_t>(it)];
        reversed.push_back(id);
        it -= std::max<std::int32_t>(1, m.utf16Length[static_cast<std::size_t>(id)]);  // 1: never stall
    }
    std::vector<std::int32_t> ids;
    bool previousUnknown = false;
    for (std::int32_t id : reversed) {
        if (!(previousUnknown && id == 0)) ids.push_back(id);
        previousUnknown = id == 0;
    }
    return {ids.rbegin(), ids.rend()};
}

} // namespace larimar
