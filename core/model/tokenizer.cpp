#include "core/model/tokenizer.h"
#include "core/util/file_io.h"

#include "core/model/unicode_tables.h"
#include "core/util/error.h"
#include "core/util/utf8.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <unistd.h>
#include <unordered_map>

namespace larimar {

// ---------------------------------------------------------------------------------------------
// Byte-level helpers and the pre-tokeniser
// ---------------------------------------------------------------------------------------------
namespace {

using unicode::CharClass;

CharClass classAt(std::string_view s, std::size_t i, std::size_t& len) {
    const Utf8Char c = decodeUtf8(s, i);
    len = c.len;
    return c.valid ? unicode::classify(c.cp) : CharClass::Other;
}

/// End of the run of characters of class cls that starts at i.
std::size_t runEnd(std::string_view s, std::size_t i, CharClass cls) {
    std::size_t len = 0;
    while (i < s.size() && classAt(s, i, len) == cls)
        i += len;
    return i;
}

struct ByteTables {
    std::array<std::string, 256> toUnicode;      // byte -> its stand-in, UTF-8
    std::array<std::int16_t, 0x180> fromUnicode; // stand-in code point -> byte, or -1
    std::vector<std::uint8_t> order;             // GPT-2's numbering of the 256 bytes

    ByteTables() {
        // bytes_to_unicode(): printable bytes stand for themselves, the other 68 are shifted to
        // U+0100.. in byte order, so that vocabulary files never contain control characters
        // or spaces.
        fromUnicode.fill(-1);
        std::array<char32_t, 256> cp{};
        std::array<bool, 256> printable{};
        for (int b = '!'; b <= '~'; ++b) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            if (printable[b]) order.push_back(static_cast<std::uint8_t>(b));
            cp[b] = printable[b] ? char32_t(b) : char32_t(256 + n++);
        }
        for (int b = 0; b < 256; ++b)
            if (!printable[b]) order.push_back(static_cast<std::uint8_t>(b));
        for (int b = 0; b < 256; ++b) {
            appendUtf8(toUnicode[b], cp[b]);
            fromUnicode[cp[b]] = static_cast<std::int16_t>(b);
        }
    }
};

const ByteTables& byteTables() {
    static const ByteTables tables;
    return tables;
}

/// File form -> raw bytes. A character that is no byte stand-in (possible in hand-made
/// vocabularies, e.g. an added "<pad token>") stands for its own UTF-8, as in Hugging Face's
/// ByteLevel decoder.
std::string fromFileForm(std::string_view text) {
    const ByteTables& t = byteTables();
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const Utf8Char c = decodeUtf8(text, i);
        if (c.valid && c.cp < t.fromUnicode.size() && t.fromUnicode[c.cp] >= 0)
            out += static_cast<char>(t.fromUnicode[c.cp]);
        else
            out.append(text.substr(i, c.len));
        i += c.len;
    }
    return out;
}

bool isValidUtf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const Utf8Char c = decodeUtf8(s, i);
        if (!c.valid) return false;
        i += c.len;
    }
    return true;
}

/// GPT-2's 's|'t|'re|'ve|'m|'ll|'d (case-sensitive) at pos: its length, or 0.
std::size_t contractionLength(std::string_view s, std::size_t pos) {
    const std::size_t n = s.size();
    if (s[pos] != '\'' || pos + 1 >= n) return 0;
    const char c = s[pos + 1];
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
    if (pos + 2 < n) {
        const std::string_view two = s.substr(pos + 1, 2);
        if (two == "re" || two == "ve" || two == "ll") return 3;
    }
    return 0;
}

} // namespace

namespace bytelevel {

const std::string& byteToUnicode(std::uint8_t b) { return byteTables().toUnicode[b]; }

const std::vector<std::uint8_t>& baseOrder() { return byteTables().order; }

std::string toFileForm(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes)
        out += byteToUnicode(static_cast<std::uint8_t>(c));
    return out;
}

