#pragma once
/// Byte-level BPE tokenizer, exactly as GPT-2 does it: text is split by GPT-2's pre-tokenising
/// pattern, each piece's UTF-8 bytes are mapped to GPT-2's printable byte stand-ins, and merges
/// are applied by rank. Reads both common file pairs (encoder.json + vocab.bpe as OpenAI ships
/// them, vocab.json + merges.txt as Hugging Face does) and writes the latter.
///
/// The pretrained models' tokenizers are the same machine with another pre-tokeniser and a list
/// of added tokens: Hugging Face tokenizer.json (GPT-2, SmolLM/SmolLM2, Llama 3, Qwen2) and the
/// vocabulary a GGUF file carries (tokenizer.ggml.*) load too, and give Hugging Face's ids.
///
/// Any byte string encodes (invalid UTF-8 included) and decode(encode(s)) == s for every s, given
/// a vocabulary with all 256 byte tokens (GPT-2's has; SmolLM2's lacks 21 rare ones, see
/// fromGgufVocabulary). Differences from Hugging Face that remain: character classes come from
/// Unicode 17 (Oniguruma's are older, so letters added since, e.g. CJK Extension H, may split
/// differently), and Gpt2 keeps the JavaScript reference's \s (U+FEFF a space, U+0085 not).
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

/// How text is cut into pieces before BPE. Each piece is merged on its own.
enum class PreTokenizer {
    Gpt2,       ///< GPT-2's pattern (bytelevel::preTokenize); classes as JavaScript's reference has them
    Gpt2Digits, ///< SmolLM/SmolLM2: every digit (\p{N}) its own piece, GPT-2's pattern in between
    Llama3,     ///< Llama 3's pattern: case-blind contractions, \p{N}{1,3}, newlines kept apart
    Qwen2,      ///< Llama 3's pattern with single digits (\p{N})
};

/// "gpt2", "gpt2-digits", "llama3", "qwen2": for messages.
const char* preTokenizerName(PreTokenizer p);

/// A token matched in the raw text before pre-tokenising (Hugging Face's added_tokens; GGUF's
/// control and user-defined tokens). Where several match at one place the longest wins.
struct AddedToken {
    std::string content;  ///< the literal text (valid UTF-8); decode() gives it back
    std::int32_t id = -1;
    bool special = true;  ///< special: matched only by encode(text, true); else always matched
};

/// A tokenizer vocabulary as a GGUF file stores it (llama.cpp's tokenizer.ggml.* keys). Tokens
/// and merges are in GPT-2's printable byte form, as tokenizer.ggml.tokens and .merges hold them
/// ("a b" per merge); control and user-defined tokens hold their literal text.
struct GgufVocabulary {
    std::string model;                   ///< tokenizer.ggml.model: must be "gpt2"
    std::string pre;                     ///< tokenizer.ggml.pre: "gpt2", "smollm", "llama-bpe", "qwen2", ...
    std::vector<std::string> tokens;     ///< index = id
    std::vector<std::string> merges;     ///< by rank
    std::vector<std::int32_t> tokenTypes; ///< per token (1 normal, 3 control, 4 user-defined), or empty
    std::int32_t bosId = -1, eosId = -1, padId = -1, unkId = -1;
    bool addBos = false;                 ///< tokenizer.ggml.add_bos_token
};

