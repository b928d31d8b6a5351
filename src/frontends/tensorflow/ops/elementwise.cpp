// Elementwise TF ops -> ONNX (TF and ONNX broadcast the same, numpy style).
// Integer FloorDiv/FloorMod and v1 Select have no exact ONNX form: tf: nodes.
#include <fmt/format.h>

#include "frontends/onnx/onnx_import.h"
#include "frontends/tensorflow/ops/convert.h"

namespace qtune::tf {

namespace {

void binary(ConvertContext &c, const std::string &onnx_op) {
  c.add(onnx_op, {c.input(0), c.input(1)}, {c.output(0)});
}

void unary(ConvertContext &c, const std::string &onnx_op) {
  c.add(onnx_op, {c.input(0)}, {c.output(0)});
}

bool is_float(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16;
}

void not_equal(ConvertContext &c) {
  c.add("Not", {c.add1("Equal", {c.input(0), c.input(1)})}, {c.output(0)});
}

void squared_difference(ConvertContext &c) {
  std::string d = c.add1("Sub", {c.input(0), c.input(1)});
  c.add("Mul", {d, d}, {c.output(0)});
}

// Floats: floor(x / y). Integers: (x - mod(x, y)) / y with the floored
// (Python-sign) Mod is exact, the division leaving no remainder.
void floor_div(ConvertContext &c) {
  DType t = c.attr_type("T", DType::f32);
  if (is_float(t)) {
    c.add("Floor", {c.add1("Div", {c.input(0), c.input(1)})}, {c.output(0)});
    return;
  }
  std::string m = c.add1("Mod", {c.input(0), c.input(1)}, {{"fmod", int64_t{0}}});
  c.add("Div", {c.add1("Sub", {c.input(0), m}), c.input(1)}, {c.output(0)});
}

void floor_mod(ConvertContext &c) {
  DType t = c.attr_type("T", DType::f32);
  if (is_float(t))
    return c.emit_generic(1); // fmod with the divisor's sign: no single ONNX op
  c.add("Mod", {c.input(0), c.input(1)}, {c.output(0)}).attrs["fmod"] = int64_t{0};
}

void relu6(ConvertContext &c) {
  DType t = c.attr_type("T", DType::f32);
  c.add("Clip",
        {c.input(0), c.add_const("min", scalar_of(t, 0)), c.add_const("max", scalar_of(t, 6))},
        {c.output(0)});
}

void rsqrt(ConvertContext &c) {
  c.add("Reciprocal", {c.add1("Sqrt", {c.input(0)})}, {c.output(0)});
}

void square(ConvertContext &c) {
  c.add("Mul", {c.input(0), c.input(0)}, {c.output(0)});
}

void leaky_relu(ConvertContext &c) {
  c.add("LeakyRelu", {c.input(0)}, {c.output(0)}).attrs["alpha"] = c.attr_float("alpha", 0.2f);
}

void cast(ConvertContext &c) {
  DType to = c.attr_type("DstT");
  if (to == DType::undefined)
    c.invalid("no DstT attribute");
  c.add("Cast", {c.input(0)}, {c.output(0)}).attrs["to"] = (int64_t)dtype_to_onnx(to);
}

void add_n(ConvertContext &c) {
  std::vector<std::string> ins;
  for (size_t i = 0; i < c.num_inputs(); ++i)
    ins.push_back(c.input(i));
  c.add(ins.size() == 1 ? "Identity" : "Sum", ins, {c.output(0)});
}

void select_v2(ConvertContext &c) {
  c.add("Where", {c.input(0), c.input(1), c.input(2)}, {c.output(0)});
}

} // namespace

void register_tf_elementwise_converters(ConverterTable &t) {
  const std::pair<const char *, const char *> binaries[] = {
      {"Add", "Add"},         {"AddV2", "Add"},
      {"Sub", "Sub"},         {"Mul", "Mul"},
      {"RealDiv", "Div"},     {"Div", "Div"},
      {"Maximum", "Max"},     {"Minimum", "Min"},
      {"Pow", "Pow"},         {"Equal", "Equal"},
      {"Greater", "Greater"}, {"GreaterEqual", "GreaterOrEqual"},
      {"Less", "Less"},       {"LessEqual", "LessOrEqual"},
      {"LogicalAnd", "And"},  {"LogicalOr", "Or"}};
  for (auto [tf_op, onnx_op] : binaries)
    t.add(tf_op, [o = std::string(onnx_op)](ConvertContext &c) { binary(c, o); });
  const std::pair<const char *, const char *> unaries[] = {
      {"Relu", "Relu"},       {"Elu", "Elu"},           {"Selu", "Selu"},
      {"Sigmoid", "Sigmoid"}, {"Tanh", "Tanh"},         {"Exp", "Exp"},
      {"Log", "Log"},         {"Sqrt", "Sqrt"},         {"Neg", "Neg"},
      {"Abs", "Abs"},         {"Floor", "Floor"},       {"Ceil", "Ceil"},
      {"Round", "Round"},     {"Sign", "Sign"},         {"Reciprocal", "Reciprocal"},
      {"Inv", "Reciprocal"},  {"Softplus", "Softplus"}, {"Softsign", "Softsign"},
      {"Sin", "Sin"},         {"Cos", "Cos"},           {"Erf", "Erf"},
      {"LogicalNot", "Not"}};
  for (auto [tf_op, onnx_op] : unaries)
    t.add(tf_op, [o = std::string(onnx_op)](ConvertContext &c) { unary(c, o); });
  t.add("NotEqual", not_equal);
  t.add("SquaredDifference", squared_difference);
  t.add("FloorDiv", floor_div);
  t.add("FloorMod", floor_mod);
  t.add("Relu6", relu6);
  t.add("Rsqrt", rsqrt);
  t.add("Square", square);
  t.add("LeakyRelu", leaky_relu);
  t.add("Cast", cast);
  t.add("AddN", add_n);
  t.add("SelectV2", select_v2);
}

} // namespace qtune::tf
