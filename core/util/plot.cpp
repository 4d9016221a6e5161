#include "core/util/plot.h"
#include "core/util/file_io.h"

#include "core/util/error.h"
#include "core/util/utf8.h"

#include <cairo.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace larimar {
namespace {

// ---------------------------------------------------------------------------------------------
// Ticks

constexpr double kEps = 1e-9;

std::string numberText(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", v);
    return buffer;
}

/// m * 10^k, computed so that e.g. 0.2 comes out as the double nearest 0.2 (not 2 * 0.1).
double scaled(double m, int k) {
    return k >= 0 ? m * std::pow(10.0, k) : m / std::pow(10.0, -k);
}

int decimalExponent(double v) {
    return static_cast<int>(std::floor(std::log10(std::fabs(v)) + kEps));
}

std::string printf1(const char* format, int precision, double v) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, precision, v);
    std::string s = buffer;
    if (s == "-0" || s.rfind("-0.", 0) == 0) {
        // A value that rounds to zero prints as "-0.0"; a tick label never should.
        if (s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
    }
    return s;
}

/// "2.5e-5", "1e6": mantissa with as many decimals as the step needs, exponent without '+' or zeros.
std::string scientific(double v, double step) {
    if (v == 0) return "0";
    const int e = decimalExponent(v);
    const int decimals = std::clamp(e - decimalExponent(step), 0, 6);
    std::string mantissa = printf1("%.*f", decimals, v / scaled(1, e));
    if (mantissa.find('.') != std::string::npos) {
        while (mantissa.back() == '0')
            mantissa.pop_back();
        if (mantissa.back() == '.') mantissa.pop_back();
    }
    if (mantissa == "10" || mantissa == "-10") { // rounding carried into the next decade
        mantissa.pop_back();
        return mantissa + "e" + std::to_string(e + 1);
    }
    return mantissa + "e" + std::to_string(e);
}

std::vector<std::string> linearLabels(const std::vector<double>& ticks, double step) {
    double maxAbs = 0;
    for (double t : ticks)
        maxAbs = std::max(maxAbs, std::fabs(t));
    const int decimals = std::max(0, -decimalExponent(step));
    const bool sci = maxAbs >= 1e6 || decimals > 4;
    std::vector<std::string> labels;
    for (double t : ticks)
        labels.push_back(sci ? scientific(t, step) : printf1("%.*f", decimals, t));
    return labels;
}

AxisTicks linearTicks(double lo, double hi, int maxTicks, bool expand) {
    AxisTicks ticks;
    const double span = hi - lo;
    if (!std::isfinite(span))
        throw UserError("axis range " + numberText(lo) + " .. " + numberText(hi) + " is too wide");
    int k = static_cast<int>(std::floor(std::log10(span / maxTicks))) - 1;
    for (;; ++k) {
        for (double m : {1.0, 2.0, 5.0}) {
            const double step = scaled(m, k);
            const double a = expand ? std::floor(lo / step + kEps) : std::ceil(lo / step - kEps);
            const double b = expand ? std::ceil(hi / step - kEps) : std::floor(hi / step + kEps);
            if (b - a + 1 > maxTicks) continue;
            for (double i = a; i <= b; ++i) {
                // i * m / 10^-k keeps 0.1, 0.3 ... exact to the last bit of their decimal form.
                double v = scaled(i * m, k);
                if (std::fabs(v) < step * kEps) v = 0;
                ticks.major.push_back(v);
            }
            ticks.lo = expand ? scaled(a * m, k) : lo;
            ticks.hi = expand ? scaled(b * m, k) : hi;
            ticks.labels = linearLabels(ticks.major, step);
            return ticks;
        }
    }
}

AxisTicks logTicks(double lo, double hi, int maxTicks, bool expand) {
    const double llo = std::log10(lo), lhi = std::log10(hi);
    const int a = static_cast<int>(expand ? std::floor(llo + kEps) : std::ceil(llo - kEps));
    const int b = static_cast<int>(expand ? std::ceil(lhi - kEps) : std::floor(lhi + kEps));
    AxisTicks ticks;
    ticks.lo = expand ? scaled(1, a) : lo;
    ticks.hi = expand ? scaled(1, b) : hi;
    const auto inside = [&](double v) { return v >= ticks.lo * (1 - kEps) && v <= ticks.hi * (1 + kEps); };

    int stride = 1;
    for (int s : {1, 2, 3, 5, 10, 20, 50, 100}) {
        stride = s;
        if (b - a < 0 || (b - a) / s + 1 <= maxTicks) break;
    }
    std::vector<double> mantissas = {1};
    if (b - a <= 2) {
        // Two decades or less: powers of ten alone leave the axis nearly unlabelled.
        std::vector<double> candidate;
        for (int e = a - 1; e <= b; ++e)
            for (double m : {1.0, 2.0, 5.0})
                if (inside(scaled(m, e))) candidate.push_back(m);
        if (static_cast<int>(candidate.size()) <= maxTicks) mantissas = {1, 2, 5};
    }
    for (int e = a - 1; e <= b; ++e) {
        for (double m : mantissas) {
            const double v = scaled(m, e);
            if (!inside(v) || (m == 1 && ((e % stride) + stride) % stride != 0)) continue;
            ticks.major.push_back(v);
        }
    }
    if (ticks.major.size() < 2) {
        // Less than a decade without round numbers inside (e.g. 3..8): plain linear ticks.
        AxisTicks linear = linearTicks(lo, hi, maxTicks, false);
        linear.lo = lo;
        linear.hi = hi;
        return linear;
    }
    // Plain numbers where they are short (0.001 .. 10000), "1e-4" beyond; never "1e0".
    for (double v : ticks.major) {
        const int e = decimalExponent(v);
        const bool sci = e < -3 || e > 4;
        ticks.labels.push_back(sci ? scientific(v, scaled(1, e)) : printf1("%.*f", std::max(0, -e), v));
    }
    if (stride == 1 && b - a <= 8) {
        for (int e = a - 1; e <= b; ++e)
            for (int m = 2; m <= 9; ++m) {
                const double v = scaled(m, e);
                if (inside(v) && std::find(mantissas.begin(), mantissas.end(), double(m)) == mantissas.end())
                    ticks.minor.push_back(v);
            }
    }
    return ticks;
}

// ---------------------------------------------------------------------------------------------
// Drawing primitives shared by the SVG and PNG back ends

