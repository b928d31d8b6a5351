#include "runtime/kernels/matmul_bf16.h"

#include <fmt/format.h>
#include <string>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"

namespace qtune {

namespace du = dnnl_util;
using dnnl::memory;

std::optional<dnnl::matmul::primitive_desc>
Bf16MatmulOperands::make_pd(const memory::dims &a, const memory::dims &b, bool b_any,
                            const memory::desc &dst, const dnnl::primitive_attr &attr,
                            const dnnl::engine &eng) {
  auto bf16 = memory::data_type::bf16;
  memory::desc a_md(a, bf16, du::plain_tag(a.size()));
  memory::desc b_md(b, bf16, b_any ? memory::format_tag::any : du::plain_tag(b.size()));
  try {
    dnnl::matmul::primitive_desc pd({a_md, b_md, dst}, attr, eng);
    // The reference bf16 matmul is far slower than any f32 one: f32 then.
    if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0)
      return std::nullopt;
    return pd;
  } catch (const dnnl::error &) {
    return std::nullopt;
  }
}

void Bf16MatmulOperands::prepare(const dnnl::matmul::primitive_desc &pd, const memory::desc &a_f32,
                                 const memory::desc &b_f32, const dnnl::engine &eng) {
  a_f32_ = memory(a_f32, eng, nullptr);
  b_f32_ = memory(b_f32, eng, nullptr);
  a_ = memory(pd.src_desc(), eng);
  b_ = memory(pd.weights_desc(), eng);
  to_a_ = dnnl::reorder(a_f32_, a_);
  to_b_ = dnnl::reorder(b_f32_, b_);
}

void Bf16MatmulOperands::convert_a(dnnl::stream &s, const Tensor &a) {
  a_f32_.set_data_handle(const_cast<void *>(a.raw()));
  to_a_.execute(s, a_f32_, a_);
}

void Bf16MatmulOperands::convert_b(dnnl::stream &s, const Tensor &b) {
  b_f32_.set_data_handle(const_cast<void *>(b.raw()));
  to_b_.execute(s, b_f32_, b_);
}

void NodeMatmul::prepare(const Node &node, const KernelEnv &env,
                         std::optional<dnnl::matmul::primitive_desc> bf16_pd,
                         const memory::desc &a_md, const memory::desc &b_md,
                         const memory::desc &y_md, const dnnl::primitive_attr &attr,
                         const Tensor *const_b, const std::string &what) {
  dnnl::engine &eng = du::engine(env);
  std::optional<dnnl::matmul::primitive_desc> pd = std::move(bf16_pd);
  bf16_ = pd.has_value();
  const_b_ = const_b != nullptr;
  if (!bf16_) {
    try {
      // Constant weights in the layout the primitive prefers, packed once:
      // a batch-1 Gemm streams all of B per run, and in the plain transposed
      // layout ("ba") oneDNN's brgemm read MobileNetV2's 1280x1000 classifier
      // ~35 % slower than ONNX Runtime's packed GEMV.
      // A vector B (N = 1) gains nothing and would be padded to a 64-wide block.
      const bool pack = const_b_ && b_md.dims().back() > 1;
      const memory::desc b_want =
          pack ? memory::desc(b_md.dims(), memory::data_type::f32, memory::format_tag::any) : b_md;
      pd = dnnl::matmul::primitive_desc({a_md, b_want, y_md}, attr, eng);
    } catch (const dnnl::error &e) {
      throw UnsupportedError(
          fmt::format("{}: oneDNN has no matmul for {} ({})", node.describe(), what, e.what()));
    }
  }
  matmul_ = dnnl::matmul(*pd);
  a_mem_ = memory(a_md, eng, nullptr);
  y_mem_ = memory(y_md, eng, nullptr);
  const bool was_packed = packed_b_;
  packed_b_ = !bf16_ && const_b_ && pd->weights_desc() != b_md;
  // A new input shape (another M) usually wants the same packed layout: keep it.
  if (packed_b_ && !(was_packed && b_mem_.get_desc() == pd->weights_desc())) {
    b_mem_ = memory(pd->weights_desc(), eng);
    memory user(b_md, eng, const_cast<void *>(const_b->raw()));
    du::reorder_now(env, user, b_mem_);
  } else if (!packed_b_) {
    b_mem_ = memory(b_md, eng, nullptr);
  }
  if (bf16_) {
    bf16_ops_.prepare(*pd, a_md, b_md, eng);
    if (const_b_) {
      dnnl::stream &s = du::stream(env);
      bf16_ops_.convert_b(s, *const_b);
      s.wait();
    }
  }
}

std::unordered_map<int, memory> NodeMatmul::args(dnnl::stream &s, const Tensor &a, const Tensor &b,
                                                 Tensor &y) {
  y_mem_.set_data_handle(y.raw());
  if (bf16_) {
    if (!const_b_)
      bf16_ops_.convert_b(s, b);
    bf16_ops_.convert_a(s, a);
    return {
        {DNNL_ARG_SRC, bf16_ops_.a()}, {DNNL_ARG_WEIGHTS, bf16_ops_.b()}, {DNNL_ARG_DST, y_mem_}};
  }
  a_mem_.set_data_handle(const_cast<void *>(a.raw()));
  if (!packed_b_)
    b_mem_.set_data_handle(const_cast<void *>(b.raw()));
  return {{DNNL_ARG_SRC, a_mem_}, {DNNL_ARG_WEIGHTS, b_mem_}, {DNNL_ARG_DST, y_mem_}};
}

} // namespace qtune
