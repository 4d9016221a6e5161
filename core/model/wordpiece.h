#pragma once
/// BERT's WordPiece tokenizer for uncased models (all-MiniLM-L6-v2, bert-base-uncased), exactly
/// as Hugging Face tokenizers' BertNormalizer + BertPreTokenizer + WordPiece + the [CLS] $A [SEP]
/// template do it (tests/core/test_bert.cpp checks ids against goldens that tokenizers made):
///  1. clean: drop \0, U+FFFD and every C* code point except \t \n \r; White_Space -> ' ';
///  2. put spaces around CJK ideographs (BERT's eight ranges);
///  3. (lower-case models) NFD, drop Mn (accents), then lower-case each code point on its own
///     (full case mapping, no context: capital sigma is always small sigma, as in Rust);
///  4. split at whitespace, and make every punctuation code point a word of its own (Unicode P*
///     plus ASCII !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~);
///  5. each word: greedy longest-match-first against the vocabulary, later pieces with "##";
///     a word longer than 100 code points, or with a part that matches nothing, is one [UNK].
/// Unicode data (NFD, case mapping, categories, White_Space) comes from ICU; no tables here.
///
/// Thread-safety: immutable after loading; every const call may run from several threads.
/// Copies are cheap and share the vocabulary. No libtorch here.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace larimar {

class WordPieceTokenizer {
public:
    /// Reads a vocab.txt (one token per line, id = line number - 1; CRLF accepted). The special
    /// tokens [CLS], [SEP], [PAD] and [UNK] must be in it. Throws UserError naming the file for a
    /// missing or unreadable file, an empty or duplicate token (with its line) or a missing
    /// special token. About 30 ms for 30k tokens.
    static WordPieceTokenizer fromVocabFile(const std::string& path, bool lowerCase = true);
    /// The same from tokens in id order (tests); nameForMessages stands in for the path.
    static WordPieceTokenizer fromTokens(std::vector<std::string> tokens, bool lowerCase = true,
                                         const std::string& nameForMessages = "vocabulary");

    /// Steps 1-4 above: the words of text, normalised (UTF-8). Throws UserError for invalid UTF-8.
    std::vector<std::string> words(std::string_view text) const;
    /// Step 5 for one normalised word: its piece ids (one [UNK] when it cannot be split).
    std::vector<std::int32_t> wordPieces(std::string_view word) const;
    /// The piece ids of text, no special tokens. O(length * longest token) per word.
    std::vector<std::int32_t> tokenize(std::string_view text) const;
    /// [CLS] tokenize(text) [SEP], cut to maxLength ids in all (the pieces past maxLength - 2
    /// are dropped, [SEP] stays last). UserError when maxLength < 2.
    std::vector<std::int32_t> encode(std::string_view text, std::size_t maxLength = 512) const;

    /// Whether the vocabulary holds word (as given, normalised) as one whole token: a word of
    /// the language the model knows, not a name it splits into pieces.
    bool isWholeToken(std::string_view word) const;
    /// Id of a token, -1 if it is not in the vocabulary.
    std::int32_t id(std::string_view token) const;
    /// The token of an id. UserError for an id outside [0, size()).
    const std::string& token(std::int32_t id) const;
    std::int32_t size() const;
    std::int32_t clsId() const;
    std::int32_t sepId() const;
    std::int32_t padId() const;
    std::int32_t unkId() const;
    bool lowerCase() const;

    ~WordPieceTokenizer();
    WordPieceTokenizer(const WordPieceTokenizer&);
    WordPieceTokenizer& operator=(const WordPieceTokenizer&);
    WordPieceTokenizer(WordPieceTokenizer&&) noexcept;
    WordPieceTokenizer& operator=(WordPieceTokenizer&&) noexcept;

private:
    struct Impl;
    explicit WordPieceTokenizer(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

/// Longest word (in code points) that WordPiece splits; longer words are one [UNK].
inline constexpr std::size_t kWordPieceMaxWordChars = 100;

} // namespace larimar
