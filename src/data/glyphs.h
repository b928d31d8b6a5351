#pragma once
// The built-in bitmap font of draw.h: 5x7 glyphs for A-Z, 0-9 and a few marks,
// drawn for this project (one string of '#' and '.' per row).
#include <array>

namespace qtune::data {

inline constexpr int kGlyphWidth = 5, kGlyphHeight = 7;
using Glyph = std::array<const char *, kGlyphHeight>;

// The glyph of `c` (lower case maps to upper case), or null when the font has none.
const Glyph *find_glyph(char c);

} // namespace qtune::data
