// Elementwise math with one input: Exp Log Sqrt Neg Abs Reciprocal Floor Ceil
// Round Sign Erf, trigonometry, Not, IsNaN, IsInf. Float ops take f32 (and f64);
// Neg, Abs and Sign also take integers.
#include <cmath>
#include <functional>
#include <type_traits>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

constexpr int64_t kParallel = 32768;

template <typename T, typename R, typename F> void map_loop(const T *x, R *y, int64_t n, F f) {
#pragma omp parallel for if (n > kParallel)
  for (int64_t i = 0; i < n; ++i)
    y[i] = f(x[i]);
}

enum class UnOp {
  exp,
  log,
  sqrt,
  neg,
  abs,
  reciprocal,
  floor,
  ceil,
  round,
  sign,
  erf,
  sin,
  cos,
  tan,
  asin,
  acos,
  atan,
  sinh,
  cosh,
  asinh,
  acosh,
  atanh,
  logical_not,
  is_nan,
  is_inf,
};

bool integer_ok(UnOp op) {
  return op == UnOp::neg || op == UnOp::abs || op == UnOp::sign;
}

template <typename T> void run_unary(UnOp op, const T *x, T *y, int64_t n) {
  switch (op) {
  case UnOp::neg:
    map_loop(x, y, n, [](T v) -> T { return -v; });
    return;
  case UnOp::abs:
    map_loop(x, y, n, [](T v) -> T { return v < 0 ? T(-v) : v; });
    return;
  case UnOp::sign:
    map_loop(x, y, n, [](T v) -> T { return T((v > 0) - (v < 0)); });
    return;
  default:
    break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
    case UnOp::exp:
      map_loop(x, y, n, [](T v) { return std::exp(v); });
      break;
    case UnOp::log:
      map_loop(x, y, n, [](T v) { return std::log(v); });
      break;
    case UnOp::sqrt:
      map_loop(x, y, n, [](T v) { return std::sqrt(v); });
      break;
    case UnOp::reciprocal:
      map_loop(x, y, n, [](T v) { return T(1) / v; });
      break;
    case UnOp::floor:
      map_loop(x, y, n, [](T v) { return std::floor(v); });
      break;
    case UnOp::ceil:
      map_loop(x, y, n, [](T v) { return std::ceil(v); });
      break;
    // Round half to even, as ONNX specifies (the default FE_TONEAREST mode).
    case UnOp::round:
      map_loop(x, y, n, [](T v) { return std::nearbyint(v); });
      break;
    case UnOp::erf:
      map_loop(x, y, n, [](T v) { return std::erf(v); });
      break;
    case UnOp::sin:
      map_loop(x, y, n, [](T v) { return std::sin(v); });
      break;
    case UnOp::cos:
      map_loop(x, y, n, [](T v) { return std::cos(v); });
      break;
    case UnOp::tan:
      map_loop(x, y, n, [](T v) { return std::tan(v); });
      break;
    case UnOp::asin:
      map_loop(x, y, n, [](T v) { return std::asin(v); });
      break;
    case UnOp::acos:
      map_loop(x, y, n, [](T v) { return std::acos(v); });
      break;
    case UnOp::atan:
      map_loop(x, y, n, [](T v) { return std::atan(v); });
      break;
    case UnOp::sinh:
      map_loop(x, y, n, [](T v) { return std::sinh(v); });
      break;
    case UnOp::cosh:
      map_loop(x, y, n, [](T v) { return std::cosh(v); });
      break;
    case UnOp::asinh:
      map_loop(x, y, n, [](T v) { return std::asinh(v); });
      break;
    case UnOp::acosh:
      map_loop(x, y, n, [](T v) { return std::acosh(v); });
      break;
    case UnOp::atanh:
      map_loop(x, y, n, [](T v) { return std::atanh(v); });
      break;
    default:
      break;
    }
  }
}

class UnaryKernel : public Kernel {
public:
  UnaryKernel(const Node &n, UnOp op) : node_(n), op_(op) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    DType t = in[0].dtype();
    if (op_ == UnOp::logical_not) {
      if (t != DType::boolean)
        kernels::throw_dtype(node_, t);
      return {{t, in[0].shape()}};
    }
    bool is_float = t == DType::f32 || t == DType::f64;
    if (!is_float && !(integer_ok(op_) && t != DType::boolean))
      kernels::throw_dtype(node_, t);
    bool to_bool = op_ == UnOp::is_nan || op_ == UnOp::is_inf;
    return {{to_bool ? DType::boolean : t, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Tensor &x = in[0];
    int64_t n = x.numel();
    if (op_ == UnOp::logical_not) {
      map_loop(x.data<bool>(), out[0].data<bool>(), n, [](bool v) { return !v; });
      return;
    }
    if (op_ == UnOp::is_nan || op_ == UnOp::is_inf) {
      bool detect_pos = node_.attr_int("detect_positive", 1) != 0;
      bool detect_neg = node_.attr_int("detect_negative", 1) != 0;
      kernels::dispatch_numeric(node_, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_floating_point_v<T>) {
          if (op_ == UnOp::is_nan)
            map_loop(x.data<T>(), out[0].data<bool>(), n, [](T v) { return std::isnan(v); });
          else
            map_loop(x.data<T>(), out[0].data<bool>(), n, [=](T v) {
              return std::isinf(v) && ((v > 0 && detect_pos) || (v < 0 && detect_neg));
            });
        }
      });
      return;
    }
    kernels::dispatch_numeric(node_, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>)
        run_unary<T>(op_, x.data<T>(), out[0].data<T>(), n);
    });
  }

private:
  Node node_;
  UnOp op_;
};

} // namespace

void register_unary_kernels(KernelRegistry &r) {
  const std::pair<const char *, UnOp> ops[] = {
      {"Exp", UnOp::exp},      {"Log", UnOp::log},         {"Sqrt", UnOp::sqrt},
      {"Neg", UnOp::neg},      {"Abs", UnOp::abs},         {"Reciprocal", UnOp::reciprocal},
      {"Floor", UnOp::floor},  {"Ceil", UnOp::ceil},       {"Round", UnOp::round},
      {"Sign", UnOp::sign},    {"Erf", UnOp::erf},         {"Sin", UnOp::sin},
      {"Cos", UnOp::cos},      {"Tan", UnOp::tan},         {"Asin", UnOp::asin},
      {"Acos", UnOp::acos},    {"Atan", UnOp::atan},       {"Sinh", UnOp::sinh},
      {"Cosh", UnOp::cosh},    {"Asinh", UnOp::asinh},     {"Acosh", UnOp::acosh},
      {"Atanh", UnOp::atanh},  {"Not", UnOp::logical_not}, {"IsNaN", UnOp::is_nan},
      {"IsInf", UnOp::is_inf},
  };
  for (const auto &[name, op] : ops)
    r.add(name, [op = op](const Node &n, const KernelEnv &) {
      return std::make_unique<UnaryKernel>(n, op);
    });
}

} // namespace qtune
