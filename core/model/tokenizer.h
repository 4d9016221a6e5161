#pragma once
/// Byte-level BPE tokenizer, exactly as GPT-2 does it: text is split by GPT-2's pre-tokenising
/// pattern, each piece's UTF-8 bytes are mapped to GPT-2's printable byte stand-ins, and merges
/// are applied by rank. Reads both common file pairs (encoder.json + vocab.bpe as OpenAI ships
/// them, vocab.json + merges.txt as Hugging Face does) and writes the latter.
///
/// Any byte string encodes (invalid UTF-8 included) and decode(encode(s)) == s for every s.
///
/// Thread-safety: a Tokenizer is immutable after loading except for an internal cache of
/// recently encoded words, which is guarded; every const call may run from several threads at
/// once. Copies are cheap and share the loaded vocabulary.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace larimar {

/// The special tokens of a model, as strings. A string that is not in the vocabulary file is
/// appended to it with the next free id; an empty string means "this model has none" (id -1).
struct SpecialTokens {
    std::string bos = "<|endoftext|>";
    std::string eos = "<|endoftext|>";
    std::string pad = "<|endoftext|>";
};

/// A byte-level BPE model in memory: what the file pairs hold, with tokens as raw bytes.
struct BpeVocabulary {
    std::vector<std::string> tokens;                          ///< raw bytes of each token; index = id
    std::vector<std::pair<std::string, std::string>> merges;  ///< raw bytes of each pair, by rank
};

class Tokenizer {
public:
    /// Loads encoder.json + vocab.bpe, or else vocab.json + merges.txt, from dir. Throws
    /// UserError naming the files looked for when neither pair is there. Costs one JSON parse
    /// (about 0.1 s for GPT-2's 50k tokens).
    static Tokenizer fromDirectory(const std::string& dir, const SpecialTokens& special = {});

    /// Loads a vocabulary (token -> id JSON object) and a merges file (one "a b" pair per line,
    /// optional "#version" first line). Throws UserError naming the file (and the line, for the
    /// merges file and JSON syntax) for a missing, unreadable or malformed file, a merge whose
    /// parts or result are not in the vocabulary, or a vocabulary that lacks one of the 256 bytes.
    static Tokenizer fromFiles(const std::string& vocabPath, const std::string& mergesPath,
                               const SpecialTokens& special = {});

    /// Builds a tokenizer from memory (the BPE trainer's output). Same checks as fromFiles.
    static Tokenizer fromVocabulary(const BpeVocabulary& vocab, const SpecialTokens& special = {});

    /// Token ids of text. With allowSpecial, occurrences of the special token strings become their
    /// ids; without it they are ordinary text. O(length), about 40 MB/s on one core; a word
    /// not seen before costs O(n log n) in its byte count.
    std::vector<std::int32_t> encode(std::string_view text, bool allowSpecial = false) const;

    /// The bytes the ids stand for, concatenated. Not necessarily valid UTF-8 (ids may end inside
    /// a character); the caller decides how to show that. Throws UserError for an id outside
    /// [0, vocabSize()).
    std::string decode(const std::vector<std::int32_t>& ids) const;

    /// Raw bytes of one token (may be part of a UTF-8 character). Throws like decode().
    std::string tokenText(std::int32_t id) const;

    /// Id of a token given by its raw bytes, or -1.
    std::int32_t tokenId(std::string_view bytes) const;

    std::int32_t vocabSize() const;
    std::int32_t bosId() const; ///< -1 when the model has no such token
    std::int32_t eosId() const;
    std::int32_t padId() const;

    /// Writes dir/vocab.json and dir/merges.txt (Hugging Face layout, special tokens included)
    /// so that fromDirectory(dir) gives the same ids (unless dir also holds encoder.json +
    /// vocab.bpe, which fromDirectory reads first). Each file is written to a temporary name and
    /// renamed, so a failed save leaves no half file. Throws Error on I/O failure.
    void save(const std::string& dir) const;

    /// The same model as plain data.
    BpeVocabulary vocabulary() const;

private:
    struct Impl;
    explicit Tokenizer(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

namespace bytelevel {

/// GPT-2's printable stand-in for byte b (bytes_to_unicode in the reference), as UTF-8.
const std::string& byteToUnicode(std::uint8_t b);

/// The 256 bytes in the order GPT-2 numbers them (ids 0..255 of encoder.json: printable ASCII,
/// then the printable Latin-1 bytes, then the rest).
const std::vector<std::uint8_t>& baseOrder();

/// Raw bytes -> the printable form the vocabulary files use.
std::string toFileForm(std::string_view bytes);

/// Length in bytes of the pre-token that starts at text[pos] (pos < text.size()).
std::size_t preTokenLength(std::string_view text, std::size_t pos);

/// Calls f(piece) for each piece of text as GPT-2's pattern
/// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ splits it (classes
/// as JavaScript defines them). Bytes that are not valid UTF-8 count as "other" characters.
/// The pieces are views into text and cover it exactly. O(length).
template <typename F>
void preTokenize(std::string_view text, F&& f) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t len = preTokenLength(text, pos);
        f(text.substr(pos, len));
        pos += len;
    }
}

} // namespace bytelevel

} // namespace larimar