std::size_t preTokenLength(std::string_view s, std::size_t pos) {
    const std::size_t n = s.size();
    // 's|'t|'re|'ve|'m|'ll|'d come first in the pattern, so they win wherever they start.
    if (const std::size_t c = contractionLength(s, pos)) return c;
    std::size_t len = 0;
    const CharClass c0 = classAt(s, pos, len);
    // ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+ without the optional space.
    if (c0 != CharClass::Space) return runEnd(s, pos, c0) - pos;
    // The same three with the space: only U+0020, and only before a non-space.
    if (s[pos] == ' ' && pos + 1 < n) {
        std::size_t len1 = 0;
        const CharClass c1 = classAt(s, pos + 1, len1);
        if (c1 != CharClass::Space) return runEnd(s, pos + 1, c1) - pos;
    }
    // \s+(?!\S): the whitespace run, less its last character when a non-space follows (that
    // character then prefixes the next word); \s+ when the run is a single character.
    std::size_t i = pos, last = pos;
    while (i < n && classAt(s, i, len) == CharClass::Space) {
        last = i;
        i += len;
    }
    if (i == n || last == pos) return i - pos;
    return last - pos;
}

} // namespace bytelevel

namespace {

/// Character class as Hugging Face's Oniguruma sees it: \s is Unicode White_Space, which has
/// U+0085 and lacks U+FEFF (JavaScript's \s, which the Gpt2 tables follow, is the reverse).
CharClass hfClassAt(std::string_view s, std::size_t i, std::size_t& len) {
    const Utf8Char c = decodeUtf8(s, i);
    len = c.len;
    if (!c.valid) return CharClass::Other;
    if (c.cp == 0x85) return CharClass::Space;
    if (c.cp == 0xFEFF) return CharClass::Other;
    return unicode::classify(c.cp);
}

std::size_t hfRunEnd(std::string_view s, std::size_t i, CharClass cls) {
    std::size_t len = 0;
    while (i < s.size() && hfClassAt(s, i, len) == cls)
        i += len;
    return i;
}

/// SmolLM's Sequence[Digits(individual_digits), ByteLevel(use_regex)]: a digit is a piece, and
/// GPT-2's pattern runs on the text between digits, where a digit acts as the end of the text.
std::size_t gpt2DigitsLength(std::string_view s, std::size_t pos) {
    const std::size_t n = s.size();
    std::size_t len = 0;
    const CharClass c0 = hfClassAt(s, pos, len);
    if (c0 == CharClass::Number) return len;
    if (const std::size_t c = contractionLength(s, pos)) return c;
    if (c0 != CharClass::Space) return hfRunEnd(s, pos, c0) - pos;
    if (s[pos] == ' ' && pos + 1 < n) {
        std::size_t len1 = 0;
        const CharClass c1 = hfClassAt(s, pos + 1, len1);
        if (c1 != CharClass::Space && c1 != CharClass::Number) return hfRunEnd(s, pos + 1, c1) - pos;
    }
    std::size_t i = pos, last = pos;
    while (i < n && hfClassAt(s, i, len) == CharClass::Space) {
        last = i;
        i += len;
    }
    const bool atEnd = i == n || hfClassAt(s, i, len) == CharClass::Number;
    if (atEnd || last == pos) return i - pos;
    return last - pos;
}

bool isCrLf(char c) { return c == '\r' || c == '\n'; }

char asciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
///  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+  (Llama 3: maxDigits 3; Qwen2: 1)
std::size_t llamaLength(std::string_view s, std::size_t pos, int maxDigits) {
    const std::size_t n = s.size();
    if (s[pos] == '\'' && pos + 1 < n) {
        const char c = asciiLower(s[pos + 1]);
        if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
        // Case folding makes U+017F (long s) an 's' too.
        if (s.substr(pos + 1, 2) == "\xC5\xBF") return 3;
        if (pos + 2 < n) {
            const char c2 = asciiLower(s[pos + 2]);
            if ((c == 'r' && c2 == 'e') || (c == 'v' && c2 == 'e') || (c == 'l' && c2 == 'l')) return 3;
        }
    }
    std::size_t len0 = 0;
    const CharClass c0 = hfClassAt(s, pos, len0);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (c0 == CharClass::Letter) return hfRunEnd(s, pos, c0) - pos;
    std::size_t len1 = 0;
    const CharClass c1 = pos + len0 < n ? hfClassAt(s, pos + len0, len1) : CharClass::Other;
    const bool hasNext = pos + len0 < n;
    if (c0 != CharClass::Number && !isCrLf(s[pos]) && hasNext && c1 == CharClass::Letter)
        return hfRunEnd(s, pos + len0, CharClass::Letter) - pos;
    // \p{N}{1,maxDigits}
    if (c0 == CharClass::Number) {
        std::size_t i = pos, len = 0;
        for (int k = 0; k < maxDigits && i < n && hfClassAt(s, i, len) == CharClass::Number; ++k)
            i += len;
        return i - pos;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    std::size_t start = std::string_view::npos;
    if (c0 == CharClass::Other) start = pos;
    else if (s[pos] == ' ' && hasNext && c1 == CharClass::Other) start = pos + 1;
    if (start != std::string_view::npos) {
        std::size_t e = hfRunEnd(s, start, CharClass::Other);
        while (e < n && isCrLf(s[e]))
            ++e;
        return e - pos;
    }
    // c0 is white space. \s*[\r\n]+ ends after the run's last CR/LF; else as GPT-2.
    std::size_t i = pos, last = pos, afterCrLf = 0, len = 0;
    while (i < n && hfClassAt(s, i, len) == CharClass::Space) {
        last = i;
        i += len;
        if (isCrLf(s[last])) afterCrLf = i;
    }
    if (afterCrLf) return afterCrLf - pos;
    if (i == n || last == pos) return i - pos;
    return last - pos;
}

} // namespace

const char* preTokenizerName(PreTokenizer p) {
    switch (p) {
    case PreTokenizer::Gpt2: return "gpt2";
    case PreTokenizer::Gpt2Digits: return "gpt2-digits";
    case PreTokenizer::Llama3: return "llama3";
    case PreTokenizer::Qwen2: return "qwen2";
    }
    return "unknown";
}

std::size_t bytelevel::preTokenLength(std::string_view text, std::size_t pos, PreTokenizer kind) {
    switch (kind) {
    case PreTokenizer::Gpt2: return preTokenLength(text, pos);
    case PreTokenizer::Gpt2Digits: return gpt2DigitsLength(text, pos);
    case PreTokenizer::Llama3: return llamaLength(text, pos, 3);
    case PreTokenizer::Qwen2: return llamaLength(text, pos, 1);
    }
    return preTokenLength(text, pos);
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------
namespace {

/// A merge file line in file form, with where it came from for messages.
struct MergeLine {
    std::string first;
    std::string second;
    std::size_t line = 0; // 0: not from a file
};

std::size_t lineOfOffset(const std::string& text, std::size_t offset) {
    offset = std::min(offset, text.size());
    return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

} // namespace

std::string detail::readTokenizerFile(const std::string& path, const char* what) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        throw UserError(path + ": " + what + " not found");
    return readFile(path, what);
}

std::string detail::jsonErrorMessage(const std::string& path, const std::string& text, std::size_t byte,
                                     const std::string& what) {
    // what is "[json.exception.parse_error.101] parse error at line 3, column 8: detail";
    // keep the detail, say the line in the form every other message here uses.
    std::string detail = what;
    const std::size_t col = detail.find(", column ");
    const std::size_t colon = col == std::string::npos ? std::string::npos : detail.find(": ", col);
    if (colon != std::string::npos) detail = detail.substr(colon + 2);
    return path + ": line " + std::to_string(lineOfOffset(text, byte)) + ": not valid JSON: " + detail;
}

namespace {

std::string readFile(const std::string& path, const char* what) { return detail::readTokenizerFile(path, what); }

/// Token texts by id from a token -> id JSON object; ids must be 0..n-1 without gaps.
std::vector<std::string> parseVocabJson(const std::string& path) {
    const std::string text = readFile(path, "vocabulary file");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw UserError(detail::jsonErrorMessage(path, text, e.byte, e.what()));
    }
    if (!j.is_object())
        throw UserError(path + ": expected a JSON object mapping each token to its id");
    const std::size_t n = j.size();
    std::vector<std::string> tokens(n);
    std::vector<bool> seen(n, false);
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& tok = it.key();
        if (!it.value().is_number_integer())
            throw UserError(path + ": token \"" + tok + "\": id must be an integer, got " + it.value().dump());
        const std::int64_t id = it.value().get<std::int64_t>();
        if (id < 0 || id >= static_cast<std::int64_t>(n))
            throw UserError(path + ": token \"" + tok + "\" has id " + std::to_string(id) +
                            ", but the " + std::to_string(n) + " ids must run from 0 to " +
                            std::to_string(n - 1) + " without gaps");
        if (seen[id])
            throw UserError(path + ": id " + std::to_string(id) + " is given to both \"" + tokens[id] +
                            "\" and \"" + tok + "\"");
        seen[id] = true;
        tokens[id] = tok;
    }
    return tokens;
}

std::vector<MergeLine> parseMerges(const std::string& path) {
    const std::string text = readFile(path, "merges file");
    std::vector<MergeLine> merges;
    std::size_t lineNo = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) eol = text.size();
        std::string_view line(text.data() + pos, eol - pos);
        pos = eol + 1;
        ++lineNo;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        // Both formats start with "#version: 0.2"; the reference skips the first line.
        if (lineNo == 1 && !line.empty() && line.front() == '#') continue;
        if (line.empty()) continue;
        const std::size_t sp = line.find(' ');
        if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size() ||
            line.find(' ', sp + 1) != std::string_view::npos)
            throw UserError(path + ": line " + std::to_string(lineNo) +
                            ": expected two tokens separated by one space, got \"" + std::string(line) + "\"");
        merges.push_back({std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)), lineNo});
    }
    return merges;
}

