#pragma once
// Rewrites older-opset op forms into the opset-13+ form (attributes that became
// inputs, Upsample -> Resize ...), so kernels see one form only.
#include "ir/graph.h"

namespace qtune {

// Uses graph.opset to decide; recurses into sub-graphs.
void canonicalize_onnx_ops(Graph &graph);

} // namespace qtune
