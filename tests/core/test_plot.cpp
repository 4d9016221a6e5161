#include "core/util/error.h"
#include "core/util/plot.h"
#include "core/util/png.h"

#include <gtest/gtest.h>
#include <zlib.h>

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

struct Image {
    int width = 0, height = 0;
    std::vector<std::uint8_t> rgb;
    std::array<std::uint8_t, 3> at(int x, int y) const {
        const auto* p = &rgb[(std::size_t(y) * width + x) * 3];
        return {p[0], p[1], p[2]};
    }
};

/// A strict reader for what encodePng writes: checks every chunk's CRC and the zlib stream.
Image decodePng(const std::vector<std::uint8_t>& png) {
    static const std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    EXPECT_GE(png.size(), 8u);
    EXPECT_TRUE(std::equal(signature, signature + 8, png.begin()));
    Image img;
    std::vector<std::uint8_t> idat;
    std::vector<std::string> types;
    for (std::size_t pos = 8; pos < png.size();) {
        EXPECT_LE(pos + 12, png.size());
        const std::uint32_t len = be32(&png[pos]);
        const std::string type(png.begin() + long(pos) + 4, png.begin() + long(pos) + 8);
        types.push_back(type);
        const std::uint8_t* data = &png[pos + 8];
        const std::uint32_t crc = be32(&png[pos + 8 + len]);
        EXPECT_EQ(crc, std::uint32_t(crc32(0, &png[pos + 4], len + 4))) << type;
        if (type == "IHDR") {
            EXPECT_EQ(len, 13u);
            img.width = int(be32(data));
            img.height = int(be32(data + 4));
            EXPECT_EQ(data[8], 8);  // bit depth
            EXPECT_EQ(data[9], 2);  // RGB
            EXPECT_EQ(data[12], 0); // not interlaced
        } else if (type == "IDAT") {
            idat.insert(idat.end(), data, data + len);
        }
        pos += 12 + len;
    }
    EXPECT_EQ(types.front(), "IHDR");
    EXPECT_EQ(types.back(), "IEND");
    const std::size_t rowBytes = std::size_t(img.width) * 3 + 1;
    std::vector<std::uint8_t> raw(rowBytes * std::size_t(img.height));
    uLongf rawSize = raw.size();
    EXPECT_EQ(uncompress(raw.data(), &rawSize, idat.data(), uLong(idat.size())), Z_OK);
    EXPECT_EQ(rawSize, raw.size());
    for (int y = 0; y < img.height; ++y) {
        EXPECT_EQ(raw[rowBytes * std::size_t(y)], 0) << "filter type of row " << y;
        img.rgb.insert(img.rgb.end(), raw.begin() + long(rowBytes * std::size_t(y) + 1),
                       raw.begin() + long(rowBytes * std::size_t(y + 1)));
    }
    return img;
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

TEST(PlotPng, HeaderMatchesSizeAndCrcsAreValid) {
    Chart c = diagonalChart();
    c.width = 640;
    c.height = 360;
    const auto png = renderPng(c);
    const Image img = decodePng(png); // checks signature, CRCs, zlib stream
    EXPECT_EQ(img.width, 640);
    EXPECT_EQ(img.height, 360);
    EXPECT_EQ(be32(&png[16]), 640u);
    EXPECT_EQ(be32(&png[20]), 360u);
    EXPECT_LT(png.size(), 40000u) << "compressed, not stored";
}

TEST(PlotPng, BackgroundSeriesAndAxes) {
    const Image img = decodePng(renderPng(diagonalChart()));
    EXPECT_EQ(img.at(0, 0), (std::array<std::uint8_t, 3>{255, 255, 255}));
    EXPECT_EQ(img.at(img.width - 1, img.height - 1), (std::array<std::uint8_t, 3>{255, 255, 255}));

    // Pixels fully in the first palette colour lie on one straight rising line across the plot.
    const auto blue = seriesColor(0);
    std::vector<std::pair<double, double>> onLine;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x)
            if (img.at(x, y) == blue) onLine.push_back({x, y});
    ASSERT_GT(onLine.size(), 300u);
    // Leave out the legend sample, a horizontal stroke: pixels in long horizontal runs.
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int minX = img.width, maxX = 0;
    std::vector<std::pair<double, double>> line;
    for (auto p : onLine) {
        const int x = int(p.first), y = int(p.second);
        int run = 1;
        for (int d = 1; d < 8 && x + d < img.width && img.at(x + d, y) == blue; ++d)
            ++run;
        for (int d = 1; d < 8 && x - d >= 0 && img.at(x - d, y) == blue; ++d)
            ++run;
        if (run < 8) line.push_back(p);
    }
    for (auto [x, y] : line)
        sx += x, sy += y, sxx += x * x, sxy += x * y;
    const double n = double(line.size());
    const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const double icept = (sy - slope * sx) / n;
    EXPECT_LT(slope, -0.3) << "y grows upwards";
    std::size_t near = 0;
    for (auto [x, y] : line) {
        if (std::fabs(y - (slope * x + icept)) < 4) {
            ++near;
            minX = std::min(minX, int(x));
            maxX = std::max(maxX, int(x));
        }
    }
    EXPECT_GT(double(near), 0.9 * n);
    EXPECT_GT(maxX - minX, img.width / 2) << "the line spans the plot";

    // Axes: a long black vertical and horizontal run.
    const std::array<std::uint8_t, 3> black{0, 0, 0};
    int longestColumn = 0, longestRow = 0;
    for (int x = 0; x < img.width; ++x) {
        int run = 0;
        for (int y = 0; y < img.height; ++y) {
            run = img.at(x, y) == black ? run + 1 : 0;
            longestColumn = std::max(longestColumn, run);
        }
    }
    for (int y = 0; y < img.height; ++y) {
        int run = 0;
        for (int x = 0; x < img.width; ++x) {
            run = img.at(x, y) == black ? run + 1 : 0;
            longestRow = std::max(longestRow, run);
        }
    }
    EXPECT_GT(longestColumn, img.height * 6 / 10);
    EXPECT_GT(longestRow, img.width * 6 / 10);
}

