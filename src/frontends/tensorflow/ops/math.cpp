// MatMul / BatchMatMul, Softmax, reductions over constant axes, ArgMax/ArgMin.
#include <fmt/format.h>

#include "frontends/onnx/onnx_import.h"
#include "frontends/tensorflow/ops/convert.h"

namespace qtune::tf {

namespace {

// One operand, transposed (last two dims) when asked: constants at import.
std::string maybe_transposed(ConvertContext &c, size_t i, bool transpose) {
  if (!transpose)
    return c.input(i);
  if (const Tensor *t = c.constant(i); t && t->rank() == 2)
    return c.add_const("transposed", transpose_tensor(*t, {1, 0}));
  if (c.op() != "MatMul")
    c.unsupported("adj_x/adj_y on a non-constant operand");
  return c.add1("Transpose", {c.input(i)}, {{"perm", std::vector<int64_t>{1, 0}}});
}

void matmul(ConvertContext &c) {
  bool ta = c.attr_bool("transpose_a", false) || c.attr_bool("adj_x", false);
  bool tb = c.attr_bool("transpose_b", false) || c.attr_bool("adj_y", false);
  c.add("MatMul", {maybe_transposed(c, 0, ta), maybe_transposed(c, 1, tb)}, {c.output(0)});
}

void softmax(ConvertContext &c, const std::string &op) {
  c.add(op, {c.input(0)}, {c.output(0)}).attrs["axis"] = int64_t{-1};
}

// Sum takes its axes as an input (opset 13), the others as an attribute
// (opset <= 17). TF's empty axis list reduces nothing (ONNX's: everything).
void reduce(ConvertContext &c, const std::string &op) {
  const Tensor *axes_t = c.constant(1);
  if (!axes_t)
    return c.emit_generic(1);
  std::vector<int64_t> axes = axes_t->to_i64_vector();
  if (axes.empty()) {
    c.add("Identity", {c.input(0)}, {c.output(0)});
    return;
  }
  int64_t keep = c.attr_bool("keep_dims", false) ? 1 : 0;
  if (op == "ReduceSum") {
    c.add(op, {c.input(0), c.add_const("axes", i64_tensor(axes))}, {c.output(0)})
        .attrs["keepdims"] = keep;
    return;
  }
  Node &n = c.add(op, {c.input(0)}, {c.output(0)});
  n.attrs["axes"] = axes;
  n.attrs["keepdims"] = keep;
}

// ONNX ArgMax writes int64; TF's output_type may be int32.
void arg(ConvertContext &c, const std::string &op) {
  const Tensor &axis = c.require_constant(1, "axis");
  if (axis.numel() != 1)
    c.invalid("axis must be a scalar");
  DType out = c.attr_type("output_type", DType::i64);
  std::string y = out == DType::i64 ? c.output(0) : c.fresh(op);
  Node &n = c.add(op, {c.input(0)}, {y});
  n.attrs["axis"] = axis.get_i64(0);
  n.attrs["keepdims"] = int64_t{0};
  if (out != DType::i64)
    c.add("Cast", {y}, {c.output(0)}).attrs["to"] = (int64_t)dtype_to_onnx(out);
}

} // namespace

void register_tf_math_converters(ConverterTable &t) {
  t.add("MatMul", matmul);
  t.add("BatchMatMul", matmul);
  t.add("BatchMatMulV2", matmul);
  t.add("Softmax", [](ConvertContext &c) { softmax(c, "Softmax"); });
  t.add("LogSoftmax", [](ConvertContext &c) { softmax(c, "LogSoftmax"); });
  const std::pair<const char *, const char *> reductions[] = {{"Mean", "ReduceMean"},
                                                              {"Sum", "ReduceSum"},
                                                              {"Max", "ReduceMax"},
                                                              {"Min", "ReduceMin"},
                                                              {"Prod", "ReduceProd"}};
  for (auto [tf_op, onnx_op] : reductions)
    t.add(tf_op, [o = std::string(onnx_op)](ConvertContext &c) { reduce(c, o); });
  t.add("ArgMax", [](ConvertContext &c) { arg(c, "ArgMax"); });
  t.add("ArgMin", [](ConvertContext &c) { arg(c, "ArgMin"); });
}

} // namespace qtune::tf
