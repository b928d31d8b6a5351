// Binary and variadic elementwise ops with numpy broadcasting: arithmetic
// (Add Sub Mul Div Pow Mod Min Max Sum Mean PRelu; TF's FloorDiv, FloorMod and
// SquaredDifference in domain tf), comparisons (Equal Less Greater LessOrEqual
// GreaterOrEqual; TF's NotEqual),
// logic (And Or Xor) and Where.
// The broadcast plan merges dims so the inner loop is either same-shape or
// tensor-by-scalar, which covers the per-channel case ([1,C,H,W] x [1,C,1,1]).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

using kernels::Broadcast;

enum class BinOp {
  add,
  sub,
  mul,
  div,
  pow,
  mod,
  fmod,
  min,
  max,
  prelu,
  floor_div,
  squared_difference, // arithmetic: result has input dtype
  equal,
  less,
  greater,
  less_equal,
  greater_equal,
  not_equal, // comparisons: bool result
  logic_and,
  logic_or,
  logic_xor, // bool x bool -> bool
};

bool returns_bool(BinOp op) {
  return op >= BinOp::equal;
}

constexpr int64_t kChunk = 16384;    // elements per parallel task
constexpr int64_t kParallel = 32768; // below this, threads cost more than they save

// out[i] = f(a[i*sa], b[i*sb]) over the broadcast plan, in parallel chunks.
template <typename A, typename B, typename R, typename F>
void binary_loop(const Broadcast &bc, const A *a, const B *b, R *out, F f) {
  const int64_t inner = bc.inner(), rows = bc.rows();
  if (inner == 0 || rows == 0)
    return;
  const int64_t sa = bc.step[0].back(), sb = bc.step[1].back();
  const int64_t chunk = std::min(inner, kChunk), per_row = (inner + chunk - 1) / chunk;
#pragma omp parallel for if (rows * inner > kParallel)
  for (int64_t t = 0; t < rows * per_row; ++t) {
    int64_t r = t / per_row, c0 = (t % per_row) * chunk, n = std::min(chunk, inner - c0);
    int64_t off[2];
    bc.row_offsets(r, off);
    const A *pa = a + off[0] + c0 * sa;
    const B *pb = b + off[1] + c0 * sb;
    R *po = out + r * inner + c0;
    if (sa && sb) {
      for (int64_t i = 0; i < n; ++i)
        po[i] = f(pa[i], pb[i]);
    } else if (sa) {
      const B vb = *pb;
      for (int64_t i = 0; i < n; ++i)
        po[i] = f(pa[i], vb);
    } else if (sb) {
      const A va = *pa;
      for (int64_t i = 0; i < n; ++i)
        po[i] = f(va, pb[i]);
    } else {
      R v = f(*pa, *pb);
      for (int64_t i = 0; i < n; ++i)
        po[i] = v;
    }
  }
}

template <typename T> T int_pow(T base, T exp) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::pow(base, exp);
  } else {
    return static_cast<T>(std::pow(static_cast<double>(base), static_cast<double>(exp)));
  }
}

// Python-style modulo for integers (sign of the divisor), as ONNX Mod fmod=0.
template <typename T> T floor_mod(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    T m = std::fmod(a, b);
    if (m != 0 && ((m < 0) != (b < 0)))
      m += b;
    return m;
  } else if constexpr (std::is_signed_v<T>) {
    if (b == 0)
      return 0;
    T m = a % b;
    if (m != 0 && ((m < 0) != (b < 0)))
      m += b;
    return m;
  } else {
    return b == 0 ? 0 : a % b;
  }
}

// Division rounded toward negative infinity (TF FloorDiv).
template <typename T> T floor_div(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::floor(a / b);
  } else {
    if (b == 0)
      return 0;
    T q = a / b;
    if constexpr (std::is_signed_v<T>)
      if (a % b != 0 && ((a < 0) != (b < 0)))
        --q;
    return q;
  }
}

template <typename T> T c_mod(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::fmod(a, b);
  } else {
    return b == 0 ? 0 : a % b;
  }
}

