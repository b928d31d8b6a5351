#pragma once
// The one preparation every command applies before running a loaded model:
// graph optimizations (BN folding, fusions), then QDQ lowering, so a QDQ model
// (ours or another tool's) runs on int8 kernels and an FP32 model on fused ones.
#include "ir/graph.h"
#include "quant/lower_qdq.h"

namespace qtune::quant {

LowerReport prepare_for_inference(Graph &graph);

} // namespace qtune::quant
