#include "data/model_input.h"

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "data/image_decode.h"
#include "data/transforms.h"
#include "ir/checked_size.h"
#include "ir/input_file.h"
#include "ir/model_summary.h"
#include "qtune/error.h"

namespace qtune::data {

namespace {

// A JPEG/PNG for an image-shaped input ([1,3,H,W] or [1,H,W,3]): decoded, RGB
// 0..255, resized (bilinear; TF1 convention for uint8 [1,H,W,3] inputs) to H x W
// when the input fixes them, else fed at the
// photo's own size (TensorFlow's uint8 image_tensor [1,-1,-1,3] resizes inside
// the graph). uint8 inputs get the pixels as uint8, others as float. Any other
// preprocessing (BGR, normalization, letterbox) belongs in a raw file or in
// `qtune evaluate`'s transforms.
Tensor read_image_input(const ValueInfo &vi, const std::string &file, const std::string &bytes) {
  auto dim = [&](size_t i) { return i < vi.dims.size() ? vi.dims[i].value : -1; };
  bool chw = vi.dims.size() == 4 && dim(1) == 3;
  bool hwc = vi.dims.size() == 4 && dim(3) == 3;
  if (!chw && !hwc)
    throw InputError(fmt::format("{}: an image cannot feed input '{}' of shape {} (needs "
                                 "[1,3,H,W] or [1,H,W,3]); pass a raw file (.f32, .u8) instead",
                                 file, vi.name, dims_str(vi)));
  int64_t h = chw ? dim(2) : dim(1), w = chw ? dim(3) : dim(2);
  Frame f = frame_from_image(decode_image(bytes, file));
  // A uint8 NHWC input is TensorFlow's image_tensor: resize as the Object
  // Detection API's fixed_shape_resizer does (TF1 bilinear, no half-pixel centres).
  const Coords coords = vi.dtype == DType::u8 && hwc ? Coords::tf_legacy : Coords::half_pixel;
  if (h > 0 || w > 0)
    f = resize_frame(f, w > 0 ? static_cast<int>(w) : f.width,
                     h > 0 ? static_cast<int>(h) : f.height, Interp::bilinear, coords);
  f.chw = chw;
  return frame_to_tensor(f, vi.dtype == DType::u8 ? DType::u8 : DType::f32);
}

// The element type a raw file's extension names (.f32, .u8 ...), or undefined.
DType dtype_of_extension(const std::string &file) {
  static const std::pair<const char *, DType> known[] = {
      {".f32", DType::f32}, {".f64", DType::f64}, {".f16", DType::f16}, {".u8", DType::u8},
      {".i8", DType::i8},   {".i32", DType::i32}, {".i64", DType::i64}};
  std::string ext = std::filesystem::path(file).extension().string();
  for (const auto &[e, t] : known)
    if (ext == e)
      return t;
  return DType::undefined;
}

// `--shape NAME=AxBxC`: non-negative integers separated by 'x'.
Shape parse_shape_arg(const std::string &name, const std::string &given) {
  Shape s;
  std::stringstream ss(given);
  std::string part;
  while (std::getline(ss, part, 'x')) {
    int64_t d = -1;
    const char *last = part.data() + part.size();
    auto [end, ec] = std::from_chars(part.data(), last, d);
    if (ec != std::errc() || end != last || d < 0)
      throw InputError(
          fmt::format("--shape {}={}: expected non-negative dims like 1x256x256x3", name, given));
    s.push_back(d);
  }
  return s;
}

// The input's shape: `--shape NAME=AxBxC` when given, else its declared dims with
// at most one unknown dim, which the file size decides. The declared dims come
// from the model file, so their product is checked before it divides anything.
Shape raw_input_shape(const ValueInfo &vi, const std::string &file, size_t bytes, DType dtype,
                      const std::string &given) {
  if (!given.empty())
    return parse_shape_arg(vi.name, given);
  Shape shape;
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < vi.dims.size(); ++i) {
    int64_t d = vi.dims[i].value;
    if (d < 0 && i == 0)
      d = 1; // batch
    if (d < 0 && unknown >= 0)
      throw InputError(fmt::format("{}: input '{}' has shape {} with several unknown dims; give "
                                   "--shape {}=AxBx...",
                                   file, vi.name, dims_str(vi), vi.name));
    if (d < 0)
      unknown = static_cast<int>(i);
    else if (__builtin_mul_overflow(known, d, &known))
      throw InputError(fmt::format("{}: input '{}' has shape {}: more elements than fit in 64 bits",
                                   file, vi.name, dims_str(vi)));
    shape.push_back(d);
  }
  if (unknown < 0)
    return shape;
  size_t slice = 0; // bytes per step of the unknown dim
  if (known == 0 || __builtin_mul_overflow(size_t(known), dtype_size(dtype), &slice) ||
      bytes % slice != 0)
    throw InputError(fmt::format("{}: {} bytes are not a whole number of input '{}' {} of {} "
                                 "(one unknown dim); give --shape {}=AxBx...",
                                 file, bytes, vi.name, dims_str(vi), dtype_name(dtype), vi.name));
  shape[unknown] = static_cast<int64_t>(bytes / slice);
  return shape;
}

// A photo by its name: a damaged .jpg must be reported as a damaged image, not
// as raw values of the wrong size.
static bool image_extension(const std::string &file) {
  std::string ext = std::filesystem::path(file).extension().string();
  for (char &c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

} // namespace

Tensor read_model_input(const ValueInfo &vi, const std::string &file,
                        const std::string &shape_arg) {
  {
    std::ifstream probe = open_input_file(file, "input file");
    char head[8] = {};
    probe.read(head, sizeof head);
    std::string_view magic(head, static_cast<size_t>(probe.gcount()));
    if (is_jpeg(magic) || is_png(magic) || image_extension(file))
      return read_image_input(vi, file, read_file_bytes(file));
  }
  std::ifstream f(file, std::ios::binary | std::ios::ate);
  if (!f)
    throw InputError(fmt::format("{}: cannot open input file for '{}'", file, vi.name));
  auto size = static_cast<size_t>(f.tellg());
  const DType dtype = vi.dtype == DType::undefined ? DType::f32 : vi.dtype;
  const DType named = dtype_of_extension(file);
  if (named != DType::undefined && named != dtype)
    throw InputError(fmt::format("{}: the file holds {} (by its extension) but input '{}' is {}",
                                 file, dtype_name(named), vi.name, dtype_name(dtype)));
  if (dtype_size(dtype) == 0) // strings have no raw layout (and sizes below divide by it)
    throw InputError(fmt::format("{}: input '{}' holds {}s, which a raw file cannot feed", file,
                                 vi.name, dtype_name(dtype)));
  const Shape shape = raw_input_shape(vi, file, size, dtype, shape_arg);
  size_t need = 0;
  try { // before allocating: a declared [2^20, 2^20] must not allocate 4 TiB
    need = shape_nbytes(shape, dtype);
  } catch (const InputError &e) {
    throw InputError(fmt::format("{}: input '{}': {}", file, vi.name, e.what()));
  }
  if (size != need)
    throw InputError(fmt::format("{}: {} bytes, input '{}' {} needs {} bytes of {}", file, size,
                                 vi.name, shape_str(shape), need, dtype_name(dtype)));
  Tensor t(dtype, shape);
  f.seekg(0);
  f.read(static_cast<char *>(t.raw()), static_cast<std::streamsize>(size));
  return t;
}

} // namespace qtune::data
