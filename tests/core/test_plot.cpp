#include "core/util/error.h"
#include "core/util/plot.h"

#include <gtest/gtest.h>
#include <cairo.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <unistd.h>

using namespace larimar;
namespace fs = std::filesystem;

namespace {

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

using Rgb = std::array<std::uint8_t, 3>;
const Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0};

struct Image {
    int width = 0, height = 0;
    std::vector<std::uint8_t> rgb;
    Rgb at(int x, int y) const {
        const auto* p = &rgb[(std::size_t(y) * width + x) * 3];
        return {p[0], p[1], p[2]};
    }
    /// Pixels of colour c inside [x0, x1) x [y0, y1).
    int count(Rgb c, int x0, int y0, int x1, int y1) const {
        int n = 0;
        for (int y = std::max(0, y0); y < std::min(height, y1); ++y)
            for (int x = std::max(0, x0); x < std::min(width, x1); ++x)
                n += at(x, y) == c;
        return n;
    }
};

/// Decodes a PNG with Cairo (libpng underneath), independent of how it was written; checks the
/// signature and that the header says 8-bit RGB.
Image decodePng(const std::vector<std::uint8_t>& png) {
    static const std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    Image img;
    EXPECT_GE(png.size(), 33u);
    if (png.size() < 33) return img;
    EXPECT_TRUE(std::equal(signature, signature + 8, png.begin()));
    EXPECT_EQ(std::string(png.begin() + 12, png.begin() + 16), "IHDR");
    EXPECT_EQ(png[24], 8); // bit depth
    EXPECT_EQ(png[25], 2); // colour type RGB
    struct Reader {
        const std::vector<std::uint8_t>* bytes;
        std::size_t pos = 0;
    } reader{&png};
    cairo_surface_t* surface = cairo_image_surface_create_from_png_stream(
        [](void* closure, unsigned char* data, unsigned int length) {
            auto* r = static_cast<Reader*>(closure);
            if (r->pos + length > r->bytes->size()) return CAIRO_STATUS_READ_ERROR;
            std::memcpy(data, r->bytes->data() + r->pos, length);
            r->pos += length;
            return CAIRO_STATUS_SUCCESS;
        },
        &reader);
    EXPECT_EQ(cairo_surface_status(surface), CAIRO_STATUS_SUCCESS);
    if (cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS) {
        img.width = cairo_image_surface_get_width(surface);
        img.height = cairo_image_surface_get_height(surface);
        const int stride = cairo_image_surface_get_stride(surface);
        const unsigned char* data = cairo_image_surface_get_data(surface);
        for (int y = 0; y < img.height; ++y)
            for (int x = 0; x < img.width; ++x) {
                std::uint32_t px;
                std::memcpy(&px, data + std::size_t(y) * stride + std::size_t(x) * 4, 4);
                img.rgb.push_back(std::uint8_t(px >> 16));
                img.rgb.push_back(std::uint8_t(px >> 8));
                img.rgb.push_back(std::uint8_t(px));
            }
    }
    cairo_surface_destroy(surface);
    return img;
}

/// The plot frame: the box whose edges are the longest black horizontal and vertical runs.
struct Frame {
    int x0 = -1, y0 = -1, x1 = -1, y1 = -1;
};
Frame findFrame(const Image& img) {
    Frame f;
    std::vector<int> rowRun(img.height), colRun(img.width);
    for (int y = 0; y < img.height; ++y)
        for (int x = 0, run = 0; x < img.width; ++x) {
            run = img.at(x, y) == kBlack ? run + 1 : 0;
            rowRun[y] = std::max(rowRun[y], run);
        }
    for (int x = 0; x < img.width; ++x)
        for (int y = 0, run = 0; y < img.height; ++y) {
            run = img.at(x, y) == kBlack ? run + 1 : 0;
            colRun[x] = std::max(colRun[x], run);
        }
    const int longRow = *std::max_element(rowRun.begin(), rowRun.end()) * 9 / 10;
    const int longCol = *std::max_element(colRun.begin(), colRun.end()) * 9 / 10;
    for (int y = 0; y < img.height; ++y)
        if (rowRun[y] >= longRow) (f.y0 < 0 ? f.y0 : f.y1) = y, f.y1 = y;
    for (int x = 0; x < img.width; ++x)
        if (colRun[x] >= longCol) (f.x0 < 0 ? f.x0 : f.x1) = x, f.x1 = x;
    return f;
}