struct Rgb {
    std::uint8_t r, g, b;
};
struct Pt {
    double x, y;
};
struct Box {
    double x0, y0, x1, y1;
    bool contains(Pt p, double margin = 0) const {
        return p.x >= x0 - margin && p.x <= x1 + margin && p.y >= y0 - margin && p.y <= y1 + margin;
    }
    bool intersects(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

// Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies. Yellow comes
// last because it is faint on white.
constexpr Rgb kPalette[] = {{0, 114, 178}, {213, 94, 0},   {0, 158, 115}, {204, 121, 167},
                            {230, 159, 0}, {86, 180, 233}, {0, 0, 0},     {240, 228, 66}};
constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kInk{0, 0, 0};
constexpr Rgb kText{34, 34, 34};
constexpr Rgb kGrid{225, 225, 225};
constexpr Rgb kReference{80, 80, 80};
constexpr Rgb kLegendBorder{190, 190, 190};
constexpr Rgb kMuted{150, 150, 150};

enum class Font { Tick, Label, Title };
enum class Anchor { Start, Middle, End };

struct Metrics {
    double advance, ascent, descent;
    double height() const { return ascent + descent; }
};

/// Font sizes of both back ends, in pixels (PNG) or user units (SVG).
double fontPixels(Font f, double unit) {
    return unit * (f == Font::Title ? 16 : f == Font::Label ? 13 : 12);
}

std::size_t codePoints(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80;
    return n;
}

/// Text as it can be shown: control characters, and every non-ASCII byte of invalid UTF-8,
/// become '?' (both back ends need valid UTF-8 without control characters).
std::string printable(const std::string& s) {
    const bool validUtf8 = !findUtf8Problem(s);
    std::string out;
    for (unsigned char c : s) {
        if (c == '\t')
            out.push_back(' ');
        else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !validUtf8))
            out.push_back('?');
        else
            out.push_back(static_cast<char>(c));
    }
    return out;
}

/// Back end interface: the layout code draws through it, so SVG and PNG show the same chart.
class Painter {
public:
    virtual ~Painter() = default;
    /// advance: the width of a digit, the unit the layout keeps labels apart by.
    virtual Metrics metrics(Font f) const = 0;
    virtual double textWidth(const std::string& s, Font f) const = 0;
    virtual void fillRect(const Box& b, Rgb c, double opacity = 1.0) = 0;
    virtual void line(Pt a, Pt b, Rgb c, double width, bool dashed = false) = 0;
    virtual void polyline(const std::vector<Pt>& pts, Rgb c, double width) = 0;
    virtual void dot(Pt p, double radius, Rgb c) = 0;
    /// p is the start, middle or end of the baseline; vertical text reads bottom to top.
    virtual void text(Pt p, const std::string& s, Font f, Anchor a, Rgb c, bool vertical = false) = 0;
    virtual void setClip(const Box* b) = 0;

    /// s shortened with "..." to fit maxWidth, so long titles and labels are cut, not clipped.
    std::string fit(const std::string& s, Font f, double maxWidth) const {
        if (textWidth(s, f) <= maxWidth) return s;
        std::string out = s;
        while (!out.empty()) {
            // Drop the last code point (and any continuation bytes before it).
            std::size_t cut = out.size() - 1;
            while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80)
                --cut;
            out.erase(cut);
            if (textWidth(out + "...", f) <= maxWidth) break;
        }
        return out + "...";
    }
};

// ---------------------------------------------------------------------------------------------
// SVG back end

std::string svgNumber(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", v);
    std::string s = buffer;
    while (s.back() == '0')
        s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s == "-0" ? "0" : s;
}

std::string svgColor(Rgb c) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", c.r, c.g, c.b);
    return buffer;
}

/// Text as XML character data: markup escaped, characters XML 1.0 forbids replaced by '?'.
std::string xmlEscape(const std::string& s) {
    std::string out;
    for (char c : printable(s)) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        default:
            out.push_back(c);
        }
    }
    return out;
}

class SvgPainter : public Painter {
public:
    SvgPainter(int width, int height, double unit) : m_unit(unit) {
        m_out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
              << "\" viewBox=\"0 0 " << width << ' ' << height
              << "\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\">\n";
    }
    std::string finish() {
        setClip(nullptr);
        m_out << "</svg>\n";
        return m_out.str();
    }
    Metrics metrics(Font f) const override {
        // Upper estimates for a sans-serif font; the layout only needs widths not to be too small.
        const double size = fontSize(f);
        return {size * (f == Font::Title ? 0.66 : 0.62), size * 0.76, size * 0.24};
    }
    double textWidth(const std::string& s, Font f) const override {
        return static_cast<double>(codePoints(s)) * metrics(f).advance;
    }
    void fillRect(const Box& b, Rgb c, double opacity) override {
        m_out << "<rect x=\"" << svgNumber(b.x0) << "\" y=\"" << svgNumber(b.y0) << "\" width=\""
              << svgNumber(b.x1 - b.x0) << "\" height=\"" << svgNumber(b.y1 - b.y0) << "\" fill=\"" << svgColor(c)
              << '"';
        if (opacity < 1) m_out << " fill-opacity=\"" << svgNumber(opacity) << '"';
        m_out << "/>\n";
    }
    void line(Pt a, Pt b, Rgb c, double width, bool dashed) override {
        m_out << "<line x1=\"" << svgNumber(a.x) << "\" y1=\"" << svgNumber(a.y) << "\" x2=\"" << svgNumber(b.x)
              << "\" y2=\"" << svgNumber(b.y) << "\" stroke=\"" << svgColor(c) << "\" stroke-width=\""
              << svgNumber(width) << '"';
        if (dashed) m_out << " stroke-dasharray=\"" << svgNumber(6 * m_unit) << ' ' << svgNumber(4 * m_unit) << '"';
        m_out << "/>\n";
    }
    void polyline(const std::vector<Pt>& pts, Rgb c, double width) override {
        m_out << "<polyline fill=\"none\" stroke=\"" << svgColor(c) << "\" stroke-width=\"" << svgNumber(width)
              << "\" stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"";
        for (std::size_t i = 0; i < pts.size(); ++i)
            m_out << (i ? " " : "") << svgNumber(pts[i].x) << ',' << svgNumber(pts[i].y);
        m_out << "\"/>\n";
    }
    void dot(Pt p, double radius, Rgb c) override {
        m_out << "<circle cx=\"" << svgNumber(p.x) << "\" cy=\"" << svgNumber(p.y) << "\" r=\"" << svgNumber(radius)
              << "\" fill=\"" << svgColor(c) << "\"/>\n";
    }
    void text(Pt p, const std::string& s, Font f, Anchor a, Rgb c, bool vertical) override {
        static const char* anchors[] = {"start", "middle", "end"};
        m_out << "<text x=\"" << svgNumber(p.x) << "\" y=\"" << svgNumber(p.y) << "\" font-size=\""
              << svgNumber(fontSize(f)) << "\" fill=\"" << svgColor(c) << '"';
        if (a != Anchor::Start) m_out << " text-anchor=\"" << anchors[static_cast<int>(a)] << '"';
        if (f == Font::Title) m_out << " font-weight=\"bold\"";
        if (vertical) m_out << " transform=\"rotate(-90 " << svgNumber(p.x) << ' ' << svgNumber(p.y) << ")\"";
        m_out << '>' << xmlEscape(s) << "</text>\n";
    }
    void setClip(const Box* b) override {
        if (m_clipped) m_out << "</g>\n";
        m_clipped = b != nullptr;
        if (!b) return;
        const std::string id = "clip" + std::to_string(m_clipCount++);
        m_out << "<clipPath id=\"" << id << "\"><rect x=\"" << svgNumber(b->x0) << "\" y=\"" << svgNumber(b->y0)
              << "\" width=\"" << svgNumber(b->x1 - b->x0) << "\" height=\"" << svgNumber(b->y1 - b->y0)
              << "\"/></clipPath>\n<g clip-path=\"url(#" << id << ")\">\n";
    }

private:
    double fontSize(Font f) const { return fontPixels(f, m_unit); }

