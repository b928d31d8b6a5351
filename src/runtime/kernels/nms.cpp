// NonMaxSuppression (per batch and class, greedy by descending score, boxes as
// corners or centers) and NonZero. Both have value-dependent output shapes, so
// the result is computed in infer() and copied out in run().
#include <algorithm>
#include <numeric>
#include <type_traits>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"
#include "runtime/kernels/nms_util.h"

namespace qtune {
namespace {

using kernels::Box;

class NmsKernel : public Kernel {
public:
  explicit NmsKernel(const Node &n) : node_(n), center_(n.attr_int("center_point_box", 0) != 0) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Tensor &boxes = in[0], &scores = in[1];
    if (boxes.rank() != 3 || boxes.dim(2) != 4 || scores.rank() != 3 ||
        scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
      throw InputError(fmt::format("{}: boxes {} and scores {} do not match", node_.describe(),
                                   shape_str(boxes.shape()), shape_str(scores.shape())));
    if (boxes.dtype() != DType::f32 || scores.dtype() != DType::f32)
      kernels::throw_dtype(node_, boxes.dtype());
    int64_t max_out = kernels::has_input(in, 2) && in[2].numel() ? in[2].get_i64(0) : 0;
    float iou_th = kernels::has_input(in, 3) && in[3].numel() ? float(in[3].get_f64(0)) : 0.f;
    std::optional<float> score_th;
    if (kernels::has_input(in, 4) && in[4].numel())
      score_th = float(in[4].get_f64(0));
    int64_t B = boxes.dim(0), N = boxes.dim(1), C = scores.dim(1);
    selected_.clear();
    std::vector<Box> bx(N);
    for (int64_t b = 0; b < B; ++b) {
      const float *p = boxes.data<float>() + b * N * 4;
      for (int64_t i = 0; i < N; ++i)
        bx[i] = to_corners(p + i * 4);
      for (int64_t c = 0; c < C; ++c) {
        const float *s = scores.data<float>() + (b * C + c) * N;
        for (int64_t i : kernels::greedy_nms(bx, s, max_out, iou_th, score_th))
          selected_.insert(selected_.end(), {b, c, i});
      }
    }
    return {{DType::i64, {static_cast<int64_t>(selected_.size() / 3), 3}}};
  }

  void run(std::span<const Tensor>, std::span<Tensor> out) override {
    std::copy(selected_.begin(), selected_.end(), out[0].data<int64_t>());
  }
  bool value_dependent_shapes() const override { return true; }

private:
  Box to_corners(const float *p) const {
    if (center_)
      return {p[1] - p[3] / 2, p[0] - p[2] / 2, p[1] + p[3] / 2, p[0] + p[2] / 2};
    return kernels::box_from_corners(p);
  }

  Node node_;
  bool center_;
  std::vector<int64_t> selected_;
};

class NonZeroKernel : public Kernel {
public:
  explicit NonZeroKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Tensor &x = in[0];
    std::vector<int64_t> flat;
    kernels::dispatch_numeric(node_, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *p = x.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i)
        if (p[i] != T(0))
          flat.push_back(i);
    });
    int rank = std::max(1, x.rank());
    int64_t n = static_cast<int64_t>(flat.size());
    coords_.assign(rank * n, 0);
    for (int64_t k = 0; k < n; ++k) {
      int64_t rem = flat[k];
      for (int d = x.rank() - 1; d >= 0; --d) {
        coords_[d * n + k] = rem % x.shape()[d];
        rem /= x.shape()[d];
      }
    }
    return {{DType::i64, {x.rank(), n}}};
  }

  void run(std::span<const Tensor>, std::span<Tensor> out) override {
    std::copy(coords_.begin(), coords_.begin() + out[0].numel(), out[0].data<int64_t>());
  }
  bool value_dependent_shapes() const override { return true; }

private:
  Node node_;
  std::vector<int64_t> coords_;
};

} // namespace

void register_nms_kernels(KernelRegistry &r) {
  r.add("NonMaxSuppression",
        [](const Node &n, const KernelEnv &) { return std::make_unique<NmsKernel>(n); });
  r.add("NonZero",
        [](const Node &n, const KernelEnv &) { return std::make_unique<NonZeroKernel>(n); });
}

} // namespace qtune