/// Pixels that are neither white nor pure black nor grey-free colour: the grey levels of
/// anti-aliased dark text (r == g == b strictly between black and white).
int greyLevels(const Image& img, int x0, int y0, int x1, int y1) {
    std::set<int> levels;
    for (int y = std::max(0, y0); y < std::min(img.height, y1); ++y)
        for (int x = std::max(0, x0); x < std::min(img.width, x1); ++x) {
            const Rgb p = img.at(x, y);
            if (p[0] == p[1] && p[1] == p[2] && p[0] > 0 && p[0] < 255) levels.insert(p[0]);
        }
    return int(levels.size());
}

/// Dark pixels (max channel < 128) inside a box.
int dark(const Image& img, int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = std::max(0, y0); y < std::min(img.height, y1); ++y)
        for (int x = std::max(0, x0); x < std::min(img.width, x1); ++x) {
            const Rgb p = img.at(x, y);
            n += std::max({p[0], p[1], p[2]}) < 128;
        }
    return n;
}

Chart diagonalChart() {
    Chart c;
    c.xLabel = "x";
    c.yLabel = "y";
    c.xRange = {{0, 10}};
    c.yRange = {{0, 10}};
    c.series.push_back({"diagonal", {0, 10}, {0, 10}});
    return c;
}

/// Checks that tags open and close in order, and that every '&' starts an entity.
::testing::AssertionResult wellFormedish(const std::string& xml) {
    std::vector<std::string> stack;
    for (std::size_t i = 0; i < xml.size(); ++i) {
        if (xml[i] == '&') {
            bool entity = false;
            for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
                entity = entity || xml.compare(i, std::strlen(e), e) == 0;
            if (!entity) return ::testing::AssertionFailure() << "bare & at " << i;
            continue;
        }
        if (xml[i] != '<') continue;
        const std::size_t end = xml.find('>', i);
        if (end == std::string::npos) return ::testing::AssertionFailure() << "unclosed < at " << i;
        const std::string tag = xml.substr(i + 1, end - i - 1);
        if (tag.find('<') != std::string::npos) return ::testing::AssertionFailure() << "'<' inside a tag at " << i;
        i = end;
        if (tag[0] == '?') continue;
        if (tag[0] == '/') {
            if (stack.empty() || stack.back() != tag.substr(1))
                return ::testing::AssertionFailure() << "unbalanced </" << tag.substr(1) << ">";
            stack.pop_back();
        } else if (tag.back() != '/') {
            stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
        }
    }
    if (!stack.empty()) return ::testing::AssertionFailure() << "<" << stack.back() << "> never closed";
    return ::testing::AssertionSuccess();
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
        ++n;
    return n;
}

class TempDir {
public:
    TempDir() {
        m_path = fs::temp_directory_path() / ("larimar-plot-test-" + std::to_string(::getpid()));
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~TempDir() { fs::remove_all(m_path); }
    const fs::path& path() const { return m_path; }
    std::vector<std::string> files() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(m_path))
            names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }

private:
    fs::path m_path;
};

} // namespace

// ---------------------------------------------------------------------------------------------
// Ticks

