#pragma once
// The TensorFlow op conversion table: TF op type -> converter. A converter
// reads one NodeDef through a ConvertContext and emits IR nodes (ONNX ops or
// generic `tf:<Op>` nodes) whose outputs carry the TF tensor names ("n",
// "n:1" ...). One op family per file under ops/, registered in op_list.h.
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "frontends/tensorflow/tf_source.h"
#include "ir/graph.h"

namespace qtune::tf {

// Import-wide state the converters share (owned by the importer).
struct ImportState {
  Graph *graph = nullptr;
  const ModelSource *source = nullptr;
  // value -> the value it is an alias of (Identity and friends emit no node).
  std::unordered_map<std::string, std::string> aliases;
  // TF tensor name -> number of data consumers in the pruned graph.
  std::unordered_map<std::string, int> consumers;
  // TF output tensor of a Conv2D/DepthwiseConv2dNative -> index of its IR Conv
  // node (so BiasAdd / FusedBatchNorm can fold into the conv's bias/weights).
  std::unordered_map<std::string, size_t> conv_of;
  std::unordered_set<std::string> graph_outputs; // requested output tensors
  // Names taken (TF node names and generated ones): Graph::unique_name scans
  // the whole graph, too slow for thousands of nodes.
  std::unordered_set<std::string> used_names;
  uint64_t name_counter = 0;
  std::string resolve(const std::string &value) const;
  std::string unique(const std::string &hint);
};

class ConvertContext {
public:
  ConvertContext(const tensorflow::NodeDef &node, ImportState &state) : node_(node), st_(state) {}

  const tensorflow::NodeDef &node() const { return node_; }
  const std::string &name() const { return node_.name(); }
  const std::string &op() const { return node_.op(); }
  Graph &graph() { return *st_.graph; }
  ImportState &state() { return st_; }
  // "file: node 'X' (op Y)", how errors name this node.
  std::string where() const;
  [[noreturn]] void unsupported(const std::string &why) const;
  [[noreturn]] void invalid(const std::string &why) const;

  // Data inputs (control inputs dropped), as IR value names.
  size_t num_inputs() const;
  std::string input(size_t i) const;
  // The input's value when it is an initializer (a constant), else nullptr.
  const Tensor *constant(size_t i) const;
  // Constant input i or an "unsupported" error explaining it must be constant.
  const Tensor &require_constant(size_t i, const char *what) const;
  // Output k's IR value name: "name" for k = 0, "name:k" otherwise.
  std::string output(size_t k = 0) const;
  int consumers(size_t k = 0) const; // data consumers of output k

  // Attributes.
  bool has_attr(const std::string &k) const;
  int64_t attr_int(const std::string &k, int64_t def) const;
  float attr_float(const std::string &k, float def) const;
  bool attr_bool(const std::string &k, bool def) const;
  std::string attr_string(const std::string &k, const std::string &def) const;
  std::vector<int64_t> attr_ints(const std::string &k) const;
  std::vector<std::string> attr_strings(const std::string &k) const;
  DType attr_type(const std::string &k, DType def = DType::undefined) const;

  // Emission.
  std::string fresh(const std::string &suffix);               // unused value name
  std::string add_const(const std::string &suffix, Tensor t); // initializer
  Node &add(const std::string &op_type, std::vector<std::string> inputs,
            std::vector<std::string> outputs, const std::string &domain = "");
  // Single-output node writing a fresh value; returns that value.
  std::string add1(const std::string &op_type, std::vector<std::string> inputs,
                   std::map<std::string, Attribute> attrs = {});
  // Gives `n` the TF node's name (op-wise configs and profiles name TF nodes):
  // the node that does the op's work, not a layout Transpose around it. add()
  // does this itself for the first node writing output 0, unless taken.
  void take_name(Node &n);
  void alias(size_t k, const std::string &value); // output k is `value`
  void set_constant(size_t k, Tensor t);          // output k is a constant
  // The node as `tf:<Op>` with generically converted attributes; `num_outputs`
  // 0 = as many as consumers reference (at least 1).
  void emit_generic(size_t num_outputs = 0);

private:
  const tensorflow::NodeDef &node_;
  ImportState &st_;
  bool name_taken_ = false;
};

using TfConverter = std::function<void(ConvertContext &)>;

class ConverterTable {
public:
  static const ConverterTable &instance();
  void add(const std::string &op, TfConverter f) { table_[op] = std::move(f); }
  const TfConverter *find(const std::string &op) const;

private:
  std::unordered_map<std::string, TfConverter> table_;
};

// Helpers shared by the families (convert_util.cpp).
Tensor transpose_tensor(const Tensor &t, const std::vector<int64_t> &perm);
Tensor i64_tensor(const std::vector<int64_t> &v); // 1-D int64
Tensor scalar_of(DType t, double v);
// NHWC value -> NCHW value (Transpose 0,3,1,2) and back into the node's output k.
std::string to_nchw(ConvertContext &c, const std::string &nhwc);
void from_nchw(ConvertContext &c, const std::string &nchw, size_t k = 0);
// Casts a value to int64 (shape-like inputs of ONNX ops) unless it already is;
// constants are converted at import.
std::string as_i64(ConvertContext &c, size_t input);

} // namespace qtune::tf
