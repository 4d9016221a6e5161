#include "core/scope/nfkc.h"

#include "core/scope/nfkc_tables.h"
#include "core/util/error.h"
#include "core/util/utf8.h"

#include <algorithm>
#include <tuple>
#include <vector>

namespace larimar {
namespace {

// Hangul syllable arithmetic (Unicode chapter 3.12).
constexpr char32_t SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
constexpr char32_t LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

std::uint8_t combiningClass(char32_t cp) {
    if (cp < 0x300) return 0;
    const auto* begin = unicode_nfkc::kCccRanges;
    const auto* end = begin + unicode_nfkc::kCccRangeCount;
    const auto* it = std::upper_bound(begin, end, cp, [](char32_t c, const unicode_nfkc::CccRange& r) { return c < r.lo; });
    if (it == begin) return 0;
    --it;
    return cp <= it->hi ? it->ccc : 0;
}

void decompose(char32_t cp, std::u32string& out) {
    if (cp >= SBase && cp < SBase + SCount) {
        const char32_t s = cp - SBase;
        out.push_back(LBase + s / NCount);
        out.push_back(VBase + (s % NCount) / TCount);
        if (s % TCount != 0) out.push_back(TBase + s % TCount);
        return;
    }
    if (cp >= 0xA0) {
        const auto* begin = unicode_nfkc::kDecompositions;
        const auto* end = begin + unicode_nfkc::kDecompositionCount;
        const auto* it =
            std::lower_bound(begin, end, cp, [](const unicode_nfkc::Decomposition& d, char32_t c) { return d.cp < c; });
        if (it != end && it->cp == cp) {
            out.append(unicode_nfkc::kDecompositionData + it->offset, it->length);
            return;
        }
    }
    out.push_back(cp);
}

/// The primary composite of (a, b), or 0 if there is none.
char32_t compose(char32_t a, char32_t b) {
    if (a >= LBase && a < LBase + LCount && b >= VBase && b < VBase + VCount)
        return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
    if (a >= SBase && a < SBase + SCount && (a - SBase) % TCount == 0 && b > TBase && b < TBase + TCount)
        return a + (b - TBase);
    const auto* begin = unicode_nfkc::kCompositions;
    const auto* end = begin + unicode_nfkc::kCompositionCount;
    const auto* it = std::lower_bound(begin, end, std::make_pair(a, b), [](const unicode_nfkc::Composition& c, auto key) {
        return c.first != key.first ? c.first < key.first : c.second < key.second;
    });
    return (it != end && it->first == a && it->second == b) ? it->composite : 0;
}

} // namespace

std::u32string utf8ToCodePoints(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
        for (int k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        out.push_back(cp);
        i += n;
    }
    return out;
}

std::string codePointsToUtf8(std::u32string_view cps) {
    std::string out;
    out.reserve(cps.size());
    for (char32_t cp : cps) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }
    return out;
}

std::string nfkc(std::string_view utf8) {
    // NUL bytes are fine in normalisation; only the encoding must be valid.
    for (std::size_t start = 0; start < utf8.size();) {
        const auto nul = utf8.find('\0', start);
        const auto part = utf8.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start);
        if (auto problem = findUtf8Problem(part))
            throw UserError("text is not valid UTF-8: " + problem->what + " at byte " +
                            std::to_string(start + problem->offset));
        if (nul == std::string_view::npos) break;
        start = nul + 1;
    }
    if (std::all_of(utf8.begin(), utf8.end(), [](char c) { return static_cast<unsigned char>(c) < 0xC2; }))
        return std::string(utf8);  // valid UTF-8 with no byte >= 0xC2 is ASCII: nothing to do

    const std::u32string input = utf8ToCodePoints(utf8);
    std::u32string d;
    d.reserve(input.size() + 8);
    for (char32_t cp : input) decompose(cp, d);

    // Canonical ordering: stable sort of each run of non-starters by combining class.
    std::vector<std::uint8_t> ccc(d.size());
    for (std::size_t i = 0; i < d.size(); ++i) ccc[i] = combiningClass(d[i]);
    for (std::size_t i = 0; i < d.size();) {
        if (ccc[i] == 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < d.size() && ccc[j] != 0) ++j;
        if (j - i > 1) {
            std::vector<std::pair<std::uint8_t, char32_t>> run;
            for (std::size_t k = i; k < j; ++k) run.emplace_back(ccc[k], d[k]);
            std::stable_sort(run.begin(), run.end(), [](auto& x, auto& y) { return x.first < y.first; });
            for (std::size_t k = i; k < j; ++k) std::tie(ccc[k], d[k]) = run[k - i];
        }
        i = j;
    }

    // Canonical composition: a character joins the last starter unless something between them
    // blocks it (a starter, or a mark of the same or a higher class).
    std::u32string out;
    out.reserve(d.size());
    std::ptrdiff_t starter = -1;
    int lastCcc = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        const char32_t cp = d[i];
        const int cc = ccc[i];
        if (starter >= 0) {
            const bool adjacent = static_cast<std::ptrdiff_t>(out.size()) - 1 == starter;
            const bool blocked = !adjacent && (lastCcc == 0 || lastCcc >= cc);
            if (!blocked) {
                if (char32_t c = compose(out[static_cast<std::size_t>(starter)], cp)) {
                    out[static_cast<std::size_t>(starter)] = c;
                    continue;
                }
            }
        }
        if (cc == 0) starter = static_cast<std::ptrdiff_t>(out.size());
        lastCcc = cc;
        out.push_back(cp);
    }
    return codePointsToUtf8(out);
}

} // namespace larimar
