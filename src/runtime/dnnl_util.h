#pragma once
// Helpers shared by the oneDNN-backed FP32 kernels (conv, conv_transpose,
// gemm/matmul, pool): engine access, plain memory descs, sliding-window
// geometry from ONNX attributes, fused activations as oneDNN post-ops.
#include <dnnl.hpp>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/kernel.h"

namespace qtune::dnnl_util {

using dims = dnnl::memory::dims;

// The executor's engine/stream when given, else process-wide ones (unit tests).
dnnl::engine &engine(const KernelEnv &env);
dnnl::stream &stream(const KernelEnv &env);

dnnl::memory::data_type dtype(DType t);

// Row-major f32 desc of `shape` (tag a, ab, abc ... by rank).
dnnl::memory::desc plain_desc(const Shape &shape,
                              dnnl::memory::data_type dt = dnnl::memory::data_type::f32);
dnnl::memory::format_tag plain_tag(size_t rank);
dims to_dims(const Shape &s);

// True when two descs put every element at the same byte (e.g. nChw16c and
// nhwc with 16 channels): a reorder between them would be a copy.
bool same_bytes(const dnnl::memory::desc &a, const dnnl::memory::desc &b);

// True when the layout has no padding elements (padded dims equal dims): a
// pass over every element of its buffer then touches only real values.
bool unpadded(const dnnl::memory::desc &d);

// Sliding window over the spatial dims of an [N, C, spatial...] input: resolved
// pads (auto_pad, ceil_mode) with the end padding adjusted so that oneDNN
// reproduces `out` exactly. Dilations are ONNX style (1 = dense).
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end, out;
  dims dnnl_dilations() const; // oneDNN counts dilation from 0
};

// `kernel` is the spatial kernel size; throws InputError naming the node for
// bad attribute lengths or an output of size < 1.
Window resolve_window(const Node &node, const Shape &x, const std::vector<int64_t> &kernel,
                      bool ceil_mode);

// Appends a qtune:Fused* activation (name + params, see docs/ARCHITECTURE.md);
// throws UnsupportedError naming the node for unknown names.
void append_activation(dnnl::post_ops &ops, const Node &node, const std::string &activation,
                       const std::vector<float> &params);

// A kernel's input in a layout it cannot read, reordered into a buffer of its
// own: planned once in prepare(), run on every call. Inactive (the input is
// read as it is) when the two layouts are the same.
class Relayout {
public:
  void plan(const KernelEnv &env, const dnnl::memory::desc &from, const dnnl::memory::desc &to);
  void clear() { prim_ = {}; }
  bool active() const { return static_cast<bool>(prim_); }
  // x in the planned layout: x itself when inactive, else the own buffer.
  const void *run(const KernelEnv &env, const void *x);

private:
  dnnl::memory from_, to_;
  dnnl::reorder prim_;
};

// Runs one reorder between two memories (created per call: only for tests and
// one-time weight packing, never in a hot run()).
void reorder_now(const KernelEnv &env, dnnl::memory &from, dnnl::memory &to);

} // namespace qtune::dnnl_util