    std::ostringstream m_out;
    double m_unit;
    bool m_clipped = false;
    int m_clipCount = 0;
};

// ---------------------------------------------------------------------------------------------
// PNG back end: Cairo (anti-aliased paths, DejaVu Sans through fontconfig, its PNG writer)

constexpr const char* kFontFamily = "DejaVu Sans"; // fontconfig substitutes a sans font without it

class CairoPainter : public Painter {
public:
    CairoPainter(int width, int height, double unit)
        : m_unit(unit), m_surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height)),
          m_cr(cairo_create(m_surface)) {
        check("cannot create a " + std::to_string(width) + "x" + std::to_string(height) + " image");
        cairo_font_options_t* options = cairo_font_options_create();
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
        // Unhinted metrics: text widths scale with the size, so the layout is the same at any unit.
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
        cairo_set_font_options(m_cr, options);
        cairo_font_options_destroy(options);
        for (Font f : {Font::Tick, Font::Label, Font::Title}) {
            selectFont(f);
            cairo_font_extents_t fe;
            cairo_font_extents(m_cr, &fe);
            cairo_text_extents_t digit;
            cairo_text_extents(m_cr, "0", &digit);
            m_metrics[static_cast<int>(f)] = {digit.x_advance, fe.ascent, fe.descent};
        }
        check("cannot load the font '" + std::string(kFontFamily) + "'");
    }
    ~CairoPainter() override {
        cairo_destroy(m_cr);
        cairo_surface_destroy(m_surface);
    }
    CairoPainter(const CairoPainter&) = delete;
    CairoPainter& operator=(const CairoPainter&) = delete;

    /// The image as a PNG file (8-bit RGB). Throws Error if Cairo failed anywhere.
    std::vector<std::uint8_t> png() {
        check("drawing failed");
        cairo_surface_flush(m_surface);
        std::vector<std::uint8_t> out;
        const cairo_status_t status = cairo_surface_write_to_png_stream(
            m_surface,
            [](void* closure, const unsigned char* data, unsigned int length) {
                auto* bytes = static_cast<std::vector<std::uint8_t>*>(closure);
                bytes->insert(bytes->end(), data, data + length);
                return CAIRO_STATUS_SUCCESS;
            },
            &out);
        if (status != CAIRO_STATUS_SUCCESS)
            throw Error(std::string("cannot encode the chart as PNG: ") + cairo_status_to_string(status));
        return out;
    }

    Metrics metrics(Font f) const override { return m_metrics[static_cast<int>(f)]; }
    double textWidth(const std::string& s, Font f) const override {
        selectFont(f);
        cairo_text_extents_t te;
        cairo_text_extents(m_cr, printable(s).c_str(), &te);
        return te.x_advance;
    }
    void fillRect(const Box& b, Rgb c, double opacity) override {
        setColor(c, opacity);
        cairo_rectangle(m_cr, b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
        cairo_fill(m_cr);
    }
    void line(Pt a, Pt b, Rgb c, double width, bool dashed) override {
        setColor(c);
        cairo_set_line_width(m_cr, width);
        // Square caps close the frame's corners; dashes keep their own length.
        cairo_set_line_cap(m_cr, dashed ? CAIRO_LINE_CAP_BUTT : CAIRO_LINE_CAP_SQUARE);
        if (dashed) {
            const double pattern[2] = {6 * m_unit, 4 * m_unit};
            cairo_set_dash(m_cr, pattern, 2, 0);
        }
        cairo_move_to(m_cr, a.x, a.y);
        cairo_line_to(m_cr, b.x, b.y);
        cairo_stroke(m_cr);
        cairo_set_dash(m_cr, nullptr, 0, 0);
    }
    void polyline(const std::vector<Pt>& pts, Rgb c, double width) override {
        if (pts.empty()) return;
        setColor(c);
        cairo_set_line_width(m_cr, width);
        cairo_set_line_cap(m_cr, CAIRO_LINE_CAP_ROUND);
        cairo_set_line_join(m_cr, CAIRO_LINE_JOIN_ROUND);
        cairo_move_to(m_cr, pts[0].x, pts[0].y);
        for (std::size_t i = 1; i < pts.size(); ++i)
            cairo_line_to(m_cr, pts[i].x, pts[i].y);
        cairo_stroke(m_cr);
    }
    void dot(Pt p, double radius, Rgb c) override {
        setColor(c);
        cairo_new_sub_path(m_cr);
        cairo_arc(m_cr, p.x, p.y, radius, 0, 2 * M_PI);
        cairo_fill(m_cr);
    }
    void text(Pt p, const std::string& s, Font f, Anchor a, Rgb c, bool vertical) override {
        const std::string shown = printable(s);
        const double width = textWidth(shown, f);
        const double start = a == Anchor::Start ? 0 : a == Anchor::Middle ? -width / 2 : -width;
        selectFont(f);
        setColor(c);
        cairo_save(m_cr);
        cairo_translate(m_cr, p.x, p.y);
        if (vertical) cairo_rotate(m_cr, -M_PI / 2);
        cairo_move_to(m_cr, start, 0);
        cairo_show_text(m_cr, shown.c_str());
        cairo_restore(m_cr);
    }
    void setClip(const Box* b) override {
        cairo_reset_clip(m_cr);
        if (!b) return;
        cairo_rectangle(m_cr, b->x0, b->y0, b->x1 - b->x0, b->y1 - b->y0);
        cairo_clip(m_cr);
    }

private:
    void check(const std::string& what) const {
        cairo_status_t status = cairo_surface_status(m_surface);
        if (status == CAIRO_STATUS_SUCCESS) status = cairo_status(m_cr);
        if (status != CAIRO_STATUS_SUCCESS) throw Error("chart: " + what + ": " + cairo_status_to_string(status));
    }
    void selectFont(Font f) const {
        cairo_select_font_face(m_cr, kFontFamily, CAIRO_FONT_SLANT_NORMAL,
                               f == Font::Title ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(m_cr, fontPixels(f, m_unit));
    }
    void setColor(Rgb c, double opacity = 1.0) {
        cairo_set_source_rgba(m_cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, opacity);
    }

    double m_unit;
    cairo_surface_t* m_surface;
    cairo_t* m_cr;
    Metrics m_metrics[3]{};
};

// ---------------------------------------------------------------------------------------------
// Validation, layout and drawing

std::string chartName(const Chart& chart) {
    return chart.title.empty() ? std::string("chart") : "chart '" + chart.title + "'";
}

std::string seriesName(const Series& s, std::size_t index) {
    return s.label.empty() ? "series " + std::to_string(index + 1) : "series '" + s.label + "'";
}

/// A series with its x filled in when it was left empty.
struct Data {
    const Series* series;
    std::vector<double> x;
    const std::vector<double>& y() const { return series->y; }
};

std::vector<Data> validate(const Chart& chart) {
    const std::string name = chartName(chart);
    if (chart.width < 160 || chart.height < 120 || chart.width > 8000 || chart.height > 8000) {
        throw UserError(name + ": size " + std::to_string(chart.width) + "x" + std::to_string(chart.height) +
                        " is outside 160x120 .. 8000x8000");
    }
    const auto checkRange = [&](const std::optional<std::pair<double, double>>& r, const char* axis, bool log) {
        if (!r) return;
        if (!std::isfinite(r->first) || !std::isfinite(r->second) || !(r->first < r->second)) {
            throw UserError(name + ": the " + axis + " range " + numberText(r->first) + " .. " + numberText(r->second) +
                            " needs two finite numbers with lo < hi");
        }
        if (log && r->first <= 0) {
            throw UserError(name + ": the " + axis + " range starts at " + numberText(r->first) +
                            ", but a logarithmic axis needs values > 0");
        }
    };
    checkRange(chart.xRange, "x", chart.logX);
    checkRange(chart.yRange, "y", chart.logY);
    if (chart.logY) {
        for (const auto& [value, label] : chart.horizontalLines)
            if (std::isfinite(value) && value <= 0)
                throw UserError(name + ": reference line '" + label + "' is at y = " + numberText(value) +
                                ", which a logarithmic y axis cannot show");
    }

    std::vector<Data> data;
    for (std::size_t s = 0; s < chart.series.size(); ++s) {
        const Series& series = chart.series[s];
        Data d{&series, series.x};
        if (d.x.empty()) {
            for (std::size_t i = 0; i < series.y.size(); ++i)
                d.x.push_back(static_cast<double>(i));
        }
        if (d.x.size() != series.y.size()) {
            throw UserError(name + ": " + seriesName(series, s) + " has " + std::to_string(d.x.size()) +
                            " x values but " + std::to_string(series.y.size()) + " y values");
        }
        for (std::size_t i = 0; i < d.x.size(); ++i) {
            for (int axis = 0; axis < 2; ++axis) {
                const bool log = axis == 0 ? chart.logX : chart.logY;
                const double v = axis == 0 ? d.x[i] : series.y[i];
                if (log && std::isfinite(v) && v <= 0) {
                    const char* a = axis == 0 ? "x" : "y";
                    throw UserError(name + ": " + seriesName(series, s) + " has " + a + " = " + numberText(v) +
                                    " at point " + std::to_string(i + 1) + ", but a logarithmic " + a +
                                    " axis needs values > 0 (drop the point or use a linear axis)");
                }
            }
        }
        data.push_back(std::move(d));
    }
    return data;
}

struct Axis {
    bool log = false;
    AxisTicks ticks;
    double p0 = 0, p1 = 1; ///< pixel positions of ticks.lo and ticks.hi

    double map(double v) const {
        const double t = log ? (std::log10(v) - std::log10(ticks.lo)) / (std::log10(ticks.hi) - std::log10(ticks.lo))
                             : (v - ticks.lo) / (ticks.hi - ticks.lo);
        // Far-off points would overflow later arithmetic; the clip keeps their direction close enough.
        return std::clamp(p0 + t * (p1 - p0), -1e7, 1e7);
    }
};

/// Pixel x positions are snapped to pixel centres so 1-pixel rules stay sharp.
double crisp(double v) {
    return std::floor(v) + 0.5;
}

/// Liang-Barsky: clips segment a-b to box; false if nothing is left.
bool clipSegment(Pt& a, Pt& b, const Box& box) {
    double t0 = 0, t1 = 1;
    const double dx = b.x - a.x, dy = b.y - a.y;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {a.x - box.x0, box.x1 - a.x, a.y - box.y0, box.y1 - a.y};
    for (int i = 0; i < 4; ++i) {
        if (p[i] == 0) {
            if (q[i] < 0) return false;
            continue;
        }
        const double t = q[i] / p[i];
        if (p[i] < 0)
            t0 = std::max(t0, t);
        else
            t1 = std::min(t1, t);
        if (t0 > t1) return false;
    }
    const Pt a0 = a;
    a = {a0.x + t0 * dx, a0.y + t0 * dy};
    b = {a0.x + t1 * dx, a0.y + t1 * dy};
    return true;
}

/// Dense runs keep, per stretch of points in one pixel column, the first, lowest, highest and
/// last point (M4): the drawn line looks the same, and a 200k-step loss curve stays a small SVG.
std::vector<Pt> decimate(const std::vector<Pt>& run) {
    if (run.size() < 64) return run;
    std::vector<Pt> out;
    for (std::size_t i = 0; i < run.size();) {
        const double column = std::floor(run[i].x);
        std::size_t j = i, lo = i, hi = i;
        for (; j < run.size() && std::floor(run[j].x) == column; ++j) {
            if (run[j].y < run[lo].y) lo = j;
            if (run[j].y > run[hi].y) hi = j;
        }
        std::size_t keep[4] = {i, lo, hi, j - 1};
        std::sort(keep, keep + 4);
        for (int k = 0; k < 4; ++k)
            if (k == 0 || keep[k] != keep[k - 1]) out.push_back(run[keep[k]]);
        i = j;
    }
    return out;
}

struct Geometry {
    std::vector<std::vector<Pt>> runs; ///< connected, clipped pieces of the line
    std::vector<Pt> points;            ///< every visible point (markers, lone points of a line)
    std::vector<Pt> lonely;            ///< points without a finite neighbour
    std::vector<Box> bars;
};

/// Which 4-pixel cells of the plot area hold data, to put labels and the legend where they hide
/// the least. A summed-area table answers "how many cells under this box" in O(1).
class Occupancy {
public:
    Occupancy(const Box& area, double cell) : m_area(area), m_cell(cell) {
        m_cols = static_cast<int>(std::ceil((area.x1 - area.x0) / cell)) + 1;
        m_rows = static_cast<int>(std::ceil((area.y1 - area.y0) / cell)) + 1;
        m_used.assign(static_cast<std::size_t>(m_cols) * m_rows, 0);
    }
    void mark(const Box& b) {
        const int c1 = column(b.x1, m_cols - 1), r1 = row(b.y1, m_rows - 1);
        for (int r = row(b.y0, m_rows - 1); r <= r1; ++r)
            for (int c = column(b.x0, m_cols - 1); c <= c1; ++c)
                m_used[static_cast<std::size_t>(r) * m_cols + c] = 1;
        m_sums.clear();
    }
    void markPath(const std::vector<Pt>& run, double halfWidth) {
        for (std::size_t i = 1; i < run.size(); ++i) {
            const Pt a = run[i - 1], b = run[i];
            const int steps = static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / (m_cell / 2)) + 1;
            for (int k = 0; k <= steps; ++k) {
                const Pt p{a.x + (b.x - a.x) * k / steps, a.y + (b.y - a.y) * k / steps};
                mark({p.x - halfWidth, p.y - halfWidth, p.x + halfWidth, p.y + halfWidth});
            }
        }
    }
    /// Number of used cells that b touches.
    int count(const Box& b) {
        if (m_sums.empty()) buildSums();
        const int c0 = column(b.x0, m_cols), c1 = std::max(c0, column(b.x1, m_cols - 1) + 1);
        const int r0 = row(b.y0, m_rows), r1 = std::max(r0, row(b.y1, m_rows - 1) + 1);
        return sum(r1, c1) - sum(r0, c1) - sum(r1, c0) + sum(r0, c0);
    }

private:
    int column(double x, int max) const {
        return std::clamp(static_cast<int>(std::floor((x - m_area.x0) / m_cell)), 0, max);
    }
    int row(double y, int max) const {
        return std::clamp(static_cast<int>(std::floor((y - m_area.y0) / m_cell)), 0, max);
    }
    int& sum(int r, int c) { return m_sums[static_cast<std::size_t>(r) * (m_cols + 1) + c]; }
    void buildSums() {
        m_sums.assign(static_cast<std::size_t>(m_cols + 1) * (m_rows + 1), 0);
        for (int r = 0; r < m_rows; ++r)
            for (int c = 0; c < m_cols; ++c)
                sum(r + 1, c + 1) =
                    m_used[static_cast<std::size_t>(r) * m_cols + c] + sum(r, c + 1) + sum(r + 1, c) - sum(r, c);
    }

    Box m_area;
    double m_cell;
    int m_cols = 0, m_rows = 0;
    std::vector<std::uint8_t> m_used;
    std::vector<int> m_sums;
};

