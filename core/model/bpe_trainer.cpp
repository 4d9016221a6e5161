#include "core/model/bpe_trainer.h"

#include "core/util/error.h"
#include "core/util/file_io.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace larimar {

namespace {

std::uint64_t pairKey(std::int32_t a, std::int32_t b) {
    return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b);
}
std::int32_t pairFirst(std::uint64_t k) { return static_cast<std::int32_t>(k >> 32); }
std::int32_t pairSecond(std::uint64_t k) { return static_cast<std::int32_t>(k & 0xFFFFFFFFu); }

struct HeapEntry {
    std::int64_t count;
    std::uint64_t pair;
};

// Max-heap on count; on equal counts the lower pair key (first id, then second) comes first.
bool heapLess(const HeapEntry& x, const HeapEntry& y) {
    return x.count != y.count ? x.count < y.count : x.pair > y.pair;
}

std::vector<std::string> distinctSpecials(const SpecialTokens& s) {
    std::vector<std::string> out;
    for (const std::string* t : {&s.bos, &s.eos, &s.pad})
        if (!t->empty() && std::find(out.begin(), out.end(), *t) == out.end()) out.push_back(*t);
    return out;
}

} // namespace

BpeTrainer::BpeTrainer(BpeTrainerOptions options) : m_options(std::move(options)) {}

void BpeTrainer::addText(std::string_view text) {
    const std::vector<std::string> specials = distinctSpecials(m_options.special);
    const auto count = [&](std::string_view part) {
        bytelevel::preTokenize(part, [&](std::string_view piece) { ++m_words[std::string(piece)]; });
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t best = std::string_view::npos, len = 0;
        for (const std::string& s : specials) {
            const std::size_t at = text.find(s, pos);
            if (at < best || (at == best && at != std::string_view::npos && s.size() > len)) {
                best = at;
                len = s.size();
            }
        }
        if (best == std::string_view::npos) break;
        count(text.substr(pos, best - pos));
        pos = best + len;
    }
    if (pos < text.size()) count(text.substr(pos));
}

void BpeTrainer::addFile(const std::string& path) {
    addText(readFile(path, "the training text"));
}

