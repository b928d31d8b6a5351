// Checkpoints (MetaGraphDef + TensorBundle) and SavedModels (SavedModel proto +
// variables/ bundle).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <map>

#include "frontends/tensorflow/tf_bundle.h"
#include "frontends/tensorflow/tf_io.h"
#include "frontends/tensorflow/tf_source.h"
#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune::tf {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The `model_checkpoint_path: "..."` line of a directory's `checkpoint` file (a
// CheckpointState in text format), resolved against the directory.
std::string prefix_from_state_file(const fs::path &dir) {
  fs::path state = dir / "checkpoint";
  std::string text = read_file_bytes(state.string());
  const std::string field = "model_checkpoint_path:";
  size_t at = text.find(field);
  while (at != std::string::npos && at > 0 && text[at - 1] != '\n')
    at = text.find(field, at + 1);
  size_t open = at == std::string::npos ? at : text.find('"', at);
  size_t close = open == std::string::npos ? open : text.find('"', open + 1);
  if (close == std::string::npos)
    throw InputError(fmt::format("{}: no model_checkpoint_path line", state.string()));
  std::string recorded = text.substr(open + 1, close - open - 1);
  // An absolute path written on the training machine: the files moved with the
  // `checkpoint` file, so look beside it. Anything else must stay inside the
  // folder (a downloaded `checkpoint` must not point the reader at
  // /etc/passwd or ../../secrets); the user can name any prefix directly.
  std::error_code ec;
  fs::path moved = dir / fs::path(recorded).filename();
  if (fs::path(recorded).is_absolute() && fs::exists(moved.string() + ".index", ec))
    return moved.string();
  return confined_path(dir.string(), recorded, state.string(), "model_checkpoint_path");
}

std::string checkpoint_prefix(const std::string &prefix_or_dir) {
  std::error_code ec;
  if (fs::is_directory(prefix_or_dir, ec)) {
    if (!fs::exists(fs::path(prefix_or_dir) / "checkpoint", ec))
      throw InputError(fmt::format("{}: directory has no 'checkpoint' file naming the checkpoint",
                                   prefix_or_dir));
    return prefix_from_state_file(prefix_or_dir);
  }
  for (const char *ext : {".meta", ".index"})
    if (ends_with(prefix_or_dir, ext))
      return prefix_or_dir.substr(0, prefix_or_dir.size() - std::strlen(ext));
  return prefix_or_dir;
}

tensorflow::MetaGraphDef read_meta_graph(const std::string &path) {
  tensorflow::MetaGraphDef meta;
  parse_binary_proto(read_file_bytes(path), meta, path, "MetaGraphDef (.meta)");
  return meta;
}

bool has_tag(const tensorflow::MetaGraphDef &m, const std::string &tag) {
  const auto &tags = m.meta_info_def().tags();
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

std::string tag_sets(const tensorflow::SavedModel &sm) {
  std::string s;
  for (const auto &m : sm.meta_graphs()) {
    std::string tags;
    for (const auto &t : m.meta_info_def().tags())
      tags += (tags.empty() ? "" : ",") + t;
    s += (s.empty() ? "[" : " [") + tags + "]";
  }
  return s;
}

const tensorflow::MetaGraphDef &serving_meta_graph(const tensorflow::SavedModel &sm,
                                                   const std::string &file) {
  if (sm.meta_graphs_size() == 0)
    throw InputError(fmt::format("{}: SavedModel has no meta graphs", file));
  for (const auto &m : sm.meta_graphs())
    if (has_tag(m, "serve"))
      return m;
  if (sm.meta_graphs_size() == 1)
    return sm.meta_graphs(0);
  throw InputError(
      fmt::format("{}: no meta graph tagged 'serve'; tag sets: {}", file, tag_sets(sm)));
}

// Signature tensor names in the order of their keys (protobuf maps are unordered).
std::vector<std::string>
signature_names(const google::protobuf::Map<std::string, tensorflow::TensorInfo> &infos) {
  std::map<std::string, std::string> sorted;
  for (const auto &[key, info] : infos)
    sorted[key] = strip_output_zero(info.name());
  std::vector<std::string> out;
  for (const auto &[key, name] : sorted)
    out.push_back(name);
  return out;
}

tensorflow::SavedModel read_saved_model_proto(const fs::path &dir, std::string &file) {
  tensorflow::SavedModel sm;
  fs::path pb = dir / "saved_model.pb", pbtxt = dir / "saved_model.pbtxt";
  std::error_code ec;
  if (!fs::exists(pb, ec) && fs::exists(pbtxt, ec)) {
    file = pbtxt.string();
    parse_text_proto(read_file_bytes(file), sm, file, "SavedModel");
  } else {
    file = pb.string();
    parse_binary_proto(read_file_bytes(file), sm, file, "SavedModel");
  }
  return sm;
}

} // namespace

ModelSource read_checkpoint(const std::string &prefix_or_dir) {
  std::string prefix = checkpoint_prefix(prefix_or_dir);
  ModelSource src;
  src.path = prefix;
  tensorflow::MetaGraphDef meta = read_meta_graph(prefix + ".meta");
  src.graph = std::move(*meta.mutable_graph_def());
  require_nodes(src.graph, prefix + ".meta");
  src.variables = read_bundle(prefix);
  return src;
}

ModelSource read_saved_model(const std::string &dir, const std::string &signature) {
  std::string file;
  tensorflow::SavedModel sm = read_saved_model_proto(dir, file);
  const tensorflow::MetaGraphDef &meta = serving_meta_graph(sm, file);
  ModelSource src;
  src.path = dir;
  auto sig = meta.signature_def().find(signature);
  if (sig == meta.signature_def().end()) {
    std::vector<std::string> names;
    for (const auto &[name, def] : meta.signature_def())
      names.push_back(name);
    std::sort(names.begin(), names.end());
    std::string list;
    for (const auto &n : names)
      list += (list.empty() ? "" : ", ") + n;
    throw InputError(fmt::format("{}: no signature '{}'; available signatures: {}", file, signature,
                                 list.empty() ? "(none)" : list));
  }
  src.inputs = signature_names(sig->second.inputs());
  src.outputs = signature_names(sig->second.outputs());
  src.graph = meta.graph_def();
  require_nodes(src.graph, file);
  std::string prefix = (fs::path(dir) / "variables" / "variables").string();
  std::error_code ec;
  if (fs::exists(prefix + ".index", ec)) // a SavedModel of constants has no variables
    src.variables = read_bundle(prefix);
  return src;
}

} // namespace qtune::tf
