// Dequantize of a constant (weights stored as quint8/qint8 + min/max, as in
// OpenCV's face detector) -> an f32 initializer at import. A Dequantize of a
// computed value stays tf:Dequantize.
#include <cmath>
#include <fmt/format.h>

#include "frontends/tensorflow/ops/convert.h"

namespace qtune::tf {

namespace {

// TF's formulas: the step is (max - min) / (2^8 - 1) over the type's range
// starting at its lowest value; MIN_FIRST first rounds min to a whole number
// of steps.
Tensor dequantize_values(ConvertContext &c, const Tensor &q, float lo, float hi,
                         const std::string &mode) {
  int64_t lowest = q.dtype() == DType::i8 ? -128 : 0;
  double step = (double(hi) - double(lo)) / 255.0;
  double base = lo;
  if (mode == "MIN_FIRST" && step != 0)
    base = std::round(lo / float(step)) * float(step);
  Tensor out(DType::f32, q.shape());
  float *o = out.data<float>();
  for (int64_t i = 0; i < q.numel(); ++i) {
    if (hi == lo) {
      o[i] = lo;
      continue;
    }
    o[i] = float(base + double(q.get_i64(i) - lowest) * step);
  }
  return out;
}

void dequantize(ConvertContext &c) {
  const Tensor *q = c.constant(0), *lo = c.constant(1), *hi = c.constant(2);
  std::string mode = c.attr_string("mode", "MIN_COMBINED");
  if (!q || !lo || !hi || (mode != "MIN_COMBINED" && mode != "MIN_FIRST"))
    return c.emit_generic(1);
  if (q->dtype() != DType::u8 && q->dtype() != DType::i8)
    c.unsupported(fmt::format("Dequantize of {}", dtype_name(q->dtype())));
  if (lo->numel() != 1 || hi->numel() != 1 || c.attr_int("axis", -1) != -1)
    c.unsupported("per-channel Dequantize");
  c.set_constant(0, dequantize_values(c, *q, (float)lo->get_f64(0), (float)hi->get_f64(0), mode));
}

} // namespace

void register_tf_quantized_converters(ConverterTable &t) {
  t.add("Dequantize", dequantize);
}

} // namespace qtune::tf
