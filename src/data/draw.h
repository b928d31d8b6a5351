#pragma once
// Drawing detections onto a photo for `qtune run --draw`: box outlines, a filled
// label band with text in a small built-in bitmap font (glyphs.cpp), and JPEG
// encoding (libjpeg-turbo). 8-bit RGB images only (what decode_image returns).
#include <cstdint>
#include <string>

#include "data/sample.h"

namespace qtune::data {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

// 1-pixel-thick rectangle outline `thickness` pixels wide, clipped to the image.
void draw_rect(Image &img, int x1, int y1, int x2, int y2, Rgb color, int thickness);
// Filled rectangle, clipped.
void fill_rect(Image &img, int x1, int y1, int x2, int y2, Rgb color);
// Text whose top-left corner is (x, y), each font pixel drawn as scale x scale;
// characters without a glyph are drawn as '?'. Letters are drawn as capitals.
void draw_text(Image &img, int x, int y, const std::string &text, Rgb color, int scale);
// Width and height in pixels draw_text uses for `text` at `scale`.
int text_width(const std::string &text, int scale);
int text_height(int scale);

// A detection's box (original-image pixels, x/y/w/h) with "label score" above it
// (inside the image when the box touches the top edge).
void draw_labeled_box(Image &img, double x, double y, double w, double h, const std::string &label,
                      Rgb color);
// A distinct color per class id (fixed palette).
Rgb class_color(int64_t class_id);

// JPEG bytes of `img` at `quality` (1..100).
std::string encode_jpeg(const Image &img, int quality = 90);

} // namespace qtune::data
