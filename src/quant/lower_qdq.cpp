// Lowering QDQ patterns into int8 kernels (rules documented in lower_qdq.h).
// Every rule follows the same steps: match from the compute node outwards,
// build the replacement node, then mark the matched nodes for removal. The
// replacement takes the place of the last matched node so all its inputs are
// already produced there; DequantizeLinear nodes left without readers go at
// the end.
#include "quant/lower_qdq.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <optional>
#include <set>

#include "qtune/error.h"
#include "runtime/kernel.h"

namespace qtune::quant {

namespace {

// Scale/zero point of a per-tensor DequantizeLinear or QuantizeLinear node.
struct QParams {
  float scale = 1;
  int32_t zero_point = 0;
  DType dtype = DType::u8;
};

// Ops that lower to qtune:QMatMul (a Gemm only with transA=0, alpha=beta=1).
const std::set<std::string> kMatMulOps{"MatMul", "Gemm", "qtune:FusedMatMul", "qtune:FusedGemm"};

// Data-movement ops whose fp32 kernels copy elements of any dtype unchanged,
// so with equal quantization before and after they run on the int8 values.
// Resize (nearest only) becomes qtune:QResize, as the fp32 Resize is f32 only.
const std::set<std::string> kPassThroughOps{"Concat",    "Reshape",  "Flatten",
                                            "Transpose", "Squeeze",  "Unsqueeze",
                                            "Slice",     "Identity", "Resize"};

const std::set<std::string> kFusableActivations{"Relu",        "LeakyRelu", "Clip", "Sigmoid",
                                                "HardSigmoid", "HardSwish", "Tanh"};

class Lowering {
public:
  explicit Lowering(Graph &g) : g_(g) { refresh(); }

  LowerReport run() {
    LowerReport report;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node &n = g_.nodes[i];
      const std::string op = n.domain.empty() ? n.op_type : n.domain + ":" + n.op_type;
      if ((op == "Conv" || op == "qtune:FusedConv") && lower_conv(i))
        ++report.qconv;
      else if (op == "QLinearConv" && lower_qlinear_conv(i))
        ++report.qconv;
      else if (op == "QLinearMatMul" && lower_qlinear_matmul(i))
        ++report.qmatmul;
      else if (kMatMulOps.count(op) && lower_matmul(i))
        ++report.qmatmul;
      else if (op == "MaxPool" && lower_maxpool(i))
        ++report.qpool;
      else if ((op == "AveragePool" || op == "GlobalAveragePool") && lower_avgpool(i))
        ++report.qavgpool;
      else if (kPassThroughOps.count(op) && lower_passthrough(i))
        ++report.passthrough;
      else if (op == "Add" && fold_add_into_qconv(i))
        ++report.fused_sums;
    }
    // Second pass: data-movement ops still reading DequantizeLinear outputs.
    const size_t count = g_.nodes.size();
    for (size_t i = 0; i < count; ++i) {
      const Node &n = g_.nodes[i];
      if (n.domain.empty() && kPassThroughOps.count(n.op_type) && n.op_type != "Resize" &&
          sink_dequantize(i))
        ++report.sunk_dequantize;
    }
    report.removed_nodes = remove_dead();
    report.folded_constants = fold_constant_qdq();
    g_.toposort();
    return report;
  }

private:
  void refresh() {
    producers_ = g_.producers();
    consumers_ = g_.consumers();
  }

  const Node *producer(const std::string &v, const char *op) const {
    auto it = producers_.find(v);
    if (it == producers_.end())
      return nullptr;
    const Node &n = g_.nodes[it->second];
    return n.op_type == op && n.domain.empty() ? &n : nullptr;
  }

  // The only reader of `v` (and `v` is no graph output), else nullopt.
  std::optional<size_t> sole_consumer(const std::string &v) const {
    auto it = consumers_.find(v);
    if (it == consumers_.end() || it->second.size() != 1 || g_.is_graph_output(v))
      return std::nullopt;
    return it->second[0];
  }

  // Per-tensor parameters of a Q or DQ node with constant scale/zero point.
  std::optional<QParams> per_tensor_params(const Node &n) const {
    const Tensor *s = g_.initializer(n.inputs.at(1));
    const Tensor *z = n.has_input(2) ? g_.initializer(n.inputs[2]) : nullptr;
    if (!s || s->numel() != 1 || (n.has_input(2) && (!z || z->numel() != 1)))
      return std::nullopt;
    QParams p;
    p.scale = static_cast<float>(s->get_f64(0));
    p.zero_point = z ? static_cast<int32_t>(z->get_i64(0)) : 0;
    p.dtype = z ? z->dtype() : DType::u8;
    if (p.dtype != DType::u8 && p.dtype != DType::i8)
      return std::nullopt;
    return p;
  }

  // Per-channel (on the weight's output-channel `axis`) or per-tensor scales of
  // a DQ of a constant symmetric i8 weight; empty when the DQ does not fit.
  std::vector<float> weight_scales(const Node &dq, int64_t axis) const {
    const Tensor *w = g_.initializer(dq.inputs[0]);
    const Tensor *s = g_.initializer(dq.inputs.at(1));
    if (!w || w->dtype() != DType::i8 || !s)
      return {};
    if (dq.has_input(2)) {
      const Tensor *z = g_.initializer(dq.inputs[2]);
      if (!z || !all_zero(*z))
        return {};
    }
    int64_t dq_axis = dq.attr_int("axis", 1);
    if (dq_axis < 0)
      dq_axis += w->rank();
    if (s->numel() != 1 && (dq_axis != axis || s->numel() != w->dim(axis)))
      return {};
    return s->to_f32_vector();
  }

