#pragma once
/// Unicode NFKC normalisation (compatibility decomposition, canonical reordering, canonical
/// composition), as JavaScript's String.prototype.normalize("NFKC") does it; the sentence
/// encoder's tokenizer applies it first. Tables: Unicode 14 (see nfkc_tables.cpp).
#include <string>
#include <string_view>

namespace larimar {

/// The NFKC form of UTF-8 text. Text below U+00A0 throughout is returned as it is (the common,
/// fast case); otherwise O(size) with a binary search per code point. Throws UserError for
/// invalid UTF-8 (naming the byte offset). Thread-safe: no state.
std::string nfkc(std::string_view utf8);

/// UTF-8 to code points and back (for text already known to be valid UTF-8).
std::u32string utf8ToCodePoints(std::string_view utf8);
std::string codePointsToUtf8(std::u32string_view cps);

} // namespace larimar
