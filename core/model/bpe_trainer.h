#pragma once
/// Learns a byte-level BPE vocabulary from text, with the same pre-tokeniser as Tokenizer, so a
/// small model can use a smaller vocabulary than GPT-2's 50k. The result is a Tokenizer; its
/// save() writes vocab.json + merges.txt that Tokenizer::fromDirectory reads back.
///
/// Not thread-safe (addText mutates); train() is a synchronous call with progress and cancel,
/// to be run on a worker thread by a UI.
#include "core/model/tokenizer.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace larimar {

struct BpeTrainerOptions {
    /// Size of the final vocabulary: 256 byte tokens + learned tokens + special tokens.
    std::int32_t vocabSize = 8192;
    /// Training stops early when the most frequent pair occurs fewer times than this.
    std::int64_t minPairCount = 2;
    /// Appended after the learned tokens. Their strings are cut out of the corpus before
    /// counting, so that a document separator such as "<|endoftext|>" is never learned as text.
    SpecialTokens special;
};

struct BpeTrainResult {
    Tokenizer tokenizer;
    std::int32_t merges = 0;  ///< merges learned
    bool cancelled = false;   ///< stopped on request; tokenizer holds the merges learned so far
};

class BpeTrainer {
public:
    explicit BpeTrainer(BpeTrainerOptions options = {});

    /// Adds text to the corpus: pre-tokenises it and counts the pieces. O(length); memory grows
    /// with the number of distinct pieces, not with the text.
    void addText(std::string_view text);

    /// Adds a whole file (read into memory at once). Throws UserError if it cannot be read.
    void addFile(const std::string& path);

    /// Distinct pre-tokenised pieces counted so far.
    std::size_t distinctWords() const { return m_words.size(); }

    /// Learns merges by pair frequency until the vocabulary is full or no pair occurs
    /// minPairCount times. Ties go to the pair of lower token ids (older tokens first), so the
    /// result depends only on the corpus and the options. Pair counts are kept up to date
    /// incrementally: each merge costs time in proportion to the words that contain the pair
    /// (10 MB of text to 8k tokens: a few seconds). progress (optional) gets (tokens learned,
    /// tokens wanted) every 100 tokens; when *cancel becomes true it stops and returns what it has
    /// with cancelled set.
    BpeTrainResult train(const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                         const std::atomic<bool>* cancel = nullptr) const;

private:
    BpeTrainerOptions m_options;
    std::unordered_map<std::string, std::int64_t> m_words;
};

} // namespace larimar
