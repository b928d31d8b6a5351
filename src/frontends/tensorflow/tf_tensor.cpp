// TensorProto -> Tensor and TF DataType <-> DType. A TensorProto holds its values
// either packed little-endian in tensor_content or in the typed repeated field of
// its dtype; with fewer values than elements, TensorFlow repeats the last one
// (a scalar broadcast to the shape) and no values at all mean zeros.
#include <cstring>
#include <fmt/format.h>

#include "frontends/tensorflow/tf_io.h"
#include "frontends/tensorflow/tf_source.h"
#include "qtune/error.h"

namespace qtune::tf {

namespace {

constexpr int kRefOffset = 100; // DT_FLOAT_REF = DT_FLOAT + 100 ...
constexpr uint64_t kMaxBroadcastBytes = uint64_t(1) << 31;

struct TypePair {
  int tf;
  DType ours;
};
// The first entry for a DType is the one dtype_to_tf() picks.
constexpr TypePair kTypes[] = {
    {tensorflow::DT_FLOAT, DType::f32},     {tensorflow::DT_DOUBLE, DType::f64},
    {tensorflow::DT_INT32, DType::i32},     {tensorflow::DT_UINT8, DType::u8},
    {tensorflow::DT_INT16, DType::i16},     {tensorflow::DT_INT8, DType::i8},
    {tensorflow::DT_STRING, DType::string}, {tensorflow::DT_INT64, DType::i64},
    {tensorflow::DT_BOOL, DType::boolean},  {tensorflow::DT_BFLOAT16, DType::bf16},
    {tensorflow::DT_UINT16, DType::u16},    {tensorflow::DT_HALF, DType::f16},
    {tensorflow::DT_UINT32, DType::u32},    {tensorflow::DT_UINT64, DType::u64},
    {tensorflow::DT_QINT8, DType::i8},      {tensorflow::DT_QUINT8, DType::u8},
    {tensorflow::DT_QINT32, DType::i32},    {tensorflow::DT_QINT16, DType::i16},
    {tensorflow::DT_QUINT16, DType::u16},
};

std::string tf_type_name(int t) {
  if (tensorflow::DataType_IsValid(t))
    return tensorflow::DataType_Name(static_cast<tensorflow::DataType>(t));
  return fmt::format("DataType {}", t);
}

Shape shape_of(const tensorflow::TensorProto &p, const std::string &where) {
  const auto &sp = p.tensor_shape();
  if (sp.unknown_rank())
    throw InputError(fmt::format("{}: constant tensor of unknown rank", where));
  Shape shape;
  for (const auto &d : sp.dim()) {
    if (d.size() < 0)
      throw InputError(fmt::format("{}: constant tensor with unknown dimension", where));
    shape.push_back(d.size());
  }
  return shape;
}

// Copies `vals` (converted to T) into t, repeating the last value to fill the shape.
template <typename T, typename Field>
void fill_from(Tensor &t, const Field &vals, const std::string &where, const char *field) {
  const int64_t n = t.numel(), k = vals.size();
  if (k > n)
    throw InputError(fmt::format("{}: {} has {} values for shape {} ({} elements)", where, field, k,
                                 shape_str(t.shape()), n));
  T *dst = t.data<T>();
  for (int64_t i = 0; i < k; ++i)
    dst[i] = static_cast<T>(vals.Get(static_cast<int>(i)));
  for (int64_t i = k; k > 0 && i < n; ++i)
    dst[i] = dst[k - 1];
}

void fill_strings(Tensor &t, const tensorflow::TensorProto &p, const std::string &where) {
  const int64_t n = t.numel(), k = p.string_val_size();
  if (k > n)
    throw InputError(
        fmt::format("{}: string_val has {} values for shape {}", where, k, shape_str(t.shape())));
  for (int64_t i = 0; i < n; ++i)
    t.strings[i] = k == 0 ? std::string() : p.string_val(static_cast<int>(std::min(i, k - 1)));
}

void fill_typed(Tensor &t, const tensorflow::TensorProto &p, const std::string &where) {
  switch (t.dtype()) {
  case DType::f32:
    return fill_from<float>(t, p.float_val(), where, "float_val");
  case DType::f64:
    return fill_from<double>(t, p.double_val(), where, "double_val");
  case DType::i32:
    return fill_from<int32_t>(t, p.int_val(), where, "int_val");
  case DType::i16:
    return fill_from<int16_t>(t, p.int_val(), where, "int_val");
  case DType::i8:
    return fill_from<int8_t>(t, p.int_val(), where, "int_val");
  case DType::u8:
    return fill_from<uint8_t>(t, p.int_val(), where, "int_val");
  case DType::u16:
    return fill_from<uint16_t>(t, p.int_val(), where, "int_val");
  case DType::i64:
    return fill_from<int64_t>(t, p.int64_val(), where, "int64_val");
  case DType::boolean:
    return fill_from<bool>(t, p.bool_val(), where, "bool_val");
  case DType::f16: // half_val holds the 16-bit pattern of each value
  case DType::bf16:
    return fill_from<uint16_t>(t, p.half_val(), where, "half_val");
  case DType::u32:
    return fill_from<uint32_t>(t, p.uint32_val(), where, "uint32_val");
  case DType::u64:
    return fill_from<uint64_t>(t, p.uint64_val(), where, "uint64_val");
  case DType::string:
    return fill_strings(t, p, where);
  default:
    throw UnsupportedError(fmt::format("{}: constant of dtype {}", where, dtype_name(t.dtype())));
  }
}

} // namespace

DType dtype_from_tf(int tf_dtype) {
  int base = tf_dtype > kRefOffset ? tf_dtype - kRefOffset : tf_dtype;
  for (const auto &tp : kTypes)
    if (tp.tf == base)
      return tp.ours;
  throw UnsupportedError(
      fmt::format("TensorFlow dtype {} is not supported", tf_type_name(tf_dtype)));
}

int dtype_to_tf(DType dtype) {
  for (const auto &tp : kTypes)
    if (tp.ours == dtype)
      return tp.tf;
  throw UnsupportedError(fmt::format("dtype {} has no TensorFlow equivalent", dtype_name(dtype)));
}

Tensor tensor_from_tf(const tensorflow::TensorProto &p, const std::string &where) {
  DType dtype;
  try {
    dtype = dtype_from_tf(p.dtype());
  } catch (const UnsupportedError &e) {
    throw UnsupportedError(fmt::format("{}: {}", where, e.what()));
  }
  Shape shape = shape_of(p, where);
  const int64_t numel = checked_numel(shape, where);
  const uint64_t nbytes = uint64_t(numel) * dtype_size(dtype);
  const std::string &content = p.tensor_content();
  if (content.empty() || dtype == DType::string) {
    // Values repeated to fill the shape: refuse absurd sizes before allocating.
    if (nbytes > kMaxBroadcastBytes)
      throw InputError(fmt::format("{}: constant of shape {} ({} bytes) is too large", where,
                                   shape_str(shape), nbytes));
    Tensor t(dtype, std::move(shape));
    fill_typed(t, p, where);
    return t;
  }
  if (content.size() != nbytes)
    throw InputError(fmt::format("{}: tensor_content has {} bytes, shape {} of {} needs {}", where,
                                 content.size(), shape_str(shape), dtype_name(dtype), nbytes));
  Tensor t(dtype, std::move(shape));
  std::memcpy(t.raw(), content.data(), content.size());
  return t;
}

} // namespace qtune::tf