class ChartDrawer {
public:
    ChartDrawer(const Chart& chart, Painter& painter, double unit)
        : m_chart(chart), m_p(painter), m_u(unit), m_data(validate(chart)) {}

    void draw() {
        layout();
        m_p.fillRect({0, 0, double(m_chart.width), double(m_chart.height)}, kWhite);
        drawGrid();
        // Markers and line caps on the frame stay whole; geometry itself is clipped to the frame.
        const double bleed = markerRadius() + 1;
        const Box dataClip{m_plot.x0 - bleed, m_plot.y0 - bleed, m_plot.x1 + bleed, m_plot.y1 + bleed};
        m_p.setClip(&dataClip);
        std::vector<Geometry> geometry;
        for (std::size_t s = 0; s < m_data.size(); ++s)
            geometry.push_back(seriesGeometry(s));
        for (std::size_t s = 0; s < m_data.size(); ++s)
            for (const Box& b : geometry[s].bars)
                m_p.fillRect(b, color(s));
        for (std::size_t s = 0; s < m_data.size(); ++s)
            drawSeries(s, geometry[s]);
        m_p.setClip(nullptr);
        Occupancy occupancy(m_plot, 4 * m_u);
        for (const Geometry& g : geometry) {
            const double r = markerRadius();
            for (const Pt& p : g.points)
                occupancy.mark({p.x - r, p.y - r, p.x + r, p.y + r});
            for (const auto& run : g.runs)
                occupancy.markPath(run, m_u);
            for (const Box& b : g.bars)
                occupancy.mark(b);
        }
        drawReferenceLines(occupancy);
        drawAxes();
        drawLegend(occupancy);
        if (!m_hasData) {
            m_p.text({(m_plot.x0 + m_plot.x1) / 2, (m_plot.y0 + m_plot.y1) / 2}, "no data", Font::Label, Anchor::Middle,
                     kMuted);
        }
    }

private:
    Rgb color(std::size_t s) const { return kPalette[s % std::size(kPalette)]; }
    double pad() const { return 10 * m_u; }
    double tickLength() const { return 5 * m_u; }
    double lineWidth() const { return 2 * m_u; }
    double markerRadius() const { return 3.5 * m_u; }

