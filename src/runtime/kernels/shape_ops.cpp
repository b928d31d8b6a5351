// Ops that only change or report shapes: Reshape Flatten Squeeze Unsqueeze
// (data is copied unchanged), Shape Size, and ops that make tensors from
// shapes or attributes: ConstantOfShape Range Constant.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

// Base for ops whose output holds the input bytes under a new shape. The
// output may take over the input's buffer (the executor decides: input read
// last here, same size, plain), and then nothing is copied.
class CopyKernel : public Kernel {
public:
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (out[0].raw() != in[0].raw())
      std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
  }
  int output_may_overwrite_input(size_t k) const override { return k == 0 ? 0 : -1; }
};

class ReshapeKernel : public CopyKernel {
public:
  explicit ReshapeKernel(const Node &n) : node_(n), allowzero_(n.attr_int("allowzero", 0) != 0) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    std::vector<int64_t> spec =
        kernels::has_input(in, 1) ? in[1].to_i64_vector() : node_.attr_ints("shape");
    const Shape &s = in[0].shape();
    Shape out(spec.size());
    int infer_at = -1;
    int64_t known = 1;
    for (size_t i = 0; i < spec.size(); ++i) {
      int64_t d = spec[i];
      if (d == 0 && !allowzero_) {
        if (i >= s.size())
          throw InputError(fmt::format("{}: shape {} copies dim {} of input {}", node_.describe(),
                                       shape_str(spec), i, shape_str(s)));
        d = s[i];
      }
      if (d == -1) {
        if (infer_at >= 0)
          throw InputError(node_.describe() + ": shape has more than one -1");
        infer_at = static_cast<int>(i);
        continue;
      }
      if (d < 0)
        throw InputError(fmt::format("{}: bad shape {}", node_.describe(), shape_str(spec)));
      out[i] = d;
      known *= d;
    }
    int64_t total = in[0].numel();
    if (infer_at >= 0) {
      if (known == 0 || total % known != 0)
        throw InputError(fmt::format("{}: cannot reshape {} to {}", node_.describe(), shape_str(s),
                                     shape_str(spec)));
      out[infer_at] = total / known;
    } else if (known != total) {
      throw InputError(fmt::format("{}: cannot reshape {} to {}", node_.describe(), shape_str(s),
                                   shape_str(spec)));
    }
    return {{in[0].dtype(), out}};
  }

private:
  Node node_;
  bool allowzero_;
};

class FlattenKernel : public CopyKernel {
public:
  explicit FlattenKernel(const Node &n) : node_(n), axis_(n.attr_int("axis", 1)) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    int rank = in[0].rank();
    int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    if (axis < 0 || axis > rank)
      throw InputError(
          fmt::format("{}: axis {} out of range for rank {}", node_.describe(), axis_, rank));
    int64_t outer = kernels::numel_before(in[0].shape(), static_cast<int>(axis));
    return {{in[0].dtype(), {outer, outer == 0 ? 0 : in[0].numel() / outer}}};
  }

private:
  Node node_;
  int64_t axis_;
};

// Axes from input 1 (canonical) or the "axes" attribute.
std::vector<int64_t> axes_of(const Node &n, std::span<const Tensor> in) {
  return kernels::has_input(in, 1) ? in[1].to_i64_vector() : n.attr_ints("axes");
}

class SqueezeKernel : public CopyKernel {
public:
  explicit SqueezeKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    std::vector<bool> drop(s.size(), false);
    std::vector<int64_t> axes = axes_of(node_, in);
    if (axes.empty())
      for (size_t i = 0; i < s.size(); ++i)
        drop[i] = s[i] == 1;
    for (int64_t a : axes) {
      int ax = kernels::normalize_axis(node_, a, in[0].rank());
      if (s[ax] != 1)
        throw InputError(
            fmt::format("{}: cannot squeeze axis {} of size {}", node_.describe(), a, s[ax]));
      drop[ax] = true;
    }
    Shape out;
    for (size_t i = 0; i < s.size(); ++i)
      if (!drop[i])
        out.push_back(s[i]);
    return {{in[0].dtype(), out}};
  }

private:
  Node node_;
};

class UnsqueezeKernel : public CopyKernel {
public:
  explicit UnsqueezeKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    std::vector<int64_t> axes = axes_of(node_, in);
    int rank = static_cast<int>(s.size() + axes.size());
    std::vector<bool> inserted(rank, false);
    for (int64_t a : axes) {
      int ax = kernels::normalize_axis(node_, a, rank);
      if (inserted[ax])
        throw InputError(node_.describe() + ": repeated axis");
      inserted[ax] = true;
    }
    Shape out;
    size_t k = 0;
    for (int i = 0; i < rank; ++i)
      out.push_back(inserted[i] ? 1 : s.at(k++));
    return {{in[0].dtype(), out}};
  }

