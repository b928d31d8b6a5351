// BatchNormalization (inference, FP32): y = (x - mean) / sqrt(var + eps) * scale + B,
// folded per channel into y = x * a + b at prepare time when the statistics are
// initializers (usually BN-folding removes the node before we see it; this is
// for the graphs where it could not: BN after a non-conv op).
#include <cmath>
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

class BatchNormKernel : public Kernel {
public:
  BatchNormKernel(const Node &n, const KernelEnv &env) : node_(n) {
    epsilon_ = n.attr_float("epsilon", 1e-5f);
    if (n.outputs.size() > 1 && !n.outputs[1].empty())
      throw UnsupportedError(
          fmt::format("{}: training-mode outputs are not supported", n.describe()));
    constant_ = true;
    for (size_t i = 1; i < 5 && i < n.inputs.size(); ++i)
      constant_ = constant_ && env.is_constant(n.inputs[i]);
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 5)
      throw InputError(fmt::format("{}: needs X, scale, B, mean, var", node_.describe()));
    for (size_t i = 0; i < 5; ++i)
      if (!in[i].defined() || in[i].dtype() != DType::f32)
        throw UnsupportedError(fmt::format("{}: input {} must be f32", node_.describe(), i));
    const Shape &x = in[0].shape();
    if (x.size() < 2)
      throw InputError(
          fmt::format("{}: input {} has no channel dim", node_.describe(), shape_str(x)));
    for (size_t i = 1; i < 5; ++i)
      if (in[i].numel() != x[1])
        throw InputError(fmt::format("{}: input {} has {} values for {} channels", node_.describe(),
                                     i, in[i].numel(), x[1]));
    return {{DType::f32, x}};
  }

  void prepare(std::span<const Tensor> in) override {
    if (constant_)
      fold(in);
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (!constant_)
      fold(in);
    const Shape &x = in[0].shape();
    int64_t n = x[0], c = x[1], inner = in[0].numel() / std::max<int64_t>(n * c, 1);
    const float *src = in[0].data<float>();
    float *dst = out[0].data<float>();
#pragma omp parallel for collapse(2)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch) {
        const float *s = src + (i * c + ch) * inner;
        float *d = dst + (i * c + ch) * inner;
        float a = scale_[ch], b = shift_[ch];
        for (int64_t k = 0; k < inner; ++k)
          d[k] = s[k] * a + b;
      }
  }

private:
  void fold(std::span<const Tensor> in) {
    int64_t c = in[1].numel();
    scale_.resize(c);
    shift_.resize(c);
    const float *g = in[1].data<float>(), *b = in[2].data<float>();
    const float *mean = in[3].data<float>(), *var = in[4].data<float>();
    for (int64_t i = 0; i < c; ++i) {
      scale_[i] = g[i] / std::sqrt(var[i] + epsilon_);
      shift_[i] = b[i] - mean[i] * scale_[i];
    }
  }

  Node node_;
  float epsilon_ = 1e-5f;
  bool constant_ = false;
  std::vector<float> scale_, shift_;
};

} // namespace

void register_batchnorm_kernels(KernelRegistry &r) {
  r.add("BatchNormalization", [](const Node &n, const KernelEnv &env) {
    return std::make_unique<BatchNormKernel>(n, env);
  });
}

} // namespace qtune