TEST(PlotPng, TitleIsDrawn) {
    Chart c = diagonalChart();
    // Dark pixels above the frame (the first row with a long black run), away from the tick labels.
    auto darkInTopRows = [](const Image& img) {
        int dark = 0;
        for (int y = 0; y < img.height; ++y) {
            int row = 0, middle = 0;
            for (int x = 0; x < img.width; ++x) {
                const auto p = img.at(x, y);
                const bool isDark = std::max({p[0], p[1], p[2]}) < 80;
                row += isDark;
                middle += isDark && x > img.width / 4 && x < img.width * 3 / 4;
            }
            if (row > img.width / 2) break;
            dark += middle;
        }
        return dark;
    };
    EXPECT_EQ(darkInTopRows(decodePng(renderPng(c))), 0);
    c.title = "Loss";
    EXPECT_GT(darkInTopRows(decodePng(renderPng(c))), 40);
}

TEST(PlotPng, BarsFillTheirColour) {
    Chart c;
    c.series.push_back({"acc", {1, 2, 4}, {0.5, 0.9, 0.7}, Series::Style::Bars});
    const Image img = decodePng(renderPng(c));
    const auto blue = seriesColor(0);
    int filled = 0;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x)
            filled += img.at(x, y) == blue;
    EXPECT_GT(filled, 20000);
}

TEST(PlotPng, AwkwardDataRenders) {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    Chart c;
    c.title = "edge cases: \xc3\xa9t\xc3\xa9 <>&";
    c.series.push_back({"empty", {}, {}});
    c.series.push_back({"nan", {1, 2, 3, 4}, {nan, 1, inf, 2}, Series::Style::LineAndPoints});
    c.series.push_back({"one", {2}, {3}, Series::Style::Line});
    c.series.push_back({"far", {0, 1e300}, {0, -1e300}, Series::Style::Line});
    c.xRange = {{0, 5}};
    c.horizontalLines.push_back({2.5, "paper: 2.5"});
    c.horizontalLines.push_back({nan, "ignored"});
    EXPECT_NO_THROW(decodePng(renderPng(c)));
    EXPECT_NO_THROW(renderSvg(c));

    Chart empty;
    const Image img = decodePng(renderPng(empty));
    EXPECT_EQ(img.width, 800);
    Chart onlyNan;
    onlyNan.logY = true;
    onlyNan.series.push_back({"x", {}, {nan, nan}});
    EXPECT_NO_THROW(renderPng(onlyNan));
    // A lone point on a line series still shows.
    Chart single;
    single.series.push_back({"", {3}, {7}});
    const Image one = decodePng(renderPng(single));
    int blue = 0;
    for (int y = 0; y < one.height; ++y)
        for (int x = 0; x < one.width; ++x)
            blue += one.at(x, y) == seriesColor(0);
    EXPECT_GT(blue, 5);
}

TEST(PlotPng, EncoderRejectsBadSizes) {
    EXPECT_THROW(encodePng(0, 10, {}), Error);
    EXPECT_THROW(encodePng(2, 2, std::vector<std::uint8_t>(11)), Error);
    const Image img = decodePng(encodePng(2, 1, {1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(img.rgb, (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6}));
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
