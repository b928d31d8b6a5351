#include "quant/qdq_constant.h"

namespace qtune::quant {

Tensor dequantize_constant(const Node &dq, const Graph &g) {
  const Tensor *v = g.initializer(dq.inputs[0]);
  const Tensor *s = g.initializer(dq.inputs[1]);
  const Tensor *z = dq.has_input(2) ? g.initializer(dq.inputs[2]) : nullptr;
  Tensor out(DType::f32, v->shape());
  const int64_t channels = s->numel();
  int64_t axis = dq.attr_int("axis", 1);
  if (axis < 0)
    axis += static_cast<int64_t>(v->rank());
  int64_t inner = 1;
  if (channels > 1)
    for (size_t i = axis + 1; i < v->rank(); ++i)
      inner *= v->dim(i);
  const float *sc = s->data<float>();
  float *o = out.data<float>();
  for (int64_t i = 0; i < v->numel(); ++i) {
    const int64_t c = channels > 1 ? (i / inner) % channels : 0;
    const int64_t zp = z ? z->get_i64(z->numel() == 1 ? 0 : c) : 0;
    o[i] = static_cast<float>(v->get_i64(i) - zp) * sc[c];
  }
  return out;
}

} // namespace qtune::quant
