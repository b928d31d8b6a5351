#pragma once
// TensorFlow model files as read from disk, before any op conversion: the graph
// (a GraphDef), the values of its variables (checkpoint, SavedModel or TF.js
// weights, by name) and the inputs/outputs a signature names. The importer
// (tf_import) turns a ModelSource into a flat IR Graph.
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/tf_graph.pb.h"
#include "qtune/tensor.h"

namespace qtune::tf {

struct ModelSource {
  tensorflow::GraphDef graph;
  // Checkpoint / SavedModel variables and TF.js weights, by node name. TF.js Const
  // nodes whose value lives in the weight files have their `value` attr removed.
  std::unordered_map<std::string, Tensor> variables;
  // From a SavedModel signature / TF.js signature (tensor names, ":0" stripped),
  // else empty.
  std::vector<std::string> inputs, outputs;
  std::string path; // for error messages
};

// Binary GraphDef (.pb) or text format (.pbtxt / .pbtext / .txt, or any file that
// is not a valid binary GraphDef but parses as text).
ModelSource read_frozen_graph(const std::string &pb_or_pbtxt);
// A checkpoint prefix `X` (X.meta, X.index, X.data-NNNNN-of-NNNNN) or a directory
// holding a `checkpoint` file that names the prefix.
ModelSource read_checkpoint(const std::string &prefix_or_dir);
// saved_model.pb + variables/; the meta graph tagged "serve" (or the only one)
// and `signature` (default serving_default) of it.
ModelSource read_saved_model(const std::string &dir,
                             const std::string &signature = "serving_default");
// A TF.js graph model: model.json + its weight shard files.
ModelSource read_tfjs(const std::string &model_json);

// A TensorProto's value (tensor_content or the typed *_val fields; a single value
// fills the whole shape). `where` names the place for errors ("file: node 'x'").
Tensor tensor_from_tf(const tensorflow::TensorProto &proto, const std::string &where);
// TF DataType number -> ours; reference types map to their base type, quint8 ->
// u8, qint8 -> i8, qint32 -> i32 ... Throws UnsupportedError for the rest.
DType dtype_from_tf(int tf_dtype);
// Ours -> TF DataType (the plain, non-quantized type).
int dtype_to_tf(DType dtype);

} // namespace qtune::tf
