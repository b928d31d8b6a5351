#pragma once
// Headless Chromium for the report tests: renders an HTML file to a PNG and
// its parsed DOM, and reads the pixels back (data/image_decode.h).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/image_decode.h"

namespace qtune::test {

inline bool have_chromium() {
  return std::system("command -v chromium >/dev/null 2>&1") == 0;
}

inline std::string slurp(const std::filesystem::path &p) {
  std::ifstream f(p);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// Runs headless Chromium on `html` at `width` x `height`; returns its stderr log
// (console messages included), writes the screenshot `png` and the DOM `dom`.
inline std::string render_report(const std::filesystem::path &html,
                                 const std::filesystem::path &png, const std::filesystem::path &dom,
                                 int width, int height) {
  const std::filesystem::path log = png.string() + ".log";
  const std::string common = "timeout 120 chromium --headless --disable-gpu --no-sandbox "
                             "--hide-scrollbars --enable-logging=stderr --v=0 --window-size=" +
                             std::to_string(width) + "," + std::to_string(height) + " ";
  std::system((common + "--screenshot=" + png.string() + " file://" + html.string() + " 2>" +
               log.string() + " >/dev/null")
                  .c_str());
  std::system(
      (common + "--dump-dom file://" + html.string() + " >" + dom.string() + " 2>>" + log.string())
          .c_str());
  return slurp(log);
}

inline size_t occurrences(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// Pixels within 12 of `rgb` in every channel.
inline size_t count_color(const data::Image &img, int r, int g, int b) {
  size_t n = 0;
  for (size_t i = 0; i + 2 < img.pixels.size(); i += img.channels)
    n += std::abs(img.pixels[i] - r) <= 12 && std::abs(img.pixels[i + 1] - g) <= 12 &&
         std::abs(img.pixels[i + 2] - b) <= 12;
  return n;
}

// Share of channel values below 240 (drawn, not page background).
inline double drawn_share(const data::Image &img) {
  size_t non_white = 0;
  for (uint8_t v : img.pixels)
    non_white += v < 240;
  return img.pixels.empty() ? 0 : double(non_white) / double(img.pixels.size());
}

} // namespace qtune::test