std::uint64_t pairKey(std::int32_t a, std::int32_t b) {
    return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b);
}

} // namespace

struct Tokenizer::Impl {
    struct Merge {
        std::int32_t rank;
        std::int32_t result;
    };

    std::vector<std::string> bytes;    // raw bytes by id
    std::vector<std::string> fileText; // as in the vocabulary file, by id (added tokens: content)
    std::unordered_map<std::string, std::int32_t> byBytes;
    std::array<std::int32_t, 256> byteId{}; // -1: the vocabulary has no token for that byte
    std::unordered_map<std::uint64_t, Merge> merges;
    std::vector<std::pair<std::int32_t, std::int32_t>> mergeList; // by rank
    std::int32_t bos = -1, eos = -1, pad = -1, unk = -1;
    bool addBos = false;
    bool ignoreMerges = false;
    PreTokenizer pre = PreTokenizer::Gpt2;
    std::vector<AddedToken> added;                    // by id
    std::vector<std::uint8_t> isAdded;                // by token id
    std::array<std::vector<std::int32_t>, 256> addedByFirstByte; // indices into added, longest first
    bool anyNonSpecialAdded = false;

    // Words repeat (Zipf), so most encode() calls hit this. Guarded: encode is const and may run
    // on several threads.
    static constexpr std::size_t kCacheMaxWord = 64;
    static constexpr std::size_t kCacheMaxEntries = 1 << 16;
    mutable std::shared_mutex cacheMutex;
    mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache;

