// TensorFlow.js graph models: model.json holds `modelTopology` (a GraphDef in
// protobuf's JSON mapping), `weightsManifest` (groups of shard files whose bytes,
// concatenated in order, hold the group's weights one after the other) and an
// optional `signature`. Quantized weights are stored as uint8/uint16 (value =
// q * scale + min) or float16 and restored to their original dtype.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <map>
#include <nlohmann/json.hpp>

#include "frontends/tensorflow/tf_io.h"
#include "frontends/tensorflow/tf_source.h"
#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune::tf {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A weight group's files concatenated, and where its next weight starts.
struct GroupBytes {
  std::string bytes, files; // files: "a.bin, b.bin" for messages
  size_t pos = 0;
};

GroupBytes read_group(const json &paths, const fs::path &dir, const std::string &where) {
  if (!paths.is_array())
    throw InputError(fmt::format("{}: 'paths' is not a list", where));
  GroupBytes g;
  for (const auto &p : paths) {
    if (!p.is_string())
      throw InputError(fmt::format("{}: a weight file path is not a string", where));
    fs::path file = confined_path(dir.string(), p.get<std::string>(), where, "weight file path");
    require_regular_file(file.string(), "weight file");
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
      throw InputError(fmt::format("{}: weight file '{}' not found", where, file.string()));
    g.bytes += read_file_bytes(file.string());
    g.files += (g.files.empty() ? "" : ", ") + p.get<std::string>();
  }
  return g;
}

