#pragma once
// Small inline-SVG charts for the HTML report (no script, no external files):
// a line/point chart with optional error bars and horizontal reference lines,
// a horizontal bar chart, and a histogram with a marked range.
#include <cstdint>
#include <string>
#include <vector>

namespace qtune::tune::svg {

// Text safe inside HTML/SVG elements and attribute values.
std::string escape(const std::string &text);

struct Series {
  std::string label, color;
  std::vector<double> x, y;
  std::vector<double> lo, hi;  // error bars (same length as y) or empty
  std::vector<bool> highlight; // points drawn filled (e.g. "meets the goal") or empty
};

struct RefLine {
  double y = 0;
  std::string label, color;
  bool dashed = true;
};

std::string line_chart(const std::string &title, const std::string &x_label,
                       const std::string &y_label, const std::vector<Series> &series,
                       const std::vector<RefLine> &lines, int width, int height);

// One bar per label, longest first as given; values >= 0.
std::string bar_chart(const std::string &title, const std::vector<std::string> &labels,
                      const std::vector<double> &values, const std::string &value_unit, int width);

// Counts over [lo, hi] in equal bins; [mark_lo, mark_hi] shaded (NaN: none).
std::string histogram(const std::string &title, const std::vector<int64_t> &counts, double lo,
                      double hi, double mark_lo, double mark_hi, int width, int height);

} // namespace qtune::tune::svg
