#pragma once
// The int8 convs of a QDQ graph that the data-driven recipes (bias correction,
// weight refit) adjust: Conv(DQ(Q(x)), DQ(int8 weight), DQ(int32 bias)) with
// both constants initializers.
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qtune::quant {

struct Int8ConvSite {
  size_t node = 0;
  std::string x, x_dq; // the conv's input before Q and after DQ
  size_t weight_dq = 0, bias_dq = 0;
};

std::vector<Int8ConvSite> find_int8_conv_sites(const Graph &g);

} // namespace qtune::quant