  // The QuantizeLinear that is the only reader of `v`, with its parameters.
  std::optional<std::pair<size_t, QParams>> quantize_after(const std::string &v) const {
    auto c = sole_consumer(v);
    if (!c || g_.nodes[*c].op_type != "QuantizeLinear" || !g_.nodes[*c].domain.empty())
      return std::nullopt;
    auto p = per_tensor_params(g_.nodes[*c]);
    if (!p)
      return std::nullopt;
    return std::make_pair(*c, *p);
  }

  static bool same_params(const QParams &a, const QParams &b) {
    return a.scale == b.scale && a.zero_point == b.zero_point && a.dtype == b.dtype;
  }

  // Real-unit f32 bias: an f32 initializer as is, or DQ(int32 initializer).
  // Returns the value name to read, "" when absent, nullopt when unusable.
  std::optional<std::string> real_bias(const Node &op, size_t index) {
    if (!op.has_input(index))
      return std::string();
    const std::string &b = op.inputs[index];
    if (const Tensor *t = g_.initializer(b)) {
      if (t->dtype() != DType::f32)
        return std::nullopt;
      return b;
    }
    const Node *dq = producer(b, "DequantizeLinear");
    if (!dq)
      return std::nullopt;
    const Tensor *q = g_.initializer(dq->inputs[0]);
    const Tensor *s = g_.initializer(dq->inputs.at(1));
    const Tensor *z = dq->has_input(2) ? g_.initializer(dq->inputs[2]) : nullptr;
    if (!q || q->dtype() != DType::i32 || q->rank() != 1 || !s || (dq->has_input(2) && !z))
      return std::nullopt;
    if (s->numel() != 1 && s->numel() != q->numel())
      return std::nullopt;
    Tensor real(DType::f32, q->shape());
    for (int64_t i = 0; i < q->numel(); ++i) {
      int64_t c = s->numel() == 1 ? 0 : i;
      int64_t zp = z ? z->get_i64(z->numel() == 1 ? 0 : i) : 0;
      real.data<float>()[i] = static_cast<float>((q->get_i64(i) - zp) * s->get_f64(c));
    }
    std::string name = g_.unique_name(b + "_real");
    g_.initializers[name] = std::move(real);
    return name;
  }

