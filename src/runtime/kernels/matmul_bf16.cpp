#include "runtime/kernels/matmul_bf16.h"

#include <string>

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

} // namespace qtune
