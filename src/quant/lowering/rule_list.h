#pragma once
// Every lowering rule file registers its rules and its ops' descriptors here
// (an explicit call list, as static libraries drop unreferenced objects).
// Adding an int8 op: write lowering/<rule>.cpp with
// `void register_<rule>_rules(LoweringRegistry&)` and add one line below.
// Order matters only for the report (rules are tried per node, in the order
// the node's descriptor lists them).
#define QTUNE_LOWERING_RULES(X)                                                                    \
  X(conv)                                                                                          \
  X(qlinear)                                                                                       \
  X(matmul)                                                                                        \
  X(maxpool)                                                                                       \
  X(avgpool)                                                                                       \
  X(passthrough)                                                                                   \
  X(residual_add)                                                                                  \
  X(split)                                                                                         \
  X(lut)                                                                                           \
  X(qoperator)
