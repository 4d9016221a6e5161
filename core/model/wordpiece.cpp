#include "core/model/wordpiece.h"

#include "core/util/error.h"
#include "core/util/utf8.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <fstream>
#include <unordered_map>

namespace larimar {
namespace {

// BERT's "CJK ideograph" blocks (its definition of a Chinese character, not a Unicode property).
bool isCjkIdeograph(UChar32 c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Every "other" category (Cc, Cf, Cn, Co, Cs) except the three that count as whitespace.
bool isControl(UChar32 c) {
    if (c == '\t' || c == '\n' || c == '\r') return false;
    switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_UNASSIGNED:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE: return true;
    default: return false;
    }
}

bool isWhitespace(UChar32 c) { return c == '\t' || c == '\n' || c == '\r' || u_isUWhiteSpace(c); }

bool isPunctuation(UChar32 c) {
    const bool asciiPunct = (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
                            (c >= 123 && c <= 126);
    return asciiPunct || u_ispunct(c);
}

void appendUtf8(std::string& out, UChar32 c) {
    if (c >= 0 && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF)) larimar::appendUtf8(out, static_cast<char32_t>(c));
}

std::vector<UChar32> codePoints(std::string_view text) {
    std::vector<UChar32> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const Utf8Char c = decodeUtf8(text, i);
        if (!c.valid) throw UserError("text is not valid UTF-8 (at byte " + std::to_string(i) + ")");
        out.push_back(static_cast<UChar32>(c.cp));
        i += c.len;
    }
    return out;
}

} // namespace

struct WordPieceTokenizer::Impl {
    std::vector<std::string> tokens;
    std::unordered_map<std::string, std::int32_t> ids;
    bool lowerCase = true;
    std::int32_t cls = -1, sep = -1, pad = -1, unk = -1;
    const icu::Normalizer2* nfd = nullptr;

    // Steps 1-3: cleaned, CJK-padded, (accent-stripped and lower-cased) code points.
    std::vector<UChar32> normalise(std::string_view text) const {
        std::vector<UChar32> cleaned;
        const auto input = codePoints(text);
        cleaned.reserve(input.size());
        for (UChar32 c : input) {
            if (c == 0 || c == 0xFFFD || isControl(c)) continue;
            if (isWhitespace(c)) {
                cleaned.push_back(' ');
            } else if (isCjkIdeograph(c)) {
                cleaned.push_back(' ');
                cleaned.push_back(c);
                cleaned.push_back(' ');
            } else {
                cleaned.push_back(c);
            }
        }
        if (!lowerCase) return cleaned;
        icu::UnicodeString u;
        for (UChar32 c : cleaned) u.append(c);
        UErrorCode status = U_ZERO_ERROR;
        const icu::UnicodeString decomposed = nfd->normalize(u, status);
        if (U_FAILURE(status)) throw Error(std::string("WordPiece: ICU NFD failed: ") + u_errorName(status));
        std::vector<UChar32> out;
        out.reserve(static_cast<std::size_t>(decomposed.length()));
        for (int32_t i = 0; i < decomposed.length();) {
            const UChar32 c = decomposed.char32At(i);
            i = decomposed.moveIndex32(i, 1);
            if (u_charType(c) == U_NON_SPACING_MARK) continue;
            if (c < 0x80) {
                out.push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
                continue;
            }
            // Full lower-case mapping of this code point alone (no final-sigma context).
            icu::UnicodeString one(c);
            one.toLower(icu::Locale::getRoot());
            for (int32_t j = 0; j < one.length();) {
                out.push_back(one.char32At(j));
                j = one.moveIndex32(j, 1);
            }
        }
        return out;
    }

    std::vector<std::string> words(std::string_view text) const {
        std::vector<std::string> result;
        std::string current;
        auto flush = [&] {
            if (!current.empty()) result.push_back(std::move(current));
            current.clear();
        };
        for (UChar32 c : normalise(text)) {
            if (isWhitespace(c)) {
                flush();
            } else if (isPunctuation(c)) {
                flush();
                appendUtf8(current, c);
                flush();
            } else {
                appendUtf8(current, c);
            }
        }
        flush();
        return result;
    }

    void pieces(std::string_view word, std::vector<std::int32_t>& out) const {
        // Byte offset of every code point boundary (the word is valid UTF-8: it came from words()
        // or the caller, and is checked here).
        std::vector<std::size_t> bounds;
        const auto* s = reinterpret_cast<const uint8_t*>(word.data());
        const auto length = static_cast<int32_t>(word.size());
        for (int32_t i = 0; i < length;) {
            bounds.push_back(static_cast<std::size_t>(i));
            UChar32 c = 0;
            U8_NEXT(s, i, length, c);
            if (c < 0) throw UserError("WordPiece: word is not valid UTF-8");
        }
        bounds.push_back(word.size());
        const std::size_t chars = bounds.size() - 1;
        if (chars == 0) return;
        if (chars > kWordPieceMaxWordChars) {
            out.push_back(unk);
            return;
        }
        const std::size_t mark = out.size();
        std::string candidate;
        for (std::size_t start = 0; start < chars;) {
            std::int32_t found = -1;
            std::size_t end = chars;
            for (; end > start; --end) {
                candidate.assign(start > 0 ? "##" : "");
                candidate.append(word.substr(bounds[start], bounds[end] - bounds[start]));
                const auto it = ids.find(candidate);
                if (it != ids.end()) {
                    found = it->second;
                    break;
                }
            }
            if (found < 0) {
                out.resize(mark);
                out.push_back(unk);
                return;
            }
            out.push_back(found);
            start = end;
        }
    }
};

