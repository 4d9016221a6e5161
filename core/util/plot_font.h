#pragma once
/// A 5x9 bitmap font for printable ASCII (5x7 capitals, two rows of descenders), drawn by hand
/// for the chart renderer so PNG charts need no font files or libraries.
#include <cstdint>

namespace larimar::plot_font {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 9; ///< rows 0..6 stand on the baseline, rows 7..8 are descenders
constexpr int kAscent = 7;
constexpr int kAdvance = 6; ///< glyph width plus one column of spacing

/// Row bitmaps (bit 4 = leftmost column) of character c; '?' for anything outside 32..126.
const std::uint8_t* glyph(char c);

} // namespace larimar::plot_font
