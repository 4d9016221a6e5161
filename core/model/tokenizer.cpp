#include "core/model/tokenizer.h"
#include "core/util/file_io.h"

#include "core/model/unicode_tables.h"
#include "core/util/error.h"

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

void appendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

struct Utf8Char {
    char32_t cp;
    std::size_t len;
    bool valid;
};

/// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). An invalid byte is
/// returned alone with valid = false, so that every byte string can be walked.
Utf8Char decodeUtf8(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return {c, 1, true};
    const auto cont = [&](std::size_t k, unsigned lo, unsigned hi) {
        return k < s.size() && b(k) >= lo && b(k) <= hi;
    };
    if (c >= 0xC2 && c <= 0xDF && cont(i + 1, 0x80, 0xBF))
        return {char32_t((c & 0x1F) << 6 | (b(i + 1) & 0x3F)), 2, true};
    if (c >= 0xE0 && c <= 0xEF) {
        const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
        const unsigned hi = c == 0xED ? 0x9F : 0xBF;
        if (cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF))
            return {char32_t((c & 0x0F) << 12 | (b(i + 1) & 0x3F) << 6 | (b(i + 2) & 0x3F)), 3, true};
    }
    if (c >= 0xF0 && c <= 0xF4) {
        const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
        const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
        if (cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) && cont(i + 3, 0x80, 0xBF))
            return {char32_t((c & 0x07) << 18 | (b(i + 1) & 0x3F) << 12 | (b(i + 2) & 0x3F) << 6 |
                             (b(i + 3) & 0x3F)),
                    4, true};
    }
    return {c, 1, false};
}

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
    if (s[pos] == '\'' && pos + 1 < n) {
        const char c = s[pos + 1];
        if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
        if (pos + 2 < n) {
            const std::string_view two = s.substr(pos + 1, 2);
            if (two == "re" || two == "ve" || two == "ll") return 3;
        }
    }
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

std::string readFile(const std::string& path, const char* what) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        throw UserError(path + ": " + what + " not found");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(path + ": cannot open " + what + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw UserError(path + ": cannot read " + what);
    return ss.str();
}