  // Activation node attrs for FusedConv-style "activation"/"activation_params";
  // nullopt for an op we cannot fuse (or a Clip with non-constant bounds).
  std::optional<std::pair<std::string, std::vector<float>>> activation_of(const Node &n) const {
    if (!n.domain.empty() || !kFusableActivations.count(n.op_type))
      return std::nullopt;
    std::vector<float> params;
    if (n.op_type == "LeakyRelu")
      params = {n.attr_float("alpha", 0.01f)};
    if (n.op_type == "HardSigmoid")
      params = {n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
    if (n.op_type == "Clip") {
      float lo = -3.4e38f, hi = 3.4e38f;
      for (size_t k = 1; k <= 2; ++k) {
        if (!n.has_input(k))
          continue;
        const Tensor *t = g_.initializer(n.inputs[k]);
        if (!t || t->numel() != 1)
          return std::nullopt;
        (k == 1 ? lo : hi) = static_cast<float>(t->get_f64(0));
      }
      params = {lo, hi};
    }
    return std::make_pair(n.op_type, params);
  }

  static bool all_zero(const Tensor &t) {
    for (int64_t i = 0; i < t.numel(); ++i)
      if (t.get_i64(i) != 0)
        return false;
    return true;
  }

  // The constant operands QLinearConv and QLinearMatMul share (inputs 1-7):
  // per-tensor input and output scale / zero point, and an s8 weight of
  // `rank` with zero point 0 and scales per tensor or per `channel_axis`.
  struct QLinearOperands {
    float in_scale = 1, y_scale = 1;
    int64_t in_zero_point = 0, y_zero_point = 0;
    DType y_dtype = DType::u8;
    std::vector<float> w_scales;
    int64_t channels = 0; // weight dim at channel_axis
  };
  std::optional<QLinearOperands> qlinear_operands(const Node &n, int64_t rank,
                                                  int channel_axis) const {
    auto constant = [&](size_t k) {
      return n.has_input(k) ? g_.initializer(n.inputs[k]) : nullptr;
    };
    const Tensor *xs = constant(1), *xz = constant(2), *w = constant(3), *ws = constant(4),
                 *wz = constant(5), *ys = constant(6), *yz = constant(7);
    if (!xs || !xz || !w || !ws || !ys || !yz || xs->numel() != 1 || xz->numel() != 1 ||
        ys->numel() != 1 || yz->numel() != 1 || w->dtype() != DType::i8 || w->rank() != rank)
      return std::nullopt;
    const int64_t channels = w->dim(channel_axis);
    if ((ws->numel() != 1 && ws->numel() != channels) || (wz && !all_zero(*wz)))
      return std::nullopt;
    QLinearOperands p;
    p.in_scale = static_cast<float>(xs->get_f64(0));
    p.in_zero_point = xz->get_i64(0);
    p.y_scale = static_cast<float>(ys->get_f64(0));
    p.y_zero_point = yz->get_i64(0);
    p.y_dtype = yz->dtype();
    p.w_scales = ws->to_f32_vector();
    p.channels = channels;
    return p;
  }

  // The qtune node for a QLinear* op: its input prefix is "x" (QConv) or "a" (QMatMul).
  static Node qlinear_node(const Node &n, const char *op, const char *in_prefix,
                           const QLinearOperands &p) {
    Node q;
    q.name = n.name;
    q.op_type = op;
    q.domain = "qtune";
    q.attrs[std::string(in_prefix) + "_scale"] = p.in_scale;
    q.attrs[std::string(in_prefix) + "_zero_point"] = p.in_zero_point;
    q.attrs["w_scales"] = p.w_scales;
    q.attrs["y_dtype"] = std::string(dtype_name(p.y_dtype));
    q.attrs["y_scale"] = p.y_scale;
    q.attrs["y_zero_point"] = p.y_zero_point;
    q.outputs = n.outputs;
    return q;
  }

  // ONNX QLinearConv, as QOperator models from other tools write it, is
  // QConv's contract spelled as inputs: with constant s8 weights of zero point
  // 0 and per-tensor x/y parameters it runs on oneDNN instead of the reference
  // kernel. The int32 bias B (in units of x_scale * w_scale) becomes real units.
  bool lower_qlinear_conv(size_t ci) {
    const Node n = g_.nodes[ci];
    auto p = qlinear_operands(n, 4, 0);
    if (!p)
      return false;
    std::string bias;
    if (n.has_input(8)) {
      const Tensor *b = g_.initializer(n.inputs[8]);
      if (!b || b->dtype() != DType::i32 || b->numel() != p->channels)
        return false;
      Tensor real(DType::f32, {b->numel()});
      for (int64_t c = 0; c < b->numel(); ++c)
        real.data<float>()[c] = static_cast<float>(b->get_i64(c) * double(p->in_scale) *
                                                   p->w_scales[p->w_scales.size() == 1 ? 0 : c]);
      bias = g_.unique_name(n.inputs[8] + "_real");
      g_.initializers[bias] = std::move(real);
    }
    Node q = qlinear_node(n, "QConv", "x", *p);
    for (const char *a : {"strides", "pads", "dilations", "group", "auto_pad", "kernel_shape"})
      if (n.has_attr(a))
        q.attrs[a] = n.attrs.at(a);
    q.inputs = {n.inputs[0], n.inputs[3], bias};
    replace({ci}, std::move(q));
    return true;
  }

  // ONNX QLinearMatMul with a constant 2-D s8 B (zero point 0, scale per tensor
  // or per column) and per-tensor a/y parameters runs as QMatMul.
  bool lower_qlinear_matmul(size_t mi) {
    const Node n = g_.nodes[mi];
    auto p = qlinear_operands(n, 2, 1);
    if (!p)
      return false;
    Node q = qlinear_node(n, "QMatMul", "a", *p);
    q.attrs["trans_b"] = int64_t{0};
    q.inputs = {n.inputs[0], n.inputs[3], ""};
    replace({mi}, std::move(q));
    return true;
  }

  bool lower_conv(size_t ci) {
    const Node conv = g_.nodes[ci];
    const Node *x_dq = producer(conv.inputs.at(0), "DequantizeLinear");
    const Node *w_dq = conv.has_input(1) ? producer(conv.inputs[1], "DequantizeLinear") : nullptr;
    if (!x_dq || !w_dq)
      return false;
    auto xp = per_tensor_params(*x_dq);
    std::vector<float> w_scales = weight_scales(*w_dq, 0);
    const Tensor *w = g_.initializer(w_dq->inputs[0]);
    if (!xp || w_scales.empty() || w->rank() != 4)
      return false;
    bool fused_sum = conv.op_type == "FusedConv" && conv.attr_int("sum", 0) != 0;
    if (fused_sum)
      return false; // a pre-fused f32 sum has no int8 scale to use
    auto bias = real_bias(conv, 2);
    if (!bias)
      return false;

    Node q;
    q.name = conv.name;
    q.op_type = "QConv";
    q.domain = "qtune";
    for (const char *a : {"strides", "pads", "dilations", "group", "auto_pad", "kernel_shape",
                          "activation", "activation_params"})
      if (conv.has_attr(a))
        q.attrs[a] = conv.attrs.at(a);
    q.attrs["x_scale"] = xp->scale;
    q.attrs["x_zero_point"] = int64_t{xp->zero_point};
    q.inputs = {x_dq->inputs[0], w_dq->inputs[0], *bias};

    std::vector<size_t> matched{ci};
    std::string out = conv.outputs.at(0);
    // Walk forward: [BatchNormalization] [activation] [Add(DQ) [post activation]] [Q].
    auto next = sole_consumer(out);
    if (next && !q.has_attr("activation") &&
        fold_batchnorm(g_.nodes[*next], w->dim(0), w_scales, q)) {
      matched.push_back(*next);
      out = g_.nodes[*next].outputs.at(0);
      next = sole_consumer(out);
    }
    q.attrs["w_scales"] = w_scales;
    if (next && !q.has_attr("activation")) {
      if (auto act = activation_of(g_.nodes[*next])) {
        q.attrs["activation"] = act->first;
        q.attrs["activation_params"] = act->second;
        matched.push_back(*next);
        out = g_.nodes[*next].outputs.at(0);
        next = sole_consumer(out);
      }
    }
    std::optional<size_t> add;
    std::optional<QParams> sum_params;
    std::string sum_value;
    if (next && g_.nodes[*next].op_type == "Add" && g_.nodes[*next].domain.empty()) {
      const Node &a = g_.nodes[*next];
      const std::string &other = a.inputs.at(0) == out ? a.inputs.at(1) : a.inputs.at(0);
      const Node *s_dq = producer(other, "DequantizeLinear");
      if (s_dq && other != out)
        sum_params = per_tensor_params(*s_dq);
      if (sum_params) {
        add = *next;
        sum_value = s_dq->inputs[0];
      }
    }
    std::vector<size_t> tail; // nodes matched after the Add (only kept with a trailing Q)
    std::string tail_out = out;
    std::optional<std::pair<std::string, std::vector<float>>> post_act;
    if (add) {
      tail.push_back(*add);
      tail_out = g_.nodes[*add].outputs.at(0);
      auto n2 = sole_consumer(tail_out);
      if (n2) {
        post_act = activation_of(g_.nodes[*n2]);
        if (post_act) {
          tail.push_back(*n2);
          tail_out = g_.nodes[*n2].outputs.at(0);
        }
      }
    }
    // A sum needs an int8 output of the same element size; without a trailing
    // Q after the Add the conv is lowered alone with f32 output.
    auto yq = add ? quantize_after(tail_out) : std::nullopt;
    if (yq) {
      matched.insert(matched.end(), tail.begin(), tail.end());
      q.attrs["sum"] = int64_t{1};
      q.attrs["sum_scale"] = sum_params->scale;
      q.attrs["sum_zero_point"] = int64_t{sum_params->zero_point};
      q.inputs.push_back(sum_value);
      if (post_act) {
        q.attrs["post_activation"] = post_act->first;
        q.attrs["post_activation_params"] = post_act->second;
      }
    } else {
      yq = quantize_after(out);
    }
    set_output(q, matched, out, yq);
    replace(matched, std::move(q));
    return true;
  }

  // A BatchNormalization after an int8 conv (a QDQ model quantized before BN
  // folding) is a per-channel affine map y = a * conv + shift. With symmetric
  // weights, folding a into the per-channel weight scales is exactly the
  // per-channel quantization of the folded weights, so the BN costs nothing.
  // Sets `w_scales` per channel and q's bias input; false (nothing changed)
  // unless `bn` is an inference BN with constant [channels] parameters.
  bool fold_batchnorm(const Node &bn, int64_t channels, std::vector<float> &w_scales, Node &q) {
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() ||
        bn.attr_int("training_mode", 0) != 0 || bn.num_inputs() != 5)
      return false;
    for (size_t k = 1; k < bn.outputs.size(); ++k)
      if (!bn.outputs[k].empty())
        return false;
    std::vector<std::vector<float>> p; // gamma, beta, mean, var
    for (size_t k = 1; k <= 4; ++k) {
      const Tensor *t = g_.initializer(bn.inputs[k]);
      if (!t || t->dtype() != DType::f32 || t->numel() != channels)
        return false;
      p.push_back(t->to_f32_vector());
    }
    float eps = bn.attr_float("epsilon", 1e-5f);
    std::vector<float> a(channels), shift(channels);
    for (int64_t c = 0; c < channels; ++c) {
      a[c] = p[0][c] / std::sqrt(p[3][c] + eps);
      shift[c] = p[1][c] - p[2][c] * a[c];
      if (!std::isfinite(a[c]) || !std::isfinite(shift[c]) || a[c] == 0)
        return false; // a zero scale cannot carry a bias through oneDNN's output scales
    }
    const Tensor *old_bias = q.inputs[2].empty() ? nullptr : g_.initializer(q.inputs[2]);
    Tensor bias(DType::f32, {channels});
    std::vector<float> scales(channels);
    for (int64_t c = 0; c < channels; ++c) {
      float b = old_bias ? old_bias->data<float>()[c] : 0.f;
      bias.data<float>()[c] = a[c] * b + shift[c];
      scales[c] = w_scales[w_scales.size() == 1 ? 0 : c] * a[c];
    }
    w_scales = std::move(scales);
    std::string name = g_.unique_name(q.name + "_bn_bias");
    g_.initializers[name] = std::move(bias);
    q.inputs[2] = name;
    return true;
  }

