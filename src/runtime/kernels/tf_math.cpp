// TF math ops: Cast (DstT; Truncate keeps the top bits on a cast to
// bfloat16), Round (half to even; integers unchanged), Rsqrt, Square, the reductions
// Sum/Prod/Max/Min/Mean/All/Any (reduction_indices input, keep_dims; an empty
// axis list is the identity), Softmax / LogSoftmax (last axis), AddN, BiasAdd
// (NHWC: last axis; NCHW: axis 1) through the ONNX kernels, ClipByValue,
// Cumsum, and Dequantize
// (MIN_COMBINED / MIN_FIRST with the minimum rounded to a whole step /
// SCALED, per tensor or along axis).
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

using kernels::tf::OnnxBacked;
namespace tfk = kernels::tf;

class TfCastKernel : public Kernel {
public:
  TfCastKernel(const Node &n, const KernelEnv &)
      : node_(n), to_(tfk::attr_dtype(n, "DstT", DType::undefined)),
        truncate_(n.attr_int("Truncate", 0) != 0) {
    if (to_ == DType::undefined)
      throw InputError(n.describe() + ": needs the DstT attribute");
    if (to_ == DType::string)
      kernels::throw_dtype(n, to_);
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in[0].dtype() == DType::string)
      kernels::throw_dtype(node_, in[0].dtype());
    return {{to_, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (truncate_ && to_ == DType::bf16 && in[0].dtype() == DType::f32) {
      const uint32_t *x = in[0].data<uint32_t>();
      uint16_t *y = out[0].data<uint16_t>();
      for (int64_t i = 0; i < in[0].numel(); ++i)
        y[i] = static_cast<uint16_t>(x[i] >> 16);
      return;
    }
    in[0].cast_to(out[0]);
  }

private:
  Node node_;
  DType to_;
  bool truncate_;
};

enum class Unary { round, rsqrt, square };

// Round (half to even; integers unchanged), and Rsqrt (1 / sqrt(x), floats)
// and Square (x * x), the pieces of l2_normalize ONNX has no single op for.
class TfUnaryKernel : public Kernel {
public:
  TfUnaryKernel(const Node &n, const KernelEnv &, Unary op) : node_(n), op_(op) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    DType t = in[0].dtype();
    if (t == DType::boolean || (op_ == Unary::rsqrt && t != DType::f32 && t != DType::f64))
      kernels::throw_dtype(node_, t);
    return {{t, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *x = in[0].data<T>();
      T *y = out[0].data<T>();
      for (int64_t i = 0; i < in[0].numel(); ++i)
        y[i] = apply(x[i]);
    });
  }

private:
  template <typename T> T apply(T v) const {
    if (op_ == Unary::square)
      return static_cast<T>(v * v);
    if constexpr (std::is_floating_point_v<T>)
      return op_ == Unary::round ? std::nearbyint(v) // default rounding mode: half to even
                                 : T(1) / std::sqrt(v);
    return v; // integer Round
  }

  Node node_;
  Unary op_;
};

// ClipByValue(t, min, max) = max(min(t, max_value), min_value); the bounds are
// scalars or of t's shape (broadcast).
class ClipByValueKernel : public Kernel {
public:
  ClipByValueKernel(const Node &n, const KernelEnv &) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 3)
      throw InputError(node_.describe() + ": needs t, clip_value_min and clip_value_max");
    if (in[1].dtype() != in[0].dtype() || in[2].dtype() != in[0].dtype() ||
        in[0].dtype() == DType::boolean)
      throw InputError(node_.describe() + ": t and its bounds must share one numeric dtype");
    Shape out = kernels::broadcast_shape(node_, {in[0].shape(), in[1].shape(), in[2].shape()});
    if (out != in[0].shape())
      throw InputError(fmt::format("{}: bounds {} / {} do not fit t {}", node_.describe(),
                                   shape_str(in[1].shape()), shape_str(in[2].shape()),
                                   shape_str(in[0].shape())));
    return {{in[0].dtype(), out}};
  }

  void prepare(std::span<const Tensor> in) override {
    plan_ = kernels::make_broadcast(node_, {in[0].shape(), in[1].shape(), in[2].shape()});
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *x = in[0].data<T>(), *lo = in[1].data<T>(), *hi = in[2].data<T>();
      T *y = out[0].data<T>();
      const int64_t inner = plan_.inner();
      const int64_t sx = plan_.step[0].back(), sl = plan_.step[1].back(), sh = plan_.step[2].back();
      for (int64_t r = 0; r < plan_.rows(); ++r) {
        int64_t off[3];
        plan_.row_offsets(r, off);
        for (int64_t i = 0; i < inner; ++i) {
          T v = std::min(x[off[0] + i * sx], hi[off[2] + i * sh]);
          y[r * inner + i] = std::max(v, lo[off[1] + i * sl]);
        }
      }
    });
  }

private:
  Node node_;
  kernels::Broadcast plan_;
};

