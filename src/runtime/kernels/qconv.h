#pragma once
// The parameter contract of qtune:QConv, shared by the lowering rules that
// write it (quant/lowering/conv.cpp, qlinear.cpp, residual_add.cpp) and the
// kernel that reads it (qconv.cpp). Conv geometry stays in the ONNX Conv
// attributes (strides, pads, dilations, group, auto_pad, kernel_shape).
#include <vector>

#include "ir/graph.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {

struct QConvParams {
  int8::InputParams x;                   // x_scale required
  std::vector<float> w_scales;           // required: one, or one per output channel
  int8::OutputParams y;                  // y_dtype required; y_scale required for int8
  int8::FusedActivation activation;      // applied to conv + bias
  bool sum = false;                      // input 3 added after the activation
  int8::InputParams sum_q;               // sum_scale required when sum
  int8::FusedActivation post_activation; // applied after the sum
  // Per output channel, multiplied in after the activation (no sum): the
  // factors of recipe activation_equalization (quant/activation_equalize.h).
  std::vector<float> channel_scale;

  // Throws InputError naming the node when a required attribute is missing.
  static QConvParams from(const Node &node);
  void write(Node &node) const;
};

} // namespace qtune
