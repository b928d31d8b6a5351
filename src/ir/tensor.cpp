#include "qtune/tensor.h"

#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

#include "ir/checked_size.h"
#include "qtune/error.h"

namespace qtune {

// Checked: a malformed model's dims must not wrap into a small or negative size.
int64_t shape_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      throw InputError(
          fmt::format("shape {} has more elements than fit in 64 bits", shape_str(shape)));
  return n;
}

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    throw InputError(fmt::format("{} {} x {} overflows 64 bits", what, a, b));
  return r;
}

size_t shape_nbytes(std::span<const int64_t> shape, DType dtype) {
  int64_t n = shape_numel(shape);
  size_t bytes = 0;
  if (n < 0 || __builtin_mul_overflow(static_cast<size_t>(n), dtype_size(dtype), &bytes))
    throw InputError(fmt::format("shape {} of {} has more bytes than fit in 64 bits",
                                 shape_str(shape), dtype_name(dtype)));
  return bytes;
}

std::string shape_str(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) throw Error("Tensor: negative dimension in shape " + shape_str(shape_));
  if (dtype == DType::string) {
    strings.resize(static_cast<size_t>(numel()));
    return;
  }
  size_t bytes = shape_nbytes(shape_, dtype);
  size_t alloc = (bytes + 63) / 64 * 64;
  if (alloc == 0) alloc = 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p) throw Error("Tensor: out of memory allocating " + std::to_string(alloc) + " bytes");
  std::memset(p, 0, alloc);
  storage_ = std::shared_ptr<void>(p, std::free);
  data_ = p;
}

Tensor Tensor::view(DType dtype, Shape shape, void* data, std::shared_ptr<void> keep_alive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.storage_ = std::move(keep_alive);
  return t;
}

Tensor Tensor::scalar_f32(float v) { return from_vector<float>({}, {v}); }
Tensor Tensor::scalar_i64(int64_t v) { return from_vector<int64_t>({}, {v}); }

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel())
    throw Error(fmt::format("cannot reshape {} to {}", shape_str(shape_), shape_str(shape)));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (dtype_ == DType::string)
    t.strings = strings;
  else if (nbytes())
    std::memcpy(t.data_, data_, nbytes());
  return t;
}

namespace {
template <typename F> auto visit_scalar(DType t, const void* base, int64_t i, F&& f) {
  switch (t) {
  case DType::f32: return f(static_cast<const float*>(base)[i]);
  case DType::f64: return f(static_cast<const double*>(base)[i]);
  case DType::f16: return f(f16_to_f32(static_cast<const uint16_t*>(base)[i]));
  case DType::bf16: return f(bf16_to_f32(static_cast<const uint16_t*>(base)[i]));
  case DType::i8: return f(static_cast<const int8_t*>(base)[i]);
  case DType::u8: return f(static_cast<const uint8_t*>(base)[i]);
  case DType::i16: return f(static_cast<const int16_t*>(base)[i]);
  case DType::u16: return f(static_cast<const uint16_t*>(base)[i]);
  case DType::i32: return f(static_cast<const int32_t*>(base)[i]);
  case DType::u32: return f(static_cast<const uint32_t*>(base)[i]);
  case DType::i64: return f(static_cast<const int64_t*>(base)[i]);
  case DType::u64: return f(static_cast<const uint64_t*>(base)[i]);
  case DType::boolean: return f(static_cast<const bool*>(base)[i]);
  default: throw Error("tensor element access on dtype " + std::string(dtype_name(t)));
  }
}

template <typename Dst, typename Src> Dst convert(Src v) {
  if constexpr (std::is_same_v<Dst, bool>)
    return v != Src(0);
  else
    return static_cast<Dst>(v);
}

template <typename Dst, typename Src> void convert_all(const Src* in, Dst* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = convert<Dst>(in[i]);
}

// One dtype dispatch per tensor, then a plain loop the compiler vectorizes: the
// per-element visit_scalar switch made the uint8 image cast of a TF detection
// graph (256x256x3) cost 0.66 ms. f16/bf16 sources decode element by element.
template <typename Dst> void cast_into(const Tensor& src, Dst* out) {
  const int64_t n = src.numel();
  const void* b = src.raw();
  switch (src.dtype()) {
  case DType::f32: return convert_all(static_cast<const float*>(b), out, n);
  case DType::f64: return convert_all(static_cast<const double*>(b), out, n);
  case DType::i8: return convert_all(static_cast<const int8_t*>(b), out, n);
  case DType::u8: return convert_all(static_cast<const uint8_t*>(b), out, n);
  case DType::i16: return convert_all(static_cast<const int16_t*>(b), out, n);
  case DType::u16: return convert_all(static_cast<const uint16_t*>(b), out, n);
  case DType::i32: return convert_all(static_cast<const int32_t*>(b), out, n);
  case DType::u32: return convert_all(static_cast<const uint32_t*>(b), out, n);
  case DType::i64: return convert_all(static_cast<const int64_t*>(b), out, n);
  case DType::u64: return convert_all(static_cast<const uint64_t*>(b), out, n);
  case DType::boolean: return convert_all(static_cast<const bool*>(b), out, n);
  default:
    for (int64_t i = 0; i < n; ++i)
      out[i] = visit_scalar(src.dtype(), b, i, [](auto v) { return convert<Dst>(v); });
  }
}
} // namespace