    static std::shared_ptr<Impl> build(std::vector<std::string> tokens, const std::vector<MergeLine>& mergeLines,
                                       const SpecialTokens& special, const std::string& vocabName,
                                       const std::string& mergesName);
    static std::shared_ptr<Impl> build(detail::TokenizerParts parts);
    void encodeOrdinary(std::string_view text, std::vector<std::int32_t>& out) const;
    void bpe(std::string_view word, std::vector<std::int32_t>& out) const;
    std::vector<std::int32_t> mergeWord(std::string_view word) const;
    std::int32_t missingByte(std::uint8_t b) const;
    void checkId(std::int32_t id) const;
};

std::shared_ptr<Tokenizer::Impl> Tokenizer::Impl::build(std::vector<std::string> tokens,
                                                        const std::vector<MergeLine>& mergeLines,
                                                        const SpecialTokens& special,
                                                        const std::string& vocabName,
                                                        const std::string& mergesName) {
    std::unordered_map<std::string, std::int32_t> byText;
    byText.reserve(tokens.size() + 3);
    for (std::size_t id = 0; id < tokens.size(); ++id) {
        if (!byText.emplace(tokens[id], static_cast<std::int32_t>(id)).second)
            throw UserError(vocabName + ": token \"" + tokens[id] + "\" is listed twice");
    }

    // Special tokens missing from the file are appended, so a model may add its own.
    const auto specialId = [&](const std::string& s, const char* role) -> std::int32_t {
        if (s.empty()) return -1;
        if (!isValidUtf8(s))
            throw UserError(std::string("special token ") + role + " is not valid UTF-8");
        const auto it = byText.find(s);
        if (it != byText.end()) return it->second;
        const auto id = static_cast<std::int32_t>(tokens.size());
        tokens.push_back(s);
        byText.emplace(s, id);
        return id;
    };
    detail::TokenizerParts parts;
    parts.bos = specialId(special.bos, "bos");
    parts.eos = specialId(special.eos, "eos");
    parts.pad = specialId(special.pad, "pad");
    for (const std::int32_t id : {parts.bos, parts.eos, parts.pad}) {
        if (id < 0) continue;
        if (std::none_of(parts.added.begin(), parts.added.end(), [&](const AddedToken& a) { return a.id == id; }))
            parts.added.push_back({tokens[id], id, true});
    }
    parts.tokens = std::move(tokens);
    parts.merges.reserve(mergeLines.size());
    parts.mergeLines.reserve(mergeLines.size());
    for (const MergeLine& m : mergeLines) {
        parts.merges.emplace_back(m.first, m.second);
        parts.mergeLines.push_back(m.line);
    }
    parts.vocabName = vocabName;
    parts.mergesName = mergesName;
    return build(std::move(parts));
}

