#pragma once
// Channels-last nearest Resize, shared by the float Resize and the int8
// QResize kernels (both opt into oneDNN layouts, runtime/kernel.h).
//
// A 4-D input that arrives channels-last (what oneDNN convolutions write) and
// is resized in H and W only is read and written channels-last: each output
// pixel copies its source pixel's channel run. Before, the executor reordered
// it to plain and the Concat after YOLOX's PAFPN upsampling transposed the
// plain output back element by element (~1/8 of the tuned YOLOX-Nano INT8
// profile, 2 of the FP32 model's 3 costliest Concats). Any other blocked
// input is reordered to plain here and the kernel's plain code runs.
#include <dnnl.hpp>
#include <vector>

#include "qtune/tensor.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"

namespace qtune::kernels {

class NhwcNearestResize {
public:
  void set_input_layout(const dnnl_memory_desc_t *layout) { in_layout_ = layout; }

  // Decides for input x resized to `out`; `hw_only`: the resize is nearest
  // and its N and C source maps are the identity.
  void plan(const KernelEnv &env, const Tensor &x, const Shape &out, bool hw_only);

  bool active() const { return nhwc_; }
  const dnnl_memory_desc_t *output_layout() const { return nhwc_ ? &out_desc_.data : nullptr; }

  // The plain input: x itself, or its reorder from a blocked layout.
  const void *plain_input(const KernelEnv &env, const Tensor &x);

  // y (channels-last) from x (channels-last): mh / mw map output rows /
  // columns to source rows / columns.
  void run(const void *x, Tensor &y, const int64_t *mh, const int64_t *mw) const;

private:
  const dnnl_memory_desc_t *in_layout_ = nullptr;
  bool nhwc_ = false;
  int64_t in_h_ = 0, in_w_ = 0;
  dnnl::memory::desc out_desc_;
  dnnl_util::Relayout to_plain_;
};

} // namespace qtune::kernels
