// Slice and StridedSlice -> ONNX Slice (+ Squeeze for shrink_axis_mask).
// StridedSlice with an ellipsis, new axes or non-constant parameters stays a
// tf:StridedSlice node (its meaning then depends on the input's rank).
#include <fmt/format.h>
#include <limits>

#include "frontends/onnx/onnx_import.h"
#include "frontends/tensorflow/ops/convert.h"

namespace qtune::tf {

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// Slice(x, begin, size): ends = begin + size, or "to the end" where size = -1.
void slice(ConvertContext &c) {
  const Tensor *b = c.constant(1), *s = c.constant(2);
  if (b && s) {
    std::vector<int64_t> begin = b->to_i64_vector(), size = s->to_i64_vector(), end;
    if (begin.size() != size.size())
      c.invalid("begin and size differ in length");
    for (size_t i = 0; i < begin.size(); ++i)
      end.push_back(size[i] == -1 ? kMax : begin[i] + size[i]);
    c.add("Slice",
          {c.input(0), c.add_const("starts", i64_tensor(begin)),
           c.add_const("ends", i64_tensor(end))},
          {c.output(0)});
    return;
  }
  std::string begin = as_i64(c, 1), size = as_i64(c, 2);
  std::string to_end = c.add1("Equal", {size, c.add_const("minus1", Tensor::scalar_i64(-1))});
  std::string end = c.add1("Where", {to_end, c.add_const("max", Tensor::scalar_i64(kMax)),
                                     c.add1("Add", {begin, size})});
  c.add("Slice", {c.input(0), begin, end}, {c.output(0)});
}

void strided_slice(ConvertContext &c) {
  const Tensor *bt = c.constant(1), *et = c.constant(2), *st = c.constant(3);
  if (!bt || !et || !st || c.attr_int("ellipsis_mask", 0) || c.attr_int("new_axis_mask", 0))
    return c.emit_generic(1);
  std::vector<int64_t> begin = bt->to_i64_vector(), end = et->to_i64_vector(),
                       strides = st->to_i64_vector();
  if (begin.size() != end.size() || begin.size() != strides.size())
    c.invalid("begin, end and strides differ in length");
  int64_t bm = c.attr_int("begin_mask", 0), em = c.attr_int("end_mask", 0),
          sm = c.attr_int("shrink_axis_mask", 0);
  std::vector<int64_t> starts, ends, axes, steps, squeeze;
  for (size_t i = 0; i < begin.size(); ++i) {
    int64_t s = strides[i];
    if (s == 0)
      c.invalid("a stride is 0");
    int64_t b = begin[i], e = end[i];
    if (sm >> i & 1) {
      s = 1;
      e = b == -1 ? kMax : b + 1;
      squeeze.push_back((int64_t)i);
    } else {
      if (bm >> i & 1)
        b = s > 0 ? 0 : kMax;
      if (em >> i & 1)
        e = s > 0 ? kMax : kMin;
    }
    starts.push_back(b);
    ends.push_back(e);
    axes.push_back((int64_t)i);
    steps.push_back(s);
  }
  std::string y = squeeze.empty() ? c.output(0) : c.fresh("Slice");
  c.add("Slice",
        {c.input(0), c.add_const("starts", i64_tensor(starts)),
         c.add_const("ends", i64_tensor(ends)), c.add_const("axes", i64_tensor(axes)),
         c.add_const("steps", i64_tensor(steps))},
        {y});
  if (!squeeze.empty())
    c.add("Squeeze", {y, c.add_const("squeeze", i64_tensor(squeeze))}, {c.output(0)});
}

} // namespace

void register_tf_slice_converters(ConverterTable &t) {
  t.add("Slice", slice);
  t.add("StridedSlice", strided_slice);
}

} // namespace qtune::tf