std::shared_ptr<Tokenizer::Impl> Tokenizer::Impl::build(detail::TokenizerParts parts) {
    auto impl = std::make_shared<Impl>();
    std::vector<std::string>& tokens = parts.tokens;
    const std::string& vocabName = parts.vocabName;
    const auto n = static_cast<std::int32_t>(tokens.size());
    std::unordered_map<std::string, std::int32_t> byText;
    byText.reserve(tokens.size());
    for (std::int32_t id = 0; id < n; ++id) {
        if (!byText.emplace(tokens[id], id).second && parts.uniqueTokens)
            throw UserError(vocabName + ": token \"" + tokens[id] + "\" is listed twice");
    }

    impl->isAdded.assign(tokens.size(), 0);
    std::sort(parts.added.begin(), parts.added.end(),
              [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
    for (std::size_t k = 0; k < parts.added.size(); ++k) {
        const AddedToken& a = parts.added[k];
        if (a.id < 0 || a.id >= n)
            throw UserError(vocabName + ": added token \"" + a.content + "\" has id " + std::to_string(a.id) +
                            ", outside the vocabulary (0 to " + std::to_string(n - 1) + ")");
        if (a.content.empty()) throw UserError(vocabName + ": added token " + std::to_string(a.id) + " is empty");
        if (!isValidUtf8(a.content))
            throw UserError(vocabName + ": added token " + std::to_string(a.id) + " is not valid UTF-8");
        if (impl->isAdded[a.id])
            throw UserError(vocabName + ": id " + std::to_string(a.id) + " is given to two added tokens");
        impl->isAdded[a.id] = 1;
        tokens[a.id] = a.content;
    }
    impl->added = std::move(parts.added);
    for (std::size_t k = 0; k < impl->added.size(); ++k) {
        const AddedToken& a = impl->added[k];
        impl->addedByFirstByte[static_cast<std::uint8_t>(a.content[0])].push_back(static_cast<std::int32_t>(k));
        if (!a.special) impl->anyNonSpecialAdded = true;
    }
    for (auto& bucket : impl->addedByFirstByte)
        std::stable_sort(bucket.begin(), bucket.end(), [&](std::int32_t x, std::int32_t y) {
            return impl->added[x].content.size() > impl->added[y].content.size();
        });

    const auto checkRole = [&](std::int32_t id, const char* role) {
        if (id < -1 || id >= n)
            throw UserError(vocabName + ": " + role + " token id " + std::to_string(id) +
                            " is outside the vocabulary (0 to " + std::to_string(n - 1) + ")");
        return id;
    };
    impl->bos = checkRole(parts.bos, "bos");
    impl->eos = checkRole(parts.eos, "eos");
    impl->pad = checkRole(parts.pad, "pad");
    impl->unk = checkRole(parts.unk, "unk");
    impl->addBos = parts.addBos;
    impl->ignoreMerges = parts.ignoreMerges;
    impl->pre = parts.pre;

    impl->bytes.reserve(tokens.size());
    for (std::int32_t id = 0; id < n; ++id) {
        // An added token stands for its own text, whatever characters it has.
        impl->bytes.push_back(impl->isAdded[id] ? tokens[id] : fromFileForm(tokens[id]));
    }
    for (std::int32_t id = 0; id < n; ++id)
        impl->byBytes.emplace(impl->bytes[id], id);

    for (int b = 0; b < 256; ++b) {
        const std::string& text = bytelevel::byteToUnicode(static_cast<std::uint8_t>(b));
        const auto it = byText.find(text);
        if (it == byText.end() || impl->isAdded[it->second]) {
            if (!parts.requireAllBytes) {
                impl->byteId[b] = -1;
                continue;
            }
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", b);
            throw UserError(vocabName + ": the vocabulary lacks the token \"" + text + "\" for byte " + hex +
                            "; a byte-level BPE vocabulary needs all 256");
        }
        impl->byteId[b] = it->second;
    }

    impl->mergeList.reserve(parts.merges.size());
    impl->merges.reserve(parts.merges.size());
    for (std::size_t k = 0; k < parts.merges.size(); ++k) {
        const auto& [first, second] = parts.merges[k];
        const auto lookup = [&](const std::string& text) {
            const auto it = byText.find(text);
            if (it == byText.end()) {
                const std::size_t line = k < parts.mergeLines.size() ? parts.mergeLines[k] : 0;
                const std::string where = parts.mergesIndexed ? parts.mergesName + "[" + std::to_string(k) + "]"
                                          : line ? parts.mergesName + ": line " + std::to_string(line)
                                                 : parts.mergesName;
                throw UserError(where + ": \"" + text + "\" is not in the vocabulary (" + vocabName + ")");
            }
            return it->second;
        };
        const std::int32_t a = lookup(first);
        const std::int32_t b = lookup(second);
        const std::int32_t r = lookup(first + second);
        const auto rank = static_cast<std::int32_t>(impl->mergeList.size());
        // A repeated pair keeps its first (best) rank; later copies can never apply.
        if (impl->merges.emplace(pairKey(a, b), Merge{rank, r}).second)
            impl->mergeList.emplace_back(a, b);
    }
    impl->fileText = std::move(tokens);
    return impl;
}

std::int32_t Tokenizer::Impl::missingByte(std::uint8_t b) const {
    if (unk >= 0) return unk;
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", b);
    throw UserError(std::string("cannot encode byte ") + hex +
                    ": the vocabulary has no token for it and no unk token");
}

void Tokenizer::Impl::checkId(std::int32_t id) const {
    if (id < 0 || id >= static_cast<std::int32_t>(bytes.size()))
        throw UserError("token id " + std::to_string(id) + " is outside the vocabulary (0 to " +
                        std::to_string(bytes.size() - 1) + ")");
}

std::vector<std::int32_t> Tokenizer::Impl::mergeWord(std::string_view word) const {
    // Lowest rank first, leftmost first among equals: the same result as the reference's
    // "merge every occurrence of the best pair, left to right, then look again", but
    // O(n log n) instead of O(n^2), which matters for long runs such as 10k spaces.
    const auto n = static_cast<std::int32_t>(word.size());
    std::vector<std::int32_t> id(n), next(n), prev(n);
    for (std::int32_t i = 0; i < n; ++i) {
        id[i] = byteId[static_cast<std::uint8_t>(word[i])];
        prev[i] = i - 1;
        next[i] = i + 1 < n ? i + 1 : -1;
    }
    struct Cand {
        std::int32_t rank, pos, left, right;
    };
    const auto later = [](const Cand& a, const Cand& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
    std::vector<Cand> heap;
    const auto consider = [&](std::int32_t pos) {
        if (pos < 0 || next[pos] < 0) return;
        const auto it = merges.find(pairKey(id[pos], id[next[pos]]));
        if (it == merges.end()) return;
        heap.push_back({it->second.rank, pos, id[pos], id[next[pos]]});
        std::push_heap(heap.begin(), heap.end(), later);
    };
    for (std::int32_t i = 0; i + 1 < n; ++i)
        consider(i);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const Cand c = heap.back();
        heap.pop_back();
        // Stale when either side has changed since: a symbol only ever grows, so equal ids
        // mean the same symbols.
        const std::int32_t right = next[c.pos];
        if (id[c.pos] != c.left || right < 0 || id[right] != c.right) continue;
        id[c.pos] = merges.find(pairKey(c.left, c.right))->second.result;
        id[right] = -1;
        next[c.pos] = next[right];
        if (next[right] >= 0) prev[next[right]] = c.pos;
        consider(prev[c.pos]);
        consider(c.pos);
    }
    std::vector<std::int32_t> out;
    // A byte without a token (-1) never merges; it becomes unk or an error here.
    for (std::int32_t i = 0; i >= 0; i = next[i])
        out.push_back(id[i] >= 0 ? id[i] : missingByte(static_cast<std::uint8_t>(word[i])));
    return out;
}

void Tokenizer::Impl::bpe(std::string_view word, std::vector<std::int32_t>& out) const {
    if (word.size() == 1) {
        const auto b = static_cast<std::uint8_t>(word[0]);
        out.push_back(byteId[b] >= 0 ? byteId[b] : missingByte(b));
        return;
    }
    if (ignoreMerges) {
        // Hugging Face's ignore_merges (Llama 3): a piece that is a token is taken whole.
        const auto it = byBytes.find(std::string(word));
        if (it != byBytes.end() && !isAdded[it->second]) {
            out.push_back(it->second);
            return;
        }
    }
    const bool cacheable = word.size() <= kCacheMaxWord;
    std::string key;
    if (cacheable) {
        key.assign(word);
        std::shared_lock lock(cacheMutex);
        const auto it = cache.find(key);
        if (it != cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<std::int32_t> ids = mergeWord(word);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) {
        std::unique_lock lock(cacheMutex);
        if (cache.size() >= kCacheMaxEntries) cache.clear(); // crude, but bounded memory
        cache.emplace(std::move(key), std::move(ids));
    }
}

void Tokenizer::Impl::encodeOrdinary(std::string_view text, std::vector<std::int32_t>& out) const {
    if (pre == PreTokenizer::Gpt2)
        bytelevel::preTokenize(text, [&](std::string_view piece) { bpe(piece, out); });
    else
        bytelevel::preTokenize(text, pre, [&](std::string_view piece) { bpe(piece, out); });
}

// ---------------------------------------------------------------------------------------------

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}

Tokenizer Tokenizer::fromDirectory(const std::string& dir, const SpecialTokens& special) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto has = [&](const char* name) { return fs::is_regular_file(fs::path(dir) / name, ec); };
    if (has("encoder.json") && has("vocab.bpe"))
        return fromFiles((fs::path(dir) / "encoder.json").string(), (fs::path(dir) / "vocab.bpe").string(), special);
    if (has("vocab.json") && has("merges.txt"))
        return fromFiles((fs::path(dir) / "vocab.json").string(), (fs::path(dir) / "merges.txt").string(), special);
    throw UserError(dir + ": no tokenizer files: expected encoder.json + vocab.bpe or vocab.json + merges.txt");
}

Tokenizer Tokenizer::fromFiles(const std::string& vocabPath, const std::string& mergesPath,
                               const SpecialTokens& special) {
    std::vector<std::string> tokens = parseVocabJson(vocabPath);
    const std::vector<MergeLine> merges = parseMerges(mergesPath);
    return Tokenizer(Impl::build(std::move(tokens), merges, special, vocabPath, mergesPath));
}

Tokenizer Tokenizer::fromVocabulary(const BpeVocabulary& vocab, const SpecialTokens& special) {
    const auto isSpecial = [&](const std::string& t) {
        return !t.empty() && (t == special.bos || t == special.eos || t == special.pad);
    };
    std::vector<std::string> tokens;
    tokens.reserve(vocab.tokens.size());
    for (const std::string& t : vocab.tokens)
        tokens.push_back(isSpecial(t) ? t : bytelevel::toFileForm(t));
    std::vector<MergeLine> merges;
    merges.reserve(vocab.merges.size());
    for (const auto& [a, b] : vocab.merges)
        merges.push_back({bytelevel::toFileForm(a), bytelevel::toFileForm(b), 0});
    return Tokenizer(Impl::build(std::move(tokens), merges, special, "vocabulary", "merges"));
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool allowSpecial) const {
    const Impl& im = *m_impl;
    std::vector<std::int32_t> out;
    out.reserve(text.size() / 3 + 1);
    if (im.added.empty() || (!allowSpecial && !im.anyNonSpecialAdded)) {
        im.encodeOrdinary(text, out);
        return out;
    }
    // Added tokens first, leftmost then longest (Hugging Face's LeftmostLongest); the text
    // between them is pre-tokenised as usual. A bucket per first byte keeps this O(length) for
    // any text without many candidate starts.
    std::size_t start = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        const AddedToken* hit = nullptr;
        for (const std::int32_t k : im.addedByFirstByte[static_cast<std::uint8_t>(text[pos])]) {
            const AddedToken& a = im.added[k];
            if (a.special && !allowSpecial) continue;
            if (text.compare(pos, a.content.size(), a.content) == 0) {
                hit = &a;
                break;
            }
        }
        if (!hit) {
            ++pos;
            continue;
        }
        im.encodeOrdinary(text.substr(start, pos - start), out);
        out.push_back(hit->id);
        pos += hit->content.size();
        start = pos;
    }
    im.encodeOrdinary(text.substr(start), out);
    return out;
}

