#pragma once
/// Splitting a multi-sentence query for the scope detector, which scores each sentence and
/// keeps the best. No libtorch here.
#include <string>
#include <string_view>
#include <vector>

namespace larimar {

/// The sentences of text, trimmed, empty ones dropped. A sentence ends at a run of '.', '?' or
/// '!' (with any closing quotes or brackets after it) that is followed by whitespace or the end.
/// A single '.' does not end a sentence after a known abbreviation ("Dr.", "Mr.", "e.g.",
/// "etc." before a lower-case word), after an initial ("J. K. Rowling"), after dotted
/// abbreviations ("U.S.", "a.m."), or when the next word starts with a lower-case letter.
/// Decimals ("3.14") never split, since no space follows their dot. O(size).
std::vector<std::string> splitSentences(std::string_view text);

} // namespace larimar
