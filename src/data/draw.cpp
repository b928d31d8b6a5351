#include "data/draw.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <turbojpeg.h>

#include "data/glyphs.h"
#include "qtune/error.h"

namespace qtune::data {

namespace {

void put(Image &img, int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height)
    return;
  uint8_t *p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * img.channels];
  if (img.channels == 3) {
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  } else {
    p[0] = static_cast<uint8_t>((c.r * 299 + c.g * 587 + c.b * 114) / 1000);
  }
}

// Black or white, whichever reads better on `bg`.
Rgb text_color_on(Rgb bg) {
  return bg.r * 299 + bg.g * 587 + bg.b * 114 > 128000 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
}

} // namespace

void fill_rect(Image &img, int x1, int y1, int x2, int y2, Rgb color) {
  x1 = std::max(x1, 0), y1 = std::max(y1, 0);
  x2 = std::min(x2, img.width - 1), y2 = std::min(y2, img.height - 1);
  for (int y = y1; y <= y2; ++y)
    for (int x = x1; x <= x2; ++x)
      put(img, x, y, color);
}

void draw_rect(Image &img, int x1, int y1, int x2, int y2, Rgb color, int thickness) {
  for (int t = 0; t < thickness; ++t) {
    fill_rect(img, x1 + t, y1 + t, x2 - t, y1 + t, color); // top
    fill_rect(img, x1 + t, y2 - t, x2 - t, y2 - t, color); // bottom
    fill_rect(img, x1 + t, y1 + t, x1 + t, y2 - t, color); // left
    fill_rect(img, x2 - t, y1 + t, x2 - t, y2 - t, color); // right
  }
}

int text_width(const std::string &text, int scale) {
  // One blank column between glyphs.
  return text.empty() ? 0 : static_cast<int>(text.size()) * (kGlyphWidth + 1) * scale - scale;
}

int text_height(int scale) {
  return kGlyphHeight * scale;
}

void draw_text(Image &img, int x, int y, const std::string &text, Rgb color, int scale) {
  for (char c : text) {
    const Glyph *g = find_glyph(c);
    if (!g)
      g = find_glyph('?');
    for (int row = 0; row < kGlyphHeight; ++row)
      for (int col = 0; col < kGlyphWidth; ++col)
        if ((*g)[row][col] == '#')
          fill_rect(img, x + col * scale, y + row * scale, x + (col + 1) * scale - 1,
                    y + (row + 1) * scale - 1, color);
    x += (kGlyphWidth + 1) * scale;
  }
}

Rgb class_color(int64_t class_id) {
  static const Rgb palette[] = {{230, 25, 75},  {60, 180, 75},   {255, 225, 25}, {0, 130, 200},
                                {245, 130, 48}, {145, 30, 180},  {70, 240, 240}, {240, 50, 230},
                                {210, 245, 60}, {250, 190, 212}, {0, 128, 128},  {170, 110, 40}};
  const size_t n = sizeof(palette) / sizeof(palette[0]);
  return palette[static_cast<size_t>(class_id < 0 ? -class_id : class_id) % n];
}

void draw_labeled_box(Image &img, double x, double y, double w, double h, const std::string &label,
                      Rgb color) {
  // Lines and text grow with the photo so labels stay readable on large images.
  const int scale = std::max(1, std::min(img.width, img.height) / 250);
  const int thick = std::max(2, scale);
  const int x1 = static_cast<int>(std::lround(x)), y1 = static_cast<int>(std::lround(y));
  const int x2 = static_cast<int>(std::lround(x + w)), y2 = static_cast<int>(std::lround(y + h));
  draw_rect(img, x1, y1, x2, y2, color, thick);
  const int pad = scale;
  const int band_h = text_height(scale) + 2 * pad;
  const int band_w = text_width(label, scale) + 2 * pad;
  int band_y = y1 - band_h;
  if (band_y < 0)
    band_y = std::max(0, y1); // no room above: put the label inside the box
  const int band_x = std::clamp(x1, 0, std::max(0, img.width - band_w));
  fill_rect(img, band_x, band_y, band_x + band_w - 1, band_y + band_h - 1, color);
  draw_text(img, band_x + pad, band_y + pad, label, text_color_on(color), scale);
}

std::string encode_jpeg(const Image &img, int quality) {
  if (img.channels != 3 && img.channels != 1)
    throw UnsupportedError(fmt::format("encode_jpeg: {} channels (1 or 3 expected)", img.channels));
  tjhandle h = tjInitCompress();
  if (!h)
    throw Error("encode_jpeg: cannot create a libjpeg-turbo compressor");
  unsigned char *buf = nullptr;
  unsigned long size = 0;
  const int pf = img.channels == 3 ? TJPF_RGB : TJPF_GRAY;
  const int sub = img.channels == 3 ? TJSAMP_420 : TJSAMP_GRAY;
  int rc = tjCompress2(h, img.pixels.data(), img.width, 0, img.height, pf, &buf, &size, sub,
                       quality, TJFLAG_ACCURATEDCT);
  std::string out;
  if (rc == 0)
    out.assign(reinterpret_cast<const char *>(buf), size);
  std::string err = rc == 0 ? "" : tjGetErrorStr2(h);
  tjFree(buf);
  tjDestroy(h);
  if (rc != 0)
    throw Error("encode_jpeg: " + err);
  return out;
}

} // namespace qtune::data
