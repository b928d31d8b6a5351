// MatMul(A [M,K], W [K,N] constant) + bias [N] (constant) -> Gemm(A, W, bias),
// which the activation fusion can then turn into qtune:FusedGemm.
#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"

namespace qtune {

bool fuse_matmul_add(Graph &g) {
  auto consumers = g.consumers();
  std::vector<bool> dead(g.nodes.size(), false);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node &mm = g.nodes[i];
    if (mm.op_type != "MatMul" || !mm.domain.empty() || mm.num_inputs() != 2)
      continue;
    auto a_shape = passes::known_shape(g, mm.inputs[0]);
    const Tensor *w = g.initializer(mm.inputs[1]);
    if (!a_shape || a_shape->size() != 2 || !w || w->rank() != 2 || w->dtype() != DType::f32)
      continue;
    int c = passes::single_consumer(g, consumers, mm.outputs.at(0));
    if (c < 0 || dead[c])
      continue;
    const Node &add = g.nodes[c];
    if (add.op_type != "Add" || !add.domain.empty() || add.num_inputs() != 2)
      continue;
    const std::string &bias_name = add.inputs[0] == mm.outputs[0] ? add.inputs[1] : add.inputs[0];
    const Tensor *bias = g.initializer(bias_name);
    int64_t n = w->dim(1);
    if (!bias || bias->dtype() != DType::f32 || bias->numel() != n || bias->shape().back() != n)
      continue;
    std::string c_name = bias_name;
    if (bias->rank() != 1)
      c_name = passes::add_initializer(g, bias_name + "_1d", bias->reshaped({n}));
    mm.op_type = "Gemm";
    mm.inputs = {mm.inputs[0], mm.inputs[1], c_name};
    mm.outputs[0] = add.outputs.at(0);
    dead[c] = true;
    changed = true;
  }
  passes::erase_nodes(g, dead);
  return changed;
}

} // namespace qtune
