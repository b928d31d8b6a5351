// TensorProto <-> Tensor: typed fields (float_data, int32_data ...), raw_data
// (little-endian) and external data files (location/offset/length).
#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <onnx/onnx_pb.h>

#include "frontends/onnx/onnx_import.h"
#include "ir/checked_size.h"
#include "ir/input_file.h"
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

// An external-data `offset` / `length` value: a decimal integer >= 0.
int64_t external_int(const onnx::TensorProto &p, const std::string &key, const std::string &v) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || out < 0)
    throw InputError(fmt::format("{}: external data '{}' is '{}', not an integer in [0, 2^63)",
                                 tensor_label(p), key, v));
  return out;
}

// True when `inner` (canonical) lies inside `dir` (canonical).
// Where an external tensor's bytes are: a regular file inside the model's
// folder (a downloaded model must not read /etc/passwd or ../../secrets into
// its weights), `offset` and `length` checked against the file before any
// allocation.
struct ExternalSource {
  std::string file;
  int64_t offset = 0;
};

ExternalSource external_source(const onnx::TensorProto &p, const std::string &model_dir,
                               size_t nbytes) {
  namespace fs = std::filesystem;
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : p.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    if (kv.key() == "offset")
      offset = external_int(p, "offset", kv.value());
    if (kv.key() == "length")
      length = external_int(p, "length", kv.value());
  }
  if (location.empty())
    throw InputError(fmt::format("{}: external data without a 'location'", tensor_label(p)));
  fs::path file = confined_path(model_dir, location, tensor_label(p), "external data location");
  std::error_code ec;
  require_regular_file(file.string(), "external data file");
  if (!fs::exists(file))
    throw InputError(
        fmt::format("{}: external data file '{}' not found", tensor_label(p), file.string()));
  if (length >= 0 && static_cast<size_t>(length) != nbytes)
    throw InputError(fmt::format("{}: external data length {} does not match {} bytes of its shape",
                                 tensor_label(p), length, nbytes));
  uint64_t size = fs::file_size(file, ec);
  if (ec || static_cast<uint64_t>(offset) > size || size - offset < nbytes)
    throw InputError(fmt::format("{}: external data file '{}' is too short (need {} bytes at {}, "
                                 "file has {})",
                                 tensor_label(p), file.string(), nbytes, offset, size));
  return {file.string(), offset};
}

// Reads `nbytes` at the source's offset into `dst`.
void read_external(const onnx::TensorProto &p, const ExternalSource &src, void *dst,
                   size_t nbytes) {
  std::ifstream in = open_input_file(src.file, "external data file");
  in.seekg(src.offset);
  in.read(static_cast<char *>(dst), static_cast<std::streamsize>(nbytes));
  if (!in || static_cast<size_t>(in.gcount()) != nbytes)
    throw InputError(fmt::format("{}: external data file '{}' is too short (need {} bytes at {})",
                                 tensor_label(p), src.file, nbytes, src.offset));
}

// The values must be in the proto before their size is allocated: a shape of
// 3 GiB with no data must not cost 3 GiB first. (copy_field checks the exact
// field of the dtype afterwards.)
void check_inline_data_size(const onnx::TensorProto &p, DType dt, const Shape &shape,
                            size_t nbytes) {
  int64_t numel = shape_numel(shape);
  if (dt == DType::string) {
    if (p.string_data_size() != numel)
      throw InputError(fmt::format("{}: has {} strings, shape {} needs {}", tensor_label(p),
                                   p.string_data_size(), shape_str(shape), numel));
  } else if (p.has_raw_data()) {
    if (p.raw_data().size() != nbytes)
      throw InputError(fmt::format("{}: raw_data has {} bytes, shape {} of {} needs {}",
                                   tensor_label(p), p.raw_data().size(), shape_str(shape),
                                   dtype_name(dt), nbytes));
  } else {
    int64_t values = std::max({p.float_data_size(), p.int32_data_size(), p.int64_data_size(),
                               p.double_data_size(), p.uint64_data_size()});
    if (values != numel)
      throw InputError(fmt::format("{}: has {} values, shape {} needs {}", tensor_label(p), values,
                                   shape_str(shape), numel));
  }
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
  size_t nbytes = 0;
  try {
    nbytes = shape_nbytes(shape, dt);
  } catch (const InputError &e) {
    throw InputError(fmt::format("{}: {}", tensor_label(p), e.what()));
  }
  ExternalSource external;
  if (dt != DType::string && p.data_location() == onnx::TensorProto::EXTERNAL)
    external = external_source(p, model_dir, nbytes);
  else
    check_inline_data_size(p, dt, shape, nbytes);
  Tensor t(dt, shape);
  if (dt == DType::string) {
    if (static_cast<int64_t>(p.string_data_size()) != t.numel())
      throw InputError(fmt::format("{}: has {} strings, shape {} needs {}", tensor_label(p),
                                   p.string_data_size(), shape_str(shape), t.numel()));
    t.strings.assign(p.string_data().begin(), p.string_data().end());
    return t;
  }
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    read_external(p, external, t.raw(), t.nbytes());
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
  std::ifstream in = open_input_file(path, "tensor file");
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
