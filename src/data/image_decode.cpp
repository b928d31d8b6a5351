#include "data/image_decode.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <png.h>
#include <turbojpeg.h>

#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune::data {

bool is_jpeg(std::string_view b) {
  return b.size() >= 3 && uint8_t(b[0]) == 0xff && uint8_t(b[1]) == 0xd8 && uint8_t(b[2]) == 0xff;
}

bool is_png(std::string_view b) {
  return b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0;
}

namespace {

struct TjHandle {
  tjhandle h = tjInitDecompress();
  ~TjHandle() {
    if (h)
      tjDestroy(h);
  }
};

// Pixels a header may declare before anything is allocated: a 76 KB JPEG can
// claim 20000x20000 (1.2 GB of RGB). QTUNE_MAX_IMAGE_PIXELS overrides it.
int64_t max_image_pixels() {
  const char *env = std::getenv("QTUNE_MAX_IMAGE_PIXELS");
  if (!env || !*env)
    return kDefaultMaxImagePixels;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(env, env + std::strlen(env), v);
  if (ec != std::errc() || *end || v <= 0)
    throw InputError(fmt::format("QTUNE_MAX_IMAGE_PIXELS='{}' is not a positive integer", env));
  return v;
}

void check_dimensions(int64_t w, int64_t h, const std::string &name, const char *format) {
  if (w <= 0 || h <= 0)
    throw InputError(
        fmt::format("{}: {} header declares an empty {}x{} image", name, format, w, h));
  int64_t limit = max_image_pixels();
  if (w * h > limit)
    throw InputError(fmt::format("{}: {} header declares {}x{} = {} pixels, more than the limit "
                                 "of {} (QTUNE_MAX_IMAGE_PIXELS raises it)",
                                 name, format, w, h, w * h, limit));
}

// libjpeg-turbo reports a truncated or corrupt scan as a warning and fills the
// rest with grey; only stray bytes between markers leave the image whole.
bool harmless_jpeg_warning(const std::string &msg) {
  return msg.find("extraneous bytes") != std::string::npos;
}

Image decode_jpeg(std::string_view bytes, const std::string &name) {
  thread_local TjHandle tj; // one decompressor per worker thread, reused
  if (!tj.h)
    throw Error("cannot initialise libjpeg-turbo");
  auto *src = reinterpret_cast<const unsigned char *>(bytes.data());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.h, src, bytes.size(), &w, &h, &subsamp, &colorspace) != 0)
    throw InputError(name + ": corrupt JPEG header: " + tjGetErrorStr2(tj.h));
  check_dimensions(w, h, name, "JPEG");
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.resize(size_t(w) * h * 3);
  // Accurate integer DCT and fancy upsampling: libjpeg's defaults, which is what
  // OpenCV's and PIL's decoders use, so our pixels match theirs.
  if (tjDecompress2(tj.h, src, bytes.size(), img.pixels.data(), w, 0, h, TJPF_RGB,
                    TJFLAG_ACCURATEDCT) != 0) {
    std::string msg = tjGetErrorStr2(tj.h);
    if (tjGetErrorCode(tj.h) != TJERR_WARNING || !harmless_jpeg_warning(msg))
      throw InputError(name + ": corrupt or truncated JPEG data: " + msg);
  }
  return img;
}

// Colour-management and metadata chunks libpng ignores when it does not like
// them (an "incorrect sRGB profile" is common in real photos) leave the pixels
// intact; any CRC error, and every other warning, means damaged data.
bool harmless_png_warning(const std::string &msg) {
  if (msg.find("CRC") != std::string::npos)
    return false;
  for (const char *chunk : {"iCCP", "sRGB", "gAMA", "cHRM", "sBIT", "bKGD", "hIST", "pHYs", "tIME"})
    if (msg.rfind(chunk, 0) == 0)
      return true;
  return false;
}

Image decode_png(std::string_view bytes, const std::string &name) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()))
    throw InputError(name + ": corrupt PNG header: " + png.message);
  try {
    check_dimensions(png.width, png.height, name, "PNG");
  } catch (...) {
    png_image_free(&png);
    throw;
  }
  png.format = PNG_FORMAT_RGB; // alpha is composited onto black, 16-bit reduced
  Image img;
  img.width = static_cast<int>(png.width);
  img.height = static_cast<int>(png.height);
  img.channels = 3;
  img.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, img.pixels.data(), 0, nullptr)) {
    std::string msg = png.message;
    png_image_free(&png);
    throw InputError(name + ": corrupt PNG data: " + msg);
  }
  // libpng decodes past some damage with only a warning (extra image data, a
  // bad CRC in an ancillary chunk ...): like JPEG, that is a corrupt image.
  if ((png.warning_or_error & PNG_IMAGE_WARNING) && !harmless_png_warning(png.message))
    throw InputError(name + ": corrupt PNG data: " + png.message);
  return img;
}

} // namespace

Image decode_image(std::string_view bytes, const std::string &name) {
  if (is_jpeg(bytes))
    return decode_jpeg(bytes, name);
  if (is_png(bytes))
    return decode_png(bytes, name);
  if (bytes.empty())
    throw InputError(name + ": empty image data");
  throw InputError(name + ": not a JPEG or PNG image (unknown signature)");
}

std::string read_file_bytes(const std::string &path) {
  std::ifstream in = open_input_file(path);
  if (!in)
    throw InputError(path + ": cannot open file");
  in.seekg(0, std::ios::end);
  std::string bytes(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in)
    throw InputError(path + ": read error");
  return bytes;
}

Image load_image_file(const std::string &path) {
  return decode_image(read_file_bytes(path), path);
}

} // namespace qtune::data
