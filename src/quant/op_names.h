#pragma once
// Which quantizable nodes a YAML `op_wise` name means. Users write the names of
// their framework: ONNX node names, or TensorFlow node names (LPOT's TF YAMLs name
// the Conv2D node, e.g. `FeatureExtractor/resnet_v1_50/fpn/bottom_up_block5/Conv2D`),
// while the TF import turns one TF node into several IR nodes. The rule, first
// that matches:
//   1. imported from: the compute nodes (Conv, MatMul ...) the TF import made
//      from TF node `name` and named `<name>/<OpType>_<k>` (helpers of a TF op);
//   2. exact: a quantizable node of that name (ONNX names; the TF import gives
//      a TF op's working node, e.g. the Conv of a Conv2D, the TF name itself),
//      then other nodes imported from `name` (Transposes);
//   3. value: `name` is a value (a TF tensor name, or a non-quantizable node's
//      output such as the Clip of a Relu6): followed back through Transpose,
//      Identity, activation and constant-bias Add nodes to the conv that
//      produced it;
//   4. scope: a name of a node the import folds away (last component BiasAdd,
//      Relu, Relu6, FusedBatchNorm*, or inside a BatchNorm scope) means the one
//      compute node imported from a TF node in the same scope (parent, else
//      grandparent name), when there is exactly one.
// A name that matches nothing is reported with its closest node names.
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qtune::quant {

struct OpNameMatch {
  std::vector<std::string> nodes; // quantizable node names; empty: no match
  std::string rule;               // "exact", "imported from", "value", "scope"
};

class OpNameResolver {
public:
  explicit OpNameResolver(const Graph &g);
  OpNameMatch match(const std::string &name) const;
  // The `max` quantizable nodes closest to `name` (substring matches first,
  // then by edit distance; imported nodes shown by their TF name).
  std::vector<std::string> close_names(const std::string &name, size_t max = 5) const;
  // One-line warning for a name that matches nothing: "op_wise name 'X' matches
  // no node (N quantizable); close: a, b".
  std::string unmatched_message(const std::string &where, const std::string &name) const;

private:
  const Graph &g_;
  std::vector<std::string> quantizable_;          // in graph order
  std::vector<bool> compute_;                     // role compute/elementwise/pooling
  std::unordered_map<std::string, size_t> index_; // quantizable name -> position
  std::unordered_map<std::string, size_t> producers_;
  std::unordered_map<std::string, size_t> node_index_;

  std::vector<std::string> imported_from(const std::string &tf_name, bool compute_only) const;
  std::string trace_value(const std::string &value) const;
  std::vector<std::string> in_scope(const std::string &scope) const;
};

// Resolves each op_wise name: `nodes[name]` lists the nodes it matched; one
// message per name matched by a rule other than "exact" ("note: ...") and per
// name that matches nothing ("warning: ... close: ...").
struct ResolvedNames {
  std::map<std::string, std::vector<std::string>> nodes;
  std::map<std::string, bool> exact;
  std::vector<std::string> messages;
};
ResolvedNames resolve_op_names(const Graph &g, const std::vector<std::string> &names,
                               const std::string &where);

// An op_wise map re-keyed by node name: an entry naming a node exactly wins over
// one that reached it by another rule; unmatched names are dropped.
template <class T>
std::map<std::string, T> rekey_op_wise(const std::map<std::string, T> &op_wise,
                                       const ResolvedNames &r) {
  std::map<std::string, T> out;
  for (bool exact_pass : {true, false})
    for (const auto &[name, v] : op_wise)
      if (r.exact.at(name) == exact_pass)
        for (const auto &n : r.nodes.at(name))
          out.emplace(n, v);
  return out;
}

// The TF node an IR node was imported from: `X/Conv_12` of op Conv -> `X`;
// a name without the importer's suffix is returned unchanged.
std::string imported_origin(const Node &n);

} // namespace qtune::quant