private:
  Node node_;
};

class ShapeKernel : public Kernel {
public:
  explicit ShapeKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    int64_t rank = in[0].rank();
    auto clampdim = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
    start_ = clampdim(node_.attr_int("start", 0));
    end_ = clampdim(node_.attr_int("end", rank));
    return {{DType::i64, {std::max<int64_t>(0, end_ - start_)}}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    for (int64_t i = start_; i < end_; ++i)
      out[0].data<int64_t>()[i - start_] = in[0].shape()[i];
  }

private:
  Node node_;
  int64_t start_ = 0, end_ = 0;
};

class SizeKernel : public Kernel {
public:
  std::vector<TensorType> infer(std::span<const Tensor>) override { return {{DType::i64, {}}}; }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    out[0].data<int64_t>()[0] = in[0].numel();
  }
};

class ConstantOfShapeKernel : public Kernel {
public:
  explicit ConstantOfShapeKernel(const Node &n) : node_(n) {
    const Tensor *v = n.attr_tensor("value");
    value_ = v ? *v : Tensor::scalar_f32(0.f);
    if (value_.numel() != 1)
      throw InputError(n.describe() + ": value must have one element");
  }
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    Shape s = in[0].to_i64_vector();
    for (int64_t d : s)
      if (d < 0)
        throw InputError(fmt::format("{}: negative dim in {}", node_.describe(), shape_str(s)));
    return {{value_.dtype(), s}};
  }
  void run(std::span<const Tensor>, std::span<Tensor> out) override {
    size_t es = dtype_size(value_.dtype());
    auto *dst = static_cast<uint8_t *>(out[0].raw());
    for (int64_t i = 0; i < out[0].numel(); ++i)
      std::memcpy(dst + i * es, value_.raw(), es);
  }

private:
  Node node_;
  Tensor value_;
};

// Range(start, limit, delta): ceil((limit - start) / delta) elements.
class RangeKernel : public Kernel {
public:
  explicit RangeKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 3)
      throw InputError(node_.describe() + ": needs start, limit and delta");
    double start = in[0].get_f64(0), limit = in[1].get_f64(0), delta = in[2].get_f64(0);
    if (delta == 0)
      throw InputError(node_.describe() + ": delta is zero");
    int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
    return {{in[0].dtype(), {n}}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        T start = in[0].data<T>()[0], delta = in[2].data<T>()[0];
        T *y = out[0].data<T>();
        for (int64_t i = 0; i < out[0].numel(); ++i)
          y[i] = static_cast<T>(start + T(i) * delta);
      }
    });
  }
  bool value_dependent_shapes() const override { return true; }

private:
  Node node_;
};

Tensor constant_value(const Node &n) {
  if (const Tensor *t = n.attr_tensor("value"))
    return *t;
  if (n.has_attr("value_float"))
    return Tensor::scalar_f32(n.attr_float("value_float", 0));
  if (n.has_attr("value_int"))
    return Tensor::scalar_i64(n.attr_int("value_int", 0));
  if (n.has_attr("value_floats")) {
    auto v = n.attr_floats("value_floats");
    return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (n.has_attr("value_ints")) {
    auto v = n.attr_ints("value_ints");
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  throw UnsupportedError(n.describe() +
                         ": needs a value, value_float(s) or value_int(s) attribute");
}

class ConstantKernel : public Kernel {
public:
  explicit ConstantKernel(const Node &n) : value_(constant_value(n)) {}
  std::vector<TensorType> infer(std::span<const Tensor>) override {
    return {{value_.dtype(), value_.shape()}};
  }
  void run(std::span<const Tensor>, std::span<Tensor> out) override {
    std::memcpy(out[0].raw(), value_.raw(), value_.nbytes());
  }

private:
  Tensor value_;
};

template <typename K> KernelFactory factory() {
  return [](const Node &n, const KernelEnv &) { return std::make_unique<K>(n); };
}

} // namespace

void register_shape_ops_kernels(KernelRegistry &r) {
  r.add("Reshape", factory<ReshapeKernel>());
  r.add("Flatten", factory<FlattenKernel>());
  r.add("Squeeze", factory<SqueezeKernel>());
  r.add("Unsqueeze", factory<UnsqueezeKernel>());
  r.add("Shape", factory<ShapeKernel>());
  r.add("Size", [](const Node &, const KernelEnv &) { return std::make_unique<SizeKernel>(); });
  r.add("ConstantOfShape", factory<ConstantOfShapeKernel>());
  r.add("Range", factory<RangeKernel>());
  r.add("Constant", factory<ConstantKernel>());
}

} // namespace qtune