// Cumsum(x, axis): running sums along axis; exclusive leaves the current
// element out, reverse runs from the end.
class CumsumKernel : public Kernel {
public:
  CumsumKernel(const Node &n, const KernelEnv &)
      : node_(n), exclusive_(n.attr_int("exclusive", 0) != 0),
        reverse_(n.attr_int("reverse", 0) != 0) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs x and axis");
    if (in[0].dtype() == DType::boolean)
      kernels::throw_dtype(node_, in[0].dtype());
    axis_ = kernels::normalize_axis(node_, tfk::scalar_i64(node_, in[1], "axis"),
                                    std::max(1, in[0].rank()));
    return {{in[0].dtype(), in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Shape &s = in[0].shape();
    int64_t outer = kernels::numel_before(s, axis_), n = s.empty() ? 1 : s[axis_],
            inner = kernels::numel_after(s, axis_);
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *x = in[0].data<T>();
      T *y = out[0].data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          T acc = 0;
          for (int64_t k = 0; k < n; ++k) {
            int64_t at = (o * n + (reverse_ ? n - 1 - k : k)) * inner + i;
            T v = x[at];
            if (!exclusive_)
              acc = static_cast<T>(acc + v);
            y[at] = acc;
            if (exclusive_)
              acc = static_cast<T>(acc + v);
          }
        }
    });
  }

private:
  Node node_;
  bool exclusive_, reverse_;
  int axis_ = 0;
};

// Sum/Prod/Max/Min/Mean and All/Any (bool Min/Max) as ONNX Reduce*.
class TfReduceKernel : public OnnxBacked {
public:
  TfReduceKernel(const Node &n, const KernelEnv &env, std::string op, bool logical)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})), op_(std::move(op)),
        logical_(logical) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs input and reduction_indices");
    if (logical_ && in[0].dtype() != DType::boolean)
      throw InputError(fmt::format("{}: input must be bool, got {}", node_.describe(),
                                   dtype_name(in[0].dtype())));
    if (!logical_ && in[0].dtype() == DType::boolean)
      kernels::throw_dtype(node_, in[0].dtype());
    if (in[1].rank() > 1)
      throw InputError(fmt::format("{}: reduction_indices must be a vector, got {}",
                                   node_.describe(), shape_str(in[1].shape())));
    Node m = make_onnx(op_);
    m.attrs["keepdims"] = node_.attr_int("keep_dims", 0);
    m.attrs["noop_with_empty_axes"] = int64_t{1};
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    return {in[0], in[1].reshaped({in[1].numel()})};
  }

private:
  std::string op_;
  bool logical_;
};

// Ops whose ONNX kernel takes the TF inputs as they are (Softmax: opset 13's
// default axis is the last one, as in TF).
class SameInputsKernel : public OnnxBacked {
public:
  SameInputsKernel(const Node &n, const KernelEnv &env, std::string op)
      : OnnxBacked(n, env, false), op_(std::move(op)) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (op_ == "Sum") // AddN: TF requires equal shapes, ONNX would broadcast
      for (const Tensor &t : in)
        if (t.shape() != in[0].shape())
          throw InputError(fmt::format("{}: inputs {} and {} differ in shape", node_.describe(),
                                       shape_str(in[0].shape()), shape_str(t.shape())));
    return make_onnx(op_);
  }

private:
  std::string op_;
};

class BiasAddKernel : public OnnxBacked {
public:
  BiasAddKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, false), nchw_(n.attr_string("data_format", "NHWC") == "NCHW") {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2 || in[1].rank() != 1 || in[0].rank() < 2)
      throw InputError(node_.describe() + ": needs value of rank >= 2 and a bias vector");
    int axis = nchw_ ? 1 : in[0].rank() - 1;
    if (in[0].dim(axis) != in[1].dim(0))
      throw InputError(fmt::format("{}: bias {} does not match dim {} of {}", node_.describe(),
                                   shape_str(in[1].shape()), axis, shape_str(in[0].shape())));
    bias_shape_.assign(in[0].rank() - axis, 1);
    bias_shape_[0] = in[1].dim(0);
    return make_onnx("Add");
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    return {in[0], in[1].reshaped(bias_shape_)};
  }

private:
  bool nchw_;
  Shape bias_shape_;
};

enum class DqMode { min_combined, min_first, scaled };

