// Graph -> ONNX model file. Written as default-domain opset >= 13 (the
// canonical forms the importer produced are opset-13 forms) plus domain "qtune"
// for fused ops. Markers like qtune.legacy_softmax are turned back into
// standard ONNX so onnx::checker accepts the result. The bf16 marks of the
// precision plan (kPrecisionAttr) travel as the model metadata entry
// "qtune.bf16_nodes" instead (see marked_nodes_metadata(); recipe markers
// kChannelScaleAttr as "qtune.channel_scale_nodes"), the quantizer's
// reasons for ops kept out of int8 as "qtune.precision_reasons".
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>
#include <set>
#include <unistd.h>

#include "frontends/onnx/onnx_import.h"
#include "ir/precision_reason.h"
#include "qtune/error.h"

namespace qtune {

namespace {

void value_info_to_proto(const ValueInfo &v, onnx::ValueInfoProto &p) {
  p.set_name(v.name);
  if (v.dtype == DType::undefined)
    return;
  auto *tt = p.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype_to_onnx(v.dtype));
  if (!v.has_shape)
    return;
  auto *shape = tt->mutable_shape();
  for (const Dim &d : v.dims) {
    auto *dp = shape->add_dim();
    if (d.known())
      dp->set_dim_value(d.value);
    else if (!d.symbol.empty())
      dp->set_dim_param(d.symbol);
  }
}

void graph_to_proto(const Graph &g, onnx::GraphProto &gp);

void attribute_to_proto(const std::string &name, const Attribute &a, onnx::AttributeProto &p) {
  using A = onnx::AttributeProto;
  p.set_name(name);
  if (auto *i = std::get_if<int64_t>(&a)) {
    p.set_type(A::INT);
    p.set_i(*i);
  } else if (auto *f = std::get_if<float>(&a)) {
    p.set_type(A::FLOAT);
    p.set_f(*f);
  } else if (auto *s = std::get_if<std::string>(&a)) {
    p.set_type(A::STRING);
    p.set_s(*s);
  } else if (auto *t = std::get_if<Tensor>(&a)) {
    p.set_type(A::TENSOR);
    tensor_to_proto(*t, "", *p.mutable_t());
  } else if (auto *is = std::get_if<std::vector<int64_t>>(&a)) {
    p.set_type(A::INTS);
    for (int64_t v : *is)
      p.add_ints(v);
  } else if (auto *fs = std::get_if<std::vector<float>>(&a)) {
    p.set_type(A::FLOATS);
    for (float v : *fs)
      p.add_floats(v);
  } else if (auto *ss = std::get_if<std::vector<std::string>>(&a)) {
    p.set_type(A::STRINGS);
    for (const auto &v : *ss)
      p.add_strings(v);
  } else if (auto *g = std::get_if<std::shared_ptr<Graph>>(&a)) {
    p.set_type(A::GRAPH);
    graph_to_proto(**g, *p.mutable_g());
  }
}

onnx::NodeProto *add_node(onnx::GraphProto &gp, const std::string &op, const std::string &name,
                          std::vector<std::string> ins, std::vector<std::string> outs) {
  auto *np = gp.add_node();
  np->set_op_type(op);
  np->set_name(name);
  for (const auto &i : ins)
    np->add_input(i);
  for (const auto &o : outs)
    np->add_output(o);
  return np;
}

int known_rank(const Graph &g, const std::string &v) {
  for (const auto &in : g.inputs)
    if (in.name == v && in.has_shape)
      return static_cast<int>(in.dims.size());
  auto it = g.value_info.find(v);
  if (it != g.value_info.end() && it->second.has_shape)
    return static_cast<int>(it->second.dims.size());
  if (const Tensor *t = g.initializer(v))
    return t->rank();
  return -1;
}

// Opset < 13 Softmax: coerce to 2D at `axis`. In opset 13 that is
// Reshape(Softmax(Flatten(x, axis), axis=1), Shape(x)) unless axis is the last one.
void legacy_softmax_to_proto(const Graph &g, const Node &n, onnx::GraphProto &gp) {
  int64_t axis = n.attr_int("axis", 1);
  int rank = known_rank(g, n.inputs.at(0));
  if (rank > 0 && (axis == -1 || axis == rank - 1)) {
    auto *np = add_node(gp, n.op_type, n.name, n.inputs, n.outputs);
    auto *ap = np->add_attribute();
    attribute_to_proto("axis", int64_t{-1}, *ap);
    return;
  }
  std::string flat = n.name + "/flat", soft = n.name + "/soft2d", shape = n.name + "/shape";
  auto *fl = add_node(gp, "Flatten", n.name + "/Flatten", {n.inputs[0]}, {flat});
  attribute_to_proto("axis", axis, *fl->add_attribute());
  auto *sm = add_node(gp, n.op_type, n.name, {flat}, {soft});
  attribute_to_proto("axis", int64_t{1}, *sm->add_attribute());
  add_node(gp, "Shape", n.name + "/Shape", {n.inputs[0]}, {shape});
  add_node(gp, "Reshape", n.name + "/Reshape", {soft, shape}, {n.outputs.at(0)});
}

void node_to_proto(const Graph &g, const Node &n, onnx::GraphProto &gp) {
  if (n.domain.empty() && n.attr_int("qtune.legacy_softmax", 0) == 1)
    return legacy_softmax_to_proto(g, n, gp);
  auto *np = add_node(gp, n.op_type, n.name, n.inputs, n.outputs);
  if (!n.domain.empty())
    np->set_domain(n.domain);
  for (const auto &[k, a] : n.attrs) {
    // Our markers on standard ops are not ONNX attributes; the precision mark
    // goes to the metadata for every op so there is one place to read it from.
    if ((n.domain.empty() && k.rfind("qtune.", 0) == 0) || k == kPrecisionAttr)
      continue;
    attribute_to_proto(k, a, *np->add_attribute());
  }
}

void graph_to_proto(const Graph &g, onnx::GraphProto &gp) {
  gp.set_name(g.name.empty() ? "qtune" : g.name);
  // Sorted names make the file deterministic.
  std::vector<std::string> names;
  for (const auto &[k, v] : g.initializers)
    names.push_back(k);
  std::sort(names.begin(), names.end());
  for (const auto &k : names)
    tensor_to_proto(g.initializers.at(k), k, *gp.add_initializer());
  for (const auto &in : g.inputs)
    value_info_to_proto(in, *gp.add_input());
  for (const auto &out : g.outputs)
    value_info_to_proto(out, *gp.add_output());
  for (const auto &n : g.nodes)
    node_to_proto(g, n, gp);
  std::set<std::string> io;
  for (const auto &v : g.inputs)
    io.insert(v.name);
  for (const auto &v : g.outputs)
    io.insert(v.name);
  names.clear();
  for (const auto &[k, v] : g.value_info)
    if (!io.count(k) && !g.is_initializer(k) && v.dtype != DType::undefined)
      names.push_back(k);
  std::sort(names.begin(), names.end());
  for (const auto &k : names)
    value_info_to_proto(g.value_info.at(k), *gp.add_value_info());
}

void collect_domains(const Graph &g, std::set<std::string> &domains) {
  for (const auto &n : g.nodes) {
    if (!n.domain.empty())
      domains.insert(n.domain);
    for (const auto &[k, a] : n.attrs)
      if (auto *sub = std::get_if<std::shared_ptr<Graph>>(&a))
        collect_domains(**sub, domains);
  }
}

// Names of the top-level nodes `marked` selects (planned bf16, ...), comma-separated;
// a ',' or backslash inside a name is escaped with a backslash (the importer undoes it).
std::string marked_nodes_metadata(const Graph &g, const std::function<bool(const Node &)> &marked,
                                  const char *what) {
  std::string out;
  for (const Node &n : g.nodes) {
    if (!marked(n))
      continue;
    if (n.name.empty())
      throw Error(fmt::format("{}: a node {} has no name to record it by", n.describe(), what));
    if (!out.empty())
      out += ',';
    for (char c : n.name) {
      if (c == ',' || c == '\\')
        out += '\\';
      out += c;
    }
  }
  return out;
}

// {node: kPrecisionReasonAttr} of the top-level nodes that carry one, or "".
std::string precision_reasons_metadata(const Graph &g) {
  nlohmann::json j = nlohmann::json::object();
  for (const Node &n : g.nodes)
    if (std::string why = n.attr_string(kPrecisionReasonAttr, ""); !why.empty() && !n.name.empty())
      j[n.name] = why;
  return j.empty() ? "" : j.dump();
}

} // namespace

