#pragma once
// What a model takes and gives, which ops it uses, how many parameters and
// roughly how much compute (FLOPs = 2 x MACs of Conv / ConvTranspose / Gemm /
// MatMul, symbolic dims counted as 1): `qtune inspect`'s numbers.
#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"

namespace qtune {

struct ModelSummary {
  std::map<std::string, int64_t> ops; // "domain:op_type" (default domain: op_type) -> nodes
  int64_t parameters = 0;             // elements of every initializer
  int64_t macs = 0;
  bool macs_complete = true; // false: some shapes unknown, macs is a lower bound
};

ModelSummary summarize_model(const Graph &g);

// "[1,3,H,W]": symbols (or "?") for unknown dims; "?" when the rank is unknown.
std::string dims_str(const ValueInfo &v);

} // namespace qtune
