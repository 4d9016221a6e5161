#pragma once
/// Small chart renderer for the engine: line, point and bar charts written as SVG or PNG with no
/// GUI library (PNG through Cairo), so the CLI (`larimar train`, `larimar eval`) can save loss
/// curves and the Larimar paper's figures. Layout, ticks and legend placement are ours and the
/// same for both formats. Pure functions of the Chart; safe to call from any thread.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace larimar {

/// One data series. Points whose x or y is NaN or infinite are skipped and break a line there.
/// If x is empty, the points are placed at x = 0, 1, 2, ... (e.g. loss per step).
struct Series {
    enum class Style { Line, Points, LineAndPoints, Bars };
    std::string label; ///< legend text; an empty label keeps the series out of the legend
    std::vector<double> x, y;
    Style style = Style::Line;
};

struct Chart {
    std::string title, xLabel, yLabel;
    std::vector<Series> series;
    bool logX = false, logY = false; ///< log axes need every finite value (and any range) > 0
    /// Fixed axis ranges (lo < hi); unset ranges cover the data, widened to the outer nice ticks.
    std::optional<std::pair<double, double>> yRange, xRange;
    /// Dashed reference lines across the plot, labelled at the right (a paper's number, a threshold).
    std::vector<std::pair<double, std::string>> horizontalLines;
    int width = 800, height = 500; ///< pixels (PNG) or user units (SVG); 160x120 .. 8000x8000
};

/// Ticks chosen for one axis.
struct AxisTicks {
    double lo = 0, hi = 1;           ///< axis range: the data range widened to the outer ticks, or as given
    std::vector<double> major;       ///< labelled positions, ascending
    std::vector<std::string> labels; ///< one per major tick, with the same number of decimals
    std::vector<double> minor;       ///< unlabelled marks (log axes: 2..9 x 10^k)
};

/// Picks major ticks at 1, 2 or 5 x 10^k (log axes: powers of ten, every one or every few, plus
/// 2 and 5 x 10^k when the axis spans less than about two decades), at most maxTicks of them,
/// preferring the smallest step that fits. With expand the range grows to the outer ticks (auto
/// ranges); without, ticks stay inside [lo, hi] (fixed ranges). A zero-width range is widened.
/// Throws UserError for a non-finite range, or lo <= 0 on a log axis.
AxisTicks niceTicks(double lo, double hi, bool log, int maxTicks, bool expand = true);

/// The colour of series number index (a colour-blind-safe palette, Okabe and Ito), as R, G, B.
/// It cycles after 8 series.
std::array<std::uint8_t, 3> seriesColor(std::size_t index);

/// The chart as a standalone SVG document. Throws UserError for an invalid chart (x and y of
/// different lengths, a non-positive value on a log axis, a bad range or size).
std::string renderSvg(const Chart& chart);

/// The chart as a PNG file (8-bit RGB), drawn by Cairo: anti-aliased lines and text in DejaVu Sans
/// (fontconfig's sans font where it is missing). Throws like renderSvg, and Error if Cairo fails.
/// Cost: O(width*height) plus the data's length in pixels.
std::vector<std::uint8_t> renderPng(const Chart& chart);

/// Writes the chart as SVG or PNG, chosen by the extension of path (.svg or .png, any case).
/// Throws UserError for another extension or an invalid chart, Error if the file cannot be
/// written. Writes a temporary file beside path and renames it, so readers never see half a file.
void writeChart(const std::string& path, const Chart& chart);

} // namespace larimar
