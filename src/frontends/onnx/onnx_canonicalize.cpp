// One small rule per op whose form changed between opset 9 and 13. Each rule
// reads the old attributes and turns them into initializer inputs.
#include "frontends/onnx/onnx_canonicalize.h"

#include <fmt/format.h>
#include <limits>

#include "qtune/error.h"

namespace qtune {

namespace {

// Adds `t` as a new initializer named after the node and returns its name.
std::string add_const(Graph &g, const Node &n, const std::string &what, Tensor t) {
  std::string name = fmt::format("{}/{}", n.name, what);
  while (g.is_initializer(name))
    name += "_";
  g.initializers[name] = std::move(t);
  return name;
}

Tensor i64_vector(const std::vector<int64_t> &v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

void set_input(Node &n, size_t i, const std::string &value) {
  if (n.inputs.size() <= i)
    n.inputs.resize(i + 1);
  n.inputs[i] = value;
}

// Moves an ints attribute `attr` into input slot `slot` (nothing when absent).
void ints_attr_to_input(Graph &g, Node &n, const std::string &attr, size_t slot) {
  if (!n.has_attr(attr))
    return;
  set_input(n, slot, add_const(g, n, attr, i64_vector(n.attr_ints(attr))));
  n.attrs.erase(attr);
}

void canonicalize_clip(Graph &g, Node &n) { // opset < 11: min/max attributes
  if (g.opset >= 11)
    return;
  if (n.has_attr("min"))
    set_input(n, 1, add_const(g, n, "min", Tensor::scalar_f32(n.attr_float("min", 0))));
  if (n.has_attr("max"))
    set_input(n, 2, add_const(g, n, "max", Tensor::scalar_f32(n.attr_float("max", 0))));
  n.attrs.erase("min");
  n.attrs.erase("max");
}

void canonicalize_axes_input(Graph &g, Node &n) { // Squeeze/Unsqueeze/ReduceSum < 13
  if (g.opset < 13)
    ints_attr_to_input(g, n, "axes", 1);
}

void canonicalize_split(Graph &g, Node &n) { // split attr -> input (< 13)
  if (g.opset < 13)
    ints_attr_to_input(g, n, "split", 1);
}

void canonicalize_slice(Graph &g, Node &n) { // opset < 10: starts/ends/axes attrs
  if (g.opset >= 10 || !n.has_attr("starts"))
    return;
  ints_attr_to_input(g, n, "starts", 1);
  ints_attr_to_input(g, n, "ends", 2);
  ints_attr_to_input(g, n, "axes", 3);
}

void canonicalize_pad(Graph &g, Node &n) { // opset < 11: pads (or paddings) + value attrs
  if (g.opset >= 11)
    return;
  std::string key = n.has_attr("pads") ? "pads" : "paddings";
  if (!n.has_attr(key))
    throw InputError(fmt::format("{}: no 'pads' attribute", n.describe()));
  set_input(n, 1, add_const(g, n, "pads", i64_vector(n.attr_ints(key))));
  float value = n.attr_float("value", 0.0f);
  if (value != 0.0f)
    set_input(n, 2, add_const(g, n, "value", Tensor::scalar_f32(value)));
  n.attrs.erase(key);
  n.attrs.erase("value");
}

// Upsample (opset 7..9) and Resize opset 10 both scale with asymmetric
// coordinates and floor rounding; opset 13 Resize says so with attributes.
void to_resize_with_scales(Graph &g, Node &n) {
  std::string scales;
  if (n.has_attr("scales"))
    scales = add_const(g, n, "scales",
                       Tensor::from_vector<float>({(int64_t)n.attr_floats("scales").size()},
                                                  n.attr_floats("scales")));
  else if (n.has_input(1))
    scales = n.inputs[1];
  else
    throw InputError(fmt::format("{}: no scales", n.describe()));
  std::string mode = n.attr_string("mode", "nearest");
  if (mode == "bilinear")
    mode = "linear";
  n.op_type = "Resize";
  n.inputs = {n.inputs.at(0), "", scales};
  n.attrs.clear();
  n.attrs["mode"] = mode;
  n.attrs["coordinate_transformation_mode"] = std::string("asymmetric");
  n.attrs["nearest_mode"] = std::string("floor");
}

void canonicalize_resize(Graph &g, Node &n) {
  if (g.opset < 11)
    to_resize_with_scales(g, n);
}

void canonicalize_batchnorm(Graph &g, Node &n) {
  n.attrs.erase("spatial");
  n.attrs.erase("is_test");
  n.attrs.erase("consumed_inputs");
}

void canonicalize_topk(Graph &g, Node &n) { // opset < 10: k attribute
  if (g.opset >= 10 || !n.has_attr("k"))
    return;
  set_input(n, 1, add_const(g, n, "k", i64_vector({n.attr_int("k", 1)})));
  n.attrs.erase("k");
}

// Softmax family before opset 13 flattens to 2D at `axis`; the kernels read
// this marker instead of the opset (see docs/ARCHITECTURE.md).
void mark_legacy_softmax(Graph &g, Node &n) {
  if (g.opset < 13)
    n.attrs["qtune.legacy_softmax"] = int64_t{1};
}

using Rule = void (*)(Graph &, Node &);
struct NamedRule {
  const char *op;
  Rule rule;
};
constexpr NamedRule kRules[] = {
    {"Clip", canonicalize_clip},
    {"Squeeze", canonicalize_axes_input},
    {"Unsqueeze", canonicalize_axes_input},
    {"ReduceSum", canonicalize_axes_input},
    {"Split", canonicalize_split},
    {"Slice", canonicalize_slice},
    {"Pad", canonicalize_pad},
    {"Upsample", to_resize_with_scales},
    {"Resize", canonicalize_resize},
    {"BatchNormalization", canonicalize_batchnorm},
    {"TopK", canonicalize_topk},
    {"Softmax", mark_legacy_softmax},
    {"LogSoftmax", mark_legacy_softmax},
    {"Hardmax", mark_legacy_softmax},
};

} // namespace

void canonicalize_onnx_ops(Graph &g) {
  for (auto &n : g.nodes) {
    if (!n.domain.empty())
      continue;
    // One rule per node: a rule may rename the op (Upsample -> Resize), and the
    // renamed node must not meet the new name's rule again.
    for (const auto &r : kRules)
      if (n.op_type == r.op) {
        r.rule(g, n);
        break;
      }
    for (auto &[k, a] : n.attrs)
      if (auto *sub = std::get_if<std::shared_ptr<Graph>>(&a)) {
        (*sub)->opset = g.opset;
        canonicalize_onnx_ops(**sub);
      }
  }
}

} // namespace qtune