Shape weight_shape(const json &w, const std::string &where) {
  if (!w.contains("shape") || !w["shape"].is_array())
    throw InputError(fmt::format("{}: no 'shape' list", where));
  Shape shape;
  for (const auto &d : w["shape"]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      throw InputError(fmt::format("{}: bad dimension {} in 'shape'", where, d.dump()));
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

DType tfjs_dtype(const std::string &name, const std::string &where) {
  static const std::map<std::string, DType> m = {
      {"float32", DType::f32}, {"int32", DType::i32},   {"bool", DType::boolean},
      {"uint8", DType::u8},    {"uint16", DType::u16},  {"float16", DType::f16},
      {"int8", DType::i8},     {"int16", DType::i16},   {"string", DType::string},
      {"int64", DType::i64},   {"float64", DType::f64}, {"uint32", DType::u32}};
  auto it = m.find(name);
  if (it == m.end())
    throw UnsupportedError(fmt::format("{}: weight dtype '{}' is not supported", where, name));
  return it->second;
}

// `n` bytes of the group for the weight at `where`; InputError when they run out.
const char *take(GroupBytes &g, uint64_t n, const std::string &where) {
  if (n > g.bytes.size() - g.pos)
    throw InputError(fmt::format("{}: needs bytes [{}, {}) of its weight files ({}) but they hold "
                                 "{} bytes",
                                 where, g.pos, g.pos + n, g.files, g.bytes.size()));
  const char *p = g.bytes.data() + g.pos;
  g.pos += n;
  return p;
}

// String weights: each element a little-endian uint32 byte count, then the bytes.
Tensor string_weight(Shape shape, GroupBytes &g, const std::string &where) {
  const uint64_t n = uint64_t(checked_numel(shape, where));
  if (4 * n > g.bytes.size() - g.pos) // a 4-byte length per string, before allocating
    throw InputError(fmt::format("{}: {} strings need at least {} bytes, {} are left", where, n,
                                 4 * n, g.bytes.size() - g.pos));
  Tensor t(DType::string, std::move(shape));
  for (auto &s : t.strings) {
    const auto *len = reinterpret_cast<const uint8_t *>(take(g, 4, where));
    size_t n = len[0] | len[1] << 8 | len[2] << 16 | size_t(len[3]) << 24;
    s.assign(take(g, n, where), n);
  }
  return t;
}

Tensor dequantize(const json &q, Shape shape, DType original, GroupBytes &g,
                  const std::string &where) {
  DType stored = tfjs_dtype(q.value("dtype", ""), where + " quantization");
  const char *bytes = take(g, uint64_t(checked_numel(shape, where)) * dtype_size(stored), where);
  Tensor raw(stored, shape);
  std::memcpy(raw.raw(), bytes, raw.nbytes());
  if (stored == DType::f16)
    return raw.cast(original);
  if (stored != DType::u8 && stored != DType::u16)
    throw UnsupportedError(fmt::format("{}: quantization dtype '{}'", where, q.value("dtype", "")));
  if (!q.contains("scale") || !q.contains("min"))
    throw InputError(fmt::format("{}: quantization without 'scale' and 'min'", where));
  const double scale = q["scale"].get<double>(), min = q["min"].get<double>();
  Tensor f(DType::f32, shape);
  float *dst = f.data<float>();
  for (int64_t i = 0; i < raw.numel(); ++i)
    dst[i] = static_cast<float>(raw.get_f64(i) * scale + min);
  if (original == DType::i32) // TF.js rounds dequantized integers
    for (float &v : f.span<float>())
      v = std::round(v);
  return original == DType::f32 ? f : f.cast(original);
}

Tensor read_weight(const json &w, GroupBytes &g, const std::string &where) {
  Shape shape = weight_shape(w, where);
  DType dtype = tfjs_dtype(w.value("dtype", ""), where);
  if (w.contains("quantization"))
    return dequantize(w["quantization"], std::move(shape), dtype, g, where);
  if (dtype == DType::string)
    return string_weight(std::move(shape), g, where);
  const char *bytes = take(g, uint64_t(checked_numel(shape, where)) * dtype_size(dtype), where);
  Tensor t(dtype, std::move(shape));
  std::memcpy(t.raw(), bytes, t.nbytes());
  return t;
}

void read_weights(const json &manifest, const fs::path &dir, const std::string &file,
                  ModelSource &src) {
  if (!manifest.is_array())
    throw InputError(fmt::format("{}: 'weightsManifest' is not a list", file));
  for (size_t gi = 0; gi < manifest.size(); ++gi) {
    std::string group_where = fmt::format("{}: weightsManifest[{}]", file, gi);
    const json &group = manifest[gi];
    GroupBytes g = read_group(group.value("paths", json()), dir, group_where);
    const json &weights = group.value("weights", json::array());
    for (size_t wi = 0; wi < weights.size(); ++wi) {
      std::string name = weights[wi].value("name", "");
      std::string where = fmt::format("{}.weights[{}] '{}'", group_where, wi, name);
      if (name.empty())
        throw InputError(fmt::format("{}: weight without a name", where));
      src.variables[name] = read_weight(weights[wi], g, where);
    }
    if (g.pos != g.bytes.size())
      throw InputError(fmt::format("{}: weight files ({}) hold {} bytes but the weights use {}",
                                   group_where, g.files, g.bytes.size(), g.pos));
  }
}

std::vector<std::string> signature_tensors(const json &sig, const char *key) {
  std::vector<std::string> out; // nlohmann objects iterate in key order
  if (sig.contains(key) && sig[key].is_object())
    for (const auto &[k, info] : sig[key].items())
      out.push_back(strip_output_zero(info.is_object() ? info.value("name", k) : k));
  return out;
}

// The weights replace the topology's placeholder values: a Const whose value is
// in the weight files carries only dtype and shape in `value`.
void drop_placeholder_values(ModelSource &src) {
  for (auto &n : *src.graph.mutable_node())
    if (n.op() == "Const" && src.variables.count(n.name()))
      n.mutable_attr()->erase("value");
}

} // namespace

ModelSource read_tfjs(const std::string &model_json) {
  ModelSource src;
  src.path = model_json;
  json doc;
  try {
    doc = json::parse(read_file_bytes(model_json));
  } catch (const json::parse_error &e) {
    throw InputError(fmt::format("{}: not valid JSON at byte offset {}", model_json, e.byte));
  } catch (const json::exception &) { // out_of_range.406: "1e999", no double holds it
    throw InputError(fmt::format("{}: not valid JSON (a number out of range)", model_json));
  }
  if (!doc.is_object() || !doc.contains("modelTopology"))
    throw InputError(fmt::format("{}: no 'modelTopology' (not a TF.js graph model)", model_json));
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status =
      google::protobuf::util::JsonStringToMessage(doc["modelTopology"].dump(), &src.graph, options);
  if (!status.ok())
    throw InputError(fmt::format("{}: modelTopology is not a GraphDef: {}", model_json,
                                 std::string(status.message())));
  require_nodes(src.graph, model_json);
  try {
    read_weights(doc.value("weightsManifest", json::array()), fs::path(model_json).parent_path(),
                 model_json, src);
  } catch (const json::exception &e) { // a field of the wrong JSON type
    throw InputError(fmt::format("{}: weightsManifest: {}", model_json, e.what()));
  }
  if (doc.contains("signature") && doc["signature"].is_object()) {
    src.inputs = signature_tensors(doc["signature"], "inputs");
    src.outputs = signature_tensors(doc["signature"], "outputs");
  }
  drop_placeholder_values(src);
  return src;
}

} // namespace qtune::tf