template <typename T> void run_arith(BinOp op, const Broadcast &bc, const T *a, const T *b, T *o) {
  switch (op) {
  case BinOp::add:
    binary_loop(bc, a, b, o, [](T x, T y) -> T { return x + y; });
    break;
  case BinOp::sub:
    binary_loop(bc, a, b, o, [](T x, T y) -> T { return x - y; });
    break;
  case BinOp::mul:
    binary_loop(bc, a, b, o, [](T x, T y) -> T { return x * y; });
    break;
  case BinOp::div:
    if constexpr (std::is_floating_point_v<T>)
      binary_loop(bc, a, b, o, [](T x, T y) -> T { return x / y; });
    else
      binary_loop(bc, a, b, o, [](T x, T y) -> T { return y == 0 ? T(0) : T(x / y); });
    break;
  case BinOp::pow:
    binary_loop(bc, a, b, o, [](T x, T y) { return int_pow(x, y); });
    break;
  case BinOp::mod:
    binary_loop(bc, a, b, o, [](T x, T y) { return floor_mod(x, y); });
    break;
  case BinOp::fmod:
    binary_loop(bc, a, b, o, [](T x, T y) { return c_mod(x, y); });
    break;
  case BinOp::floor_div:
    binary_loop(bc, a, b, o, [](T x, T y) { return floor_div(x, y); });
    break;
  case BinOp::squared_difference:
    binary_loop(bc, a, b, o, [](T x, T y) -> T { return T((x - y) * (x - y)); });
    break;
  case BinOp::min:
    // NaN propagates, as numpy.minimum does.
    binary_loop(bc, a, b, o, [](T x, T y) -> T { return x != x ? x : (y < x ? y : x); });
    break;
  case BinOp::max:
    binary_loop(bc, a, b, o, [](T x, T y) -> T { return x != x ? x : (y > x ? y : x); });
    break;
  case BinOp::prelu:
    binary_loop(bc, a, b, o, [](T x, T s) -> T { return x < 0 ? T(x * s) : x; });
    break;
  default:
    break;
  }
}

template <typename T>
void run_compare(BinOp op, const Broadcast &bc, const T *a, const T *b, bool *o) {
  switch (op) {
  case BinOp::equal:
    binary_loop(bc, a, b, o, [](T x, T y) { return x == y; });
    break;
  case BinOp::not_equal:
    binary_loop(bc, a, b, o, [](T x, T y) { return x != y; });
    break;
  case BinOp::less:
    binary_loop(bc, a, b, o, [](T x, T y) { return x < y; });
    break;
  case BinOp::greater:
    binary_loop(bc, a, b, o, [](T x, T y) { return x > y; });
    break;
  case BinOp::less_equal:
    binary_loop(bc, a, b, o, [](T x, T y) { return x <= y; });
    break;
  case BinOp::greater_equal:
    binary_loop(bc, a, b, o, [](T x, T y) { return x >= y; });
    break;
  case BinOp::logic_and:
    binary_loop(bc, a, b, o, [](T x, T y) { return x && y; });
    break;
  case BinOp::logic_or:
    binary_loop(bc, a, b, o, [](T x, T y) { return x || y; });
    break;
  case BinOp::logic_xor:
    binary_loop(bc, a, b, o, [](T x, T y) { return bool(x) != bool(y); });
    break;
  default:
    break;
  }
}

// Computes out = a op b (out preallocated with the broadcast shape).
void apply_binary(const Node &node, BinOp op, const Tensor &a, const Tensor &b, Tensor &out) {
  Broadcast bc = kernels::make_broadcast(node, {a.shape(), b.shape()});
  kernels::dispatch_numeric(node, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (returns_bool(op))
      run_compare<T>(op, bc, a.data<T>(), b.data<T>(), out.data<bool>());
    else if constexpr (!std::is_same_v<T, bool>)
      run_arith<T>(op, bc, a.data<T>(), b.data<T>(), out.data<T>());
  });
}

