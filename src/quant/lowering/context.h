#pragma once
// What every lowering rule works with: the graph, who produces and who reads
// each value, quantization parameters of Q/DQ nodes, and `replace`, the one
// way a rule rewrites the graph (the replacement takes the place of the last
// matched node, so all its inputs are already produced there).
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "ir/passes/pass.h"
#include "runtime/kernels/int8_util.h"

namespace qtune::quant {

// Scale/zero point of a per-tensor DequantizeLinear or QuantizeLinear node.
struct QParams {
  float scale = 1;
  int32_t zero_point = 0;
  DType dtype = DType::u8;
  bool operator==(const QParams &) const = default;
};

// A fused activation as FusedConv's "activation" / "activation_params".
using Activation = std::pair<std::string, std::vector<float>>;

class LoweringContext {
public:
  explicit LoweringContext(Graph &g) : g(g) { refresh(); }
  Graph &g;

  void refresh(); // after changing g.nodes directly

  // The default-domain node `op` producing v, else nullptr.
  const Node *producer(const std::string &v, const char *op) const;
  std::optional<size_t> producer_index(const std::string &v) const;
  const std::vector<size_t> *consumers(const std::string &v) const;
  // The only reader of v (and v is no graph output), else nullopt.
  std::optional<size_t> sole_consumer(const std::string &v) const;

  // Per-tensor parameters of a Q or DQ node with constant scale/zero point.
  std::optional<QParams> per_tensor_params(const Node &n) const;
  // Per-channel (along `axis`) or per-tensor scales of a DQ of a constant
  // symmetric i8 weight; empty when the DQ does not fit.
  std::vector<float> weight_scales(const Node &dq, int64_t axis) const;
  // The QuantizeLinear that is the only reader of v, with its parameters.
  std::optional<std::pair<size_t, QParams>> quantize_after(const std::string &v) const;
  // Like quantize_after, for a value that Shape nodes read too (ONNX exporters'
  // dynamic reshapes: x -> Shape -> Gather -> Concat -> Reshape(x, ...)).
  std::optional<std::pair<size_t, QParams>> quantize_beside_shapes(const std::string &v,
                                                                   std::vector<size_t> &shapes);
  // Real-unit f32 bias of op input `index`: an f32 initializer as is, or
  // DQ(int32 initializer). "" when absent, nullopt when unusable.
  std::optional<std::string> real_bias(const Node &op, size_t index);
  // n as a fusable activation; nullopt for an op we cannot fuse.
  std::optional<Activation> activation_of(const Node &n) const;
  // The fusable activation that is the only reader of `out`: adds it to
  // matched and moves `out` to its output; nullopt (nothing changed) otherwise.
  std::optional<Activation> take_activation(std::vector<size_t> &matched, std::string &out) const;
  // value_info (or graph inputs) give both values the same shape.
  bool same_known_shape(const std::string &a, const std::string &b) const;

  // The value a replacement writes, with its output parameters: the output
  // of the Q `yq` when there is one (added to matched), else f32 `out`.
  std::string take_output(std::vector<size_t> &matched, const std::string &out,
                          const std::optional<std::pair<size_t, QParams>> &yq,
                          int8::OutputParams &y) const;
  static int8::OutputParams output_params(const QParams &p);
  static bool all_zero(const Tensor &t);

  // A new DequantizeLinear with `like`'s scale and zero point from a fresh
  // value "<output>_int8" (returned in `input`) to `output`.
  Node dequantize_like(const Node &like, const std::string &name_hint, const std::string &output,
                       std::string &input);

  // Puts `node` at the last matched position and blanks the other matched nodes.
  void replace(const std::vector<size_t> &matched, Node node);
  // Drops blanked nodes, Q/DQ nodes nothing reads and initializers only they read.
  int remove_dead();
  // Q/DQ nodes left with only initializer inputs become initializers.
  int fold_constant_qdq(const ConstantEvaluator &eval);

private:
  const ValueInfo *value_info(const std::string &v) const;
  std::set<std::string> removed_inputs_;
  std::unordered_map<std::string, size_t> producers_;
  std::unordered_map<std::string, std::vector<size_t>> consumers_;
};

} // namespace qtune::quant
