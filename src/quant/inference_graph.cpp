#include "quant/inference_graph.h"

#include "runtime/fold_constants.h"

namespace qtune::quant {

LowerReport prepare_for_inference(Graph &graph) {
  optimize_graph_with_runtime(graph);
  return lower_qdq(graph);
}

} // namespace qtune::quant
