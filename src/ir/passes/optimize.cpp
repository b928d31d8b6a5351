// The pass pipeline and the driver that repeats it until nothing changes.
#include <fmt/format.h>

#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"

namespace qtune {

bool run_passes(Graph &g, std::span<const Pass> passes, int max_rounds) {
  bool any = false;
  for (int round = 0; round < max_rounds; ++round) {
    bool changed = false;
    for (const auto &p : passes)
      changed |= p.run(g);
    any |= changed;
    if (!changed)
      break;
  }
  return any;
}

namespace {
// Closed sub-graphs (TF while bodies and conditions read nothing from outside)
// get the same pipeline. Sub-graphs may be shared between copies of a graph,
// so each is replaced by an optimized copy, never changed in place.
void optimize_subgraphs(Graph &g, const ConstantEvaluator &eval, OptimizeLevel level) {
  for (Node &n : g.nodes)
    for (auto &[key, a] : n.attrs) {
      auto *sub = std::get_if<std::shared_ptr<Graph>>(&a);
      if (!sub || !*sub)
        continue;
      if (!(*sub)->outer_reads().empty())
        continue; // an ONNX If/Loop body reading outer values: left alone
      auto copy = std::make_shared<Graph>(**sub);
      optimize_graph(*copy, eval, level);
      *sub = std::move(copy);
    }
}
} // namespace

void optimize_graph(Graph &g, const ConstantEvaluator &eval, OptimizeLevel level) {
  if (level == OptimizeLevel::none)
    return;
  optimize_subgraphs(g, eval, level);
  std::vector<Pass> passes = {
      {"fold_constants", [&](Graph &x) { return fold_constants(x, eval); }},
      {"eliminate_dead_nodes", eliminate_dead_nodes},
      {"optimize_transposes", optimize_transposes},
      {"fold_head_transpose", fold_head_transpose},
  };
  if (level >= OptimizeLevel::fold_bn) {
    passes.push_back({"fold_batchnorm", fold_batchnorm});
    passes.push_back({"fold_conv_affine", fold_conv_affine});
    passes.push_back({"fold_space_to_depth_conv", fold_space_to_depth_conv});
  }
  if (level >= OptimizeLevel::all) {
    passes.push_back({"fuse_matmul_add", fuse_matmul_add});
    passes.push_back({"fuse_activations", fuse_activations});
    passes.push_back({"fuse_residual_add", fuse_residual_add});
    passes.push_back({"eliminate_dead_nodes", eliminate_dead_nodes});
  }
  run_passes(g, passes);
}

} // namespace qtune
