#pragma once
// Every kernel family registers itself here. Static libraries drop objects that
// nothing references, so registration is an explicit call list, not static
// initialisers. Adding an op family: write kernels/<family>.cpp with
// `void register_<family>_kernels(KernelRegistry&)` and add one line below.
#define QTUNE_KERNEL_FAMILIES(X)                                                                   \
  X(identity)                                                                                      \
  X(conv)                                                                                          \
  X(conv_transpose)                                                                                \
  X(gemm)                                                                                          \
  X(matmul)                                                                                        \
  X(pool)                                                                                          \
  X(batchnorm)                                                                                     \
  X(elementwise)                                                                                   \
  X(unary)                                                                                         \
  X(activation)                                                                                    \
  X(softmax)                                                                                       \
  X(shape_ops)                                                                                     \
  X(concat_split)                                                                                  \
  X(transpose)                                                                                     \
  X(slice)                                                                                         \
  X(gather)                                                                                        \
  X(cast)                                                                                          \
  X(expand_tile)                                                                                   \
  X(pad)                                                                                           \
  X(reduce)                                                                                        \
  X(argmax_topk)                                                                                   \
  X(resize)                                                                                        \
  X(nms)                                                                                           \
  X(quantize_linear)                                                                               \
  X(qconv)                                                                                         \
  X(qpool)                                                                                         \
  X(conv_integer)                                                                                  \
  X(matmul_integer)                                                                                \
  X(qlinear_conv)                                                                                  \
  X(qlinear_matmul)                                                                                \
  X(qmatmul)                                                                                       \
  X(qavgpool)                                                                                      \
  X(qresize)                                                                                       \
  X(quant_switch)                                                                                  \
  X(qlut)                                                                                          \
  X(tf_slice)                                                                                      \
  X(tf_nms)                                                                                        \
  X(tf_select)                                                                                     \
  X(tf_image)                                                                                      \
  X(tf_generate)                                                                                   \
  X(tf_topk)                                                                                       \
  X(tf_control_flow)                                                                               \
  X(tf_tensor_array)                                                                               \
  X(tf_shape)                                                                                      \
  X(tf_array)                                                                                      \
  X(tf_pad)                                                                                        \
  X(tf_math)

namespace qtune {
class KernelRegistry;
#define QTUNE_DECLARE_FAMILY(f) void register_##f##_kernels(KernelRegistry &);
QTUNE_KERNEL_FAMILIES(QTUNE_DECLARE_FAMILY)
#undef QTUNE_DECLARE_FAMILY
} // namespace qtune
