#pragma once
// Every TensorFlow op family registers its converters here (like
// runtime/kernels/kernel_list.h): ops/<family>.cpp defines
// `void register_tf_<family>_converters(ConverterTable&)`; add one line below.
#define QTUNE_TF_OP_FAMILIES(X)                                                                    \
  X(core)                                                                                          \
  X(conv)                                                                                          \
  X(pool)                                                                                          \
  X(elementwise)                                                                                   \
  X(math)                                                                                          \
  X(shape)                                                                                         \
  X(slice)                                                                                         \
  X(generic)

namespace qtune::tf {
class ConverterTable;
#define QTUNE_TF_DECLARE_FAMILY(f) void register_tf_##f##_converters(ConverterTable &);
QTUNE_TF_OP_FAMILIES(QTUNE_TF_DECLARE_FAMILY)
#undef QTUNE_TF_DECLARE_FAMILY
} // namespace qtune::tf