std::size_t lineOfOffset(const std::string& text, std::size_t offset) {
    offset = std::min(offset, text.size());
    return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

/// Token texts by id from a token -> id JSON object; ids must be 0..n-1 without gaps.
std::vector<std::string> parseVocabJson(const std::string& path) {
    const std::string text = readFile(path, "vocabulary file");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 8: detail";
        // keep the detail, say the line in the form every other message here uses.
        std::string detail = e.what();
        const std::size_t col = detail.find(", column ");
        const std::size_t colon = col == std::string::npos ? std::string::npos : detail.find(": ", col);
        if (colon != std::string::npos) detail = detail.substr(colon + 2);
        throw UserError(path + ": line " + std::to_string(lineOfOffset(text, e.byte)) +
                        ": not valid JSON: " + detail);
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
    std::vector<std::string> fileText; // as in the vocabulary file, by id
    std::unordered_map<std::string, std::int32_t> byBytes;
    std::array<std::int32_t, 256> byteId{};
    std::unordered_map<std::uint64_t, Merge> merges;
    std::vector<std::pair<std::int32_t, std::int32_t>> mergeList; // by rank
    std::int32_t bos = -1, eos = -1, pad = -1;
    std::vector<std::pair<std::string, std::int32_t>> specials; // longest first

    // Words repeat (Zipf), so most encode() calls hit this. Guarded: encode is const and may run
    // on several threads.
    static constexpr std::size_t kCacheMaxWord = 64;
    static constexpr std::size_t kCacheMaxEntries = 1 << 16;
    mutable std::shared_mutex cacheMutex;
    mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache;

    static std::shared_ptr<Impl> build(std::vector<std::string> tokens, const std::vector<MergeLine>& mergeLines,
                                       const SpecialTokens& special, const std::string& vocabName,
                                       const std::string& mergesName);
    void encodeOrdinary(std::string_view text, std::vector<std::int32_t>& out) const;
    void bpe(std::string_view word, std::vector<std::int32_t>& out) const;
    std::vector<std::int32_t> mergeWord(std::string_view word) const;
    void checkId(std::int32_t id) const;
};

std::shared_ptr<Tokenizer::Impl> Tokenizer::Impl::build(std::vector<std::string> tokens,
                                                        const std::vector<MergeLine>& mergeLines,
                                                        const SpecialTokens& special,
                                                        const std::string& vocabName,
                                                        const std::string& mergesName) {
    auto impl = std::make_shared<Impl>();
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
    impl->bos = specialId(special.bos, "bos");
    impl->eos = specialId(special.eos, "eos");
    impl->pad = specialId(special.pad, "pad");

    impl->bytes.reserve(tokens.size());
    for (std::size_t id = 0; id < tokens.size(); ++id) {
        const auto i = static_cast<std::int32_t>(id);
        const bool isSpecial = i == impl->bos || i == impl->eos || i == impl->pad;
        // A special token stands for its own text, whatever characters it has.
        impl->bytes.push_back(isSpecial ? tokens[id] : fromFileForm(tokens[id]));
    }
    for (std::size_t id = 0; id < tokens.size(); ++id)
        impl->byBytes.emplace(impl->bytes[id], static_cast<std::int32_t>(id));
    for (const std::int32_t id : {impl->bos, impl->eos, impl->pad}) {
        if (id < 0) continue;
        const std::string& s = tokens[id];
        if (std::none_of(impl->specials.begin(), impl->specials.end(), [&](const auto& p) { return p.first == s; }))
            impl->specials.emplace_back(s, id);
    }
    std::sort(impl->specials.begin(), impl->specials.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });

    for (int b = 0; b < 256; ++b) {
        const std::string& text = bytelevel::byteToUnicode(static_cast<std::uint8_t>(b));
        const auto it = byText.find(text);
        if (it == byText.end()) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", b);
            throw UserError(vocabName + ": the vocabulary lacks the token \"" + text + "\" for byte " + hex +
                            "; a byte-level BPE vocabulary needs all 256");
        }
        impl->byteId[b] = it->second;
    }

    impl->mergeList.reserve(mergeLines.size());
    impl->merges.reserve(mergeLines.size());
    const auto lookup = [&](const std::string& text, const MergeLine& m) {
        const auto it = byText.find(text);
        if (it == byText.end()) {
            const std::string where = m.line ? mergesName + ": line " + std::to_string(m.line) : mergesName;
            throw UserError(where + ": \"" + text + "\" is not in the vocabulary (" + vocabName + ")");
        }
        return it->second;
    };
    for (const MergeLine& m : mergeLines) {
        const std::int32_t a = lookup(m.first, m);
        const std::int32_t b = lookup(m.second, m);
        const std::int32_t r = lookup(m.first + m.second, m);
        const auto rank = static_cast<std::int32_t>(impl->mergeList.size());
        // A repeated pair keeps its first (best) rank; later copies can never apply.
        if (impl->merges.emplace(pairKey(a, b), Merge{rank, r}).second)
            impl->mergeList.emplace_back(a, b);
    }
    impl->fileText = std::move(tokens);
    return impl;
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
    for (std::int32_t i = 0; i >= 0; i = next[i])
        out.push_back(id[i]);
    return out;
}

void Tokenizer::Impl::bpe(std::string_view word, std::vector<std::int32_t>& out) const {
    if (word.size() == 1) {
        out.push_back(byteId[static_cast<std::uint8_t>(word[0])]);
        return;
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
    bytelevel::preTokenize(text, [&](std::string_view piece) { bpe(piece, out); });
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
    std::vector<std::int32_t> out;
    out.reserve(text.size() / 3 + 1);
    if (!allowSpecial || m_impl->specials.empty()) {
        m_impl->encodeOrdinary(text, out);
        return out;
    }
    std::size_t pos = 0;
    while (pos < text.size()) {
        // Earliest occurrence of any special string; the longest wins at the same position.
        std::size_t best = std::string_view::npos;
        const std::pair<std::string, std::int32_t>* hit = nullptr;
        for (const auto& s : m_impl->specials) {
            const std::size_t at = text.find(s.first, pos);
            if (at < best) {
                best = at;
                hit = &s;
            }
        }
        if (!hit) break;
        m_impl->encodeOrdinary(text.substr(pos, best - pos), out);
        out.push_back(hit->second);
        pos = best + hit->first.size();
    }
    m_impl->encodeOrdinary(text.substr(pos), out);
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
