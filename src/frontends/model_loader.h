#pragma once
// The one way into qtune for a model file: a registry of loaders (ONNX,
// TensorFlow frozen GraphDef / checkpoint / SavedModel / TF.js), chosen by the
// YAML's `model.framework` or, without it, by what the path is. Every CLI
// subcommand, the tuner backend and the C++ API load through load_model();
// nothing else calls a format's importer directly.
#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qtune {

struct LoadOptions {
  // YAML model.framework ("tensorflow", "onnxrt_integerops", "onnx" ...);
  // empty: decide by the path.
  std::string framework;
  // YAML model.inputs / model.outputs: graph node names to feed and to fetch
  // (TensorFlow). Empty: Placeholders / unconsumed nodes, or the signature's.
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  // SavedModel signature to import.
  std::string signature = "serving_default";
};

struct ModelLoader {
  std::string name;                    // "onnx", "tensorflow-frozen" ...
  std::string describes;               // "an .onnx file": for error messages
  std::vector<std::string> frameworks; // YAML framework values it serves
  std::function<bool(const std::string &path)> recognizes;
  std::function<Graph(const std::string &path, const LoadOptions &)> load;
};

// The loaders in the order they are tried; register_model_loaders() in
// loader_list.cpp fills it.
const std::vector<ModelLoader> &model_loaders();

// Loads `path` with the loader its framework or its form selects. Throws
// InputError naming the path and the kinds looked for when none fits.
Graph load_model(const std::string &path, const LoadOptions &options = {});

// Name of the loader that would take `path` (empty when none).
std::string model_kind(const std::string &path, const LoadOptions &options = {});

} // namespace qtune
