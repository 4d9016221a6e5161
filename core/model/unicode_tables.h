#pragma once
/// Character classes for GPT-2's pre-tokenising pattern. The table in unicode_tables.cpp is
/// generated from JavaScript's /\p{L}/u, /\p{N}/u and /\s/u (the reference tokenizer runs in
/// JavaScript); regenerate it with tests/data/tokenizer/gen_unicode_tables.js.
#include <cstdint>

namespace larimar::unicode {

enum class CharClass : std::uint8_t {
    Other = 0,  ///< anything else, including unassigned code points
    Letter = 1, ///< \p{L}
    Number = 2, ///< \p{N}
    Space = 3,  ///< JavaScript's \s (Zs, tab, line terminators, U+FEFF)
};

/// Class of one Unicode scalar value. O(1) for ASCII, else a binary search over ~840 ranges.
CharClass classify(char32_t cp);

/// Unicode version the table was generated from, e.g. "17.0".
extern const char* const kUnicodeVersion;

} // namespace larimar::unicode
