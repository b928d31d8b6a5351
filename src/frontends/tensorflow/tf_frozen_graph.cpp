// Frozen GraphDef files: binary (.pb) or protobuf text format (.pbtxt).
#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "frontends/tensorflow/tf_io.h"
#include "frontends/tensorflow/tf_source.h"
#include "qtune/error.h"

namespace qtune::tf {

namespace {

bool text_extension(const std::string &path) {
  std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".pbtxt" || ext == ".pbtext" || ext == ".txt" || ext == ".prototxt";
}

// Text format is printable ASCII/UTF-8: a binary GraphDef has control bytes early
// (tags and lengths).
bool looks_like_text(const std::string &bytes) {
  size_t n = std::min<size_t>(bytes.size(), 4096);
  return n > 0 &&
         std::none_of(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n), [](char c) {
           auto u = static_cast<unsigned char>(c);
           return u < 0x20 && c != '\n' && c != '\r' && c != '\t';
         });
}

} // namespace

ModelSource read_frozen_graph(const std::string &path) {
  ModelSource src;
  src.path = path;
  std::string bytes = read_file_bytes(path);
  if (text_extension(path) || looks_like_text(bytes))
    parse_text_proto(bytes, src.graph, path, "GraphDef");
  else
    parse_binary_proto(bytes, src.graph, path, "TensorFlow GraphDef");
  require_nodes(src.graph, path);
  return src;
}

} // namespace qtune::tf
