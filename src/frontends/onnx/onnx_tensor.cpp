// TensorProto <-> Tensor: typed fields (float_data, int32_data ...), raw_data
// (little-endian) and external data files (location/offset/length).
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <onnx/onnx_pb.h>

#include "frontends/onnx/onnx_import.h"
#include "ir/checked_size.h"
#include "qtune/error.h"

namespace qtune {

namespace {
struct TypePair {
  int onnx;
  DType ours;
};
constexpr TypePair kTypes[] = {
    {onnx::TensorProto::FLOAT, DType::f32},    {onnx::TensorProto::UINT8, DType::u8},
    {onnx::TensorProto::INT8, DType::i8},      {onnx::TensorProto::UINT16, DType::u16},
    {onnx::TensorProto::INT16, DType::i16},    {onnx::TensorProto::INT32, DType::i32},
    {onnx::TensorProto::INT64, DType::i64},    {onnx::TensorProto::STRING, DType::string},
    {onnx::TensorProto::BOOL, DType::boolean}, {onnx::TensorProto::FLOAT16, DType::f16},
    {onnx::TensorProto::DOUBLE, DType::f64},   {onnx::TensorProto::UINT32, DType::u32},
    {onnx::TensorProto::UINT64, DType::u64},   {onnx::TensorProto::BFLOAT16, DType::bf16},
};

std::string tensor_label(const onnx::TensorProto &p) {
  return p.name().empty() ? std::string("tensor") : fmt::format("tensor '{}'", p.name());
}

// Reads `length` bytes at `offset` of an external data file into `dst`.
void read_external(const onnx::TensorProto &p, const std::string &model_dir, void *dst,
                   size_t nbytes) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : p.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    if (kv.key() == "offset")
      offset = std::stoll(kv.value());
    if (kv.key() == "length")
      length = std::stoll(kv.value());
  }
  if (location.empty())
    throw InputError(fmt::format("{}: external data without a 'location'", tensor_label(p)));
  auto file = std::filesystem::path(model_dir) / location;
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw InputError(
        fmt::format("{}: external data file '{}' not found", tensor_label(p), file.string()));
  if (length >= 0 && static_cast<size_t>(length) != nbytes)
    throw InputError(fmt::format("{}: external data length {} does not match {} bytes of its shape",
                                 tensor_label(p), length, nbytes));
  in.seekg(offset);
  in.read(static_cast<char *>(dst), static_cast<std::streamsize>(nbytes));
  if (!in || static_cast<size_t>(in.gcount()) != nbytes)
    throw InputError(fmt::format("{}: external data file '{}' is too short (need {} bytes at {})",
                                 tensor_label(p), file.string(), nbytes, offset));
}

template <typename Dst, typename Field>
void copy_field(const onnx::TensorProto &p, const Field &field, Tensor &t) {
  if (static_cast<int64_t>(field.size()) != t.numel())
    throw InputError(fmt::format("{}: has {} values, shape {} needs {}", tensor_label(p),
                                 field.size(), shape_str(t.shape()), t.numel()));
  Dst *out = t.data<Dst>();
  for (int i = 0; i < field.size(); ++i)
    out[i] = static_cast<Dst>(field.Get(i));
}

void copy_typed_fields(const onnx::TensorProto &p, Tensor &t) {
  switch (t.dtype()) {
  case DType::f32:
    copy_field<float>(p, p.float_data(), t);
    break;
  case DType::f64:
    copy_field<double>(p, p.double_data(), t);
    break;
  case DType::i64:
    copy_field<int64_t>(p, p.int64_data(), t);
    break;
  case DType::u32:
    copy_field<uint32_t>(p, p.uint64_data(), t);
    break;
  case DType::u64:
    copy_field<uint64_t>(p, p.uint64_data(), t);
    break;
  case DType::i32:
    copy_field<int32_t>(p, p.int32_data(), t);
    break;
  case DType::i16:
    copy_field<int16_t>(p, p.int32_data(), t);
    break;
  case DType::u16:
    copy_field<uint16_t>(p, p.int32_data(), t);
    break;
  case DType::i8:
    copy_field<int8_t>(p, p.int32_data(), t);
    break;
  case DType::u8:
    copy_field<uint8_t>(p, p.int32_data(), t);
    break;
  case DType::boolean:
    copy_field<bool>(p, p.int32_data(), t);
    break;
  // f16/bf16 travel as their bit patterns in int32_data.
  case DType::f16:
  case DType::bf16:
    copy_field<uint16_t>(p, p.int32_data(), t);
    break;
  default:
    throw UnsupportedError(fmt::format("{}: dtype {}", tensor_label(p), dtype_name(t.dtype())));
  }
}
} // namespace