std::string Tokenizer::decode(const std::vector<std::int32_t>& ids) const {
    std::string out;
    for (const std::int32_t id : ids) {
        m_impl->checkId(id);
        out += m_impl->bytes[id];
    }
    return out;
}

std::string Tokenizer::tokenText(std::int32_t id) const {
    m_impl->checkId(id);
    return m_impl->bytes[id];
}

std::int32_t Tokenizer::tokenId(std::string_view bytes) const {
    const auto it = m_impl->byBytes.find(std::string(bytes));
    return it == m_impl->byBytes.end() ? -1 : it->second;
}

std::int32_t Tokenizer::vocabSize() const { return static_cast<std::int32_t>(m_impl->bytes.size()); }
std::int32_t Tokenizer::bosId() const { return m_impl->bos; }
std::int32_t Tokenizer::eosId() const { return m_impl->eos; }
std::int32_t Tokenizer::padId() const { return m_impl->pad; }
std::int32_t Tokenizer::unkId() const { return m_impl->unk; }
PreTokenizer Tokenizer::preTokenizer() const { return m_impl->pre; }
bool Tokenizer::addBosToken() const { return m_impl->addBos; }
std::vector<AddedToken> Tokenizer::addedTokens() const { return m_impl->added; }

Tokenizer Tokenizer::fromParts(detail::TokenizerParts parts) { return Tokenizer(Impl::build(std::move(parts))); }