  // DQ(x) -> MaxPool -> Q with identical parameters: max commutes with a
  // monotonic affine map, so the pool runs on the int8 values directly.
  bool lower_maxpool(size_t pi) {
    const Node pool = g_.nodes[pi];
    if (pool.outputs.size() > 1 && !pool.outputs[1].empty())
      return false; // Indices output
    const Node *dq = producer(pool.inputs.at(0), "DequantizeLinear");
    auto c = sole_consumer(pool.outputs.at(0));
    if (!dq || !c || g_.nodes[*c].op_type != "QuantizeLinear")
      return false;
    auto in = per_tensor_params(*dq), outp = per_tensor_params(g_.nodes[*c]);
    const Tensor *in_t = g_.initializer(dq->inputs[0]);
    if (in_t || !in || !outp || in->scale != outp->scale || in->zero_point != outp->zero_point ||
        in->dtype != outp->dtype)
      return false;
    Node p = pool;
    p.op_type = "QMaxPool";
    p.domain = "qtune";
    p.inputs = {dq->inputs[0]};
    p.outputs = {g_.nodes[*c].outputs.at(0)};
    replace({pi, *c}, std::move(p));
    return true;
  }

  // DQ(a) -> MatMul|Gemm|FusedMatMul|FusedGemm(DQ(w) constant 2-D, bias)
  // [-> act] [-> Q]. The weight stays as stored ([K,N], or [N,K] for a Gemm
  // with transB=1) and its scales run along N.
  bool lower_matmul(size_t mi) {
    const Node mm = g_.nodes[mi];
    bool gemm = mm.op_type == "Gemm" || mm.op_type == "FusedGemm";
    if (gemm && (mm.attr_int("transA", 0) != 0 || mm.attr_float("alpha", 1.f) != 1.f ||
                 mm.attr_float("beta", 1.f) != 1.f))
      return false;
    if (!gemm && mm.num_inputs() != 2)
      return false;
    const Node *a_dq = producer(mm.inputs.at(0), "DequantizeLinear");
    const Node *w_dq = mm.has_input(1) ? producer(mm.inputs[1], "DequantizeLinear") : nullptr;
    if (!a_dq || !w_dq)
      return false;
    auto ap = per_tensor_params(*a_dq);
    const Tensor *w = g_.initializer(w_dq->inputs[0]);
    if (!ap || !w || w->rank() != 2)
      return false;
    bool trans_b = gemm && mm.attr_int("transB", 0) != 0;
    int64_t n_axis = trans_b ? 0 : 1;
    std::vector<float> w_scales = weight_scales(*w_dq, n_axis);
    if (w_scales.empty())
      return false;
    auto bias = gemm ? real_bias(mm, 2) : std::optional<std::string>("");
    if (!bias)
      return false;
    if (!bias->empty()) {
      // Gemm's C broadcasts; only a per-column bias ([N] or [1, N]) maps to oneDNN's.
      const Tensor *b = g_.initializer(*bias);
      int64_t n = w->dim(n_axis);
      bool per_column = b->numel() == n && (b->rank() == 1 || (b->rank() == 2 && b->dim(0) == 1));
      if (!per_column)
        return false;
    }

    Node q;
    q.name = mm.name;
    q.op_type = "QMatMul";
    q.domain = "qtune";
    for (const char *a : {"activation", "activation_params"})
      if (mm.has_attr(a))
        q.attrs[a] = mm.attrs.at(a);
    q.attrs["a_scale"] = ap->scale;
    q.attrs["a_zero_point"] = int64_t{ap->zero_point};
    q.attrs["w_scales"] = w_scales;
    q.attrs["trans_b"] = int64_t{trans_b ? 1 : 0};
    q.inputs = {a_dq->inputs[0], w_dq->inputs[0], *bias};
    if (bias->empty())
      q.inputs.pop_back();

    std::vector<size_t> matched{mi};
    std::string out = mm.outputs.at(0);
    auto next = sole_consumer(out);
    if (next && !q.has_attr("activation")) {
      if (auto act = activation_of(g_.nodes[*next])) {
        q.attrs["activation"] = act->first;
        q.attrs["activation_params"] = act->second;
        matched.push_back(*next);
        out = g_.nodes[*next].outputs.at(0);
      }
    }
    set_output(q, matched, out, quantize_after(out));
    replace(matched, std::move(q));
    return true;
  }

