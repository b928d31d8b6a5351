// Space-to-depth by strided Slices + Concat feeding a Conv (the YOLOX "Focus"
// stem: cat(x[..,::2,::2], x[..,1::2,::2], x[..,::2,1::2], x[..,1::2,1::2]))
// folds into the Conv: a kh x kw conv with stride t over the space-to-depth
// tensor reads original rows s*(t*i + dh - pad) + a, which is a (s*kh) x (s*kw)
// conv with stride s*t and pads s*pad over x itself:
//   W'[o, c, s*dh + a_k, s*dw + b_k] = W[o, k*C + c, dh, dw]   (k = concat input)
// Same multiply-adds, no Slices, no Concat, no copy of the image. Exact (the
// int8 accumulators are the same sums); needs the source's static H, W divisible
// by the steps so every slice has H/s rows. The QDQ form (qdq_stem) folds too.
#include <limits>

#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"

namespace qtune {

namespace {

// One concat input: x sampled from row a, column b with steps (sh, sw).
struct Sampling {
  std::string source;
  int64_t a = 0, b = 0, sh = 1, sw = 1;
};

std::optional<std::vector<int64_t>> const_ints(const Graph &g, const Node &n, size_t i) {
  if (!n.has_input(i))
    return std::nullopt;
  const Tensor *t = g.initializer(n.inputs[i]);
  if (!t || (t->dtype() != DType::i64 && t->dtype() != DType::i32) || t->rank() > 1)
    return std::nullopt;
  return t->to_i64_vector();
}

// Applies one Slice (constant starts/ends/axes/steps, axes 2/3 of a 4-D value
// with known H, W) to `s`; false if it is anything else.
bool apply_slice(const Graph &g, const Node &n, const Shape &x, Sampling &s, bool &seen_h,
                 bool &seen_w) {
  auto starts = const_ints(g, n, 1), ends = const_ints(g, n, 2), axes = const_ints(g, n, 3),
       steps = const_ints(g, n, 4);
  if (!starts || !ends || !axes || !steps || starts->size() != axes->size() ||
      ends->size() != axes->size() || steps->size() != axes->size())
    return false;
  for (size_t i = 0; i < axes->size(); ++i) {
    int64_t ax = (*axes)[i] < 0 ? (*axes)[i] + 4 : (*axes)[i];
    int64_t start = (*starts)[i], step = (*steps)[i];
    bool &seen = ax == 2 ? seen_h : seen_w;
    if ((ax != 2 && ax != 3) || seen || step < 1 || start < 0 || start >= step ||
        (*ends)[i] < x[ax] || x[ax] % step != 0)
      return false;
    seen = true;
    (ax == 2 ? s.a : s.b) = start;
    (ax == 2 ? s.sh : s.sw) = step;
  }
  return true;
}

// Follows a chain of at most two Slices back to its 4-D source.
std::optional<Sampling> trace(const Graph &g, const std::unordered_map<std::string, size_t> &prod,
                              std::string value) {
  std::vector<const Node *> chain;
  for (auto it = prod.find(value); it != prod.end() && chain.size() < 3; it = prod.find(value)) {
    const Node &n = g.nodes[it->second];
    if (n.op_type != "Slice" || !n.domain.empty())
      break;
    chain.push_back(&n);
    value = n.inputs.at(0);
  }
  auto x = passes::known_shape(g, value);
  if (chain.empty() || chain.size() > 2 || !x || x->size() != 4)
    return std::nullopt;
  Sampling s{value};
  bool seen_h = false, seen_w = false;
  for (const Node *n : chain)
    if (!apply_slice(g, *n, *x, s, seen_h, seen_w))
      return std::nullopt;
  return s;
}

// The samplings of every input of the Concat feeding `conv`, all from one source
// with one pair of steps.
std::optional<std::vector<Sampling>>
concat_samplings(const Graph &g, const std::string &value,
                 const std::unordered_map<std::string, size_t> &prod) {
  auto it = prod.find(value);
  if (it == prod.end())
    return std::nullopt;
  const Node &cat = g.nodes[it->second];
  int64_t axis = cat.attr_int("axis", 0);
  if (cat.op_type != "Concat" || !cat.domain.empty() || (axis != 1 && axis != -3))
    return std::nullopt;
  std::vector<Sampling> out;
  for (const std::string &in : cat.inputs) {
    auto s = trace(g, prod, in);
    if (!s ||
        (!out.empty() && (s->source != out[0].source || s->sh != out[0].sh || s->sw != out[0].sw)))
      return std::nullopt;
    out.push_back(*s);
  }
  if (out.empty() || (out[0].sh == 1 && out[0].sw == 1))
    return std::nullopt;
  return out;
}

bool plain_conv(const Node &n) {
  auto ones = [](const std::vector<int64_t> &v) {
    for (int64_t d : v)
      if (d != 1)
        return false;
    return true;
  };
  std::string pad = n.attr_string("auto_pad", "NOTSET");
  return n.op_type == "Conv" && n.domain.empty() && n.attr_int("group", 1) == 1 &&
         ones(n.attr_ints("dilations")) && (pad == "NOTSET" || pad == "VALID");
}

// W [O, K*C, kh, kw] -> W' [O, C, sh*kh, sw*kw] (f32, or i8 when no two
// samplings share a position, so no int8 sum can overflow).
template <typename T> Tensor spread_weights(const Tensor &w, const std::vector<Sampling> &ss) {
  int64_t o = w.dim(0), kc = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  int64_t c = kc / static_cast<int64_t>(ss.size()), sh = ss[0].sh, sw = ss[0].sw;
  Tensor out(w.dtype(), {o, c, sh * kh, sw * kw});
  T *d = out.data<T>();
  std::fill(d, d + out.numel(), T{0});
  const T *src = w.data<T>();
  for (int64_t oc = 0; oc < o; ++oc)
    for (size_t k = 0; k < ss.size(); ++k)
      for (int64_t ic = 0; ic < c; ++ic)
        for (int64_t dh = 0; dh < kh; ++dh)
          for (int64_t dw = 0; dw < kw; ++dw) {
            int64_t from = ((oc * kc + k * c + ic) * kh + dh) * kw + dw;
            int64_t to =
                ((oc * c + ic) * sh * kh + sh * dh + ss[k].a) * sw * kw + sw * dw + ss[k].b;
            d[to] = static_cast<T>(d[to] + src[from]);
          }
  return out;
}

bool distinct_positions(const std::vector<Sampling> &ss) {
  for (size_t i = 0; i < ss.size(); ++i)
    for (size_t j = i + 1; j < ss.size(); ++j)
      if (ss[i].a == ss[j].a && ss[i].b == ss[j].b)
        return false;
  return true;
}

using Consumers = std::unordered_map<std::string, std::vector<size_t>>;

// The QDQ form ONNX Runtime's quantizer writes: Concat -> Q -> DQ -> Conv, int8
// weights behind a DQ. A per-tensor Q maps each element alone, so it commutes
// with the Slices and the Concat: the image is quantized instead, and the int8
// weights spread like the f32 ones (their per-output-channel scales unchanged).
// Then the stem is one int8 conv on the quantized image (no f32 Slices, no f32
// Concat). Q and DQ must feed only this conv.
struct QdqStem {
  Node *q = nullptr, *dq = nullptr, *w_dq = nullptr;
  const Tensor *w = nullptr;
};

Node *single_producer(Graph &g, const std::unordered_map<std::string, size_t> &prod,
                      const Consumers &cons, const std::string &value, const char *op) {
  auto it = prod.find(value);
  if (it == prod.end() || passes::single_consumer(g, cons, value) < 0)
    return nullptr;
  Node &n = g.nodes[it->second];
  return n.op_type == op && n.domain.empty() ? &n : nullptr;
}

std::optional<QdqStem> qdq_stem(Graph &g, const Node &conv,
                                const std::unordered_map<std::string, size_t> &prod,
                                const Consumers &cons) {
  QdqStem st;
  st.dq = single_producer(g, prod, cons, conv.inputs.at(0), "DequantizeLinear");
  st.q = st.dq ? single_producer(g, prod, cons, st.dq->inputs.at(0), "QuantizeLinear") : nullptr;
  st.w_dq = single_producer(g, prod, cons, conv.inputs.at(1), "DequantizeLinear");
  if (!st.q || !st.w_dq || !st.q->has_input(1))
    return std::nullopt;
  const Tensor *scale = g.initializer(st.q->inputs[1]);
  st.w = g.initializer(st.w_dq->inputs.at(0));
  if (!scale || scale->numel() != 1 || !st.w || st.w->dtype() != DType::i8 || st.w->rank() != 4)
    return std::nullopt;
  const Tensor *w_scale = st.w_dq->has_input(1) ? g.initializer(st.w_dq->inputs[1]) : nullptr;
  if (!w_scale || (w_scale->numel() != 1 && st.w_dq->attr_int("axis", 1) != 0))
    return std::nullopt;
  return st;
}

// Points the stem's Q at the image and the weight DQ at the spread weights;
// the renamed outputs keep no stale shapes.
void rewire_qdq(Graph &g, Node &conv, const QdqStem &st, const std::string &source, Tensor nw) {
  st.q->inputs[0] = source;
  st.q->outputs[0] = g.unique_name(st.q->outputs[0] + "_s2d");
  st.dq->inputs[0] = st.q->outputs[0];
  st.dq->outputs[0] = g.unique_name(st.dq->outputs[0] + "_s2d");
  conv.inputs[0] = st.dq->outputs[0];
  st.w_dq->inputs[0] = passes::add_initializer(g, st.w_dq->inputs[0] + "_s2d", std::move(nw));
  st.w_dq->outputs[0] = g.unique_name(st.w_dq->outputs[0] + "_s2d");
  conv.inputs[1] = st.w_dq->outputs[0];
}

bool fold_one(Graph &g, Node &conv, const std::unordered_map<std::string, size_t> &prod,
              const Consumers &cons) {
  if (!plain_conv(conv))
    return false;
  const Tensor *w = g.initializer(conv.inputs.at(1));
  std::optional<QdqStem> qdq;
  if (!w) {
    qdq = qdq_stem(g, conv, prod, cons);
    w = qdq ? qdq->w : nullptr;
  } else if (w->dtype() != DType::f32) {
    return false;
  }
  auto ss = concat_samplings(g, qdq ? qdq->q->inputs.at(0) : conv.inputs.at(0), prod);
  if (!w || w->rank() != 4 || !ss || (qdq && !distinct_positions(*ss)))
    return false;
  auto x = passes::known_shape(g, (*ss)[0].source);
  if (w->dim(1) != (*x)[1] * static_cast<int64_t>(ss->size()))
    return false;
  int64_t sh = (*ss)[0].sh, sw = (*ss)[0].sw;
  auto strides = conv.attr_ints("strides", {1, 1});
  auto pads = conv.attr_ints("pads", {0, 0, 0, 0});
  if (conv.attr_string("auto_pad", "NOTSET") == "VALID")
    pads = {0, 0, 0, 0};
  if (strides.size() != 2 || pads.size() != 4)
    return false;
  Tensor nw = qdq ? spread_weights<int8_t>(*w, *ss) : spread_weights<float>(*w, *ss);
  conv.attrs["kernel_shape"] = std::vector<int64_t>{nw.dim(2), nw.dim(3)};
  conv.attrs["strides"] = std::vector<int64_t>{sh * strides[0], sw * strides[1]};
  conv.attrs["pads"] = std::vector<int64_t>{sh * pads[0], sw * pads[1], sh * pads[2], sw * pads[3]};
  conv.attrs.erase("auto_pad");
  conv.attrs.erase("dilations");
  if (qdq) {
    rewire_qdq(g, conv, *qdq, (*ss)[0].source, std::move(nw));
    return true;
  }
  conv.inputs[0] = (*ss)[0].source;
  conv.inputs[1] = passes::add_initializer(g, conv.inputs[1] + "_s2d", std::move(nw));
  return true;
}

} // namespace

bool fold_space_to_depth_conv(Graph &g) {
  auto prod = g.producers();
  auto cons = g.consumers();
  bool changed = false;
  for (Node &n : g.nodes)
    changed |= fold_one(g, n, prod, cons);
  // The Slices and the Concat are left to eliminate_dead_nodes.
  return changed;
}

} // namespace qtune
