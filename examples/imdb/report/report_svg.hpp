// Chart primitives for report.html (internal to the report): number formatting, "nice"
// axis ranges, and an SVG frame mapping data coordinates to pixels. Charts are drawn by
// hand because the page must not load any script or library.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "report/report.hpp"

namespace imdb::report_svg {

using Formatter = std::function<std::string(double)>;
using Points = std::vector<std::pair<double, double>>;

// Okabe-Ito colours: distinguishable with every common colour-vision deficiency.
constexpr const char* kBlue = "#0072b2";
constexpr const char* kOrange = "#e69f00";
constexpr const char* kGreen = "#009e73";
constexpr const char* kGrey = "#8a8f98";

inline std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

inline std::string percent(double fraction, int decimals = 2) {
    return fixed(100.0 * fraction, decimals) + "%";
}

// 25000 -> "25,000"
inline std::string thousands(std::size_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// Short axis labels: 0.25 -> "0.25", 0.0005 -> "0.0005", 120000 -> "1.2e+05".
inline std::string compact(double v) {
    if (std::abs(v) < 1e-12) return "0";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

// A step of 1, 2 or 5 times a power of ten giving about `target` intervals over range.
inline double nice_step(double range, int target) {
    if (!(range > 0)) return 1;
    const double raw = range / target;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double r = raw / magnitude;
    return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * magnitude;
}

struct AxisRange {
    double lo = 0;
    double hi = 1;
    double step = 0.2;
    std::vector<double> ticks() const {
        std::vector<double> t;
        const auto n = static_cast<long>(std::llround((hi - lo) / step));
        for (long k = 0; k <= n; ++k) {
            const double v = lo + static_cast<double>(k) * step;
            t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
        }
        return t;
    }
};

// A range covering [lo, hi], snapped outwards to nice ticks; a flat series gets some room.
inline AxisRange nice_range(double lo, double hi, int target = 5) {
    if (hi - lo < 1e-12) {
        const double pad = std::abs(lo) > 1e-12 ? std::abs(lo) * 0.1 : 0.5;
        lo -= pad;
        hi += pad;
    }
    AxisRange a;
    a.step = nice_step(hi - lo, target);
    a.lo = std::floor(lo / a.step + 1e-9) * a.step;
    a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
    return a;
}

inline AxisRange unit_range() {
    return AxisRange{0.0, 1.0, 0.2};
}

// A range from 0 for counts: ticks are whole numbers even when the largest count is 1.
inline AxisRange count_range(double peak) {
    AxisRange a = nice_range(0, std::max(peak, 1.0));
    if (a.step < 1) {
        a.step = 1;
        a.hi = std::ceil(a.hi);
    }
    return a;
}

/// A plot area inside an SVG of width x height pixels, with margins for the axes.
struct Frame {
    double width = 540, height = 320;
    double left = 62, right = 18, top = 14, bottom = 48;
    AxisRange x, y;
    double px(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * (width - left - right); }
    double py(double v) const {
        return height - bottom - (v - y.lo) / (y.hi - y.lo) * (height - top - bottom);
    }
};

inline std::string num(double v) {
    return fixed(v, 1);
}

// Inline SVG inside HTML needs no xmlns attribute (and so no URL in the file).
inline std::string open(const Frame& f, const std::string& label) {
    return "<svg class=\"chart\" viewBox=\"0 0 " + num(f.width) + " " + num(f.height) +
           "\" width=\"" + num(f.width) + "\" height=\"" + num(f.height) +
           "\" role=\"img\" aria-label=\"" + html_escape(label) + "\">";
}

/// Grid lines, tick labels, the plot border and both axis titles.
inline std::string axes(const Frame& f, const std::vector<double>& xticks, const Formatter& xfmt,
                        const std::string& xtitle, const Formatter& yfmt,
                        const std::string& ytitle) {
    std::ostringstream s;
    const double x0 = f.px(f.x.lo), x1 = f.px(f.x.hi), y0 = f.py(f.y.lo), y1 = f.py(f.y.hi);
    for (double t : f.y.ticks()) {
        const double y = f.py(t);
        s << "<line class=\"grid\" x1=\"" << num(x0) << "\" x2=\"" << num(x1) << "\" y1=\""
          << num(y) << "\" y2=\"" << num(y) << "\"/><text class=\"tick\" x=\"" << num(x0 - 6)
          << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">" << html_escape(yfmt(t))
          << "</text>";
    }
    for (double t : xticks) {
        const double x = f.px(t);
        s << "<line class=\"grid\" x1=\"" << num(x) << "\" x2=\"" << num(x) << "\" y1=\"" << num(y0)
          << "\" y2=\"" << num(y1) << "\"/><text class=\"tick\" x=\"" << num(x) << "\" y=\""
          << num(y0 + 17) << "\" text-anchor=\"middle\">" << html_escape(xfmt(t)) << "</text>";
    }
    s << "<rect class=\"frame\" x=\"" << num(x0) << "\" y=\"" << num(y1) << "\" width=\""
      << num(x1 - x0) << "\" height=\"" << num(y0 - y1) << "\"/>";
    s << "<text class=\"axis-title\" x=\"" << num((x0 + x1) / 2) << "\" y=\"" << num(f.height - 8)
      << "\" text-anchor=\"middle\">" << html_escape(xtitle) << "</text>";
    s << "<text class=\"axis-title\" transform=\"translate(15 " << num((y0 + y1) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\">" << html_escape(ytitle) << "</text>";
    return s.str();
}

inline std::string polyline(const Frame& f, const Points& pts, const char* colour,
                            const char* extra = "") {
    std::ostringstream s;
    s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" "
      << "stroke-linejoin=\"round\" " << extra << " points=\"";
    for (const auto& [x, y] : pts) s << num(f.px(x)) << ',' << num(f.py(y)) << ' ';
    s << "\"/>";
    return s.str();
}

/// Dots with a hover title each (titles[i] may be empty).
inline std::string dots(const Frame& f, const Points& pts, const char* colour,
                        const std::vector<std::string>& titles = {}) {
    std::ostringstream s;
    for (std::size_t i = 0; i < pts.size(); ++i) {
        s << "<circle cx=\"" << num(f.px(pts[i].first)) << "\" cy=\"" << num(f.py(pts[i].second))
          << "\" r=\"3.5\" fill=\"" << colour << "\">";
        if (i < titles.size()) s << "<title>" << html_escape(titles[i]) << "</title>";
        s << "</circle>";
    }
    return s.str();
}

/// A rectangle in pixel coordinates with a hover title.
inline std::string rect(double x, double y, double w, double h, const char* colour,
                        const std::string& title, const char* extra = "") {
    return "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(std::max(w, 0.0)) +
           "\" height=\"" + num(std::max(h, 0.0)) + "\" fill=\"" + colour + "\" " + extra +
           "><title>" + html_escape(title) + "</title></rect>";
}

inline std::string text(double x, double y, const std::string& content,
                        const char* anchor = "start", const char* cls = "label") {
    return "<text class=\"" + std::string(cls) + "\" x=\"" + num(x) + "\" y=\"" + num(y) +
           "\" text-anchor=\"" + anchor + "\">" + html_escape(content) + "</text>";
}

/// Colour swatches with names, shown under a chart.
inline std::string legend(const std::vector<std::pair<std::string, const char*>>& items) {
    std::string s = "<div class=\"legend\">";
    for (const auto& [name, colour] : items)
        s += std::string("<span><i style=\"background:") + colour + "\"></i>" + html_escape(name) +
             "</span>";
    return s + "</div>";
}

/// A captioned chart; caption_note is trusted HTML (built by the report, not data).
inline std::string figure(const std::string& caption, const std::string& body,
                          const std::string& caption_note = "", bool wide = false) {
    std::string s = std::string(wide ? "<figure class=\"wide\">" : "<figure>") + "<figcaption>" +
                    html_escape(caption) + "</figcaption>" + body;
    if (!caption_note.empty()) s += "<p class=\"note\">" + caption_note + "</p>";
    return s + "</figure>";
}

/// A paragraph saying why something is not shown.
inline std::string absent(const std::string& why) {
    return "<p class=\"absent\">" + html_escape(why) + "</p>";
}

// Drops points closer than min_pixels (in both directions) to the last kept one, keeping
// the first and last: a 25,000-point ROC curve becomes a few hundred points and looks the
// same.
inline Points thin_out(const Frame& f, const Points& pts, double min_pixels = 0.75) {
    if (pts.size() <= 2) return pts;
    Points kept{pts.front()};
    for (std::size_t i = 1; i + 1 < pts.size(); ++i) {
        const double dx = std::abs(f.px(pts[i].first) - f.px(kept.back().first));
        const double dy = std::abs(f.py(pts[i].second) - f.py(kept.back().second));
        if (dx >= min_pixels || dy >= min_pixels) kept.push_back(pts[i]);
    }
    kept.push_back(pts.back());
    return kept;
}

}  // namespace imdb::report_svg
