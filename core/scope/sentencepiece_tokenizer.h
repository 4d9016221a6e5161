#pragma once
/// The SentencePiece unigram tokenizer of Universal Sentence Encoder Lite, exactly as its
/// JavaScript reference (@energetic-ai/embeddings, lib/tokenizer.ts) does it: NFKC, spaces to
/// U+2581 with one U+2581 in front, a Viterbi search over the scored pieces (a code point that
/// starts no piece becomes the unknown id 0, and runs of unknowns merge into one), ids out.
/// The reference's quirks are kept on purpose, since the network was fed its ids.
///
/// Thread-safety: immutable after loading; every const call may run from several threads.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace larimar {

class SentencePieceTokenizer {
public:
    /// Reads vocab.json: an array of [piece, score] pairs, the index being the id. Throws
    /// UserError naming the file if it is missing, not JSON, or not of that shape. About 20 ms.
    static SentencePieceTokenizer fromFile(const std::string& vocabPath);

    /// Token ids of UTF-8 text (empty text gives no ids). O(length * longest piece).
    /// Throws UserError for invalid UTF-8.
    std::vector<std::int32_t> encode(std::string_view text) const;

    /// Number of pieces (ids run from 0 to size() - 1).
    std::size_t size() const;

    /// The piece of an id, as UTF-8 (U+2581 stands for a space).
    const std::string& piece(std::int32_t id) const;

    ~SentencePieceTokenizer();
    SentencePieceTokenizer(const SentencePieceTokenizer&);
    SentencePieceTokenizer& operator=(const SentencePieceTokenizer&);
    SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept;
    SentencePieceTokenizer& operator=(SentencePieceTokenizer&&) noexcept;

private:
    struct Impl;
    explicit SentencePieceTokenizer(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

} // namespace larimar
