#pragma once
// Running imported TensorFlow graphs in tests.
#include <memory>
#include <unordered_map>

#include "frontends/tensorflow/tf_import.h"
#include "runtime/executor.h"
#include "tf_test_util.h"

namespace qtune::test {

inline std::vector<Tensor> run_graph(const Graph &g,
                                     const std::unordered_map<std::string, Tensor> &inputs) {
  Executor ex(std::make_shared<Graph>(g), {.threads = 2});
  return ex.run(inputs);
}

} // namespace qtune::test
