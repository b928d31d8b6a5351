#pragma once
// bf16 operands of the oneDNN matmul behind Gemm and MatMul nodes planned bf16
// (kPrecisionAttr): the node's f32 inputs are converted by reorders, A on every
// run, B once in prepare() when it is an initializer. The output stays f32.
#include <dnnl.hpp>
#include <optional>

#include "qtune/tensor.h"

namespace qtune {

class Bf16MatmulOperands {
public:
  // The bf16 primitive for A [a] x B [b] -> dst: A plain, B in the layout the
  // primitive prefers when `b_any` (else plain). nullopt when oneDNN has no
  // bf16 matmul on this ISA (below avx512_core) or only its reference one:
  // the caller then runs f32.
  static std::optional<dnnl::matmul::primitive_desc>
  make_pd(const dnnl::memory::dims &a, const dnnl::memory::dims &b, bool b_any,
          const dnnl::memory::desc &dst, const dnnl::primitive_attr &attr, const dnnl::engine &eng);

  // bf16 buffers for `pd` and the reorders from the f32 inputs as described
  // by `a_f32` / `b_f32` (plain or strided).
  void prepare(const dnnl::matmul::primitive_desc &pd, const dnnl::memory::desc &a_f32,
               const dnnl::memory::desc &b_f32, const dnnl::engine &eng);

  // Convert the node's input A / B into the bf16 buffers.
  void convert_a(dnnl::stream &s, const Tensor &a);
  void convert_b(dnnl::stream &s, const Tensor &b);

  const dnnl::memory &a() const { return a_; }
  const dnnl::memory &b() const { return b_; }

private:
  dnnl::memory a_f32_, b_f32_, a_, b_;
  dnnl::reorder to_a_, to_b_;
};

} // namespace qtune
