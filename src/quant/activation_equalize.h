#pragma once
// Recipe `activation_equalization`: per-channel activation resolution with
// per-tensor int8 kernels. One u8 scale per tensor gives a channel whose range
// is a tenth of the widest a tenth of the levels; on YOLOX-Nano, simulating a
// scale per channel halves the fidelity gap to FP32 (README, session 11).
// An activation x that only convs read is rewritten, exactly in FP32, as
//   x~ = x * f      (f[c] >= 1 per channel, an inserted Mul)
//   W~[:, c] = W[:, c] / f[c]   in every reader (depthwise: its channel c)
// so x~'s channels span similar ranges and one scale resolves them all; the
// readers' weights take the factor (exact for depthwise readers, whose weight
// scales are per channel; a pointwise reader's narrow-channel weights get
// coarser, hence the damping exponent, SmoothQuant's alpha).
// Runs on the FP32 graph after calibration (the factors come from per-channel
// ranges) and before quantize_graph; bias correction and the other QDQ recipes
// must be given the rewritten graph. The inserted Mul carries
// kChannelScaleAttr (ir/graph.h) and is never quantized itself.
#include <string>

#include "ir/graph.h"
#include "quant/calibration_stats.h"
#include "quant/plan.h"

namespace qtune::quant {

struct ActivationEqualization {
  Graph graph;                  // the FP32 function, rewritten
  CalibrationStats stats;       // plus the statistics of every x~
  int tensors = 0, readers = 0; // activations scaled, convs whose weights took 1/f
  int skipped_scheme = 0;       // candidates with int8 readers whose scheme is not u8 minmax
  double mean_gain = 0;         // mean f over the scaled channels
  std::string summary() const;
};

// f[c] = (widest channel's scale / channel c's scale)^alpha, capped at
// kMaxGain, where a channel's scale is what it would need alone with the zero
// point all channels share; alpha is 1 when every reader is depthwise, else
// `alpha` (YOLOX-Nano, fidelity on val2017_241: pointwise alpha 0 -> 0.889,
// 0.5 -> 0.912, 0.75 -> 0.896, 1 -> 0.905; no equalization 0.882). Candidates: a value a conv
// writes (directly or through its activation) with per-channel statistics, not a graph output, read
// only by Conv/FusedConv nodes that own their f32 weights (group 1 or depthwise) and are planned
// int8 with u8 minmax activations.
ActivationEqualization equalize_activations(const Graph &fp32, const CalibrationStats &stats,
                                            const Plan &plan, double alpha = 0.5);

} // namespace qtune::quant