TEST(PlotTicks, ZeroToOne) {
    const AxisTicks t = niceTicks(0, 1, false, 6);
    EXPECT_EQ(t.major, (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));
    EXPECT_EQ(t.labels, (std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
    EXPECT_EQ(t.lo, 0);
    EXPECT_EQ(t.hi, 1);
}

TEST(PlotTicks, ZeroTo1234WidensToTheNextTick) {
    const AxisTicks t = niceTicks(0, 1234, false, 8);
    EXPECT_EQ(t.major, (std::vector<double>{0, 200, 400, 600, 800, 1000, 1200, 1400}));
    EXPECT_EQ(t.labels.back(), "1400");
    EXPECT_EQ(t.hi, 1400);
    // Fewer ticks allowed: a coarser 1/2/5 step.
    EXPECT_EQ(niceTicks(0, 1234, false, 5).major, (std::vector<double>{0, 500, 1000, 1500}));
}

TEST(PlotTicks, NegativeToPositive) {
    const AxisTicks t = niceTicks(-3, 7, false, 8);
    EXPECT_EQ(t.major, (std::vector<double>{-4, -2, 0, 2, 4, 6, 8}));
    EXPECT_EQ(t.labels.front(), "-4");
    EXPECT_EQ(t.labels[2], "0");
}

TEST(PlotTicks, LogDecades) {
    const AxisTicks t = niceTicks(1e-4, 1e2, true, 8);
    ASSERT_EQ(t.major.size(), 7u);
    for (int i = 0; i < 7; ++i)
        EXPECT_NEAR(std::log10(t.major[std::size_t(i)]), i - 4, 1e-12);
    EXPECT_EQ(t.labels, (std::vector<std::string>{"1e-4", "0.001", "0.01", "0.1", "1", "10", "100"}));
    EXPECT_EQ(niceTicks(1, 1e8, true, 9).labels.back(), "1e8");
    EXPECT_EQ(t.minor.size(), 6u * 8u); // 2..9 in each decade
    // Too many decades for the room: every second power of ten.
    const AxisTicks sparse = niceTicks(1e-4, 1e2, true, 4);
    EXPECT_LE(sparse.major.size(), 4u);
    EXPECT_GE(sparse.major.size(), 2u);
    // Within a few decades: plain numbers, and 2 and 5 in between.
    const AxisTicks narrow = niceTicks(1, 100, true, 8);
    EXPECT_EQ(narrow.labels, (std::vector<std::string>{"1", "2", "5", "10", "20", "50", "100"}));
    // Data inside one decade widens to it.
    const AxisTicks oneDecade = niceTicks(2, 8, true, 8);
    EXPECT_EQ(oneDecade.lo, 1);
    EXPECT_EQ(oneDecade.hi, 10);
}

TEST(PlotTicks, FixedRangeKeepsTicksInside) {
    const AxisTicks t = niceTicks(0.31, 0.39, false, 6, false);
    EXPECT_EQ(t.lo, 0.31);
    EXPECT_EQ(t.hi, 0.39);
    ASSERT_GE(t.major.size(), 2u);
    for (double v : t.major) {
        EXPECT_GE(v, 0.31);
        EXPECT_LE(v, 0.39);
    }
    EXPECT_EQ(t.labels.front(), "0.32");
}

TEST(PlotTicks, DegenerateAndLargeRanges) {
    const AxisTicks single = niceTicks(5, 5, false, 6);
    EXPECT_LT(single.lo, 5);
    EXPECT_GT(single.hi, 5);
    const AxisTicks zero = niceTicks(0, 0, false, 6);
    EXPECT_LT(zero.lo, 0);
    EXPECT_GT(zero.hi, 0);
    const AxisTicks big = niceTicks(0, 5e6, false, 6);
    EXPECT_EQ(big.labels, (std::vector<std::string>{"0", "1e6", "2e6", "3e6", "4e6", "5e6"}));
    const AxisTicks tiny = niceTicks(0, 3e-6, false, 4);
    EXPECT_EQ(tiny.labels.back(), "3e-6");
    EXPECT_THROW(niceTicks(0, 1, true, 6), UserError);
    EXPECT_THROW(niceTicks(0, std::numeric_limits<double>::infinity(), false, 6), UserError);
}

// ---------------------------------------------------------------------------------------------
// PNG

TEST(PlotPng, HeaderMatchesSize) {
    Chart c = diagonalChart();
    c.width = 640;
    c.height = 360;
    const auto png = renderPng(c);
    const Image img = decodePng(png);
    EXPECT_EQ(img.width, 640);
    EXPECT_EQ(img.height, 360);
    EXPECT_EQ(be32(&png[16]), 640u);
    EXPECT_EQ(be32(&png[20]), 360u);
    EXPECT_LT(png.size(), 60000u) << "compressed, not stored";
    EXPECT_EQ(img.at(0, 0), kWhite);
    EXPECT_EQ(img.at(img.width - 1, img.height - 1), kWhite);
}

TEST(PlotPng, TheSeriesRunsCornerToCornerOfTheFrame) {
    const Image img = decodePng(renderPng(diagonalChart()));
    const Frame f = findFrame(img);
    // The frame: a box of black 1-pixel rules holding most of the image.
    EXPECT_GT(f.x1 - f.x0, img.width * 7 / 10);
    EXPECT_GT(f.y1 - f.y0, img.height * 6 / 10);
    EXPECT_LT(f.x0, img.width / 6);
    EXPECT_LT(f.y0, img.height / 6);

    // Every pixel in the first palette colour, but the legend's horizontal sample, lies within
    // 2 pixels of the line from the frame's bottom-left to its top-right corner (x and y both
    // range over 0 .. 10), and they span it.
    const Rgb blue = seriesColor(0);
    int onLine = 0, off = 0, minX = img.width, maxX = 0;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x) {
            if (img.at(x, y) != blue) continue;
            if (img.count(blue, x - 24, y, x + 25, y + 1) >= 15) continue; // a horizontal stroke
            const double t = double(x - f.x0) / (f.x1 - f.x0);
            const double expectedY = f.y1 - t * (f.y1 - f.y0);
            if (std::fabs(y - expectedY) <= 2.0) {
                ++onLine;
                minX = std::min(minX, x), maxX = std::max(maxX, x);
            } else {
                ++off;
            }
        }
    EXPECT_GT(onLine, 300);
    EXPECT_EQ(off, 0);
    EXPECT_LT(minX - f.x0, 5);
    EXPECT_LT(f.x1 - maxX, 5);
}

TEST(PlotPng, EachSeriesInItsColourAtItsValue) {
    Chart c;
    c.yRange = {{0, 10}};
    c.series.push_back({"low", {0, 10}, {2, 2}});
    c.series.push_back({"high", {0, 10}, {8, 8}});
    const Image img = decodePng(renderPng(c));
    const Frame f = findFrame(img);
    const int h = f.y1 - f.y0, midX0 = f.x0 + (f.x1 - f.x0) / 4, midX1 = f.x1 - (f.x1 - f.x0) / 4;
    const auto rowsOf = [&](Rgb colour) {
        std::vector<int> rows;
        for (int y = f.y0; y <= f.y1; ++y)
            if (img.count(colour, midX0, y, midX1, y + 1) > (midX1 - midX0) * 9 / 10) rows.push_back(y);
        return rows;
    };
    const std::vector<int> blue = rowsOf(seriesColor(0)), orange = rowsOf(seriesColor(1));
    ASSERT_FALSE(blue.empty());
    ASSERT_FALSE(orange.empty());
    EXPECT_NEAR(blue.front(), f.y1 - 0.2 * h, 2.0);
    EXPECT_NEAR(orange.front(), f.y1 - 0.8 * h, 2.0);
    EXPECT_LE(blue.back() - blue.front(), 1) << "a 2-pixel line";
    EXPECT_NE(seriesColor(0), seriesColor(1));
}

TEST(PlotPng, TickLabelsStandUnderTheirTicks) {
    const Image img = decodePng(renderPng(diagonalChart())); // x: 0, 1, ..., 10
    const Frame f = findFrame(img);
    const double step = (f.x1 - f.x0) / 10.0;
    for (int i = 0; i <= 10; ++i) {
        const int x = int(std::lround(f.x0 + i * step));
        EXPECT_GT(dark(img, x - 10, f.y1 + 8, x + 11, f.y1 + 26), 8) << "label " << i;
        if (i < 10) {
            const int between = int(std::lround(f.x0 + (i + 0.5) * step));
            EXPECT_EQ(dark(img, between - 3, f.y1 + 8, between + 4, f.y1 + 26), 0) << "between " << i;
        }
    }
}

TEST(PlotPng, TitleIsAntiAliasedTextAndTheYLabelStandsUpright) {
    Chart c = diagonalChart();
    c.yLabel = "a long label for the y axis";
    const Image plain = decodePng(renderPng(c));
    const Frame pf = findFrame(plain);
    EXPECT_EQ(dark(plain, plain.width / 4, 0, plain.width * 3 / 4, pf.y0 - 1), 0);
    c.title = "Training loss";
    const Image titled = decodePng(renderPng(c));
    const Frame tf = findFrame(titled);
    EXPECT_GT(tf.y0, pf.y0 + 10) << "the title takes room above the plot";
    EXPECT_GT(dark(titled, titled.width / 4, 0, titled.width * 3 / 4, tf.y0 - 1), 150);
    // A real font: anti-aliased edges give many grey levels, a bitmap font none.
    EXPECT_GT(greyLevels(titled, titled.width / 4, 0, titled.width * 3 / 4, tf.y0 - 1), 20);

    // The y label: left of the tick labels, its dark pixels much taller than wide.
    int top = titled.height, bottom = 0, left = titled.width, right = 0;
    for (int y = 0; y < titled.height; ++y)
        for (int x = 0; x < tf.x0 - 30; ++x)
            if (dark(titled, x, y, x + 1, y + 1)) {
                top = std::min(top, y), bottom = std::max(bottom, y);
                left = std::min(left, x), right = std::max(right, x);
            }
    ASSERT_LT(top, bottom);
    EXPECT_GT(bottom - top, 150);
    EXPECT_LT(right - left, 20);
}

TEST(PlotPng, BarHeightsFollowTheirValues) {
    Chart c;
    c.series.push_back({"acc", {1, 2, 4}, {0.5, 0.9, 0.7}, Series::Style::Bars});
    const Image img = decodePng(renderPng(c));
    const Frame f = findFrame(img); // y: 0 .. 1
    const Rgb blue = seriesColor(0);
    // Columns of blue pixels (the legend's square is short and stands apart).
    std::vector<int> heights;
    for (int x = f.x0; x <= f.x1;) {
        int run = 0;
        for (int y = f.y1 - 1; y > f.y0 && img.at(x, y) == blue; --y)
            ++run;
        if (run > 20) {
            heights.push_back(run);
            while (x <= f.x1 && img.at(x, f.y1 - 2) == blue)
                ++x;
        }
        ++x;
    }
    ASSERT_EQ(heights.size(), 3u);
    const double h = f.y1 - f.y0;
    EXPECT_NEAR(heights[0], 0.5 * h, 2.0);
    EXPECT_NEAR(heights[1], 0.9 * h, 2.0);
    EXPECT_NEAR(heights[2], 0.7 * h, 2.0);
}

TEST(PlotPng, AwkwardDataRenders) {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    Chart c;
    c.title = "edge cases: \xc3\xa9t\xc3\xa9 <>& \xff\x01";
    c.series.push_back({"empty", {}, {}});
    c.series.push_back({"nan", {1, 2, 3, 4}, {nan, 1, inf, 2}, Series::Style::LineAndPoints});
    c.series.push_back({"one", {2}, {3}, Series::Style::Line});
    c.series.push_back({"far", {0, 1e300}, {0, -1e300}, Series::Style::Line});
    c.xRange = {{0, 5}};
    c.horizontalLines.push_back({2.5, "paper: 2.5"});
    c.horizontalLines.push_back({nan, "ignored"});
    EXPECT_EQ(decodePng(renderPng(c)).width, 800);
    EXPECT_NO_THROW(renderSvg(c));

    Chart empty;
    const Image img = decodePng(renderPng(empty));
    EXPECT_EQ(img.width, 800);
    EXPECT_EQ(img.height, 500);
    Chart onlyNan;
    onlyNan.logY = true;
    onlyNan.series.push_back({"x", {}, {nan, nan}});
    EXPECT_NO_THROW(renderPng(onlyNan));
    // A lone point on a line series still shows.
    Chart single;
    single.series.push_back({"", {3}, {7}});
    const Image one = decodePng(renderPng(single));
    EXPECT_GT(one.count(seriesColor(0), 0, 0, one.width, one.height), 5);
}

// ---------------------------------------------------------------------------------------------
// SVG

TEST(PlotSvg, WellFormedWithEscapedTextLabelsAndLegend) {
    Chart c;
    c.title = "accuracy <batch> & \"edits\"";
    c.xLabel = "batch size";
    c.yLabel = "edit success (%)";
    c.logX = true;
    c.series.push_back({"Larimar", {1, 10, 100, 1000}, {100, 99, 98, 97}, Series::Style::LineAndPoints});
    c.series.push_back({"ROME & MEMIT", {1, 10, 100, 1000}, {99, 90, 60, 40}, Series::Style::Points});
    c.horizontalLines.push_back({50, "chance <50%>"});
    const std::string svg = renderSvg(c);
    EXPECT_TRUE(wellFormedish(svg));
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
    EXPECT_NE(svg.find("accuracy &lt;batch&gt; &amp; &quot;edits&quot;"), std::string::npos);
    EXPECT_EQ(svg.find("<batch>"), std::string::npos);
    EXPECT_NE(svg.find(">batch size</text>"), std::string::npos);
    EXPECT_NE(svg.find(">edit success (%)</text>"), std::string::npos);
    EXPECT_NE(svg.find(">Larimar</text>"), std::string::npos);
    EXPECT_NE(svg.find(">ROME &amp; MEMIT</text>"), std::string::npos);
    EXPECT_NE(svg.find(">chance &lt;50%&gt;</text>"), std::string::npos);
    EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
    EXPECT_NE(svg.find(">1000</text>"), std::string::npos); // a log tick label
    EXPECT_NE(svg.find("#0072b2"), std::string::npos);
    EXPECT_NE(svg.find("#d55e00"), std::string::npos);
}

TEST(PlotSvg, NanBreaksTheLine) {
    Chart c;
    c.series.push_back({"loss", {}, {3, 2, std::nan(""), 1.5, 1.2}});
    const std::string svg = renderSvg(c);
    EXPECT_TRUE(wellFormedish(svg));
    // Two pieces of the series plus the legend sample.
    EXPECT_EQ(count(svg, "<polyline"), 3u);
}

TEST(PlotSvg, ControlCharactersAndBadUtf8DoNotBreakXml) {
    Chart c;
    c.title = std::string("bad\x01 \xff bytes");
    c.series.push_back({"a\x02", {1}, {1}});
    const std::string svg = renderSvg(c);
    EXPECT_TRUE(wellFormedish(svg));
    EXPECT_EQ(svg.find('\x01'), std::string::npos);
    EXPECT_EQ(svg.find('\xff'), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Errors and files

TEST(PlotErrors, LogAxisRejectsNonPositiveValues) {
    Chart c;
    c.title = "retention";
    c.logY = true;
    c.series.push_back({"memory", {1, 2, 3}, {1, 0, 2}});
    try {
        renderPng(c);
        FAIL() << "expected UserError";
    } catch (const UserError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("'retention'"), std::string::npos) << what;
        EXPECT_NE(what.find("'memory'"), std::string::npos) << what;
        EXPECT_NE(what.find("y = 0 at point 2"), std::string::npos) << what;
        EXPECT_NE(what.find("logarithmic"), std::string::npos) << what;
    }
    Chart x;
    x.logX = true;
    x.series.push_back({"", {}, {1, 2}}); // x defaults to 0, 1, ...
    EXPECT_THROW(renderSvg(x), UserError);
    Chart range;
    range.logY = true;
    range.yRange = {{0, 1}};
    EXPECT_THROW(renderSvg(range), UserError);
    Chart line;
    line.logY = true;
    line.horizontalLines.push_back({-1, "below zero"});
    EXPECT_THROW(renderSvg(line), UserError);
}

TEST(PlotErrors, InvalidCharts) {
    Chart mismatch;
    mismatch.series.push_back({"s", {1, 2}, {1, 2, 3}});
    EXPECT_THROW(renderSvg(mismatch), UserError);
    Chart reversed;
    reversed.xRange = {{2, 1}};
    EXPECT_THROW(renderPng(reversed), UserError);
    Chart tiny;
    tiny.width = 10;
    EXPECT_THROW(renderPng(tiny), UserError);
    Chart huge;
    huge.width = 100000;
    EXPECT_THROW(renderPng(huge), UserError);
}

TEST(PlotFiles, WriteChartByExtensionAtomically) {
    TempDir dir;
    const Chart c = diagonalChart();
    writeChart((dir.path() / "a.png").string(), c);
    writeChart((dir.path() / "b.SVG").string(), c);
    writeChart((dir.path() / "a.png").string(), c); // replaces
    EXPECT_EQ(dir.files(), (std::vector<std::string>{"a.png", "b.SVG"}));
    std::ifstream png(dir.path() / "a.png", std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(png)), std::istreambuf_iterator<char>());
    EXPECT_EQ(decodePng(bytes).width, 800);
    std::ifstream svg(dir.path() / "b.SVG");
    std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(wellFormedish(text));

    EXPECT_THROW(writeChart((dir.path() / "c.txt").string(), c), UserError);
    EXPECT_THROW(writeChart((dir.path() / "noext").string(), c), UserError);
    Chart bad;
    bad.logY = true;
    bad.series.push_back({"", {1}, {-1}});
    EXPECT_THROW(writeChart((dir.path() / "d.png").string(), bad), UserError);
    EXPECT_THROW(writeChart((dir.path() / "missing" / "e.png").string(), c), Error);
    EXPECT_EQ(dir.files(), (std::vector<std::string>{"a.png", "b.SVG"})) << "no temporary or partial files";
}