  // QConv -> Q -> DQ -> Add(DQ(s)) [-> act] -> Q, the form quantize_graph
  // writes for a residual sum (the Add is an int8 op of its own): the sum and
  // the Add's output parameters move into the QConv, which then requantises
  // once instead of twice. Needs the two operands' shapes known and equal
  // (value_info), as the sum post-op reads the addend in the output's shape.
  bool fold_add_into_qconv(size_t ai) {
    const Node add = g_.nodes[ai];
    if (add.num_inputs() != 2 || add.inputs[0] == add.inputs[1])
      return false;
    std::string out = add.outputs.at(0);
    std::vector<size_t> matched{ai};
    std::optional<std::pair<std::string, std::vector<float>>> post_act;
    if (auto next = sole_consumer(out)) {
      post_act = activation_of(g_.nodes[*next]);
      if (post_act) {
        matched.push_back(*next);
        out = g_.nodes[*next].outputs.at(0);
      }
    }
    auto yq = quantize_after(out);
    if (!yq || !same_known_shape(add.inputs[0], add.inputs[1]))
      return false;
    for (size_t side = 0; side < 2; ++side) {
      auto conv = residual_conv(add.inputs[side], ai);
      const Node *s_dq = producer(add.inputs[1 - side], "DequantizeLinear");
      auto sp = s_dq ? per_tensor_params(*s_dq) : std::nullopt;
      if (!conv || !sp)
        continue;
      Node q = g_.nodes[conv->first];
      clip_to_int8_range(q);
      q.attrs["sum"] = int64_t{1};
      q.attrs["sum_scale"] = sp->scale;
      q.attrs["sum_zero_point"] = int64_t{sp->zero_point};
      q.inputs.resize(3);
      q.inputs.push_back(s_dq->inputs[0]);
      if (post_act) {
        q.attrs["post_activation"] = post_act->first;
        q.attrs["post_activation_params"] = post_act->second;
      }
      set_y_params(q, yq->second);
      q.outputs = {g_.nodes[yq->first].outputs.at(0)};
      matched.insert(matched.end(), {conv->first, conv->second, yq->first});
      replace(matched, std::move(q));
      return true;
    }
    return false;
  }

