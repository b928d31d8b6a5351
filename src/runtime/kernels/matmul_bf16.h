#pragma once
// bf16 operands of the oneDNN matmul behind Gemm and MatMul nodes planned bf16
// (kPrecisionAttr): the node's f32 inputs are converted by reorders, A on every
// run, B once in prepare() when it is an initializer. The output stays f32.
#include <dnnl.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "ir/graph.h"
#include "qtune/tensor.h"
#include "runtime/kernel.h"

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

// The oneDNN matmul of a Gemm or MatMul node with f32 inputs A, B and output Y:
// the bf16 primitive when one is given, else the f32 one on the f32 descs.
class NodeMatmul {
public:
  // `bf16_pd` comes from Bf16MatmulOperands::make_pd (nullopt: run f32). A
  // constant B is converted to bf16 here, once. Throws UnsupportedError naming
  // the node and `what` when oneDNN has no f32 matmul for the descs.
  void prepare(const Node &node, const KernelEnv &env,
               std::optional<dnnl::matmul::primitive_desc> bf16_pd, const dnnl::memory::desc &a_md,
               const dnnl::memory::desc &b_md, const dnnl::memory::desc &y_md,
               const dnnl::primitive_attr &attr, const Tensor *const_b, const std::string &what);

  // The execute() arguments for one run (bf16: A, and B unless constant,
  // converted first on `s`).
  std::unordered_map<int, dnnl::memory> args(dnnl::stream &s, const Tensor &a, const Tensor &b,
                                             Tensor &y);
  void execute(dnnl::stream &s, const std::unordered_map<int, dnnl::memory> &args) const {
    matmul_.execute(s, args);
  }

private:
  bool bf16_ = false, const_b_ = false, packed_b_ = false; // packed_b_: f32 B reordered once
  dnnl::matmul matmul_;
  dnnl::memory a_mem_, b_mem_, y_mem_;
  Bf16MatmulOperands bf16_ops_; // converted A and B (bf16 only)
};

} // namespace qtune
