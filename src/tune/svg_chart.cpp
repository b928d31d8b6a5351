#include "tune/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace qtune::tune::svg {

std::string escape(const std::string &text) {
  std::string out;
  for (char c : text) {
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
    default:
      out += c;
    }
  }
  return out;
}

namespace {

// Maps data ranges onto the plot area (y grows upwards).
struct Frame {
  double x0, x1, y0, y1; // data range
  int left, top, w, h;   // plot area in pixels
  double px(double x) const { return left + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * w; }
  double py(double y) const { return top + h - (y1 > y0 ? (y - y0) / (y1 - y0) : 0.5) * h; }
};

// Up to `n` round tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int n, double min_step = 0) {
  if (!(hi > lo))
    return {lo};
  const double raw = std::max((hi - lo) / n, min_step),
               mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> out;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step)
    out.push_back(std::fabs(v) < 1e-12 * step ? 0 : v);
  return out;
}

std::string tick_text(double v) {
  return fmt::format("{:.4g}", v);
}

std::string open_svg(int width, int height, const std::string &title, const std::string &cls) {
  return fmt::format("<svg class=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" "
                     "height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\"><title>{}</title>"
                     "<text x=\"{}\" y=\"16\" class=\"ct\" text-anchor=\"middle\">{}</text>",
                     cls, width, height, width, height, escape(title), width / 2, escape(title));
}

void extend(double v, double &lo, double &hi) {
  if (std::isfinite(v))
    lo = std::min(lo, v), hi = std::max(hi, v);
}

std::string axes(const Frame &f, const std::string &x_label, const std::string &y_label) {
  std::string s = fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"plot\"/>",
                              f.left, f.top, f.w, f.h);
  for (double t : ticks(f.y0, f.y1, 5))
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>"
                     "<text x=\"{}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                     f.left, f.left + f.w, f.py(t), f.py(t), f.left - 4, f.py(t) + 4, tick_text(t));
  for (double t : ticks(f.x0, f.x1, 8, /*min_step=*/1)) // trial numbers
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
                     f.px(t), f.top + f.h + 14, tick_text(t));
  s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"al\" text-anchor=\"middle\">{}</text>",
                   f.left + f.w / 2, f.top + f.h + 30, escape(x_label));
  s += fmt::format("<text x=\"12\" y=\"{}\" class=\"al\" text-anchor=\"middle\" "
                   "transform=\"rotate(-90 12 {})\">{}</text>",
                   f.top + f.h / 2, f.top + f.h / 2, escape(y_label));
  return s;
}

std::string draw_series(const Frame &f, const Series &s) {
  std::string out, path;
  for (size_t i = 0; i < s.y.size(); ++i) {
    if (!std::isfinite(s.y[i]))
      continue;
    path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", f.px(s.x[i]), f.py(s.y[i]));
    if (i < s.lo.size() && std::isfinite(s.lo[i]) && std::isfinite(s.hi[i]))
      out += fmt::format("<line class=\"ci\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" "
                         "y2=\"{2:.1f}\" stroke=\"{3}\"/>",
                         f.px(s.x[i]), f.py(s.lo[i]), f.py(s.hi[i]), s.color);
    const bool filled = i < s.highlight.size() && s.highlight[i];
    out += fmt::format("<circle class=\"pt\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" stroke=\"{}\" "
                       "fill=\"{}\"><title>{} {}: {:.5g}</title></circle>",
                       f.px(s.x[i]), f.py(s.y[i]), s.color, filled ? s.color : "white",
                       escape(s.label), tick_text(s.x[i]), s.y[i]);
  }
  return fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>", path,
                     s.color) +
         out;
}

} // namespace

