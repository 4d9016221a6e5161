#include "core/scope/sentence_split.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace larimar {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool isTerminator(char c) { return c == '.' || c == '?' || c == '!'; }
bool isCloser(char c) { return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}'; }
bool isAsciiLetter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// Words (without the dot) that a '.' follows without ending a sentence, compared ignoring case.
constexpr std::array<std::string_view, 30> kAbbreviations = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "no", "vol", "fig",
    "approx", "dept", "est", "inc", "ltd", "co", "corp", "gen", "gov", "sen", "rep", "rev", "capt", "col", "lt"};

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

/// Whether the '.' at text[dot] (a lone '.') belongs to the word before it rather than ending
/// the sentence. next: index of the first non-space character after the boundary.
bool dotIsPartOfWord(std::string_view text, std::size_t dot, std::size_t next) {
    std::size_t start = dot;
    while (start > 0 && !isSpace(text[start - 1]) && text[start - 1] != '(' && text[start - 1] != '"') --start;
    const std::string_view word = text.substr(start, dot - start);
    if (word.empty()) return false;
    if (word.size() == 1 && isAsciiLetter(word[0]) && std::isupper(static_cast<unsigned char>(word[0])))
        return true;  // an initial
    // Dotted abbreviations: letters separated by dots ("U.S", "e.g", "a.m", "Ph.D").
    if (word.find('.') != std::string_view::npos &&
        std::all_of(word.begin(), word.end(), [](char c) { return c == '.' || isAsciiLetter(c); }))
        return true;
    for (auto abbreviation : kAbbreviations) {
        if (!equalsIgnoringCase(word, abbreviation)) continue;
        // "etc." and "no." end sentences often enough: only keep going before a lower-case word.
        if (abbreviation == "etc" || abbreviation == "no" || abbreviation == "co" || abbreviation == "inc")
            break;
        return true;
    }
    // A lower-case word after the dot means the sentence goes on ("approx. five", "vs. them").
    return next < text.size() && std::islower(static_cast<unsigned char>(text[next]));
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
    while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
    return s;
}

} // namespace

std::vector<std::string> splitSentences(std::string_view text) {
    std::vector<std::string> sentences;
    std::size_t begin = 0;
    auto emit = [&](std::size_t end) {
        const auto s = trim(text.substr(begin, end - begin));
        if (!s.empty()) sentences.emplace_back(s);
        begin = end;
    };
    for (std::size_t i = 0; i < text.size();) {
        if (!isTerminator(text[i])) {
            ++i;
            continue;
        }
        const std::size_t runStart = i;
        while (i < text.size() && isTerminator(text[i])) ++i;
        const std::size_t runEnd = i;
        while (i < text.size() && isCloser(text[i])) ++i;
        if (i < text.size() && !isSpace(text[i])) continue;  // "3.14", "example.com", "?!x"
        std::size_t next = i;
        while (next < text.size() && isSpace(text[next])) ++next;
        if (runEnd - runStart == 1 && text[runStart] == '.' && dotIsPartOfWord(text, runStart, next)) continue;
        emit(i);
    }
    emit(text.size());
    return sentences;
}

} // namespace larimar
