#include "runtime/fold_constants.h"

#include <dnnl.hpp>

#include "runtime/kernel.h"

namespace qtune {

ConstantEvaluator make_constant_evaluator() {
  return [](const Node &node, std::span<const Tensor> inputs) {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    KernelEnv env{&engine, &stream, 1};
    auto kernel = make_kernel(node, env);
    std::vector<TensorType> types = kernel->infer(inputs);
    kernel->prepare(inputs);
    std::vector<Tensor> outputs;
    for (const auto &t : types)
      outputs.emplace_back(t.dtype, t.shape);
    kernel->run(inputs, outputs);
    stream.wait();
    return outputs;
  };
}

void optimize_graph_with_runtime(Graph &graph, OptimizeLevel level) {
  optimize_graph(graph, make_constant_evaluator(), level);
}

} // namespace qtune
