#pragma once
// ONNX frontend: model files <-> our Graph, TensorProto <-> Tensor.
// The importer rewrites older-opset op forms into the opset-13+ form (see
// docs/ARCHITECTURE.md "Canonical op forms"), so the rest of qtune sees one form.
#include <string>

#include "ir/graph.h"
#include "qtune/tensor.h"

namespace onnx {
class TensorProto;
class ModelProto;
} // namespace onnx

namespace qtune {

// Reads an .onnx file (external data relative to its folder), sorts nodes,
// infers shapes. Throws InputError "<file>: ..." on anything malformed.
Graph load_onnx(const std::string &path);

// Same from an in-memory model; `source` names it in errors, `model_dir`
// anchors external data locations.
Graph graph_from_model_proto(const onnx::ModelProto &model, const std::string &source,
                             const std::string &model_dir);

// One TensorProto to a Tensor (typed fields, raw_data or external data under
// `model_dir`). Throws InputError naming the tensor on bad sizes or files.
Tensor tensor_from_proto(const onnx::TensorProto &proto, const std::string &model_dir = "");

// A serialized TensorProto file (ONNX test_data_set_*/input_0.pb).
Tensor load_tensor_pb(const std::string &path);

// Tensor to a TensorProto with raw_data (strings in string_data).
void tensor_to_proto(const Tensor &t, const std::string &name, onnx::TensorProto &proto);

// ONNX TensorProto::DataType <-> DType; DType::undefined for unknown codes.
DType dtype_from_onnx(int onnx_type);
int dtype_to_onnx(DType t);

// Model metadata_props key listing the nodes planned bf16 (comma-separated
// names, ',' and backslash in names escaped by a backslash): save_onnx writes it from the
// nodes' kPrecisionAttr, load_onnx sets kPrecisionAttr = "bf16" back on them.
inline constexpr const char *kBf16NodesKey = "qtune.bf16_nodes";
// The same for the nodes carrying kChannelScaleAttr (recipe activation_equalization).
inline constexpr const char *kChannelScaleNodesKey = "qtune.channel_scale_nodes";

// Writes `graph` as an ONNX model (default-domain opset max(13, graph.opset),
// capped at 17; domain "qtune" if fused ops remain), atomically (temp + rename).
void save_onnx(const Graph &graph, const std::string &path);

} // namespace qtune