double Tensor::get_f64(int64_t i) const {
  return visit_scalar(dtype_, data_, i, [](auto v) { return static_cast<double>(v); });
}

int64_t Tensor::get_i64(int64_t i) const {
  return visit_scalar(dtype_, data_, i, [](auto v) { return static_cast<int64_t>(v); });
}

std::vector<int64_t> Tensor::to_i64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[i] = get_i64(i);
  return v;
}

std::vector<float> Tensor::to_f32_vector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[i] = static_cast<float>(get_f64(i));
  return v;
}

Tensor Tensor::cast(DType to) const {
  if (to == dtype_) return clone();
  Tensor out(to, shape_);
  cast_to(out);
  return out;
}

void Tensor::cast_to(Tensor& out) const {
  if (out.numel() != numel())
    throw Error(fmt::format("cast_to: {} elements into {}", numel(), out.numel()));
  const DType to = out.dtype();
  if (to == dtype_) {
    if (dtype_ == DType::string)
      out.strings = strings;
    else if (nbytes())
      std::memcpy(out.raw(), data_, nbytes());
    return;
  }
  switch (to) {
  case DType::f32: cast_into(*this, out.data<float>()); break;
  case DType::f64: cast_into(*this, out.data<double>()); break;
  case DType::i8: cast_into(*this, out.data<int8_t>()); break;
  case DType::u8: cast_into(*this, out.data<uint8_t>()); break;
  case DType::i16: cast_into(*this, out.data<int16_t>()); break;
  case DType::u16: cast_into(*this, out.data<uint16_t>()); break;
  case DType::i32: cast_into(*this, out.data<int32_t>()); break;
  case DType::u32: cast_into(*this, out.data<uint32_t>()); break;
  case DType::i64: cast_into(*this, out.data<int64_t>()); break;
  case DType::u64: cast_into(*this, out.data<uint64_t>()); break;
  case DType::boolean: cast_into(*this, out.data<bool>()); break;
  case DType::f16:
  case DType::bf16: {
    auto* o = out.data<uint16_t>();
    for (int64_t i = 0; i < numel(); ++i) {
      float f = static_cast<float>(get_f64(i));
      o[i] = to == DType::f16 ? f32_to_f16(f) : f32_to_bf16(f);
    }
    break;
  }
  default: throw UnsupportedError("cast to " + std::string(dtype_name(to)));
  }
}

} // namespace qtune
