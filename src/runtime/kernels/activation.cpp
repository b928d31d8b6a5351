// Float activations: Relu LeakyRelu Clip Sigmoid Tanh HardSigmoid HardSwish Elu
// Selu Celu Softplus Softsign ThresholdedRelu Shrink Mish. PRelu is a broadcast
// op and lives in elementwise.cpp. Clip also takes integer tensors.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

constexpr int64_t kParallel = 32768;

template <typename T, typename F> void map_loop(const T *x, T *y, int64_t n, F f) {
#pragma omp parallel for if (n > kParallel)
  for (int64_t i = 0; i < n; ++i)
    y[i] = f(x[i]);
}

// exp(x) without a libm call so that loops over it vectorize: x = n*ln2 + r,
// exp(r) by the Cephes expf polynomial (relative error ~1e-7), times 2^n built
// in the exponent bits. Sigmoid dominates YOLOX's non-conv time otherwise.
inline float exp_poly(float x) {
  x = std::min(std::max(x, -87.3f), 88.3f);
  float t = x * 1.44269504088896341f + 0.5f;
  int ti = static_cast<int>(t);
  float n = static_cast<float>(ti);
  if (n > t)
    n -= 1.f; // floor for negatives
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  int bits = (static_cast<int>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

enum class Act {
  relu,
  leaky_relu,
  sigmoid,
  tanh,
  hard_sigmoid,
  hard_swish,
  elu,
  selu,
  celu,
  softplus,
  softsign,
  thresholded_relu,
  shrink,
  mish,
};

struct ActParams {
  float alpha = 0, beta = 0, gamma = 0;
};

ActParams act_params(const Node &n, Act act) {
  ActParams p;
  switch (act) {
  case Act::leaky_relu:
    p.alpha = n.attr_float("alpha", 0.01f);
    break;
  case Act::hard_sigmoid:
    p.alpha = n.attr_float("alpha", 0.2f);
    p.beta = n.attr_float("beta", 0.5f);
    break;
  case Act::elu:
  case Act::celu:
  case Act::thresholded_relu:
    p.alpha = n.attr_float("alpha", 1.0f);
    break;
  case Act::selu:
    p.alpha = n.attr_float("alpha", 1.67326319217681884765625f);
    p.gamma = n.attr_float("gamma", 1.05070102214813232421875f);
    break;
  case Act::shrink:
    p.alpha = n.attr_float("lambd", 0.5f);
    p.beta = n.attr_float("bias", 0.0f);
    break;
  default:
    break;
  }
  return p;
}

template <typename T> void run_act(Act act, const ActParams &p, const T *x, T *y, int64_t n) {
  const T a = p.alpha, b = p.beta, g = p.gamma;
  switch (act) {
  case Act::relu:
    map_loop(x, y, n, [](T v) { return v > 0 ? v : T(0); });
    break;
  case Act::leaky_relu:
    map_loop(x, y, n, [=](T v) { return v >= 0 ? v : v * a; });
    break;
  case Act::sigmoid:
    map_loop(x, y, n, [](T v) { return T(1) / (T(1) + std::exp(-v)); });
    break;
  case Act::tanh:
    map_loop(x, y, n, [](T v) { return std::tanh(v); });
    break;
  case Act::hard_sigmoid:
    map_loop(x, y, n, [=](T v) { return std::clamp(a * v + b, T(0), T(1)); });
    break;
  case Act::hard_swish:
    map_loop(x, y, n, [](T v) { return v * std::clamp(v / T(6) + T(0.5), T(0), T(1)); });
    break;
  case Act::elu:
    map_loop(x, y, n, [=](T v) { return v >= 0 ? v : a * (std::exp(v) - T(1)); });
    break;
  case Act::selu:
    map_loop(x, y, n, [=](T v) { return v > 0 ? g * v : g * (a * std::exp(v) - a); });
    break;
  case Act::celu:
    map_loop(x, y, n,
             [=](T v) { return std::max(T(0), v) + std::min(T(0), a * (std::exp(v / a) - T(1))); });
    break;
  case Act::softplus:
    map_loop(x, y, n, [](T v) { return std::log1p(std::exp(v)); });
    break;
  case Act::softsign:
    map_loop(x, y, n, [](T v) { return v / (T(1) + std::abs(v)); });
    break;
  case Act::thresholded_relu:
    map_loop(x, y, n, [=](T v) { return v > a ? v : T(0); });
    break;
  case Act::shrink:
    map_loop(x, y, n, [=](T v) { return v < -a ? v + b : (v > a ? v - b : T(0)); });
    break;
  case Act::mish:
    map_loop(x, y, n, [](T v) { return v * std::tanh(std::log1p(std::exp(v))); });
    break;
  }
}

class ActivationKernel : public Kernel {
public:
  ActivationKernel(const Node &n, Act act) : node_(n), act_(act), p_(act_params(n, act)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    DType t = in[0].dtype();
    if (t != DType::f32 && t != DType::f64)
      kernels::throw_dtype(node_, t);
    return {{t, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (act_ == Act::sigmoid && in[0].dtype() == DType::f32) {
      map_loop(in[0].data<float>(), out[0].data<float>(), in[0].numel(),
               [](float v) { return 1.f / (1.f + exp_poly(-v)); });
      return;
    }
    if (in[0].dtype() == DType::f32)
      run_act<float>(act_, p_, in[0].data<float>(), out[0].data<float>(), in[0].numel());
    else
      run_act<double>(act_, p_, in[0].data<double>(), out[0].data<double>(), in[0].numel());
  }

private:
  Node node_;
  Act act_;
  ActParams p_;
};

// Clip: bounds from optional inputs 1 and 2 (canonical form), else attributes.
class ClipKernel : public Kernel {
public:
  explicit ClipKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    for (size_t i = 1; i < 3; ++i)
      if (kernels::has_input(in, i) && in[i].numel() != 1)
        throw InputError(node_.describe() + ": min and max must be scalars");
    return {{in[0].dtype(), in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
        if (kernels::has_input(in, 1))
          lo = in[1].data<T>()[0];
        else if (node_.has_attr("min"))
          lo = static_cast<T>(node_.attr_float("min", 0));
        if (kernels::has_input(in, 2))
          hi = in[2].data<T>()[0];
        else if (node_.has_attr("max"))
          hi = static_cast<T>(node_.attr_float("max", 0));
        // min(max(x, lo), hi): when lo > hi everything becomes hi, as ONNX says.
        map_loop(in[0].data<T>(), out[0].data<T>(), in[0].numel(),
                 [=](T v) { return std::min(std::max(v, lo), hi); });
      }
    });
  }

private:
  Node node_;
};

} // namespace

void register_activation_kernels(KernelRegistry &r) {
  const std::pair<const char *, Act> acts[] = {
      {"Relu", Act::relu},
      {"LeakyRelu", Act::leaky_relu},
      {"Sigmoid", Act::sigmoid},
      {"Tanh", Act::tanh},
      {"HardSigmoid", Act::hard_sigmoid},
      {"HardSwish", Act::hard_swish},
      {"Elu", Act::elu},
      {"Selu", Act::selu},
      {"Celu", Act::celu},
      {"Softplus", Act::softplus},
      {"Softsign", Act::softsign},
      {"ThresholdedRelu", Act::thresholded_relu},
      {"Shrink", Act::shrink},
      {"Mish", Act::mish},
  };
  for (const auto &[name, act] : acts)
    r.add(name, [act = act](const Node &n, const KernelEnv &) {
      return std::make_unique<ActivationKernel>(n, act);
    });
  r.add("Clip", [](const Node &n, const KernelEnv &) { return std::make_unique<ClipKernel>(n); });
}

} // namespace qtune
