#pragma once
// Running imported TensorFlow graphs in tests.
#include <memory>
#include <unordered_map>

#include "frontends/tensorflow/tf_import.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"
#include "tf_test_util.h"

namespace qtune::test {

inline std::vector<Tensor> run_graph(const Graph &g,
                                     const std::unordered_map<std::string, Tensor> &inputs) {
  Executor ex(std::make_shared<Graph>(g), {.threads = 2});
  return ex.run(inputs);
}

// As qtune runs a model: the standard optimization pipeline first (constant
// folding, NHWC Transpose removal, BN folding, fusions).
inline std::vector<Tensor> run_optimized(Graph g,
                                         const std::unordered_map<std::string, Tensor> &inputs) {
  optimize_graph_with_runtime(g);
  return run_graph(g, inputs);
}

} // namespace qtune::test
