#pragma once
// The graph IR. Values are named (ONNX style): a node lists the names of the
// values it reads and writes; "" marks an absent optional input. Constants live
// in Graph::initializers. Nodes may own sub-graphs through graph attributes
// (If/Loop bodies, TF while frames later).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "qtune/tensor.h"

namespace qtune {

struct Graph;

// One dimension: a known size, or a symbol ("batch", "N") when value < 0.
struct Dim {
  int64_t value = -1;
  std::string symbol;
  bool known() const { return value >= 0; }
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::undefined;
  std::vector<Dim> dims;
  bool has_shape = false; // false: rank unknown
  Shape static_shape() const; // throws if any dim is symbolic
};

using Attribute = std::variant<int64_t, float, std::string, Tensor, std::vector<int64_t>,
                               std::vector<float>, std::vector<std::string>,
                               std::shared_ptr<Graph>>;

struct Node {
  std::string name;
  std::string op_type;
  std::string domain; // "" for the default ONNX domain
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attrs;

  bool has_attr(const std::string& k) const { return attrs.count(k) != 0; }
  int64_t attr_int(const std::string& k, int64_t def) const;
  float attr_float(const std::string& k, float def) const;
  std::string attr_string(const std::string& k, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& k, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(const std::string& k, std::vector<float> def = {}) const;
  const Tensor* attr_tensor(const std::string& k) const;
  // "Conv 'stem/conv1'": how errors name a node.
  std::string describe() const;
  size_t num_inputs() const; // count without trailing absent ("") inputs
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
};

// Node attribute (string "bf16") marking a node the plan runs in bf16. It is
// internal: graph passes keep it on fused nodes, kernels read it, and the ONNX
// exporter moves it into the model's metadata_props (onnx::checker rejects
// unknown attributes on standard ops) from where the importer restores it.
inline constexpr const char *kPrecisionAttr = "qtune.precision";

// Node attribute (int 1) marking the per-channel Mul recipe
// activation_equalization inserts: never a quantizable node itself. Internal
// like kPrecisionAttr, and carried through ONNX files the same way.
inline constexpr const char *kChannelScaleAttr = "qtune.channel_scale";

struct Graph {
  std::string name;
  std::vector<Node> nodes; // topologically sorted after toposort()
  std::unordered_map<std::string, Tensor> initializers;
  std::vector<ValueInfo> inputs;  // excludes initializers
  std::vector<ValueInfo> outputs;
  std::unordered_map<std::string, ValueInfo> value_info; // inferred shapes of intermediates
  int64_t opset = 0;   // default-domain opset the model was written against
  std::string source;  // file the graph came from, for error messages

  bool is_initializer(const std::string& v) const { return initializers.count(v) != 0; }
  const Tensor* initializer(const std::string& v) const;
  // Map value name -> index of producing node (graph inputs/initializers absent).
  std::unordered_map<std::string, size_t> producers() const;
  // Map value name -> indices of consuming nodes (graph outputs not included),
  // one entry per read. A node that owns sub-graphs (If, Loop, Scan) consumes
  // every value its sub-graphs read from this scope too: a pass that rewrites
  // a value it believes has one reader must see the body that reads it by name.
  std::unordered_map<std::string, std::vector<size_t>> consumers() const;
  // Names this graph reads from enclosing scopes: every name its nodes, their
  // own sub-graphs (recursively) and its outputs mention without defining it.
  std::vector<std::string> outer_reads() const;
  bool is_graph_output(const std::string& v) const;
  // Reorders nodes so that every value is produced before it is read. Throws on
  // cycles or values that nothing produces, naming the node. Sub-graphs pass the
  // names visible from their enclosing graph.
  void toposort(const std::unordered_set<std::string>& outer_scope = {});
  // A name not yet used by any value or node, based on `hint`.
  std::string unique_name(const std::string& hint);

private:
  uint64_t name_counter_ = 0;
};

} // namespace qtune
