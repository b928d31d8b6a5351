#include "runtime/kernels/resize_layout.h"

#include <cstring>

#include "runtime/dnnl_util.h"

namespace qtune::kernels {
namespace {

dnnl::memory::desc nhwc_desc(const Shape &s, DType t) {
  return dnnl::memory::desc(dnnl_util::to_dims(s), dnnl_util::dtype(t),
                            dnnl::memory::format_tag::nhwc);
}

} // namespace

void NhwcNearestResize::plan(const KernelEnv &env, const Tensor &x, const Shape &out,
                             bool hw_only) {
  nhwc_ = false;
  to_plain_.clear();
  if (!in_layout_)
    return;
  dnnl::memory::desc given(*in_layout_);
  const Shape &s = x.shape();
  if (hw_only && s.size() == 4 && given == nhwc_desc(s, x.dtype()) && s[0] == out[0] &&
      s[1] == out[1]) {
    nhwc_ = true;
    in_h_ = s[2], in_w_ = s[3];
    out_desc_ = nhwc_desc(out, x.dtype());
    return;
  }
  to_plain_.plan(env, given, dnnl_util::plain_desc(s, dnnl_util::dtype(x.dtype())));
}

const void *NhwcNearestResize::plain_input(const KernelEnv &env, const Tensor &x) {
  return to_plain_.run(env, x.raw());
}

// [N,H,W,C] -> [N,OH,OW,C]; a repeated source row copies the previous
// output row.
void NhwcNearestResize::run(const void *x, Tensor &y, const int64_t *mh, const int64_t *mw) const {
  const Shape &os = y.shape();
  const int64_t n = os[0], oh = os[2], ow = os[3];
  const int64_t pixel = os[1] * static_cast<int64_t>(dtype_size(y.dtype()));
  const int64_t in_image = in_h_ * in_w_ * pixel, row = ow * pixel;
  const auto *in = static_cast<const uint8_t *>(x);
  auto *out = static_cast<uint8_t *>(y.raw());
#pragma omp parallel for if (y.nbytes() > 32768)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < oh; ++i) {
      uint8_t *dst = out + (b * oh + i) * row;
      if (i > 0 && mh[i] == mh[i - 1]) {
        std::memcpy(dst, dst - row, row);
        continue;
      }
      const uint8_t *src = in + b * in_image + mh[i] * in_w_ * pixel;
      for (int64_t j = 0; j < ow; ++j)
        std::memcpy(dst + j * pixel, src + mw[j] * pixel, pixel);
    }
}

} // namespace qtune::kernels