BpeTrainResult BpeTrainer::train(const std::function<void(std::int64_t, std::int64_t)>& progress,
                                 const std::atomic<bool>* cancel) const {
    const std::vector<std::string> specials = distinctSpecials(m_options.special);

    // Tokens 0..255 are the bytes in GPT-2's order, so small vocabularies share GPT-2's first ids.
    BpeVocabulary vocab;
    std::unordered_map<std::string, std::int32_t> tokenId;
    std::array<std::int32_t, 256> byteId{};
    for (const std::uint8_t b : bytelevel::baseOrder()) {
        byteId[b] = static_cast<std::int32_t>(vocab.tokens.size());
        tokenId.emplace(std::string(1, static_cast<char>(b)), byteId[b]);
        vocab.tokens.emplace_back(1, static_cast<char>(b));
    }
    const std::int64_t wanted =
        std::max<std::int64_t>(0, std::int64_t(m_options.vocabSize) - 256 - std::int64_t(specials.size()));

    // Words in sorted order so that nothing depends on hash-map iteration order.
    std::vector<std::pair<std::string, std::int64_t>> sorted(m_words.begin(), m_words.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::vector<std::int32_t>> words;
    std::vector<std::int64_t> counts;
    words.reserve(sorted.size());
    counts.reserve(sorted.size());
    for (const auto& [w, c] : sorted) {
        if (w.size() < 2) continue; // nothing to merge
        std::vector<std::int32_t> syms(w.size());
        for (std::size_t i = 0; i < w.size(); ++i)
            syms[i] = byteId[static_cast<std::uint8_t>(w[i])];
        words.push_back(std::move(syms));
        counts.push_back(c);
    }
    sorted.clear();
    sorted.shrink_to_fit();

    // Pair counts and, per pair, the words that (may) contain it. Postings are appended to and
    // never pruned: a stale entry costs one scan of a short word.
    std::unordered_map<std::uint64_t, std::int64_t> pairCount;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> postings;
    for (std::uint32_t w = 0; w < words.size(); ++w) {
        const auto& s = words[w];
        for (std::size_t i = 0; i + 1 < s.size(); ++i) {
            const std::uint64_t k = pairKey(s[i], s[i + 1]);
            pairCount[k] += counts[w];
            auto& p = postings[k];
            if (p.empty() || p.back() != w) p.push_back(w);
        }
    }
    std::vector<HeapEntry> heap;
    heap.reserve(pairCount.size());
    for (const auto& [k, c] : pairCount)
        heap.push_back({c, k});
    std::make_heap(heap.begin(), heap.end(), heapLess);

    bool cancelled = false;
    std::int64_t done = 0; // tokens learned
    std::vector<std::uint64_t> grown; // pairs whose count went up during one merge
    const auto add = [&](std::int32_t a, std::int32_t b, std::int64_t delta, std::uint32_t w) {
        const std::uint64_t k = pairKey(a, b);
        pairCount[k] += delta;
        if (delta > 0) {
            auto& p = postings[k];
            if (p.empty() || p.back() != w) p.push_back(w);
            grown.push_back(k);
        }
    };

    while (done < wanted && !heap.empty()) {
        if (cancel && cancel->load()) {
            cancelled = true;
            break;
        }
        std::pop_heap(heap.begin(), heap.end(), heapLess);
        const HeapEntry top = heap.back();
        heap.pop_back();
        const auto it = pairCount.find(top.pair);
        const std::int64_t current = it == pairCount.end() ? 0 : it->second;
        // Entries are pushed when a count grows and never updated when it shrinks: a higher
        // entry than the count is stale (push the true count); a lower one has a newer twin.
        if (top.count != current) {
            if (top.count > current && current >= m_options.minPairCount) {
                heap.push_back({current, top.pair});
                std::push_heap(heap.begin(), heap.end(), heapLess);
            }
            continue;
        }
        if (current < m_options.minPairCount) break; // the best pair is too rare: done

        const std::int32_t a = pairFirst(top.pair), b = pairSecond(top.pair);
        std::string merged = vocab.tokens[a] + vocab.tokens[b];
        // Two different merges can spell the same token ("a"+"bc", "ab"+"c"); it gets one id.
        auto [tok, isNew] = tokenId.emplace(merged, static_cast<std::int32_t>(vocab.tokens.size()));
        if (isNew) vocab.tokens.push_back(std::move(merged));
        const std::int32_t m = tok->second;
        vocab.merges.emplace_back(vocab.tokens[a], vocab.tokens[b]);

        std::vector<std::uint32_t> where = std::move(postings[top.pair]);
        postings.erase(top.pair);
        std::sort(where.begin(), where.end());
        where.erase(std::unique(where.begin(), where.end()), where.end());
        grown.clear();
        for (const std::uint32_t w : where) {
            std::vector<std::int32_t>& s = words[w];
            const std::int64_t c = counts[w];
            std::vector<std::int32_t> out;
            out.reserve(s.size());
            for (std::size_t i = 0; i < s.size();) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                    // Neighbours lose their pairs with a / b and gain pairs with the new token;
                    // out.back() may itself be a token merged just before, which keeps the
                    // counts right for runs like "a b a b".
                    if (!out.empty()) {
                        add(out.back(), a, -c, w);
                        add(out.back(), m, c, w);
                    }
                    if (i + 2 < s.size()) {
                        add(b, s[i + 2], -c, w);
                        add(m, s[i + 2], c, w);
                    }
                    add(a, b, -c, w);
                    out.push_back(m);
                    i += 2;
                } else {
                    out.push_back(s[i]);
                    i += 1;
                }
            }
            s = std::move(out);
        }
        pairCount.erase(top.pair);
        std::sort(grown.begin(), grown.end());
        grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
        for (const std::uint64_t k : grown) {
            const std::int64_t c = pairCount[k];
            if (c >= m_options.minPairCount) {
                heap.push_back({c, k});
                std::push_heap(heap.begin(), heap.end(), heapLess);
            }
        }
        if (isNew) {
            ++done;
            if (progress && done % 100 == 0) progress(done, wanted);
        }
    }
    if (progress) progress(done, wanted);
    const auto merges = static_cast<std::int32_t>(vocab.merges.size());
    return {Tokenizer::fromVocabulary(vocab, m_options.special), merges, cancelled};
}

} // namespace larimar
