#pragma once
// JPEG (libjpeg-turbo) and PNG (libpng) decoding to 8-bit RGB (3 channels; gray
// images are expanded). The format is sniffed from the bytes, not the name.
#include <cstdint>
#include <string>
#include <string_view>

#include "data/sample.h"

namespace qtune::data {

// Largest width x height a JPEG/PNG header may declare (checked before the
// pixels are allocated); the environment variable QTUNE_MAX_IMAGE_PIXELS
// overrides it.
inline constexpr int64_t kDefaultMaxImagePixels = 100'000'000;

// `name` (file or record) goes into error messages for corrupt data.
Image decode_image(std::string_view bytes, const std::string &name);
Image load_image_file(const std::string &path);
std::string read_file_bytes(const std::string &path);

bool is_jpeg(std::string_view bytes);
bool is_png(std::string_view bytes);

} // namespace qtune::data