    void layout() {
        // Data extents over finite points; bars stand on zero, reference lines must be visible.
        double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
        bool bars = false;
        for (const Data& d : m_data) {
            for (std::size_t i = 0; i < d.x.size(); ++i) {
                if (!std::isfinite(d.x[i]) || !std::isfinite(d.y()[i])) continue;
                x0 = std::min(x0, d.x[i]), x1 = std::max(x1, d.x[i]);
                y0 = std::min(y0, d.y()[i]), y1 = std::max(y1, d.y()[i]);
                m_hasData = true;
                bars = bars || d.series->style == Series::Style::Bars;
            }
        }
        if (bars && !m_chart.logY && m_hasData) y0 = std::min(y0, 0.0), y1 = std::max(y1, 0.0);
        if (bars && m_hasData) {
            // Room for half a bar group beside the outermost bars.
            const double gap = minimumGap(m_chart.logX);
            if (m_chart.logX)
                x0 /= std::pow(10, gap * 0.5), x1 *= std::pow(10, gap * 0.5);
            else
                x0 -= gap * 0.5, x1 += gap * 0.5;
        }
        for (const auto& line : m_chart.horizontalLines) {
            if (!std::isfinite(line.first)) continue;
            y0 = std::min(y0, line.first), y1 = std::max(y1, line.first);
        }
        if (!(x0 <= x1)) x0 = m_chart.logX ? 1 : 0, x1 = m_chart.logX ? 10 : 1;
        if (!(y0 <= y1)) y0 = m_chart.logY ? 1 : 0, y1 = m_chart.logY ? 10 : 1;

        const Metrics tick = m_p.metrics(Font::Tick), label = m_p.metrics(Font::Label),
                      title = m_p.metrics(Font::Title);
        const double w = m_chart.width, h = m_chart.height;
        m_plot.y0 = pad() + (m_chart.title.empty() ? 0 : title.height() + 8 * m_u);
        m_plot.y1 = h - pad() - tickLength() - 4 * m_u - tick.height() -
                    (m_chart.xLabel.empty() ? 0 : 6 * m_u + label.height());

        m_y.log = m_chart.logY;
        const double plotHeight = m_plot.y1 - m_plot.y0;
        const int maxYTicks = std::clamp(static_cast<int>(plotHeight / (tick.height() * 3.5)), 2, 11);
        m_y.ticks = ticksFor(y0, y1, m_chart.logY, maxYTicks, m_chart.yRange);
        double yLabelWidth = 0;
        for (const std::string& s : m_y.ticks.labels)
            yLabelWidth = std::max(yLabelWidth, m_p.textWidth(s, Font::Tick));
        m_plot.x0 =
            pad() + (m_chart.yLabel.empty() ? 0 : label.height() + 8 * m_u) + yLabelWidth + 4 * m_u + tickLength();
        m_plot.y0 = crisp(m_plot.y0), m_plot.y1 = crisp(m_plot.y1), m_plot.x0 = crisp(m_plot.x0);
        m_y.p0 = m_plot.y1, m_y.p1 = m_plot.y0;

        // The x ticks decide the right margin (half the last label) and the margin decides the
        // room for ticks; fewer ticks until labels are at least two characters apart.
        m_x.log = m_chart.logX;
        double right = pad() * 1.5;
        int maxXTicks = 12;
        for (int attempt = 0; attempt < 40; ++attempt) {
            const double plotWidth = w - right - m_plot.x0;
            m_x.ticks = ticksFor(x0, x1, m_chart.logX, maxXTicks, m_chart.xRange);
            double widest = 0;
            for (const std::string& s : m_x.ticks.labels)
                widest = std::max(widest, m_p.textWidth(s, Font::Tick));
            const double needRight =
                m_x.ticks.labels.empty() ? 0 : m_p.textWidth(m_x.ticks.labels.back(), Font::Tick) / 2 + pad();
            const double spacing = plotWidth / std::max<std::size_t>(1, m_x.ticks.major.size());
            if (needRight > right) {
                right = needRight;
                continue;
            }
            if (maxXTicks > 2 && spacing < widest + 2 * tick.advance) {
                --maxXTicks;
                continue;
            }
            break;
        }
        m_plot.x1 = crisp(w - right);
        m_x.p0 = m_plot.x0, m_x.p1 = m_plot.x1;
    }