WordPieceTokenizer::WordPieceTokenizer(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}
WordPieceTokenizer::~WordPieceTokenizer() = default;
WordPieceTokenizer::WordPieceTokenizer(const WordPieceTokenizer&) = default;
WordPieceTokenizer& WordPieceTokenizer::operator=(const WordPieceTokenizer&) = default;
WordPieceTokenizer::WordPieceTokenizer(WordPieceTokenizer&&) noexcept = default;
WordPieceTokenizer& WordPieceTokenizer::operator=(WordPieceTokenizer&&) noexcept = default;

WordPieceTokenizer WordPieceTokenizer::fromVocabFile(const std::string& path, bool lowerCase) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(path + ": cannot read the WordPiece vocabulary (vocab.txt)");
    std::vector<std::string> tokens;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        tokens.push_back(line);
    }
    if (in.bad()) throw UserError(path + ": read error");
    return fromTokens(std::move(tokens), lowerCase, path);
}

WordPieceTokenizer WordPieceTokenizer::fromTokens(std::vector<std::string> tokens, bool lowerCase,
                                                  const std::string& nameForMessages) {
    auto impl = std::make_shared<Impl>();
    impl->lowerCase = lowerCase;
    if (tokens.empty()) throw UserError(nameForMessages + ": the vocabulary is empty");
    if (tokens.size() > static_cast<std::size_t>(INT32_MAX)) throw UserError(nameForMessages + ": too many tokens");
    impl->ids.reserve(tokens.size());
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string where = nameForMessages + " line " + std::to_string(i + 1);
        if (tokens[i].empty()) throw UserError(where + ": empty token");
        if (!impl->ids.emplace(tokens[i], static_cast<std::int32_t>(i)).second)
            throw UserError(where + ": token '" + tokens[i] + "' appears twice");
    }
    impl->tokens = std::move(tokens);
    auto special = [&](const char* name) {
        const auto it = impl->ids.find(name);
        if (it == impl->ids.end())
            throw UserError(nameForMessages + ": the special token " + name + " is missing (not a BERT vocabulary?)");
        return it->second;
    };
    impl->cls = special("[CLS]");
    impl->sep = special("[SEP]");
    impl->pad = special("[PAD]");
    impl->unk = special("[UNK]");
    UErrorCode status = U_ZERO_ERROR;
    impl->nfd = icu::Normalizer2::getNFDInstance(status);
    if (U_FAILURE(status) || !impl->nfd)
        throw Error(std::string("WordPiece: ICU has no NFD data: ") + u_errorName(status));
    return WordPieceTokenizer(std::move(impl));
}

std::vector<std::string> WordPieceTokenizer::words(std::string_view text) const { return m_impl->words(text); }

std::vector<std::int32_t> WordPieceTokenizer::wordPieces(std::string_view word) const {
    std::vector<std::int32_t> out;
    m_impl->pieces(word, out);
    return out;
}

std::vector<std::int32_t> WordPieceTokenizer::tokenize(std::string_view text) const {
    std::vector<std::int32_t> out;
    for (const auto& w : m_impl->words(text)) m_impl->pieces(w, out);
    return out;
}

std::vector<std::int32_t> WordPieceTokenizer::encode(std::string_view text, std::size_t maxLength) const {
    if (maxLength < 2) throw UserError("WordPiece: a sequence needs room for [CLS] and [SEP] (max length >= 2)");
    std::vector<std::int32_t> out{m_impl->cls};
    for (const auto& w : m_impl->words(text)) {
        m_impl->pieces(w, out);
        if (out.size() >= maxLength - 1) break;
    }
    if (out.size() > maxLength - 1) out.resize(maxLength - 1);
    out.push_back(m_impl->sep);
    return out;
}

bool WordPieceTokenizer::isWholeToken(std::string_view word) const {
    return !word.empty() && m_impl->ids.count(std::string(word)) != 0;
}

std::int32_t WordPieceTokenizer::id(std::string_view token) const {
    const auto it = m_impl->ids.find(std::string(token));
    return it == m_impl->ids.end() ? -1 : it->second;
}

const std::string& WordPieceTokenizer::token(std::int32_t id) const {
    if (id < 0 || id >= size())
        throw UserError("WordPiece: token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                        std::to_string(size() - 1) + ")");
    return m_impl->tokens[static_cast<std::size_t>(id)];
}

std::int32_t WordPieceTokenizer::size() const { return static_cast<std::int32_t>(m_impl->tokens.size()); }
std::int32_t WordPieceTokenizer::clsId() const { return m_impl->cls; }
std::int32_t WordPieceTokenizer::sepId() const { return m_impl->sep; }
std::int32_t WordPieceTokenizer::padId() const { return m_impl->pad; }
std::int32_t WordPieceTokenizer::unkId() const { return m_impl->unk; }
bool WordPieceTokenizer::lowerCase() const { return m_impl->lowerCase; }

} // namespace larimar