  // The unfolded graph saturates the conv output to its int8 range before the
  // Add. A Relu/Clip activation (or none) becomes a Clip that also does that;
  // other activations stay as they are, so only a conv output beyond its
  // calibrated range (which the unfolded graph would have clipped) differs.
  static void clip_to_int8_range(Node &conv) {
    bool u8 = conv.attr_string("y_dtype", "") == "u8";
    float scale = conv.attr_float("y_scale", 1.f);
    auto zp = static_cast<float>(conv.attr_int("y_zero_point", 0));
    float lo = ((u8 ? 0.f : -128.f) - zp) * scale, hi = ((u8 ? 255.f : 127.f) - zp) * scale;
    std::string act = conv.attr_string("activation", "");
    std::vector<float> p = conv.attr_floats("activation_params");
    if (act == "Relu")
      lo = std::max(lo, 0.f);
    else if (act == "Clip" && p.size() == 2)
      lo = std::max(lo, p[0]), hi = std::min(hi, p[1]);
    else if (!act.empty())
      return;
    conv.attrs["activation"] = std::string("Clip");
    conv.attrs["activation_params"] = std::vector<float>{lo, std::max(lo, hi)};
  }

  // The QConv (index) and DQ (index) behind Add operand `v`, when the QConv's
  // int8 output is read only by that DQ and the DQ only by the Add `ai`, and
  // the QConv has no sum or post activation yet.
  std::optional<std::pair<size_t, size_t>> residual_conv(const std::string &v, size_t ai) const {
    auto dq_it = producers_.find(v);
    if (dq_it == producers_.end() || sole_consumer(v) != ai)
      return std::nullopt;
    const Node &dq = g_.nodes[dq_it->second];
    if (dq.op_type != "DequantizeLinear" || !dq.domain.empty())
      return std::nullopt;
    auto conv_it = producers_.find(dq.inputs[0]);
    if (conv_it == producers_.end() || sole_consumer(dq.inputs[0]) != dq_it->second)
      return std::nullopt;
    const Node &conv = g_.nodes[conv_it->second];
    if (conv.op_type != "QConv" || conv.domain != "qtune" || conv.attr_int("sum", 0) != 0 ||
        conv.has_attr("post_activation") || conv.attr_string("y_dtype", "f32") == "f32")
      return std::nullopt;
    auto p = per_tensor_params(dq);
    if (!p || p->scale != conv.attr_float("y_scale", 0) ||
        p->zero_point != conv.attr_int("y_zero_point", 0))
      return std::nullopt;
    return std::make_pair(conv_it->second, dq_it->second);
  }

  // True when value_info (or graph inputs) give both values the same shape:
  // equal known sizes, or the same named symbolic dims.
  bool same_known_shape(const std::string &a, const std::string &b) const {
    const ValueInfo *va = value_info(a), *vb = value_info(b);
    if (!va || !vb || !va->has_shape || !vb->has_shape || va->dims.size() != vb->dims.size())
      return false;
    for (size_t i = 0; i < va->dims.size(); ++i) {
      const Dim &x = va->dims[i], &y = vb->dims[i];
      bool same = x.known() ? x.value == y.value : !x.symbol.empty() && x.symbol == y.symbol;
      if (!same)
        return false;
    }
    return true;
  }

  const ValueInfo *value_info(const std::string &v) const {
    if (auto it = g_.value_info.find(v); it != g_.value_info.end())
      return &it->second;
    for (const ValueInfo &in : g_.inputs)
      if (in.name == v)
        return &in;
    return nullptr;
  }

  // Requantises into the Q `yq` (the Q reading `out`) when there is one, else
  // f32 output named `out`.
  void set_output(Node &q, std::vector<size_t> &matched, std::string out,
                  const std::optional<std::pair<size_t, QParams>> &yq) {
    if (yq) {
      matched.push_back(yq->first);
      set_y_params(q, yq->second);
      out = g_.nodes[yq->first].outputs.at(0);
    } else {
      q.attrs["y_dtype"] = std::string("f32");
    }
    q.outputs = {out};
  }

  static void set_y_params(Node &q, const QParams &p) {
    q.attrs["y_dtype"] = std::string(dtype_name(p.dtype));
    q.attrs["y_scale"] = p.scale;
    q.attrs["y_zero_point"] = int64_t{p.zero_point};
  }