class BinaryKernel : public Kernel {
public:
  // zero_divisor_error: integer division by zero is an InputError (TF) rather
  // than 0.
  BinaryKernel(const Node &n, BinOp op, bool zero_divisor_error = false)
      : node_(n), op_(op), zero_divisor_error_(zero_divisor_error) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 2 || !in[0].defined() || !in[1].defined())
      throw InputError(node_.describe() + ": needs two inputs");
    // Pow may raise to an exponent of another dtype; everything else must match.
    if (in[0].dtype() != in[1].dtype() && op_ != BinOp::pow)
      throw InputError(fmt::format("{}: input dtypes differ ({} vs {})", node_.describe(),
                                   dtype_name(in[0].dtype()), dtype_name(in[1].dtype())));
    if (!returns_bool(op_) && in[0].dtype() == DType::boolean)
      kernels::throw_dtype(node_, in[0].dtype());
    DType t = returns_bool(op_) ? DType::boolean : in[0].dtype();
    return {{t, kernels::broadcast_shape(node_, {in[0].shape(), in[1].shape()})}};
  }

  void prepare(std::span<const Tensor> in) override {
    plan_ = kernels::make_broadcast(node_, {in[0].shape(), in[1].shape()});
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (in[0].dtype() == DType::f16 || in[0].dtype() == DType::bf16) {
      run_via_f32(in, out[0]);
      return;
    }
    const Tensor &a = in[0];
    Tensor b = in[1].dtype() == a.dtype() ? in[1] : in[1].cast(a.dtype());
    if (zero_divisor_error_ && a.dtype() != DType::f32 && a.dtype() != DType::f64)
      for (int64_t i = 0; i < b.numel(); ++i)
        if (b.get_i64(i) == 0)
          throw InputError(node_.describe() + ": integer division by zero");
    kernels::dispatch_numeric(node_, a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if (returns_bool(op_))
        run_compare<T>(op_, plan_, a.data<T>(), b.data<T>(), out[0].data<bool>());
      else if constexpr (!std::is_same_v<T, bool>)
        run_arith<T>(op_, plan_, a.data<T>(), b.data<T>(), out[0].data<T>());
    });
  }

private:
  // Half-precision inputs are rare (conformance cases): compute in f32.
  void run_via_f32(std::span<const Tensor> in, Tensor &out) {
    Tensor a = in[0].cast(DType::f32), b = in[1].cast(DType::f32);
    Tensor r(returns_bool(op_) ? DType::boolean : DType::f32, out.shape());
    apply_binary(node_, op_, a, b, r);
    r.cast_to(out);
  }

  Node node_;
  BinOp op_;
  bool zero_divisor_error_;
  Broadcast plan_;
};

// Sum, Mean, Min, Max over 1..N inputs: folded pairwise (rare beyond two inputs).
class VariadicKernel : public Kernel {
public:
  VariadicKernel(const Node &n, BinOp op, bool mean) : node_(n), op_(op), mean_(mean) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.empty())
      throw InputError(node_.describe() + ": needs at least one input");
    std::vector<Shape> shapes;
    for (const auto &t : in) {
      if (t.dtype() != in[0].dtype())
        throw InputError(node_.describe() + ": input dtypes differ");
      shapes.push_back(t.shape());
    }
    return {{in[0].dtype(), kernels::broadcast_shape(node_, shapes)}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    DType t = in[0].dtype();
    if (t == DType::f16 || t == DType::bf16) {
      std::vector<Tensor> f32;
      for (const auto &x : in)
        f32.push_back(x.cast(DType::f32));
      std::vector<Tensor> r{Tensor(DType::f32, out[0].shape())};
      run(f32, r);
      r[0].cast_to(out[0]);
      return;
    }
    if (in.size() == 1) {
      std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
    } else {
      Tensor acc = in[0];
      for (size_t k = 1; k < in.size(); ++k) {
        bool last = k + 1 == in.size();
        Shape s = kernels::broadcast_shape(node_, {acc.shape(), in[k].shape()});
        Tensor next = last ? out[0] : Tensor(acc.dtype(), s);
        if (last && s != out[0].shape())
          next = Tensor(acc.dtype(), s);
        apply_binary(node_, op_, acc, in[k], next);
        acc = next;
      }
    }
    if (mean_) {
      kernels::dispatch_numeric(node_, out[0].dtype(), [&](auto tag) {
        using T = decltype(tag);
        T *p = out[0].data<T>();
        for (int64_t i = 0; i < out[0].numel(); ++i)
          p[i] = static_cast<T>(p[i] / in.size());
      });
    }
  }

private:
  Node node_;
  BinOp op_;
  bool mean_;
};

