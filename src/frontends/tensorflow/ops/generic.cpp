// Ops emitted as `tf:<Op>` nodes with generically converted attributes: TF 1.x
// control flow and TensorArrays (H3's while-loop pass and kernels) and the ops
// whose semantics no ONNX op matches exactly (H4's tf: kernels).
#include "frontends/tensorflow/ops/convert.h"

namespace qtune::tf {

void register_tf_generic_converters(ConverterTable &t) {
  // Ops with a fixed number of outputs beyond what consumers reference.
  const std::pair<const char *, size_t> ops[] = {// control flow (H3)
                                                 {"Enter", 1},
                                                 {"RefEnter", 1},
                                                 {"Exit", 1},
                                                 {"RefExit", 1},
                                                 {"Merge", 2},
                                                 {"RefMerge", 2},
                                                 {"Switch", 2},
                                                 {"RefSwitch", 2},
                                                 {"NextIteration", 1},
                                                 {"RefNextIteration", 1},
                                                 {"LoopCond", 1},
                                                 // TensorArrays (H3)
                                                 {"TensorArrayV3", 2},
                                                 {"TensorArrayReadV3", 1},
                                                 {"TensorArrayWriteV3", 1},
                                                 {"TensorArrayScatterV3", 1},
                                                 {"TensorArrayGatherV3", 1},
                                                 {"TensorArraySizeV3", 1},
                                                 {"TensorArrayConcatV3", 2},
                                                 // H4's tf: kernels
                                                 {"NonMaxSuppression", 1},
                                                 {"NonMaxSuppressionV2", 1},
                                                 {"NonMaxSuppressionV3", 1},
                                                 {"NonMaxSuppressionV4", 2},
                                                 {"NonMaxSuppressionV5", 3},
                                                 {"CropAndResize", 1},
                                                 {"Select", 1},
                                                 {"All", 1},
                                                 {"Any", 1},
                                                 {"ZerosLike", 1},
                                                 {"OnesLike", 1},
                                                 {"SpaceToBatchND", 1},
                                                 {"BatchToSpaceND", 1},
                                                 {"L2Normalize", 1},
                                                 {"ClipByValue", 1},
                                                 {"BroadcastTo", 1},
                                                 {"Cumsum", 1},
                                                 {"Unique", 2},
                                                 {"DepthToSpace", 1},
                                                 {"SpaceToDepth", 1},
                                                 {"ReverseV2", 1}};
  for (auto [op, n] : ops)
    t.add(op, [n = n](ConvertContext &c) { c.emit_generic(n); });
}

} // namespace qtune::tf
