// Softmax, LogSoftmax, Hardmax. Before opset 13 these flatten the input to 2D at
// `axis` (default 1) and normalise each row; from 13 on they work along the one
// axis (default -1). The ONNX importer marks older nodes with the attribute
// "qtune.legacy_softmax" = 1 (absent means opset 13+ semantics).
#include <algorithm>
#include <cmath>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

enum class SoftmaxKind { softmax, log_softmax, hardmax };

class SoftmaxKernel : public Kernel {
public:
  SoftmaxKernel(const Node &n, SoftmaxKind kind) : node_(n), kind_(kind) {
    legacy_ = n.attr_int("qtune.legacy_softmax", 0) != 0;
    axis_ = n.attr_int("axis", legacy_ ? 1 : -1);
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    DType t = in[0].dtype();
    if (t != DType::f32)
      kernels::throw_dtype(node_, t);
    return {{t, in[0].shape()}};
  }

  void prepare(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, std::max(1, in[0].rank()));
    if (s.empty()) {
      outer_ = len_ = inner_ = 1;
    } else if (legacy_) {
      outer_ = kernels::numel_before(s, axis);
      len_ = shape_numel(s) / std::max<int64_t>(outer_, 1);
      inner_ = 1;
    } else {
      outer_ = kernels::numel_before(s, axis);
      len_ = s[axis];
      inner_ = kernels::numel_after(s, axis);
    }
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const float *x = in[0].data<float>();
    float *y = out[0].data<float>();
    if (in[0].numel() == 0)
      return;
#pragma omp parallel for if (outer_ * len_ * inner_ > 16384)
    for (int64_t o = 0; o < outer_; ++o)
      for (int64_t i = 0; i < inner_; ++i)
        row(x + o * len_ * inner_ + i, y + o * len_ * inner_ + i);
  }

private:
  // One softmax row of len_ elements spaced inner_ apart.
  void row(const float *x, float *y) const {
    const int64_t n = len_, s = inner_;
    float mx = x[0];
    int64_t arg = 0;
    for (int64_t k = 1; k < n; ++k)
      if (x[k * s] > mx)
        mx = x[k * s], arg = k;
    if (kind_ == SoftmaxKind::hardmax) {
      for (int64_t k = 0; k < n; ++k)
        y[k * s] = k == arg ? 1.f : 0.f;
      return;
    }
    float sum = 0;
    for (int64_t k = 0; k < n; ++k) {
      float e = std::exp(x[k * s] - mx);
      if (kind_ == SoftmaxKind::softmax)
        y[k * s] = e;
      sum += e;
    }
    if (kind_ == SoftmaxKind::softmax) {
      float inv = 1.f / sum;
      for (int64_t k = 0; k < n; ++k)
        y[k * s] *= inv;
    } else {
      float lse = std::log(sum);
      for (int64_t k = 0; k < n; ++k)
        y[k * s] = x[k * s] - mx - lse;
    }
  }

  Node node_;
  SoftmaxKind kind_;
  bool legacy_ = false;
  int64_t axis_ = -1;
  int64_t outer_ = 1, len_ = 1, inner_ = 1;
};

} // namespace

void register_softmax_kernels(KernelRegistry &r) {
  r.add("Softmax", [](const Node &n, const KernelEnv &) {
    return std::make_unique<SoftmaxKernel>(n, SoftmaxKind::softmax);
  });
  r.add("LogSoftmax", [](const Node &n, const KernelEnv &) {
    return std::make_unique<SoftmaxKernel>(n, SoftmaxKind::log_softmax);
  });
  r.add("Hardmax", [](const Node &n, const KernelEnv &) {
    return std::make_unique<SoftmaxKernel>(n, SoftmaxKind::hardmax);
  });
}

} // namespace qtune
