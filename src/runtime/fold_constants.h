#pragma once
// The runtime side of constant folding: evaluates one node with its kernel.
#include "ir/passes/pass.h"

namespace qtune {

// A ConstantEvaluator built on make_kernel (single thread, plain layouts).
ConstantEvaluator make_constant_evaluator();

// optimize_graph with the runtime's evaluator.
void optimize_graph_with_runtime(Graph &graph, OptimizeLevel level = OptimizeLevel::all);

} // namespace qtune
