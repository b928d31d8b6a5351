#pragma once
// The parameter contract of qtune:QAveragePool, shared by the lowering rule
// (quant/lowering/avgpool.cpp) and the kernel (qavgpool.cpp). The window stays
// in AveragePool's attributes (kernel_shape, strides, pads, auto_pad,
// ceil_mode, count_include_pad).
#include "ir/graph.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {

struct QAveragePoolParams {
  bool global = false;  // GlobalAveragePool
  int8::InputParams x;  // x_scale required
  int8::OutputParams y; // u8 or i8; y_scale required

  // Throws InputError naming the node when a required attribute is missing.
  static QAveragePoolParams from(const Node &node);
  void write(Node &node) const;
};

} // namespace qtune