    AxisTicks ticksFor(double lo, double hi, bool log, int maxTicks,
                       const std::optional<std::pair<double, double>>& fixed) const {
        if (fixed) return niceTicks(fixed->first, fixed->second, log, maxTicks, false);
        return niceTicks(lo, hi, log, maxTicks, true);
    }

    /// Smallest distance between neighbouring bar x values (in decades on a log axis); 1 if none.
    double minimumGap(bool log) const {
        std::vector<double> xs;
        for (const Data& d : m_data) {
            if (d.series->style != Series::Style::Bars) continue;
            for (std::size_t i = 0; i < d.x.size(); ++i)
                if (std::isfinite(d.x[i]) && std::isfinite(d.y()[i])) xs.push_back(log ? std::log10(d.x[i]) : d.x[i]);
        }
        std::sort(xs.begin(), xs.end());
        double gap = INFINITY;
        for (std::size_t i = 1; i < xs.size(); ++i)
            if (xs[i] > xs[i - 1]) gap = std::min(gap, xs[i] - xs[i - 1]);
        return std::isfinite(gap) ? gap : 1.0;
    }

    bool finitePoint(const Data& d, std::size_t i) const { return std::isfinite(d.x[i]) && std::isfinite(d.y()[i]); }

    Geometry seriesGeometry(std::size_t s) const {
        const Data& d = m_data[s];
        const Series::Style style = d.series->style;
        Geometry g;
        const Box area{m_plot.x0 - 0.5, m_plot.y0 - 0.5, m_plot.x1 + 0.5, m_plot.y1 + 0.5};
        const std::size_t n = d.x.size();
        auto at = [&](std::size_t i) { return Pt{m_x.map(d.x[i]), m_y.map(d.y()[i])}; };
        for (std::size_t i = 0; i < n; ++i) {
            if (!finitePoint(d, i)) continue;
            const Pt p = at(i);
            if (area.contains(p)) g.points.push_back(p);
            const bool before = i > 0 && finitePoint(d, i - 1), after = i + 1 < n && finitePoint(d, i + 1);
            if (!before && !after && area.contains(p)) g.lonely.push_back(p);
            if (!after || style == Series::Style::Points || style == Series::Style::Bars) continue;
            Pt a = p, b = at(i + 1);
            const bool startInside = area.contains(a);
            if (!clipSegment(a, b, area)) continue;
            if (g.runs.empty() || !before || !startInside) g.runs.emplace_back(std::vector<Pt>{a});
            g.runs.back().push_back(b);
        }
        for (auto& run : g.runs) run = decimate(run);
        if (style == Series::Style::Bars) g.bars = barBoxes(s);
        return g;
    }

    std::vector<Box> barBoxes(std::size_t s) const {
        std::size_t index = 0, count = 0;
        for (std::size_t i = 0; i < m_data.size(); ++i) {
            if (m_data[i].series->style != Series::Style::Bars) continue;
            if (i == s) index = count;
            ++count;
        }
        // Bars of several series at the same x stand side by side within 80% of the gap.
        const double gap = minimumGap(m_chart.logX);
        const double pixelsPerUnit =
            std::fabs(m_x.p1 - m_x.p0) /
            (m_chart.logX ? std::log10(m_x.ticks.hi / m_x.ticks.lo) : m_x.ticks.hi - m_x.ticks.lo);
        const double group = std::min(gap * pixelsPerUnit * 0.8, (m_plot.x1 - m_plot.x0) * 0.5);
        const double barWidth = group / static_cast<double>(count);
        const double base = m_chart.logY ? m_plot.y1 : std::clamp(m_y.map(0.0), m_plot.y0, m_plot.y1);
        std::vector<Box> boxes;
        const Data& d = m_data[s];
        for (std::size_t i = 0; i < d.x.size(); ++i) {
            if (!finitePoint(d, i)) continue;
            const double left = m_x.map(d.x[i]) - group / 2 + barWidth * static_cast<double>(index);
            const double top = std::clamp(m_y.map(d.y()[i]), m_plot.y0, m_plot.y1);
            // A thin white gap keeps neighbouring bars of different series apart.
            const double x0 = std::max(left + 0.5 * m_u, m_plot.x0),
                         x1 = std::min(left + barWidth - 0.5 * m_u, m_plot.x1);
            if (x0 < x1) boxes.push_back({x0, std::min(top, base), x1, std::max(top, base)});
        }
        return boxes;
    }

