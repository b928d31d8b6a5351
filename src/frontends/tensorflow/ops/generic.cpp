// Ops emitted as `tf:<Op>` nodes with generically converted attributes: TF 1.x
// control flow and TensorArrays (H3's while-loop pass and kernels) and the ops
// whose semantics no ONNX op matches exactly (the tf: kernels). Constant ones
// fold at import through those kernels (Dequantize of quint8 weights does).
#include "frontends/tensorflow/ops/convert.h"

namespace qtune::tf {

void register_tf_generic_converters(ConverterTable &t) {
  const char *single[] = {"Enter",
                          "RefEnter",
                          "Exit",
                          "RefExit",
                          "NextIteration",
                          "RefNextIteration",
                          "LoopCond",
                          "TensorArrayReadV3",
                          "TensorArrayWriteV3",
                          "TensorArrayScatterV3",
                          "TensorArrayGatherV3",
                          "TensorArraySizeV3",
                          "NonMaxSuppression",
                          "NonMaxSuppressionV2",
                          "NonMaxSuppressionV3",
                          "CropAndResize",
                          "Select",
                          "All",
                          "Any",
                          "ZerosLike",
                          "OnesLike",
                          "SpaceToBatchND",
                          "BatchToSpaceND",
                          "ClipByValue",
                          "BroadcastTo",
                          "Cumsum",
                          "DepthToSpace",
                          "SpaceToDepth",
                          "ReverseV2",
                          "Dequantize"};
  for (const char *op : single)
    t.add(op, [](ConvertContext &c) { c.emit_generic(1); });
  // Ops with more outputs than their consumers may reference.
  const std::pair<const char *, size_t> multi[] = {{"Merge", 2},
                                                   {"RefMerge", 2},
                                                   {"Switch", 2},
                                                   {"RefSwitch", 2},
                                                   {"TensorArrayV3", 2},
                                                   {"TensorArrayConcatV3", 2},
                                                   {"NonMaxSuppressionV4", 2},
                                                   {"NonMaxSuppressionV5", 3},
                                                   {"Unique", 2}};
  for (auto [op, n] : multi)
    t.add(op, [n = n](ConvertContext &c) { c.emit_generic(n); });
}

} // namespace qtune::tf
