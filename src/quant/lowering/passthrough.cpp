// Data-movement ops whose fp32 kernels copy elements of any dtype unchanged:
//   passthrough: DQ(x...) -> Concat|Reshape|Flatten|Transpose|Squeeze|Unsqueeze|
//     Slice|Identity -> Q, all with the same scale/zero point/type  =>  the same
//     op on the int8 values (Resize with mode nearest the same way => qtune:QResize,
//     as the fp32 Resize is f32 only).
//   sink_dequantize: DQ(x...) -> data-movement op (not Resize) -> fp32 readers
//     =>  op on int8 values -> DQ: a quarter of the bytes moved for the same
//     result (DQ is elementwise). Resize is left alone: upsampling would give
//     the DQ more elements.
// Concat moves all its inputs, the others only input 0 (shapes, axes, starts ... stay).
#include "quant/lowering/rule.h"

namespace qtune::quant {

namespace {

size_t data_inputs(const Node &op) {
  const OpDescriptor *d = find_descriptor(op);
  return d && d->all_inputs ? op.inputs.size() : 1;
}

bool nearest_resize(const Node &op) {
  bool nearest = op.attr_string("mode", "nearest") == "nearest";
  bool crop = op.attr_string("coordinate_transformation_mode", "") == "tf_crop_and_resize";
  bool opset18 = op.has_attr("axes") || op.has_attr("keep_aspect_ratio_policy") ||
                 op.attr_int("antialias", 0) != 0;
  return nearest && !crop && !opset18;
}

bool lower_passthrough(LoweringContext &cx, size_t i) {
  const Node op = cx.g.nodes[i];
  if (op.outputs.size() != 1)
    return false;
  std::vector<size_t> shape_readers;
  auto yq = cx.quantize_after(op.outputs[0]);
  if (!yq)
    yq = cx.quantize_beside_shapes(op.outputs[0], shape_readers);
  if (!yq)
    return false;
  Node moved = op;
  for (size_t k = 0; k < data_inputs(op); ++k) {
    const Node *dq = op.has_input(k) ? cx.producer(op.inputs[k], "DequantizeLinear") : nullptr;
    auto p = dq ? cx.per_tensor_params(*dq) : std::nullopt;
    if (!p || !(*p == yq->second))
      return false;
    moved.inputs[k] = dq->inputs[0];
  }
  moved.outputs = {cx.g.nodes[yq->first].outputs.at(0)};
  if (op.op_type == "Resize") {
    if (!nearest_resize(op))
      return false;
    moved.op_type = "QResize";
    moved.domain = "qtune";
  }
  std::string int8_out = moved.outputs[0];
  cx.replace({i, yq->first}, std::move(moved));
  for (size_t s : shape_readers) // a Shape reads the same shape from the int8 tensor
    cx.g.nodes[s].inputs[0] = int8_out;
  cx.refresh();
  return true;
}

bool sink_dequantize(LoweringContext &cx, size_t i) {
  const Node op = cx.g.nodes[i];
  if (op.outputs.size() != 1 || op.outputs[0].empty())
    return false;
  const Node *first_dq = nullptr;
  std::optional<QParams> params;
  Node moved = op;
  for (size_t k = 0; k < data_inputs(op); ++k) {
    const Node *dq = op.has_input(k) ? cx.producer(op.inputs[k], "DequantizeLinear") : nullptr;
    auto p = dq ? cx.per_tensor_params(*dq) : std::nullopt;
    if (!p || (params && !(*p == *params)))
      return false;
    params = p;
    first_dq = first_dq ? first_dq : dq;
    moved.inputs[k] = dq->inputs[0];
  }
  Node dq = cx.dequantize_like(*first_dq, op.name, op.outputs[0], moved.outputs[0]);
  cx.g.nodes[i] = std::move(moved);
  cx.g.nodes.push_back(std::move(dq));
  cx.refresh();
  return true;
}

} // namespace

void register_passthrough_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"passthrough", 1, lower_passthrough});
  r.add(LoweringRule{"sink_dequantize", 2, sink_dequantize});
  for (const char *op : {"Concat", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
                         "Slice", "Identity", "Resize"}) {
    OpDescriptor d(op, QuantRole::passthrough, {"passthrough"});
    d.all_inputs = d.op == "Concat";
    if (d.all_inputs)
      d.rules.push_back("requant_concat"); // inputs with other scales (lowering/lut.cpp)
    if (d.op != "Resize")
      d.rules.push_back("sink_dequantize");
    r.add(d);
  }
}

} // namespace qtune::quant