    void drawSeries(std::size_t s, const Geometry& g) {
        const Series::Style style = m_data[s].series->style;
        const bool line = style == Series::Style::Line || style == Series::Style::LineAndPoints;
        const bool markers = style == Series::Style::Points || style == Series::Style::LineAndPoints;
        if (line) {
            for (const auto& run : g.runs)
                m_p.polyline(run, color(s), lineWidth());
            if (!markers)
                for (const Pt& p : g.lonely)
                    m_p.dot(p, lineWidth(), color(s)); // else a lone point is invisible
        }
        if (markers)
            for (const Pt& p : g.points)
                m_p.dot(p, markerRadius(), color(s));
    }

    void drawGrid() {
        for (double v : m_x.ticks.major) {
            const double x = crisp(m_x.map(v));
            m_p.line({x, m_plot.y0}, {x, m_plot.y1}, kGrid, m_u);
        }
        for (double v : m_y.ticks.major) {
            const double y = crisp(m_y.map(v));
            m_p.line({m_plot.x0, y}, {m_plot.x1, y}, kGrid, m_u);
        }
    }

    /// Draws the dashed lines, then their labels at whichever end and side hides the least data;
    /// the labels are marked as used so the legend keeps off them.
    void drawReferenceLines(Occupancy& occupancy) {
        const Metrics tick = m_p.metrics(Font::Tick);
        struct Label {
            Pt at;
            Anchor anchor;
            std::string text;
            Box box;
        };
        std::vector<Label> labels;
        for (const auto& [value, text] : m_chart.horizontalLines) {
            if (!std::isfinite(value)) continue;
            const double y = m_y.map(value);
            if (y < m_plot.y0 - 0.5 || y > m_plot.y1 + 0.5) continue;
            m_p.line({m_plot.x0, crisp(y)}, {m_plot.x1, crisp(y)}, kReference, 1.5 * m_u, true);
            if (text.empty()) continue;
            const std::string shown = m_p.fit(text, Font::Tick, (m_plot.x1 - m_plot.x0) * 0.6);
            const double width = m_p.textWidth(shown, Font::Tick);
            // Right end above the line first (where readers look for it), then the other places;
            // a place that would leave the plot area is not a candidate.
            Label best{};
            double bestCost = INFINITY;
            for (int place = 0; place < 4; ++place) {
                const bool right = place % 2 == 0, below = place >= 2;
                const double baseline = below ? y + 3 * m_u + tick.ascent : y - 3 * m_u - tick.descent;
                const double x = right ? m_plot.x1 - 4 * m_u : m_plot.x0 + 4 * m_u;
                const double x0 = right ? x - width : x;
                const Box box{x0 - 2 * m_u, baseline - tick.ascent - m_u, x0 + width + 2 * m_u,
                              baseline + tick.descent};
                if (box.y0 < m_plot.y0 || box.y1 > m_plot.y1) continue;
                double cost = occupancy.count(box);
                for (const Label& l : labels)
                    cost += l.box.intersects(box) ? 1e6 : 0;
                if (cost < bestCost)
                    bestCost = cost, best = {{x, baseline}, right ? Anchor::End : Anchor::Start, shown, box};
            }
            if (std::isfinite(bestCost)) labels.push_back(best);
        }
        for (const Label& l : labels) {
            m_p.fillRect(l.box, kWhite, 0.8); // keeps the label readable over data
            m_p.text(l.at, l.text, Font::Tick, l.anchor, kReference);
            occupancy.mark(l.box);
            m_avoid.push_back(l.box);
        }
    }

    void drawAxes() {
        const Metrics tick = m_p.metrics(Font::Tick), label = m_p.metrics(Font::Label),
                      title = m_p.metrics(Font::Title);
        const Box& b = m_plot;
        m_p.line({b.x0, b.y0}, {b.x1, b.y0}, kInk, m_u);
        m_p.line({b.x0, b.y1}, {b.x1, b.y1}, kInk, m_u);
        m_p.line({b.x0, b.y0}, {b.x0, b.y1}, kInk, m_u);
        m_p.line({b.x1, b.y0}, {b.x1, b.y1}, kInk, m_u);
        for (std::size_t i = 0; i < m_x.ticks.major.size(); ++i) {
            const double x = crisp(m_x.map(m_x.ticks.major[i]));
            m_p.line({x, b.y1}, {x, b.y1 + tickLength()}, kInk, m_u);
            m_p.text({x, b.y1 + tickLength() + 4 * m_u + tick.ascent}, m_x.ticks.labels[i], Font::Tick, Anchor::Middle,
                     kText);
        }
        for (double v : m_x.ticks.minor) {
            const double x = crisp(m_x.map(v));
            m_p.line({x, b.y1}, {x, b.y1 + tickLength() * 0.6}, kInk, m_u);
        }
        for (std::size_t i = 0; i < m_y.ticks.major.size(); ++i) {
            const double y = crisp(m_y.map(m_y.ticks.major[i]));
            m_p.line({b.x0 - tickLength(), y}, {b.x0, y}, kInk, m_u);
            m_p.text({b.x0 - tickLength() - 4 * m_u, y + tick.ascent / 2}, m_y.ticks.labels[i], Font::Tick, Anchor::End,
                     kText);
        }
        for (double v : m_y.ticks.minor) {
            const double y = crisp(m_y.map(v));
            m_p.line({b.x0 - tickLength() * 0.6, y}, {b.x0, y}, kInk, m_u);
        }
        const double w = m_chart.width, h = m_chart.height;
        if (!m_chart.xLabel.empty()) {
            m_p.text({(b.x0 + b.x1) / 2, h - pad() - label.descent},
                     m_p.fit(m_chart.xLabel, Font::Label, w - 2 * pad()), Font::Label, Anchor::Middle, kText);
        }
        if (!m_chart.yLabel.empty()) {
            m_p.text({pad() + label.ascent, (b.y0 + b.y1) / 2}, m_p.fit(m_chart.yLabel, Font::Label, h - 2 * pad()),
                     Font::Label, Anchor::Middle, kText, true);
        }
        if (!m_chart.title.empty()) {
            // Centred over the plot area unless it would run off the image.
            const std::string shown = m_p.fit(m_chart.title, Font::Title, w - 2 * pad());
            const double half = m_p.textWidth(shown, Font::Title) / 2;
            const double centre = std::clamp((b.x0 + b.x1) / 2, pad() + half, w - pad() - half);
            m_p.text({centre, pad() + title.ascent}, shown, Font::Title, Anchor::Middle, kInk);
        }
    }