  // DQ(x) -> data-movement op -> Q where every DQ and the Q share scale, zero
  // point and type: the op moves the int8 values themselves. Concat moves all
  // its inputs, the others only input 0 (shapes, axes, starts ... stay).
  bool lower_passthrough(size_t i) {
    const Node op = g_.nodes[i];
    if (op.outputs.size() != 1)
      return false;
    std::vector<size_t> shape_readers;
    auto yq = quantize_after(op.outputs[0]);
    if (!yq)
      yq = quantize_beside_shapes(op.outputs[0], shape_readers);
    if (!yq)
      return false;
    size_t data_inputs = op.op_type == "Concat" ? op.inputs.size() : 1;
    Node moved = op;
    for (size_t k = 0; k < data_inputs; ++k) {
      const Node *dq = op.has_input(k) ? producer(op.inputs[k], "DequantizeLinear") : nullptr;
      auto p = dq ? per_tensor_params(*dq) : std::nullopt;
      if (!p || !same_params(*p, yq->second))
        return false;
      moved.inputs[k] = dq->inputs[0];
    }
    moved.outputs = {g_.nodes[yq->first].outputs.at(0)};
    if (op.op_type == "Resize") {
      bool nearest = op.attr_string("mode", "nearest") == "nearest";
      bool crop = op.attr_string("coordinate_transformation_mode", "") == "tf_crop_and_resize";
      bool opset18 = op.has_attr("axes") || op.has_attr("keep_aspect_ratio_policy") ||
                     op.attr_int("antialias", 0) != 0;
      if (!nearest || crop || opset18)
        return false;
      moved.op_type = "QResize";
      moved.domain = "qtune";
    }
    std::string int8_out = moved.outputs[0];
    replace({i, yq->first}, std::move(moved));
    for (size_t s : shape_readers) // a Shape reads the same shape from the int8 tensor
      g_.nodes[s].inputs[0] = int8_out;
    refresh();
    return true;
  }

  // DQ(x) -> data-movement op -> fp32 readers (no Q with the same parameters
  // after it): the op moves the int8 values and one DequantizeLinear follows,
  // a quarter of the bytes moved for the same result (DQ is elementwise).
  // Resize is left alone: upsampling would give the DQ more elements.
  bool sink_dequantize(size_t i) {
    const Node op = g_.nodes[i];
    if (op.outputs.size() != 1 || op.outputs[0].empty())
      return false;
    size_t data_inputs = op.op_type == "Concat" ? op.inputs.size() : 1;
    const Node *first_dq = nullptr;
    std::optional<QParams> params;
    Node moved = op;
    for (size_t k = 0; k < data_inputs; ++k) {
      const Node *dq = op.has_input(k) ? producer(op.inputs[k], "DequantizeLinear") : nullptr;
      auto p = dq ? per_tensor_params(*dq) : std::nullopt;
      if (!p || (params && !same_params(*p, *params)))
        return false;
      params = p;
      first_dq = first_dq ? first_dq : dq;
      moved.inputs[k] = dq->inputs[0];
    }
    Node dq;
    dq.name = g_.unique_name(op.name + "_DequantizeLinear");
    dq.op_type = "DequantizeLinear";
    dq.inputs = {g_.unique_name(op.outputs[0] + "_int8"), first_dq->inputs.at(1)};
    if (first_dq->has_input(2))
      dq.inputs.push_back(first_dq->inputs[2]);
    dq.outputs = {op.outputs[0]};
    moved.outputs = {dq.inputs[0]};
    g_.nodes[i] = std::move(moved);
    g_.nodes.push_back(std::move(dq));
    refresh();
    return true;
  }

  // Like quantize_after, for a value that Shape nodes read too (ONNX exporters'
  // dynamic reshapes: x -> Shape -> Gather -> Concat -> Reshape(x, ...)).
  std::optional<std::pair<size_t, QParams>> quantize_beside_shapes(const std::string &v,
                                                                   std::vector<size_t> &shapes) {
    auto it = consumers_.find(v);
    if (it == consumers_.end() || g_.is_graph_output(v))
      return std::nullopt;
    std::optional<size_t> q;
    shapes.clear();
    for (size_t c : it->second) {
      const Node &n = g_.nodes[c];
      if (!n.domain.empty())
        return std::nullopt;
      if (n.op_type == "Shape")
        shapes.push_back(c);
      else if (n.op_type == "QuantizeLinear" && !q && n.inputs[0] == v)
        q = c;
      else
        return std::nullopt;
    }
    auto p = q ? per_tensor_params(g_.nodes[*q]) : std::nullopt;
    if (!p)
      return std::nullopt;
    return std::make_pair(*q, *p);
  }