detail::TokenizerParts Tokenizer::parts() const {
    const Impl& im = *m_impl;
    detail::TokenizerParts p;
    p.tokens = im.fileText;
    p.merges.reserve(im.mergeList.size());
    for (const auto& [a, b] : im.mergeList)
        p.merges.emplace_back(im.fileText[a], im.fileText[b]);
    p.added = im.added;
    p.bos = im.bos;
    p.eos = im.eos;
    p.pad = im.pad;
    p.unk = im.unk;
    p.addBos = im.addBos;
    p.ignoreMerges = im.ignoreMerges;
    p.requireAllBytes = std::all_of(im.byteId.begin(), im.byteId.end(), [](std::int32_t id) { return id >= 0; });
    p.pre = im.pre;
    return p;
}

void Tokenizer::save(const std::string& dir) const {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("cannot create " + dir + ": " + ec.message());
    // Written by hand rather than through nlohmann::ordered_json, whose inserts are linear:
    // ids in order keep the file readable and diffable.
    std::string vocab = "{";
    for (std::size_t id = 0; id < m_impl->fileText.size(); ++id) {
        vocab += id ? ",\n " : "\n ";
        vocab += nlohmann::json(m_impl->fileText[id]).dump();
        vocab += ": " + std::to_string(id);
    }
    vocab += "\n}\n";
    std::string merges = "#version: 0.2\n";
    for (const auto& [a, b] : m_impl->mergeList)
        merges += m_impl->fileText[a] + ' ' + m_impl->fileText[b] + '\n';
    const std::filesystem::path d(dir);
    writeFileAtomically((d / "vocab.json").string(), vocab);
    writeFileAtomically((d / "merges.txt").string(), merges);
}

BpeVocabulary Tokenizer::vocabulary() const {
    BpeVocabulary v;
    v.tokens = m_impl->bytes;
    v.merges.reserve(m_impl->mergeList.size());
    for (const auto& [a, b] : m_impl->mergeList)
        v.merges.emplace_back(m_impl->bytes[a], m_impl->bytes[b]);
    return v;
}

} // namespace larimar
