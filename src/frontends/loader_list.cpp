// The model loaders, in the order load_model() tries them. Adding a format:
// write its loader function and add one entry here.
#include <filesystem>
#include <fstream>

#include "frontends/model_loader.h"
#include "frontends/onnx/onnx_import.h"
#include "frontends/tensorflow/tf_import.h"

namespace qtune {

namespace {

bool has_extension(const std::string &path, const char *ext) {
  return std::filesystem::path(path).extension() == ext;
}

bool is_regular(const std::string &path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// The first protobuf tag byte tells the two binary formats apart: an ONNX
// ModelProto starts with ir_version (field 1, varint: 0x08), a TensorFlow
// GraphDef with a node (field 1, bytes: 0x0a).
constexpr char kOnnxFirstByte = 0x08;
constexpr char kGraphDefFirstByte = 0x0a;

bool first_byte_is(const std::string &path, char expected) {
  std::ifstream f(path, std::ios::binary);
  char c = 0;
  return f.get(c) && c == expected;
}

bool has_text_proto_extension(const std::string &path) {
  return has_extension(path, ".pbtxt") || has_extension(path, ".pbtext");
}

tf::ImportOptions import_options(const LoadOptions &o) {
  return {o.inputs, o.outputs};
}

bool path_exists(const std::filesystem::path &p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

bool is_dir(const std::string &path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

// A checkpoint prefix X (X.index + X.meta) or a directory with a `checkpoint` file.
bool is_checkpoint(const std::string &p) {
  if (is_dir(p))
    return path_exists(std::filesystem::path(p) / "checkpoint");
  return path_exists(p + ".index") && path_exists(p + ".meta");
}

bool is_saved_model(const std::string &p) {
  return is_dir(p) && path_exists(std::filesystem::path(p) / "saved_model.pb");
}

// A TF.js graph model: JSON with a modelTopology near its start.
bool is_tfjs(const std::string &p) {
  if (!is_regular(p) || !has_extension(p, ".json"))
    return false;
  std::ifstream f(p);
  std::string head(4096, '\0');
  f.read(head.data(), std::streamsize(head.size()));
  return head.find("\"modelTopology\"") != std::string::npos;
}

} // namespace

void register_model_loaders(std::vector<ModelLoader> &list) {
  // TensorFlow first: an ONNX file never has these forms (and a .pb that is an
  // ONNX model starts with 0x08, not a GraphDef node).
  list.push_back({"tensorflow-frozen",
                  "a TensorFlow frozen GraphDef (.pb, .pbtxt)",
                  {"tensorflow"},
                  [](const std::string &p) {
                    return is_regular(p) &&
                           ((has_extension(p, ".pb") && first_byte_is(p, kGraphDefFirstByte)) ||
                            has_text_proto_extension(p));
                  },
                  [](const std::string &p, const LoadOptions &o) {
                    return tf::import_graph(tf::read_frozen_graph(p), import_options(o));
                  }});
  list.push_back({"tensorflow-savedmodel",
                  "a TensorFlow SavedModel directory (saved_model.pb + variables/)",
                  {"tensorflow"},
                  is_saved_model,
                  [](const std::string &p, const LoadOptions &o) {
                    return tf::import_graph(tf::read_saved_model(p, o.signature),
                                            import_options(o));
                  }});
  list.push_back({"tensorflow-checkpoint",
                  "a TensorFlow checkpoint (prefix with .meta/.index/.data, or a directory "
                  "with a 'checkpoint' file)",
                  {"tensorflow"},
                  is_checkpoint,
                  [](const std::string &p, const LoadOptions &o) {
                    return tf::import_graph(tf::read_checkpoint(p), import_options(o));
                  }});
  list.push_back({"tensorflow-tfjs",
                  "a TensorFlow.js graph model (model.json)",
                  {"tensorflow"},
                  is_tfjs,
                  [](const std::string &p, const LoadOptions &o) {
                    return tf::import_graph(tf::read_tfjs(p), import_options(o));
                  }});
  list.push_back({"onnx",
                  "an ONNX model (.onnx)",
                  {"onnxrt_integerops", "onnxrt_qlinearops", "onnxrt_qdq", "onnx", "onnxruntime"},
                  [](const std::string &p) {
                    return is_regular(p) &&
                           (has_extension(p, ".onnx") || first_byte_is(p, kOnnxFirstByte));
                  },
                  [](const std::string &p, const LoadOptions &) { return load_onnx(p); }});
}

} // namespace qtune