    void drawLegend(Occupancy& occupancy) {
        std::vector<std::size_t> entries;
        for (std::size_t s = 0; s < m_data.size(); ++s)
            if (!m_data[s].series->label.empty()) entries.push_back(s);
        if (entries.empty()) return;
        const Metrics tick = m_p.metrics(Font::Tick);
        const double sample = 24 * m_u, gap = 6 * m_u, inner = 7 * m_u, row = tick.height() + 5 * m_u;
        const double maxText = (m_plot.x1 - m_plot.x0) * 0.6 - sample - gap - 2 * inner;
        std::vector<std::string> texts;
        double textWidth = 0;
        for (std::size_t s : entries) {
            texts.push_back(m_p.fit(m_data[s].series->label, Font::Tick, std::max(maxText, 6 * tick.advance)));
            textWidth = std::max(textWidth, m_p.textWidth(texts.back(), Font::Tick));
        }
        const double boxW = 2 * inner + sample + gap + textWidth;
        const double boxH = 2 * inner + row * static_cast<double>(entries.size()) - 5 * m_u;
        const double margin = 8 * m_u;

        // Where the legend hides the least data: the corners, the middles of the edges and at last
        // every 4-pixel step; the first best place wins. Covering a reference label is worst.
        const double cell = 4 * m_u;
        const auto cost = [&](const Box& b) {
            double total = occupancy.count({b.x0 - 2 * m_u, b.y0 - 2 * m_u, b.x1 + 2 * m_u, b.y1 + 2 * m_u});
            for (const Box& a : m_avoid)
                total += b.intersects(a) ? 1e6 : 0;
            return total;
        };
        const double left = m_plot.x0 + margin, right = std::max(left, m_plot.x1 - margin - boxW);
        const double top = m_plot.y0 + margin, bottom = std::max(top, m_plot.y1 - margin - boxH);
        const double centreX = (left + right) / 2, centreY = (top + bottom) / 2;
        std::vector<Pt> places = {{right, top},   {left, top},       {right, bottom},  {left, bottom},
                                  {centreX, top}, {centreX, bottom}, {right, centreY}, {left, centreY}};
        for (double y = top; y <= bottom; y += cell)
            for (double x = left; x <= right; x += cell)
                places.push_back({x, y});
        Box box{};
        double best = INFINITY;
        for (const Pt& at : places) {
            const Box candidate{at.x, at.y, at.x + boxW, at.y + boxH};
            const double c = cost(candidate);
            if (c < best) best = c, box = candidate;
            if (best == 0) break;
        }
        box = {crisp(box.x0), crisp(box.y0), crisp(box.x1), crisp(box.y1)};

        m_p.fillRect(box, kWhite, 0.85);
        m_p.line({box.x0, box.y0}, {box.x1, box.y0}, kLegendBorder, m_u);
        m_p.line({box.x0, box.y1}, {box.x1, box.y1}, kLegendBorder, m_u);
        m_p.line({box.x0, box.y0}, {box.x0, box.y1}, kLegendBorder, m_u);
        m_p.line({box.x1, box.y0}, {box.x1, box.y1}, kLegendBorder, m_u);
        for (std::size_t e = 0; e < entries.size(); ++e) {
            const std::size_t s = entries[e];
            const double rowTop = box.y0 + inner + row * static_cast<double>(e);
            const double mid = rowTop + tick.ascent / 2;
            const double x = box.x0 + inner;
            switch (m_data[s].series->style) {
            case Series::Style::Bars:
                m_p.fillRect({x + sample / 2 - 5 * m_u, mid - 5 * m_u, x + sample / 2 + 5 * m_u, mid + 5 * m_u},
                             color(s));
                break;
            case Series::Style::Points:
                m_p.dot({x + sample / 2, mid}, markerRadius(), color(s));
                break;
            case Series::Style::LineAndPoints:
                m_p.dot({x + sample / 2, mid}, markerRadius(), color(s));
                [[fallthrough]];
            case Series::Style::Line:
                m_p.polyline({{x, mid}, {x + sample, mid}}, color(s), lineWidth());
                break;
            }
            m_p.text({x + sample + gap, rowTop + tick.ascent}, texts[e], Font::Tick, Anchor::Start, kText);
        }
    }

    const Chart& m_chart;
    Painter& m_p;
    double m_u; ///< size unit: 1 for charts up to about 1600x1000, more for larger ones
    std::vector<Data> m_data;
    bool m_hasData = false;
    std::vector<Box> m_avoid; ///< reference labels the legend must not cover
    Box m_plot{};
    Axis m_x, m_y;
};

int unitFor(const Chart& chart) {
    return std::clamp(std::min(chart.width / 1000, chart.height / 625), 1, 4);
}

std::string lowerExtension(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    const std::size_t dot = path.find_last_of('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
    std::string ext = path.substr(dot);
    for (char& c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}


} // namespace

AxisTicks niceTicks(double lo, double hi, bool log, int maxTicks, bool expand) {
    if (!std::isfinite(lo) || !std::isfinite(hi)) throw UserError("axis range must be finite");
    if (lo > hi) std::swap(lo, hi);
    if (log && lo <= 0) {
        throw UserError("a logarithmic axis needs values > 0, got " + numberText(lo));
    }
    maxTicks = std::max(maxTicks, 2);
    if (lo == hi) {
        if (log)
            lo /= 2, hi *= 2;
        else {
            const double d = lo == 0 ? 1 : std::fabs(lo) * 0.1;
            lo -= d, hi += d;
        }
    }
    return log ? logTicks(lo, hi, maxTicks, expand) : linearTicks(lo, hi, maxTicks, expand);
}

std::array<std::uint8_t, 3> seriesColor(std::size_t index) {
    const Rgb c = kPalette[index % std::size(kPalette)];
    return {c.r, c.g, c.b};
}

std::string renderSvg(const Chart& chart) {
    const int unit = unitFor(chart);
    SvgPainter painter(chart.width, chart.height, unit);
    ChartDrawer(chart, painter, unit).draw();
    return painter.finish();
}

std::vector<std::uint8_t> renderPng(const Chart& chart) {
    validate(chart); // before the pixel buffer is allocated for a possibly absurd size
    const int unit = unitFor(chart);
    CairoPainter painter(chart.width, chart.height, unit);
    ChartDrawer(chart, painter, unit).draw();
    return painter.png();
}

void writeChart(const std::string& path, const Chart& chart) {
    const std::string ext = lowerExtension(path);
    if (ext != ".svg" && ext != ".png") {
        throw UserError("cannot write " + chartName(chart) + " to " + path + ": unknown file type '" + ext +
                        "' (use .svg or .png)");
    }
    if (ext == ".svg") {
        const std::string svg = renderSvg(chart);
        writeFileAtomically(path, svg.data(), svg.size());
    } else {
        const std::vector<std::uint8_t> png = renderPng(chart);
        writeFileAtomically(path, png.data(), png.size());
    }
}

} // namespace larimar