namespace detail {
/// Internal to the tokenizer's source files: what every loader gathers before the model is
/// built. Tokens are in file form (GPT-2's byte stand-ins); added tokens hold their content.
struct TokenizerParts {
    std::vector<std::string> tokens;
    std::vector<std::pair<std::string, std::string>> merges; ///< file form, by rank
    std::vector<std::size_t> mergeLines;                     ///< line of each merge, or empty
    bool mergesIndexed = false;   ///< messages say "merges[k]" (a JSON array), not "line k"
    std::vector<AddedToken> added;
    std::int32_t bos = -1, eos = -1, pad = -1, unk = -1;
    bool addBos = false;
    bool ignoreMerges = false;    ///< a piece that is itself a token is taken whole
    bool requireAllBytes = true;  ///< throw when one of the 256 byte tokens is missing
    bool uniqueTokens = true;     ///< throw for a token listed twice (else the first id is kept)
    PreTokenizer pre = PreTokenizer::Gpt2;
    std::string vocabName = "vocabulary", mergesName = "merges"; ///< for messages
};
/// The file's bytes; UserError "<path>: <what> not found" / "cannot open" / "cannot read".
std::string readTokenizerFile(const std::string& path, const char* what);
/// A JSON parse error as "<path>: line N: <detail>", the form every message here uses.
std::string jsonErrorMessage(const std::string& path, const std::string& text, std::size_t byte,
                             const std::string& what);
} // namespace detail

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

    /// Loads a Hugging Face tokenizer.json holding a byte-level BPE model (model.type "BPE",
    /// ByteLevel decoder): vocab, merges ("a b" strings or [a, b] arrays), added_tokens,
    /// model.ignore_merges, and a pre_tokenizer recognised by its structure: ByteLevel with
    /// use_regex -> Gpt2; Sequence[Digits(individual_digits), ByteLevel] -> Gpt2Digits;
    /// Sequence[Split(Llama 3's or Qwen2's regex), ByteLevel(use_regex false)] -> Llama3/Qwen2.
    /// bos/eos/pad and add_bos_token come from tokenizer_config.json beside it when present (a
    /// string or {"content": ...}), else bos from a TemplateProcessing post-processor that
    /// starts with a special token, else none. A vocabulary may lack byte tokens (a byte with
    /// none becomes the unk token, or encode() throws UserError). An NFC normalizer (Qwen2) is
    /// accepted but not applied: text that is not NFC may then differ from Hugging Face.
    /// Added tokens' lstrip/rstrip/single_word are not honoured. Throws UserError naming the
    /// file, and what was found, for a missing or malformed file, another model type or
    /// pre-tokeniser, or a merge naming an unknown token. About 0.2 s for 50k tokens.
    static Tokenizer fromHfTokenizerJson(const std::string& tokenizerJsonPath);

    /// Builds the tokenizer a GGUF file describes. model must be "gpt2" (byte-level BPE);
    /// pre maps "default"/"gpt2" (or empty) -> Gpt2, "smollm" -> Gpt2Digits,
    /// "llama-bpe"/"llama3"/"llama-v3" -> Llama3 (with ignore_merges, as llama.cpp does),
    /// "qwen2" -> Qwen2. Token type 3 (control) is a special added token, 4 (user-defined) a
    /// non-special one, anything else a normal token. Byte tokens may be missing (SmolLM2 has
    /// none for 0x04 0x06 0x13 0x14 0x16 0x1D 0xC0 0xC1 0xF1 0xF2 0xF5-0xFF): such a byte encodes
    /// as unkId (Hugging Face's fast tokenizer drops it), or encode() throws UserError without
    /// one. Throws UserError naming the model or pre-tokeniser it does not support, a malformed
    /// merge, or an id out of range. About 0.1 s for SmolLM2's 49k tokens.
    static Tokenizer fromGgufVocabulary(const GgufVocabulary& vocab);

    /// Token ids of text. Added tokens are found first (leftmost, then longest): non-special ones
    /// always; special ones (bos/eos/pad included) only with allowSpecial, and without it they are
    /// ordinary text. The text between them is pre-tokenised and merged. Never prepends bos.
    /// O(length), about 40 MB/s on one core; a word not seen before costs O(n log n) in its bytes.
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
    std::int32_t unkId() const; ///< -1 when the model has none (only used for missing byte tokens)

    PreTokenizer preTokenizer() const;
    /// True when the source says bos is prepended to a prompt (add_bos_token, or a post-processor
    /// template that starts with it). encode() never prepends anything itself.
    bool addBosToken() const;
    /// All added tokens (special ones included: bos/eos/pad of fromFiles are special added tokens),
    /// by id.
    std::vector<AddedToken> addedTokens() const;

    /// Writes dir/vocab.json and dir/merges.txt (Hugging Face layout, special tokens included)
    /// so that fromDirectory(dir) gives the same ids (unless dir also holds encoder.json +
    /// vocab.bpe, which fromDirectory reads first). Each file is written to a temporary name and
    /// renamed, so a failed save leaves no half file. Throws Error on I/O failure.
    void save(const std::string& dir) const;

    /// Writes a tokenizer.json (byte-level BPE, added tokens, the pre-tokeniser in the form
    /// fromHfTokenizerJson reads, ignore_merges) and a tokenizer_config.json beside it (bos/eos/
    /// pad/unk, add_bos_token), so that fromHfTokenizerJson(path) gives the same ids; Hugging
    /// Face's tokenizers read it too. Each file is written to a temporary name and renamed.
    /// Throws Error on I/O failure.
    void saveHfTokenizerJson(const std::string& path) const;

    /// The same model as plain data.
    BpeVocabulary vocabulary() const;

private:
    struct Impl;
    explicit Tokenizer(std::shared_ptr<const Impl> impl);
    static Tokenizer fromParts(detail::TokenizerParts parts);
    detail::TokenizerParts parts() const;
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

/// The same for another pre-tokeniser. Gpt2 is the call above. The others follow Hugging Face
/// (Oniguruma's \s: U+0085 is a space, U+FEFF is not); invalid UTF-8 bytes are "other"
/// characters. O(length of the piece).
std::size_t preTokenLength(std::string_view text, std::size_t pos, PreTokenizer kind);

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

/// Calls f(piece) for each piece of text as the given pre-tokeniser cuts it. O(length).
template <typename F>
void preTokenize(std::string_view text, PreTokenizer kind, F&& f) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t len = preTokenLength(text, pos, kind);
        f(text.substr(pos, len));
        pos += len;
    }
}

} // namespace bytelevel

} // namespace larimar