  // DQ(x) -> AveragePool|GlobalAveragePool -> Q (own output parameters).
  bool lower_avgpool(size_t pi) {
    const Node pool = g_.nodes[pi];
    bool global = pool.op_type == "GlobalAveragePool";
    const Node *dq = producer(pool.inputs.at(0), "DequantizeLinear");
    auto yq = quantize_after(pool.outputs.at(0));
    auto xp = dq ? per_tensor_params(*dq) : std::nullopt;
    if (!xp || !yq)
      return false;
    if (!global) {
      size_t k = pool.attr_ints("kernel_shape").size();
      std::vector<int64_t> dil = pool.attr_ints("dilations");
      bool dilated = std::any_of(dil.begin(), dil.end(), [](int64_t d) { return d != 1; });
      // ceil_mode's extra end window with count_include_pad has no agreed divisor.
      bool ceil_pad = pool.attr_int("ceil_mode", 0) != 0 && pool.attr_int("count_include_pad", 0);
      if (k < 1 || k > 3 || dilated || ceil_pad)
        return false;
    }
    Node p = pool;
    p.op_type = "QAveragePool";
    p.domain = "qtune";
    p.attrs["global"] = int64_t{global ? 1 : 0};
    p.attrs["x_scale"] = xp->scale;
    p.attrs["x_zero_point"] = int64_t{xp->zero_point};
    set_y_params(p, yq->second);
    p.inputs = {dq->inputs[0]};
    p.outputs = {g_.nodes[yq->first].outputs.at(0)};
    replace({pi, yq->first}, std::move(p));
    return true;
  }

  // Puts `node` at the last matched position and blanks the other matched nodes.
  void replace(std::vector<size_t> matched, Node node) {
    size_t last = *std::max_element(matched.begin(), matched.end());
    for (size_t i : matched) {
      removed_inputs_.insert(g_.nodes[i].inputs.begin(), g_.nodes[i].inputs.end());
      g_.nodes[i] = Node{};
      g_.nodes[i].op_type = ""; // removed below
    }
    g_.nodes[last] = std::move(node);
    refresh();
  }

  // QuantizeLinear / DequantizeLinear nodes left with only initializer inputs
  // (the weight DQ of an op no rule lowered, Q/DQ around a constant operand)
  // would redo the same work on every run: their outputs become initializers,
  // computed once by the same kernels. Graph passes leave them alone because
  // the rules above need the patterns; after lowering nothing does.
  int fold_constant_qdq() {
    int folded = 0;
    bool changed = true;
    while (changed) {
      changed = false;
      std::vector<Node> kept;
      for (Node &n : g_.nodes) {
        bool qdq =
            n.domain.empty() && (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear");
        std::vector<Tensor> in;
        for (const std::string &v : n.inputs) {
          const Tensor *t = v.empty() ? nullptr : g_.initializer(v);
          if (!v.empty() && !t)
            qdq = false;
          in.push_back(t ? *t : Tensor());
        }
        if (!qdq || n.outputs.size() != 1 || g_.is_initializer(n.outputs[0])) {
          kept.push_back(std::move(n));
          continue;
        }
        auto kernel = make_kernel(n, KernelEnv{});
        auto types = kernel->infer(in);
        kernel->prepare(in);
        std::vector<Tensor> out{Tensor(types.at(0).dtype, types.at(0).shape)};
        kernel->run(in, out);
        g_.initializers[n.outputs[0]] = std::move(out[0]);
        removed_inputs_.insert(n.inputs.begin(), n.inputs.end());
        ++folded;
        changed = true;
      }
      g_.nodes = std::move(kept);
    }
    if (folded)
      remove_dead(); // drops the folded nodes' now unread scales and sources
    return folded;
  }

  // Drops blanked nodes and DequantizeLinear / QuantizeLinear nodes nothing reads.
  int remove_dead() {
    int removed = 0;
    bool changed = true;
    while (changed) {
      changed = false;
      auto consumers = g_.consumers();
      std::vector<Node> kept;
      for (Node &n : g_.nodes) {
        bool qdq =
            n.domain.empty() && (n.op_type == "DequantizeLinear" || n.op_type == "QuantizeLinear");
        bool unread =
            qdq && !consumers.count(n.outputs.at(0)) && !g_.is_graph_output(n.outputs.at(0));
        if (n.op_type.empty() || unread) {
          ++removed;
          removed_inputs_.insert(n.inputs.begin(), n.inputs.end());
          changed = changed || unread;
          continue;
        }
        kept.push_back(std::move(n));
      }
      g_.nodes = std::move(kept);
    }
    // Initializers only the removed nodes read (weights, scales, zero points).
    std::set<std::string> used;
    for (const Node &n : g_.nodes)
      for (const std::string &v : n.inputs)
        used.insert(v);
    for (const std::string &v : removed_inputs_)
      if (!used.count(v) && !g_.is_graph_output(v))
        g_.initializers.erase(v);
    refresh();
    return removed;
  }

  Graph &g_;
  std::set<std::string> removed_inputs_;
  std::unordered_map<std::string, size_t> producers_;
  std::unordered_map<std::string, std::vector<size_t>> consumers_;
};

} // namespace

std::string LowerReport::summary() const {
  return fmt::format("qconv {} (+{} sums), qmatmul {}, qpool {}, qavgpool {}, passthrough {} "
                     "(+{} before DQ), removed {}, constant Q/DQ folded {}",
                     qconv, fused_sums, qmatmul, qpool, qavgpool, passthrough, sunk_dequantize,
                     removed_nodes, folded_constants);
}

LowerReport lower_qdq(Graph &graph) {
  return Lowering(graph).run();
}

} // namespace qtune::quant