DType dtype_from_onnx(int onnx_type) {
  for (const auto &tp : kTypes)
    if (tp.onnx == onnx_type)
      return tp.ours;
  return DType::undefined;
}

int dtype_to_onnx(DType t) {
  for (const auto &tp : kTypes)
    if (tp.ours == t)
      return tp.onnx;
  return onnx::TensorProto::UNDEFINED;
}

Tensor tensor_from_proto(const onnx::TensorProto &p, const std::string &model_dir) {
  DType dt = dtype_from_onnx(p.data_type());
  if (dt == DType::undefined)
    throw UnsupportedError(
        fmt::format("{}: ONNX data type {} is not supported", tensor_label(p), p.data_type()));
  if (p.has_segment())
    throw UnsupportedError(fmt::format("{}: segmented tensors are not supported", tensor_label(p)));
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape)
    if (d < 0)
      throw InputError(fmt::format("{}: negative dimension {}", tensor_label(p), d));
  try {
    (void)shape_nbytes(shape, dt);
  } catch (const InputError &e) {
    throw InputError(fmt::format("{}: {}", tensor_label(p), e.what()));
  }
  Tensor t(dt, shape);
  if (dt == DType::string) {
    if (static_cast<int64_t>(p.string_data_size()) != t.numel())
      throw InputError(fmt::format("{}: has {} strings, shape {} needs {}", tensor_label(p),
                                   p.string_data_size(), shape_str(shape), t.numel()));
    t.strings.assign(p.string_data().begin(), p.string_data().end());
    return t;
  }
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    read_external(p, model_dir, t.raw(), t.nbytes());
  } else if (p.has_raw_data()) {
    if (p.raw_data().size() != t.nbytes())
      throw InputError(fmt::format("{}: raw_data has {} bytes, shape {} of {} needs {}",
                                   tensor_label(p), p.raw_data().size(), shape_str(shape),
                                   dtype_name(dt), t.nbytes()));
    if (t.nbytes())
      std::memcpy(t.raw(), p.raw_data().data(), t.nbytes());
  } else {
    copy_typed_fields(p, t);
  }
  return t;
}

Tensor load_tensor_pb(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(fmt::format("{}: cannot open tensor file", path));
  onnx::TensorProto p;
  if (!p.ParseFromIstream(&in))
    throw InputError(fmt::format("{}: not a valid ONNX TensorProto", path));
  try {
    return tensor_from_proto(p, std::filesystem::path(path).parent_path().string());
  } catch (const InputError &e) {
    throw InputError(fmt::format("{}: {}", path, e.what()));
  }
}

void tensor_to_proto(const Tensor &t, const std::string &name, onnx::TensorProto &p) {
  p.Clear();
  p.set_name(name);
  int code = dtype_to_onnx(t.dtype());
  if (code == onnx::TensorProto::UNDEFINED)
    throw UnsupportedError(
        fmt::format("tensor '{}': dtype {} has no ONNX equivalent", name, dtype_name(t.dtype())));
  p.set_data_type(code);
  for (int64_t d : t.shape())
    p.add_dims(d);
  if (t.dtype() == DType::string) {
    for (const auto &s : t.strings)
      p.add_string_data(s);
    return;
  }
  p.set_raw_data(t.raw(), t.nbytes());
}

} // namespace qtune