class DequantizeKernel : public Kernel {
public:
  DequantizeKernel(const Node &n, const KernelEnv &)
      : node_(n), axis_(n.attr_int("axis", -1)), narrow_(n.attr_int("narrow_range", 0) != 0),
        out_(tfk::attr_dtype(n, "dtype", DType::f32)) {
    std::string mode = n.attr_string("mode", "MIN_COMBINED");
    if (mode == "MIN_COMBINED")
      mode_ = DqMode::min_combined;
    else if (mode == "MIN_FIRST")
      mode_ = DqMode::min_first;
    else if (mode == "SCALED")
      mode_ = DqMode::scaled;
    else
      throw UnsupportedError(fmt::format("{}: mode '{}' is not supported", n.describe(), mode));
    if (out_ != DType::f32 && out_ != DType::bf16)
      kernels::throw_dtype(n, out_);
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 3)
      throw InputError(node_.describe() + ": needs input, min_range and max_range");
    DType t = in[0].dtype();
    if (t != DType::u8 && t != DType::i8 && t != DType::u16 && t != DType::i16 && t != DType::i32)
      kernels::throw_dtype(node_, t);
    int64_t channels = 1;
    if (axis_ != -1)
      channels = in[0].dim(kernels::normalize_axis(node_, axis_, in[0].rank()));
    if (in[1].numel() != channels || in[2].numel() != channels)
      throw InputError(fmt::format("{}: min_range/max_range need {} values, got {} and {}",
                                   node_.describe(), channels, in[1].numel(), in[2].numel()));
    return {{out_, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    Tensor y = out_ == DType::f32 ? out[0] : Tensor(DType::f32, out[0].shape());
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        dequantize(in[0].data<T>(), in, y.data<float>());
    });
    if (out_ != DType::f32) {
      y.cast_to(out[0]);
    }
  }

private:
  template <typename T> void dequantize(const T *x, std::span<const Tensor> in, float *y) const {
    const Shape &s = in[0].shape();
    int axis = axis_ == -1 ? -1 : kernels::normalize_axis(node_, axis_, in[0].rank());
    int64_t inner = axis < 0 ? in[0].numel() : kernels::numel_after(s, axis);
    int64_t channels = axis < 0 ? 1 : s[axis];
    std::vector<float> lo = in[1].to_f32_vector(), hi = in[2].to_f32_vector();
    for (int64_t i = 0; i < in[0].numel(); ++i) {
      int64_t c = (i / inner) % channels;
      y[i] = value(x[i], lo[c], hi[c]);
    }
  }

  // Float arithmetic in the order TensorFlow's CPU kernel uses.
  template <typename T> float value(T q, float lo, float hi) const {
    constexpr float tmin = float(std::numeric_limits<T>::min());
    constexpr float tmax = float(std::numeric_limits<T>::max());
    const float scale = (hi - lo) / (tmax - tmin);
    switch (mode_) {
    case DqMode::min_combined: {
      const float half = std::is_signed_v<T> ? (tmax - tmin + 1) / 2 : 0.f;
      return (float(q) + half) * scale + lo;
    }
    case DqMode::min_first: {
      // The minimum is first rounded to a whole number of steps, so that
      // a real 0 has an exact quantized value.
      const float lo_rounded = hi == lo ? lo : std::round(lo / scale) * scale;
      return (float(q) - tmin) * scale + lo_rounded;
    }
    case DqMode::scaled: {
      const float min_t = tmin + (narrow_ ? 1 : 0);
      const float f = tmin == 0 ? hi / tmax : std::max(lo / min_t, hi / tmax);
      return float(q) * f;
    }
    }
    return 0;
  }

  Node node_;
  int64_t axis_;
  bool narrow_;
  DType out_;
  DqMode mode_ = DqMode::min_combined;
};

} // namespace

void register_tf_math_kernels(KernelRegistry &r) {
  r.add("Cast", tfk::factory<TfCastKernel>(), "tf");
  r.add("Round", tfk::factory<TfUnaryKernel>(Unary::round), "tf");
  r.add("Rsqrt", tfk::factory<TfUnaryKernel>(Unary::rsqrt), "tf");
  r.add("Square", tfk::factory<TfUnaryKernel>(Unary::square), "tf");
  const std::pair<const char *, const char *> reductions[] = {
      {"Sum", "ReduceSum"}, {"Prod", "ReduceProd"}, {"Max", "ReduceMax"},
      {"Min", "ReduceMin"}, {"Mean", "ReduceMean"},
  };
  for (const auto &[tf_op, onnx_op] : reductions)
    r.add(tf_op, tfk::factory<TfReduceKernel>(std::string(onnx_op), false), "tf");
  r.add("All", tfk::factory<TfReduceKernel>(std::string("ReduceMin"), true), "tf");
  r.add("Any", tfk::factory<TfReduceKernel>(std::string("ReduceMax"), true), "tf");
  r.add("Softmax", tfk::factory<SameInputsKernel>(std::string("Softmax")), "tf");
  r.add("LogSoftmax", tfk::factory<SameInputsKernel>(std::string("LogSoftmax")), "tf");
  r.add("AddN", tfk::factory<SameInputsKernel>(std::string("Sum")), "tf");
  r.add("BiasAdd", tfk::factory<BiasAddKernel>(), "tf");
  r.add("BiasAddV1", tfk::factory<BiasAddKernel>(), "tf");
  r.add("Dequantize", tfk::factory<DequantizeKernel>(), "tf");
  r.add("ClipByValue", tfk::factory<ClipByValueKernel>(), "tf");
  r.add("Cumsum", tfk::factory<CumsumKernel>(), "tf");
}

} // namespace qtune
