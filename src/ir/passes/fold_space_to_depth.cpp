// Space-to-depth by strided Slices + Concat feeding a Conv (the YOLOX "Focus"
// stem: cat(x[..,::2,::2], x[..,1::2,::2], x[..,::2,1::2], x[..,1::2,1::2]))
// folds into the Conv: a kh x kw conv with stride t over the space-to-depth
// tensor reads original rows s*(t*i + dh - pad) + a, which is a (s*kh) x (s*kw)
// conv with stride s*t and pads s*pad over x itself:
//   W'[o, c, s*dh + a_k, s*dw + b_k] = W[o, k*C + c, dh, dw]   (k = concat input)
// Same multiply-adds, no Slices, no Concat, no copy of the image. Exact (the
// int8 accumulators are the same sums); needs the source's static H, W divisible
// by the steps so every slice has H/s rows.
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
concat_samplings(const Graph &g, const Node &conv,
                 const std::unordered_map<std::string, size_t> &prod) {
  auto it = prod.find(conv.inputs.at(0));
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

// W [O, K*C, kh, kw] -> W' [O, C, sh*kh, sw*kw].
Tensor spread_weights(const Tensor &w, const std::vector<Sampling> &ss) {
  int64_t o = w.dim(0), kc = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  int64_t c = kc / static_cast<int64_t>(ss.size()), sh = ss[0].sh, sw = ss[0].sw;
  Tensor out(DType::f32, {o, c, sh * kh, sw * kw});
  float *d = out.data<float>();
  std::fill(d, d + out.numel(), 0.0f);
  const float *src = w.data<float>();
  for (int64_t oc = 0; oc < o; ++oc)
    for (size_t k = 0; k < ss.size(); ++k)
      for (int64_t ic = 0; ic < c; ++ic)
        for (int64_t dh = 0; dh < kh; ++dh)
          for (int64_t dw = 0; dw < kw; ++dw) {
            int64_t from = ((oc * kc + k * c + ic) * kh + dh) * kw + dw;
            int64_t to =
                ((oc * c + ic) * sh * kh + sh * dh + ss[k].a) * sw * kw + sw * dw + ss[k].b;
            d[to] += src[from];
          }
  return out;
}

bool fold_one(Graph &g, Node &conv, const std::unordered_map<std::string, size_t> &prod) {
  if (!plain_conv(conv))
    return false;
  const Tensor *w = g.initializer(conv.inputs.at(1));
  auto ss = concat_samplings(g, conv, prod);
  if (!w || w->dtype() != DType::f32 || w->rank() != 4 || !ss)
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
  Tensor nw = spread_weights(*w, *ss);
  conv.attrs["kernel_shape"] = std::vector<int64_t>{nw.dim(2), nw.dim(3)};
  conv.attrs["strides"] = std::vector<int64_t>{sh * strides[0], sw * strides[1]};
  conv.attrs["pads"] = std::vector<int64_t>{sh * pads[0], sw * pads[1], sh * pads[2], sw * pads[3]};
  conv.attrs.erase("auto_pad");
  conv.attrs.erase("dilations");
  conv.inputs[0] = (*ss)[0].source;
  conv.inputs[1] = passes::add_initializer(g, conv.inputs[1] + "_s2d", std::move(nw));
  return true;
}

} // namespace

bool fold_space_to_depth_conv(Graph &g) {
  auto prod = g.producers();
  bool changed = false;
  for (Node &n : g.nodes)
    changed |= fold_one(g, n, prod);
  // The Slices and the Concat are left to eliminate_dead_nodes.
  return changed;
}

} // namespace qtune
