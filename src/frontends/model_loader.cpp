#include "frontends/model_loader.h"

#include <algorithm>
#include <filesystem>

#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune {

void register_model_loaders(std::vector<ModelLoader> &list); // loader_list.cpp

const std::vector<ModelLoader> &model_loaders() {
  static const std::vector<ModelLoader> list = [] {
    std::vector<ModelLoader> l;
    register_model_loaders(l);
    return l;
  }();
  return list;
}

namespace {

bool serves(const ModelLoader &l, const std::string &framework) {
  return std::find(l.frameworks.begin(), l.frameworks.end(), framework) != l.frameworks.end();
}

// The framework is a preference, not a filter: a tuned TensorFlow model is
// written as ONNX and must load under the same YAML.
const ModelLoader *select(const std::string &path, const LoadOptions &options) {
  for (const ModelLoader &l : model_loaders())
    if ((options.framework.empty() || serves(l, options.framework)) && l.recognizes(path))
      return &l;
  for (const ModelLoader &l : model_loaders())
    if (l.recognizes(path))
      return &l;
  return nullptr;
}

std::string kinds_looked_for() {
  std::string s;
  for (const ModelLoader &l : model_loaders())
    s += (s.empty() ? "" : ", ") + l.describes;
  return s;
}

} // namespace

std::string model_kind(const std::string &path, const LoadOptions &options) {
  const ModelLoader *l = select(path, options);
  return l ? l->name : "";
}

Graph load_model(const std::string &path, const LoadOptions &options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec) && !fs::exists(path + ".index", ec) && !fs::exists(path + ".meta", ec))
    throw InputError(path + ": no such file or directory");
  // Folders can be models (SavedModel); FIFOs and devices never are.
  if (!fs::is_directory(path, ec))
    require_regular_file(path, "model file");
  const ModelLoader *l = select(path, options);
  if (!l && fs::is_directory(path, ec))
    throw InputError(path + ": is a directory, not a model qtune can load; looked for " +
                     kinds_looked_for());
  if (!l)
    throw InputError(path + ": not a model qtune can load; looked for " + kinds_looked_for());
  return l->load(path, options);
}

} // namespace qtune