// Where(cond, X, Y): three-way broadcast.
class WhereKernel : public Kernel {
public:
  explicit WhereKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 3)
      throw InputError(node_.describe() + ": needs three inputs");
    if (in[0].dtype() != DType::boolean)
      kernels::throw_dtype(node_, in[0].dtype());
    if (in[1].dtype() != in[2].dtype())
      throw InputError(node_.describe() + ": X and Y dtypes differ");
    return {{in[1].dtype(),
             kernels::broadcast_shape(node_, {in[0].shape(), in[1].shape(), in[2].shape()})}};
  }

  void prepare(std::span<const Tensor> in) override {
    plan_ = kernels::make_broadcast(node_, {in[0].shape(), in[1].shape(), in[2].shape()});
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    kernels::dispatch_by_size(node_, in[1].dtype(), [&](auto tag) {
      using T = decltype(tag);
      select(in[0].data<bool>(), in[1].data<T>(), in[2].data<T>(), out[0].data<T>());
    });
  }

private:
  template <typename T> void select(const bool *c, const T *x, const T *y, T *o) {
    const int64_t inner = plan_.inner(), rows = plan_.rows();
    const int64_t sc = plan_.step[0].back(), sx = plan_.step[1].back(), sy = plan_.step[2].back();
#pragma omp parallel for if (rows * inner > kParallel)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off[3];
      plan_.row_offsets(r, off);
      T *po = o + r * inner;
      for (int64_t i = 0; i < inner; ++i)
        po[i] = c[off[0] + i * sc] ? x[off[1] + i * sx] : y[off[2] + i * sy];
    }
  }

  Node node_;
  Broadcast plan_;
};

void add_binary(KernelRegistry &r, const std::string &name, BinOp op) {
  r.add(name,
        [op](const Node &n, const KernelEnv &) { return std::make_unique<BinaryKernel>(n, op); });
}

void add_variadic(KernelRegistry &r, const std::string &name, BinOp op, bool mean) {
  r.add(name, [op, mean](const Node &n, const KernelEnv &) -> std::unique_ptr<Kernel> {
    if (n.num_inputs() == 2 && !mean)
      return std::make_unique<BinaryKernel>(n, op);
    return std::make_unique<VariadicKernel>(n, op, mean);
  });
}

} // namespace

void register_elementwise_kernels(KernelRegistry &r) {
  add_binary(r, "Add", BinOp::add);
  add_binary(r, "Sub", BinOp::sub);
  add_binary(r, "Mul", BinOp::mul);
  add_binary(r, "Div", BinOp::div);
  add_binary(r, "Pow", BinOp::pow);
  add_binary(r, "PRelu", BinOp::prelu);
  r.add("Mod", [](const Node &n, const KernelEnv &) {
    return std::make_unique<BinaryKernel>(n, n.attr_int("fmod", 0) ? BinOp::fmod : BinOp::mod);
  });
  add_variadic(r, "Sum", BinOp::add, false);
  add_variadic(r, "Mean", BinOp::add, true);
  add_variadic(r, "Min", BinOp::min, false);
  add_variadic(r, "Max", BinOp::max, false);
  add_binary(r, "Equal", BinOp::equal);
  add_binary(r, "Less", BinOp::less);
  add_binary(r, "Greater", BinOp::greater);
  add_binary(r, "LessOrEqual", BinOp::less_equal);
  add_binary(r, "GreaterOrEqual", BinOp::greater_equal);
  add_binary(r, "And", BinOp::logic_and);
  add_binary(r, "Or", BinOp::logic_or);
  add_binary(r, "Xor", BinOp::logic_xor);
  r.add("Where", [](const Node &n, const KernelEnv &) { return std::make_unique<WhereKernel>(n); });
  // TF FloorDiv / FloorMod (floor semantics, numpy broadcasting as TF's),
  // NotEqual and SquaredDifference.
  for (auto [name, op] : {std::pair{"FloorDiv", BinOp::floor_div}, {"FloorMod", BinOp::mod}})
    r.add(
        name,
        [op = op](const Node &n, const KernelEnv &) {
          return std::make_unique<BinaryKernel>(n, op, true);
        },
        "tf");
  for (auto [name, op] :
       {std::pair{"NotEqual", BinOp::not_equal}, {"SquaredDifference", BinOp::squared_difference}})
    r.add(
        name,
        [op = op](const Node &n, const KernelEnv &) {
          return std::make_unique<BinaryKernel>(n, op);
        },
        "tf");
}

} // namespace qtune
