#pragma once
// TensorFlow graph import: a tf::ModelSource (GraphDef + variable values +
// signature, read by tf_source.h) -> our flat IR Graph. Variables and value-less
// TF.js Consts become initializers; the graph is pruned to what the outputs
// need; ops with an exact ONNX equivalent become ONNX nodes (layout-sensitive
// ones wrapped in NHWC<->NCHW Transposes), the rest `tf:<Op>` nodes (see
// /work/wt/CONTRACT.md "Flat IR conventions"); what is constant is folded.
#include <string>
#include <vector>

#include "frontends/tensorflow/tf_source.h"
#include "ir/graph.h"

namespace qtune::tf {

struct ImportOptions {
  // Node names to feed / fetch ("x", "x:0" or "x:1"); empty: the source's
  // signature, else Placeholders / nodes nobody consumes.
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

// Throws InputError (missing variable, input naming no node, cycle outside a
// while frame ...) or UnsupportedError (op not supported), naming the file,
// node and op on one line.
Graph import_graph(const ModelSource &source, const ImportOptions &options = {});

} // namespace qtune::tf