void save_onnx(const Graph &g, const std::string &path) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("qtune");
  m.set_producer_version("0.1.0");
  auto *os = m.add_opset_import();
  os->set_domain("");
  os->set_version(std::clamp<int64_t>(g.opset, 13, 17));
  std::set<std::string> domains;
  collect_domains(g, domains);
  for (const auto &d : domains) {
    auto *o = m.add_opset_import();
    o->set_domain(d);
    o->set_version(1);
  }
  graph_to_proto(g, *m.mutable_graph());
  auto add_metadata = [&](const char *key, const std::string &value) {
    if (value.empty())
      return;
    auto *meta = m.add_metadata_props();
    meta->set_key(key);
    meta->set_value(value);
  };
  add_metadata(kBf16NodesKey,
               marked_nodes_metadata(
                   g, [](const Node &n) { return n.attr_string(kPrecisionAttr, "") == "bf16"; },
                   "planned bf16"));
  add_metadata(kChannelScaleNodesKey,
               marked_nodes_metadata(
                   g, [](const Node &n) { return n.attrs.count(kChannelScaleAttr) > 0; },
                   "marked qtune.channel_scale"));
  add_metadata(kPrecisionReasonsKey, precision_reasons_metadata(g));

  std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw Error(fmt::format("{}: cannot write model file", path));
    if (!m.SerializeToOstream(&out))
      throw Error(fmt::format("{}: serialising the model failed (larger than 2 GB?)", path));
    out.close();
    if (!out)
      throw Error(fmt::format("{}: write failed", path));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw Error(fmt::format("{}: cannot rename temp file: {}", path, ec.message()));
  }
}

} // namespace qtune
