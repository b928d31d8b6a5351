#include "quant/switch_graph.h"

#include <algorithm>
#include <unordered_map>

#include "qtune/error.h"
#include "quant/qdq_constant.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"

namespace qtune::quant {

namespace {

class Builder {
public:
  Builder(const Graph &fp32, const Graph &qdq) : qdq_(qdq), producers_(qdq.producers()) {
    out_.graph = fp32;
    out_.selector = out_.graph.unique_name("qtune_selector");
    ValueInfo sel;
    sel.name = out_.selector;
    sel.dtype = DType::i64;
    out_.graph.inputs.push_back(sel);
    for (size_t i = 0; i < fp32.nodes.size(); ++i)
      index_[fp32.nodes[i].name] = i;
    for (size_t i = 0; i < qdq.nodes.size(); ++i)
      qdq_index_[qdq.nodes[i].name] = i;
  }

  void add_op(const std::string &name) {
    auto q = qdq_index_.find(name);
    auto f = index_.find(name);
    if (q == qdq_index_.end() || f == index_.end())
      return;
    const Node &qn = qdq_.nodes[q->second];
    const int64_t id = static_cast<int64_t>(out_.ops.size());
    bool any = false;
    for (size_t k = 0; k < qn.inputs.size(); ++k) {
      Node &fn = out_.graph.nodes[f->second];
      if (k >= fn.inputs.size() || fn.inputs[k].empty())
        continue; // e.g. a bias the quantizer created: no fp32 value to switch
      auto p = producers_.find(qn.inputs[k]);
      if (p == producers_.end() || qdq_.nodes[p->second].op_type != "DequantizeLinear")
        continue;
      std::vector<std::string> extra = switch_inputs(qdq_.nodes[p->second]);
      if (extra.empty())
        continue;
      Node sw;
      sw.name = out_.graph.unique_name(name + "_switch" + std::to_string(k));
      sw.op_type = "QuantSwitch";
      sw.domain = "qtune";
      sw.inputs = {fn.inputs[k], out_.selector};
      sw.inputs.insert(sw.inputs.end(), extra.begin(), extra.end());
      sw.outputs = {out_.graph.unique_name(fn.inputs[k] + "_switched")};
      sw.attrs["id"] = id;
      fn.inputs[k] = sw.outputs[0];
      switches_.push_back(std::move(sw));
      any = true;
    }
    if (any)
      out_.ops.push_back(name);
  }

  SwitchGraph finish() {
    for (Node &sw : switches_)
      out_.graph.nodes.push_back(std::move(sw));
    out_.graph.toposort();
    return std::move(out_);
  }

private:
  // Inputs after (x, selector): scale + zero point of Q(x) for an activation,
  // the dequantized constant for a weight or bias. Empty: not a Q/DQ pair we know.
  std::vector<std::string> switch_inputs(const Node &dq) {
    if (qdq_.is_initializer(dq.inputs[0])) {
      std::string alt = out_.graph.unique_name(dq.inputs[0] + "_dequantized_const");
      out_.graph.initializers[alt] = dequantize_constant(dq, qdq_);
      return {alt};
    }
    auto p = producers_.find(dq.inputs[0]);
    if (p == producers_.end() || qdq_.nodes[p->second].op_type != "QuantizeLinear" ||
        !dq.has_input(2))
      return {};
    std::string scale = out_.graph.unique_name(dq.inputs[1] + "_switch");
    std::string zp = out_.graph.unique_name(dq.inputs[2] + "_switch");
    out_.graph.initializers[scale] = qdq_.initializer(dq.inputs[1])->clone();
    out_.graph.initializers[zp] = qdq_.initializer(dq.inputs[2])->clone();
    return {scale, zp};
  }

  const Graph &qdq_;
  std::unordered_map<std::string, size_t> producers_;
  std::unordered_map<std::string, size_t> index_, qdq_index_;
  std::vector<Node> switches_;
  SwitchGraph out_;
};

} // namespace

SwitchGraph build_switch_graph(const Graph &fp32, const Graph &qdq,
                               const std::vector<std::string> &ops) {
  Builder b(fp32, qdq);
  for (const std::string &op : ops)
    b.add_op(op);
  return b.finish();
}

namespace {

// Sum of squared differences over sum of squares: the share of the signal lost.
double normalized_mse(const Tensor &ref, const Tensor &got) {
  if (ref.dtype() != DType::f32 || got.dtype() != DType::f32 || ref.numel() != got.numel())
    return 0;
  auto a = ref.span<float>();
  auto b = got.span<float>();
  double err = 0, sig = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = double(a[i]) - double(b[i]);
    err += d * d;
    sig += double(a[i]) * double(a[i]);
  }
  return sig > 0 ? err / sig : err;
}

} // namespace

std::vector<double> score_ops_alone(SwitchGraph sg, const std::vector<InputBatch> &batches) {
  auto g = std::make_shared<Graph>(std::move(sg.graph));
  optimize_graph_with_runtime(*g);
  Executor ex(g);
  std::vector<double> err(sg.ops.size(), 0.0);
  for (const InputBatch &batch : batches) {
    InputBatch in = batch;
    in[sg.selector] = Tensor::scalar_i64(-1);
    std::vector<Tensor> ref;
    for (const Tensor &t : ex.run(in))
      ref.push_back(t.clone());
    for (size_t k = 0; k < sg.ops.size(); ++k) {
      in[sg.selector] = Tensor::scalar_i64(static_cast<int64_t>(k));
      std::vector<Tensor> out = ex.run(in);
      for (size_t o = 0; o < out.size() && o < ref.size(); ++o)
        err[k] += normalized_mse(ref[o], out[o]);
    }
  }
  for (double &e : err)
    e /= static_cast<double>(std::max<size_t>(1, batches.size()));
  return err;
}

} // namespace qtune::quant