std::string line_chart(const std::string &title, const std::string &x_label,
                       const std::string &y_label, const std::vector<Series> &series,
                       const std::vector<RefLine> &lines, int width, int height) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series &s : series) {
    for (double x : s.x)
      extend(x, x0, x1);
    for (const auto *v : {&s.y, &s.lo, &s.hi})
      for (double y : *v)
        extend(y, y0, y1);
  }
  for (const RefLine &l : lines)
    extend(l.y, y0, y1);
  if (!std::isfinite(x0))
    x0 = 0, x1 = 1;
  if (!std::isfinite(y0))
    y0 = 0, y1 = 1;
  const double pad = (y1 - y0) * 0.08 + (y1 == y0 ? std::fabs(y0) * 0.05 + 1e-6 : 0);
  Frame f{x0 - 0.5, x1 + 0.5, y0 - pad, y1 + pad, 64, 28, width - 64 - 150, height - 28 - 40};
  std::string s = open_svg(width, height, title, "chart line") + axes(f, x_label, y_label);
  int legend_y = f.top + 8;
  auto legend = [&](const std::string &label, const std::string &color, bool dashed) {
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" "
                     "stroke-width=\"2\"{}/><text x=\"{}\" y=\"{}\" class=\"lg\">{}</text>",
                     f.left + f.w + 10, f.left + f.w + 30, legend_y, legend_y, color,
                     dashed ? " stroke-dasharray=\"5,3\"" : "", f.left + f.w + 34, legend_y + 4,
                     escape(label));
    legend_y += 18;
  };
  for (const RefLine &l : lines) {
    s += fmt::format("<line class=\"ref\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" "
                     "stroke=\"{}\"{}/>",
                     f.left, f.left + f.w, f.py(l.y), f.py(l.y), l.color,
                     l.dashed ? " stroke-dasharray=\"5,3\"" : "");
    legend(l.label, l.color, l.dashed);
  }
  for (const Series &se : series) {
    s += draw_series(f, se);
    legend(se.label, se.color, false);
  }
  return s + "</svg>";
}

std::string bar_chart(const std::string &title, const std::vector<std::string> &labels,
                      const std::vector<double> &values, const std::string &value_unit, int width) {
  const int row = 18, label_w = 260, top = 28;
  const int height = top + row * static_cast<int>(labels.size()) + 10;
  double vmax = 0;
  for (double v : values)
    vmax = std::max(vmax, v);
  const int bar_w = width - label_w - 90;
  std::string s = open_svg(width, height, title, "chart bars");
  for (size_t i = 0; i < labels.size(); ++i) {
    const int y = top + row * static_cast<int>(i);
    const double len = vmax > 0 ? std::max(0.0, values[i]) / vmax * bar_w : 0;
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text>"
                     "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\">"
                     "<title>{}: {:.5g} {}</title></rect>"
                     "<text x=\"{:.1f}\" y=\"{}\" class=\"tick\">{:.4g}</text>",
                     label_w - 6, y + 13, escape(labels[i]), label_w, y + 3, len, row - 5,
                     escape(labels[i]), values[i], escape(value_unit), label_w + len + 4, y + 13,
                     values[i]);
  }
  return s + "</svg>";
}

std::string histogram(const std::string &title, const std::vector<int64_t> &counts, double lo,
                      double hi, double mark_lo, double mark_hi, int width, int height) {
  int64_t cmax = 1;
  for (int64_t c : counts)
    cmax = std::max(cmax, c);
  // Log scale: activations pile up near zero and the tails are what matters.
  const double top_v = std::log10(double(cmax) + 1);
  Frame f{lo, hi, 0, top_v, 10, 24, width - 20, height - 24 - 20};
  std::string s = open_svg(width, height, title, "chart hist");
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"plot\"/>", f.left,
                   f.top, f.w, f.h);
  if (std::isfinite(mark_lo) && std::isfinite(mark_hi))
    s += fmt::format("<rect class=\"qrange\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\">"
                     "<title>int8 range [{:.4g}, {:.4g}]</title></rect>",
                     f.px(mark_lo), f.top, std::max(1.0, f.px(mark_hi) - f.px(mark_lo)), f.h,
                     mark_lo, mark_hi);
  const double bw = double(f.w) / std::max<size_t>(1, counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    const double v = std::log10(double(counts[i]) + 1);
    s += fmt::format("<rect class=\"hbar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                     "height=\"{:.1f}\"><title>{}</title></rect>",
                     f.left + i * bw, f.py(v), std::max(0.5, bw - 0.5), f.top + f.h - f.py(v),
                     counts[i]);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\">{:.3g}</text><text x=\"{}\" y=\"{}\" "
                   "class=\"tick\" text-anchor=\"end\">{:.3g}</text>",
                   f.left, height - 4, lo, f.left + f.w, height - 4, hi);
  return s + "</svg>";
}

} // namespace qtune::tune::svg
