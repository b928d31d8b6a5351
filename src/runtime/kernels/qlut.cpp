// qtune:QLut: an int8 elementwise function as a lookup table, made by the QDQ
// lowering (quant/lowering/lut.cpp) from a region of elementwise ops between
// DequantizeLinear and QuantizeLinear (Sigmoid, SiLU, requantisation, Add ...).
//
//   QLut(X, T):    y[i] = T[u8(x[i])]                     T has 256 entries
//                  (u8 / s8, or f32 for a region that ends in fp32 readers)
//   QLut(A, B, T): y[i] = T[u8(a[i]) * 256 + u8(b[i])]    T has 65536 entries,
//                  A and B broadcast numpy-style
//
// X / A / B are u8 or s8 (indexed by their byte), T is u8 or s8 and gives the
// output type. The kernel accepts oneDNN's blocked layouts (a table does not
// care where an element sits): the one-input form, and the two-input form when
// A and B share one layout and shape, write the input's layout (with T's type),
// so a QConv -> QLut -> QConv chain needs no reorder. Padded blocks (channels not a
// multiple of the block) are mapped too; the padded channels then hold T[0]
// instead of 0, which convolutions multiply by zero-padded weights.
#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/lut_simd.h"
#include <optional>

namespace qtune {
namespace {

bool is_int8(DType t) {
  return t == DType::u8 || t == DType::i8;
}

// Numpy broadcast of two shapes, or nullopt.
std::optional<Shape> broadcast(const Shape &a, const Shape &b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t k = 0; k < r; ++k) {
    int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
    int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[k] = da == 1 ? db : da;
  }
  return out;
}

// Strides of `s` read in the broadcast shape `out` (0 along broadcast axes).
std::vector<int64_t> broadcast_strides(const Shape &s, const Shape &out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t step = 1;
  for (size_t k = 0; k < s.size(); ++k) {
    size_t o = out.size() - 1 - k, i = s.size() - 1 - k;
    st[o] = s[i] == 1 ? 0 : step;
    step *= s[i];
  }
  return st;
}

class QLutKernel : public Kernel {
public:
  QLutKernel(const Node &n, const KernelEnv &env) : node_(n), env_(env) {}

  // int8 -> int8 tables only: an f32 output would need its own layout. A
  // table does not care where an element sits, so the one-input form maps any
  // layout as it is, and the two-input form (ORT's residual Add and SiLU Mul
  // of two int8 tensors) does so when both operands share one layout and
  // shape; otherwise it reorders its blocked operands to plain itself. Without
  // that, an int8 conv's channels-last output went through a plain copy into
  // every such table and out of it into the next Concat element by element
  // (ORT-style QDQ YOLOX-Nano: the 20 Concats 1.25 ms of ~8 at 1 thread).
  bool accepts_dnnl_layouts() const override { return node_.attr_int("f32_output", 0) == 0; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    given_.assign(2, std::nullopt);
    for (size_t k = 0; k < std::min<size_t>(2, layouts.size()); ++k)
      if (layouts[k])
        given_[k] = dnnl::memory::desc(*layouts[k]);
  }
  const dnnl_memory_desc_t *output_layout(size_t) const override {
    return blocked_ ? &layout_.data : nullptr;
  }

