#pragma once
// Graph passes (ONNX Runtime optimizer style): a pass is a named function that
// rewrites a Graph in place and says whether it changed anything. Fusions are
// small named rules (pattern -> rewrite), each testable alone.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "qtune/tensor.h"

namespace qtune {

// Evaluates one node on constant inputs (the runtime supplies this from
// make_kernel, see runtime/fold_constants.h), so ir does not depend on runtime.
using ConstantEvaluator = std::function<std::vector<Tensor>(const Node &, std::span<const Tensor>)>;

struct Pass {
  std::string name;
  std::function<bool(Graph &)> run; // true if the graph changed
};

// Runs the passes in order, repeating the whole list until nothing changes
// (at most `max_rounds` times). Returns true if anything changed.
bool run_passes(Graph &graph, std::span<const Pass> passes, int max_rounds = 4);

// The passes.
bool eliminate_dead_nodes(Graph &graph); // nodes and initializers no output needs
bool fold_constants(Graph &graph, const ConstantEvaluator &eval);
// NHWC graphs (TF import, tf2onnx): cancels, merges and pushes Transposes down
// through layout-agnostic ops so convs meet without one between them.
bool optimize_transposes(Graph &graph);
// YOLO-style heads: Transpose(Concat(Reshape(x_i -> [N,C,HW]), axis 2), [0,2,1]) ->
// Concat(Reshape(Transpose(x_i, [0,2,3,1]) -> [N,HW,C]), axis 1), the same values.
bool fold_head_transpose(Graph &graph);
bool fold_batchnorm(Graph &graph); // Conv/Gemm -> BatchNormalization
// Conv + per-channel constant Add/Sub/Mul/Div (TF BiasAdd, decomposed batch norm).
bool fold_conv_affine(Graph &graph);
// Strided Slices + Concat (space-to-depth, YOLOX Focus) feeding a Conv -> one wider-kernel Conv.
bool fold_space_to_depth_conv(Graph &graph);
bool fuse_matmul_add(Graph &graph);   // 2-D MatMul + bias Add -> Gemm
bool fuse_activations(Graph &graph);  // Conv/Gemm/MatMul + activation -> qtune:Fused*
bool fuse_residual_add(Graph &graph); // FusedConv + Add (+Relu) -> FusedConv with sum

enum class OptimizeLevel {
  none,    // nothing
  basic,   // dead nodes, constant folding, transposes: the graph stays plain ONNX
  fold_bn, // basic + BatchNorm folding (still plain ONNX)
  all,     // + fusions into qtune:Fused* ops (for FP32 execution)
};

// The standard pipeline, in order: constant folding, dead nodes, transposes, head transpose, BN
// folding, per-channel affine and space-to-depth folding into convs, MatMul+Add, activation fusion,
// residual fusion, dead nodes.
void optimize_graph(Graph &graph, const ConstantEvaluator &eval,
                    OptimizeLevel level = OptimizeLevel::all);

} // namespace qtune
