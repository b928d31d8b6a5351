// MaxPool / AvgPool (NHWC or NCHW) -> ONNX MaxPool / AveragePool. TF's SAME
// average excludes the padding: count_include_pad 0.
#include "frontends/tensorflow/ops/layout.h"

namespace qtune::tf {

namespace {

void pool(ConvertContext &c, const std::string &onnx_op) {
  bool nchw = is_nchw(c);
  std::vector<int64_t> ksize, strides;
  if (c.op() == "MaxPoolV2") {
    ksize = c.require_constant(1, "ksize").to_i64_vector();
    strides = c.require_constant(2, "strides").to_i64_vector();
  } else {
    ksize = c.attr_ints("ksize");
    strides = c.attr_ints("strides");
  }
  if ((ksize.size() == 4 && (nchw ? ksize[0] * ksize[1] : ksize[0] * ksize[3]) != 1) ||
      (strides.size() == 4 && (nchw ? strides[0] * strides[1] : strides[0] * strides[3]) != 1))
    c.unsupported("pooling over the batch or channel dimension");
  std::string x = nchw ? c.input(0) : to_nchw(c, c.input(0));
  std::string y = nchw ? c.output(0) : c.fresh(onnx_op);
  Node &n = c.add(onnx_op, {x}, {y});
  c.take_name(n);
  n.attrs["kernel_shape"] = spatial(c, ksize, "ksize");
  n.attrs["strides"] = spatial(c, strides, "strides");
  set_padding(c, n);
  if (onnx_op == "AveragePool")
    n.attrs["count_include_pad"] = int64_t{0};
  if (!nchw)
    from_nchw(c, y);
}

} // namespace

void register_tf_pool_converters(ConverterTable &t) {
  t.add("MaxPool", [](ConvertContext &c) { pool(c, "MaxPool"); });
  t.add("MaxPoolV2", [](ConvertContext &c) { pool(c, "MaxPool"); });
  t.add("AvgPool", [](ConvertContext &c) { pool(c, "AveragePool"); });
}

} // namespace qtune::tf
