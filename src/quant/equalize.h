#pragma once
// Recipe `cross_layer_equalization` (Nagel et al., "Data-free quantization
// through weight equalization and bias correction", 2019). For two convs in a
// row, conv1 -> f -> conv2, where f is the identity or positively homogeneous
// (f(x / s) = f(x) / s for s > 0: Relu, LeakyRelu, PRelu, Clip(min 0, no max)),
// output channel i of conv1 can be divided by s_i (weights and bias) and input
// channel i of conv2 multiplied by s_i without changing the FP32 function.
// s_i = sqrt(r1_i / r2_i) (r = the largest |weight| of that channel in each
// conv) gives both the range sqrt(r1_i r2_i): a depthwise conv whose channels
// have ranges 100x apart under one per-tensor scale (or a pointwise conv after
// it) then quantizes every channel with comparable precision. Pairs are swept
// until the scales settle, since a conv can be conv2 of one pair and conv1 of
// the next.
//
// Not valid across SiLU / Swish (x * sigmoid(x)), HardSwish, Sigmoid, Tanh,
// Relu6 (Clip with a max) or anything else: the pair is skipped and counted by
// the activation's name, so the caller can say where equalization could not go
// (YOLOX is SiLU throughout: no pair qualifies).
#include <map>
#include <string>

#include "ir/graph.h"

namespace qtune::quant {

struct EqualizeReport {
  int pairs = 0;                      // conv pairs equalized
  int sweeps = 0;                     // passes over the pairs until the scales settled
  std::map<std::string, int> skipped; // conv -> act -> conv pairs skipped, by act
  std::string summary() const;
};

// Rewrites conv weights / biases of `g` in place (initializers are cloned
// before they change, so graphs sharing storage are not touched). Convs whose
// weight or bias another node also reads, grouped convs other than depthwise
// as conv2, and values that are graph outputs are left alone.
EqualizeReport equalize_cross_layer(Graph &g);

} // namespace qtune::quant