  void prepare(std::span<const Tensor> in) override {
    table2_constant_ = env_.is_constant(node_.inputs.back());
    if (node_.num_inputs() == 3)
      copy_table2(in[2]);
    blocked_ = false;
    staged_.assign(2, dnnl_util::Relayout{});
    given_.resize(2);
    if (node_.num_inputs() == 2 ||
        (given_[0] && given_[1] && *given_[0] == *given_[1] && in[0].shape() == in[1].shape())) {
      blocked_ = given_[0].has_value();
      if (blocked_) { // the operands' layout with the table's type (u8 in, s8 out ...)
        layout_ = *given_[0];
        layout_.data.data_type =
            static_cast<dnnl_data_type_t>(dnnl_util::dtype(in[node_.num_inputs() - 1].dtype()));
      }
      return;
    }
    for (size_t k = 0; k < 2; ++k) // a blocked operand to plain, in a buffer of our own
      if (given_[k])
        staged_[k].plan(env_, *given_[k],
                        dnnl_util::plain_desc(in[k].shape(), dnnl_util::dtype(in[k].dtype())));
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const size_t operands = node_.num_inputs() - 1;
    if (operands != 1 && operands != 2)
      throw InputError(fmt::format("{}: expects 2 or 3 inputs", node_.describe()));
    const Tensor &t = in[operands];
    const int64_t entries = operands == 1 ? 256 : 65536;
    const bool f32 = operands == 1 && t.dtype() == DType::f32;
    if (!t.defined() || !(is_int8(t.dtype()) || f32) || t.numel() != entries)
      throw InputError(fmt::format("{}: table must be {} int8 entries", node_.describe(), entries));
    for (size_t k = 0; k < operands; ++k)
      if (!in[k].defined() || !is_int8(in[k].dtype()))
        throw InputError(fmt::format("{}: input {} is not int8", node_.describe(), k));
    if (operands == 1)
      return {{t.dtype(), in[0].shape()}};
    auto s = broadcast(in[0].shape(), in[1].shape());
    if (!s)
      throw InputError(fmt::format("{}: shapes {} and {} do not broadcast", node_.describe(),
                                   shape_str(in[0].shape()), shape_str(in[1].shape())));
    return {{t.dtype(), *s}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    uint8_t *y = static_cast<uint8_t *>(out[0].raw());
    if (in[1].dtype() == DType::f32) {
      const uint8_t *x = static_cast<const uint8_t *>(in[0].raw());
      const float *t = in[1].data<float>();
      float *yf = out[0].data<float>();
      const int64_t n = in[0].numel();
#pragma omp parallel for if (n > 262144) schedule(static)
      for (int64_t i = 0; i < n; ++i)
        yf[i] = t[x[i]];
      return;
    }
    if (node_.num_inputs() == 2) {
      const size_t bytes = blocked_ ? layout_.get_size() : in[0].nbytes();
      kernels::lut_map(static_cast<const uint8_t *>(in[0].raw()), y, static_cast<int64_t>(bytes),
                       static_cast<const uint8_t *>(in[1].raw()));
      return;
    }
    if (!table2_constant_) // a table some node computes may change from run to run
      copy_table2(in[2]);
    const uint8_t *t = table2_.data();
    if (blocked_) { // both operands in one layout: element i with element i
      same_shape(static_cast<const uint8_t *>(in[0].raw()),
                 static_cast<const uint8_t *>(in[1].raw()), y,
                 static_cast<int64_t>(layout_.get_size()), t);
      return;
    }
    binary(static_cast<const uint8_t *>(staged_[0].run(env_, in[0].raw())), in[0].shape(),
           static_cast<const uint8_t *>(staged_[1].run(env_, in[1].raw())), in[1].shape(), out[0],
           t);
  }

private:
  // The gather reads a dword at each byte offset: a copy padded by 4 bytes.
  void copy_table2(const Tensor &t) {
    table2_.assign(65536 + 4, 0);
    std::memcpy(table2_.data(), t.raw(), std::min<size_t>(65536, t.nbytes()));
  }

  static void same_shape(const uint8_t *pa, const uint8_t *pb, uint8_t *py, int64_t n,
                         const uint8_t *t) {
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t b = 0; b < n; b += 16384) {
      const int64_t e = std::min(n, b + 16384);
      kernels::lut2_bytes(pa + b, pb + b, py + b, e - b, t);
    }
  }

  static void binary(const uint8_t *pa, const Shape &as, const uint8_t *pb, const Shape &bs,
                     Tensor &y, const uint8_t *t) {
    uint8_t *py = static_cast<uint8_t *>(y.raw());
    const int64_t n = y.numel();
    if (as == bs) {
      same_shape(pa, pb, py, n, t);
      return;
    }
    // General broadcast: walk the output index, innermost axis in the loop.
    const Shape &s = y.shape();
    const auto sa = broadcast_strides(as, s), sb = broadcast_strides(bs, s);
    const int r = static_cast<int>(s.size());
    const int64_t inner = r ? s[r - 1] : 1, rows = inner ? n / inner : 0;
    const int64_t ia = r ? sa[r - 1] : 0, ib = r ? sb[r - 1] : 0;
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
      int64_t oa = 0, ob = 0, rest = row;
      for (int k = r - 2; k >= 0; --k) {
        oa += (rest % s[k]) * sa[k];
        ob += (rest % s[k]) * sb[k];
        rest /= s[k];
      }
      uint8_t *dst = py + row * inner;
      if (ia == 1 && ib == 1) {
        kernels::lut2_bytes(pa + oa, pb + ob, dst, inner, t);
        continue;
      }
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = t[pa[oa + i * ia] * 256 + pb[ob + i * ib]];
    }
  }

  Node node_;
  KernelEnv env_;
  std::vector<std::optional<dnnl::memory::desc>> given_; // operands' layouts (none: plain)
  std::vector<dnnl_util::Relayout> staged_; // a blocked operand read as plain (prepare)
  bool blocked_ = false;                    // the output in layout_, as the operands
  std::vector<uint8_t> table2_;             // a 65536-entry table, padded (lut2_bytes)
  bool table2_constant_ = false;            // an initializer: copied once in prepare
  dnnl::memory::desc layout_;
};

} // namespace

void register_qlut_kernels(KernelRegistry &r) {
  r.add(
      "QLut",
      [](const Node &n, const KernelEnv &env) { return std::make_unique<QLutKernel>(n, env); },
      "qtune");
}

} // namespace qtune
