#pragma once
// Shared pieces of the int8 kernel family (qconv, qmatmul, qavgpool, qlinear_*,
// *_integer): conv geometry from ONNX attributes, the typed output/activation
// parameters the q-kernels' Params structs are made of, 7-bit weights without
// VNNI, output scales / zero points / requantisation as oneDNN attributes.
#include <dnnl.hpp>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/kernel.h"

namespace qtune::int8 {

// 2-D convolution geometry resolved against an input shape [N, C, H, W] and
// weight shape [O, C/group, KH, KW].
struct ConvGeometry {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t oc = 0, kh = 0, kw = 0, group = 1;
  int64_t oh = 0, ow = 0;
  int64_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
};

// Reads strides/pads/dilations/group/auto_pad of a Conv-like node; throws
// InputError naming the node for inconsistent shapes, UnsupportedError for
// non-2-D convolutions.
ConvGeometry conv_geometry(const Node &node, const Shape &x, const Shape &w);

// Fused activations, engine, stream and dtype mapping: the FP32 kernels'
// helpers in runtime/dnnl_util.h serve the int8 kernels too.

// Int8 kernels that read input 0 in oneDNN's NHWC int8 layout (and take
// oneDNN layouts): a QuantizeLinear all of whose readers are such kernels
// writes NHWC while quantizing. Each kernel says so when it registers, so
// quantize_linear.cpp keeps no list of op types.
void register_nhwc_int8_reader(const std::string &domain, const std::string &op_type);
bool reads_nhwc_int8(const Node &n);

// True on CPUs without VNNI (or with DNNL_MAX_CPU_ISA below it): oneDNN then
// multiplies u8 x s8 with vpmaddubsw, whose 16-bit pair sums saturate for
// full-range weights. Int8 kernels then use 7-bit weights (w / 2, scale * 2),
// the "reduce_range" trade-off ONNX Runtime makes on such CPUs, unless all
// weights already fit in [-64, 64]. (An s8 source is still inexact there:
// oneDNN itself halves the weights for signed sources without VNNI.)
bool weights_need_7bit();

// |w| <= 64 keeps every u8 x s8 pair sum within int16.
bool fits_7bit(const Tensor &w);

// The i8 weight w / 2 rounded half to even (7-bit weights, see above).
Tensor halved(const Tensor &w);

// Throws UnsupportedError naming the node unless y_dtype is u8, i8 or f32.
void check_y_dtype(const Node &node, DType y_dtype);

// Typed int8 kernel parameters are read from node attributes here: a missing
// scale is an InputError naming the node, never a default of 1.
float required_float(const Node &node, const char *attr);
std::vector<float> required_floats(const Node &node, const char *attr); // non-empty

// An int8 operand: `<prefix>_scale` (required) and `<prefix>_zero_point`
// (default 0), e.g. x_scale / x_zero_point.
struct InputParams {
  float scale = 1;
  int32_t zero_point = 0;
  static InputParams from(const Node &node, const std::string &prefix);
  void write(Node &node, const std::string &prefix) const;
};

// A kernel's output: y_dtype ("u8", "i8", "f32"), and for int8 y_scale and
// y_zero_point (default 0, as ONNX's).
struct OutputParams {
  DType dtype = DType::f32;
  float scale = 1;
  int32_t zero_point = 0;
  static OutputParams from(const Node &node);
  void write(Node &node) const;
};

// A fused activation: attrs `<prefix>` (op name, "" for none) and
// `<prefix>_params` (written only when non-empty).
struct FusedActivation {
  std::string op;
  std::vector<float> params;
  static FusedActivation from(const Node &node, const std::string &prefix);
  void write(Node &node, const std::string &prefix) const;
};

// Output scales of an int8 oneDNN primitive: the accumulator times
// x_scale * w_scale is in real units (w_scales per tensor or per output
// channel; doubled for halved weights).
std::vector<float> output_scales(float x_scale, const std::vector<float> &w_scales, bool halve);

// Sets the output scales (mask 0 for one scale, else per dim 1) and a runtime
// source zero point when x_zero_point != 0.
void set_scales_and_zero_point(dnnl::primitive_attr &attr, const std::vector<float> &out_scales,
                               int32_t x_zero_point);

// The real-unit bias b (n values) in accumulator units: divided by the output
// scale of each channel. A value within f32 noise of an integer (an int32 QDQ
// bias whose scale is x_scale * w_scale) becomes exactly that integer, so the
// bias oneDNN adds is the quantized model's int32 bias, not a rounding of it.
std::vector<double> accumulator_bias(const Tensor &b, int64_t n,
                                     const std::vector<float> &out_scales);

// oneDNN 2.6 adds the bias before the output scales: `acc_bias` (from
// accumulator_bias, or a zero-point-folded one) as f32 [shape].
dnnl::memory bias_memory(dnnl::engine &eng, const dnnl::memory::desc &md,
                         const std::vector<double> &acc_bias);

// The runtime s32 source zero point, or an empty memory when zp == 0.
dnnl::memory zero_point_memory(dnnl::engine &eng, int32_t zp);

// Final linear post-op requantising real values with 1 / y_scale + y_zero_point
// (none for an f32 output).
void append_requantize(dnnl::post_ops &ops, DType y_dtype, float y_scale, int32_t y_zero_point);

} // namespace qtune::int8

namespace qtune::int8 {

// Integer values of a u8/i8/i32 tensor minus a zero point that is per-tensor
// (zp.size() == 1) or per-slice along `axis` of the tensor; absent zp = 0.
std::vector<int32_t> centered(const Tensor &t, const Tensor *zp, int axis);

// Reference integer convolution: y[n,o,i,j] = sum x32 * w32 (x32, w32 from
// centered()), int32 accumulation, threaded over (n, o).
void conv_integer(const ConvGeometry &g, const std::vector<int32_t> &x32,
                  const std::vector<int32_t> &w32, int32_t *y);

// Output shape of an ONNX MatMul (numpy broadcasting over batch dims; 1-D
// operands promoted); throws InputError naming the node on a mismatch.
Shape matmul_shape(const Node &node, const Shape &a, const Shape &b);

// Batched integer matmul of centered operands with broadcasting; y has
// matmul_shape(a, b).
void matmul_integer(const Shape &a_shape, const std::vector<int32_t> &a32, const Shape &b_shape,
                    const std::vector<int32_t> &b32, const Shape &y_shape, int32_t *y);

// saturate(round_half_even(v) + zp) into u8 or i8 storage.
void requantize(const float *real_over_scale, int64_t n, int32_t zp, Tensor &y);

} // namespace qtune::int8
