// TF StridedSlice (begin/end/strides inputs with begin, end, ellipsis,
// new_axis and shrink_axis masks; negative strides) and TF Slice (begin, size
// with -1 = to the end). The masks are resolved here into one start/end/step
// per input dim; the ONNX Slice kernel copies the data, and new or shrunk
// axes are only a reshape of its output.
#include <limits>

#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

using kernels::tf::OnnxBacked;

// One input dim's slice, TF-canonical: start in range, size elements.
struct DimSlice {
  int64_t start = 0, step = 1, size = 0;
};

// Base for both: the ONNX Slice node from per-dim slices (dims() set by
// resolve()), output reshaped to out_shape_.
class SliceBacked : public OnnxBacked {
public:
  SliceBacked(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !kernels::tf::values_constant(n, env, {1, 2, 3})) {}

protected:
  virtual void resolve(std::span<const Tensor> in) = 0;

  Node onnx_node(std::span<const Tensor> in) override {
    dims_.clear();
    out_shape_.clear();
    resolve(in);
    std::vector<int64_t> starts, ends, axes, steps;
    for (size_t d = 0; d < dims_.size(); ++d) {
      const DimSlice &s = dims_[d];
      int64_t end = s.start + s.size * s.step;
      // ONNX Slice would read a negative end as counting from the back.
      if (end < 0)
        end = std::numeric_limits<int64_t>::min();
      bool empty = s.size == 0;
      starts.push_back(empty ? 0 : s.start);
      ends.push_back(empty ? 0 : end);
      steps.push_back(empty ? 1 : s.step);
      axes.push_back(static_cast<int64_t>(d));
    }
    slice_args_ = {kernels::tf::i64_vector(starts), kernels::tf::i64_vector(ends),
                   kernels::tf::i64_vector(axes), kernels::tf::i64_vector(steps)};
    return make_onnx("Slice");
  }

  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    std::vector<Tensor> v{in[0]};
    v.insert(v.end(), slice_args_.begin(), slice_args_.end());
    return v;
  }

  std::vector<TensorType> tf_types(std::span<const Tensor> in,
                                   std::vector<TensorType> onnx) override {
    return {{in[0].dtype(), out_shape_}};
  }

  std::vector<int64_t> vector_input(std::span<const Tensor> in, size_t i, const char *what) {
    if (!kernels::has_input(in, i) || in[i].rank() != 1)
      throw InputError(fmt::format("{}: {} must be a vector", node_.describe(), what));
    return in[i].to_i64_vector();
  }

  std::vector<DimSlice> dims_;
  Shape out_shape_;
  std::vector<Tensor> slice_args_;
};

class StridedSliceKernel : public SliceBacked {
public:
  StridedSliceKernel(const Node &n, const KernelEnv &env)
      : SliceBacked(n, env), begin_mask_(n.attr_int("begin_mask", 0)),
        end_mask_(n.attr_int("end_mask", 0)), ellipsis_mask_(n.attr_int("ellipsis_mask", 0)),
        new_axis_mask_(n.attr_int("new_axis_mask", 0)),
        shrink_mask_(n.attr_int("shrink_axis_mask", 0)) {
    if (ellipsis_mask_ & (ellipsis_mask_ - 1))
      throw InputError(n.describe() + ": more than one ellipsis in ellipsis_mask");
  }

protected:
  void resolve(std::span<const Tensor> in) override {
    std::vector<int64_t> begin = vector_input(in, 1, "begin"), end = vector_input(in, 2, "end"),
                         strides = vector_input(in, 3, "strides");
    int64_t n = static_cast<int64_t>(begin.size());
    if (static_cast<int64_t>(end.size()) != n || static_cast<int64_t>(strides.size()) != n)
      throw InputError(fmt::format("{}: begin, end and strides differ in length ({}, {}, {})",
                                   node_.describe(), n, end.size(), strides.size()));
    const Shape &s = in[0].shape();
    int rank = in[0].rank();
    // Input dims the spec names one by one; an ellipsis (explicit, or implied
    // at the end) covers the rest.
    int64_t named = 0;
    for (int64_t i = 0; i < n; ++i)
      if (!bit(ellipsis_mask_, i) && !bit(new_axis_mask_, i))
        ++named;
    if (named > rank)
      throw InputError(fmt::format("{}: {} indices for input of shape {}", node_.describe(), named,
                                   shape_str(s)));
    int dim = 0;
    auto full_dims = [&](int64_t count) {
      for (int64_t k = 0; k < count; ++k, ++dim) {
        dims_.push_back({0, 1, s[dim]});
        out_shape_.push_back(s[dim]);
      }
    };
    bool had_ellipsis = false;
    for (int64_t i = 0; i < n; ++i) {
      if (bit(ellipsis_mask_, i)) {
        full_dims(rank - named);
        had_ellipsis = true;
      } else if (bit(new_axis_mask_, i)) {
        out_shape_.push_back(1);
      } else {
        dims_.push_back(one_dim(i, begin[i], end[i], strides[i], s[dim]));
        if (!bit(shrink_mask_, i))
          out_shape_.push_back(dims_.back().size);
        ++dim;
      }
    }
    if (!had_ellipsis)
      full_dims(rank - dim);
  }

private:
  static bool bit(int64_t mask, int64_t i) { return (mask >> i) & 1; }

  DimSlice one_dim(int64_t i, int64_t b, int64_t e, int64_t step, int64_t d) const {
    if (step == 0)
      throw InputError(fmt::format("{}: stride {} is zero", node_.describe(), i));
    if (bit(shrink_mask_, i)) {
      int64_t at = b < 0 ? b + d : b;
      if (at < 0 || at >= d)
        throw InputError(fmt::format("{}: index {} out of bounds for dim {} of size {}",
                                     node_.describe(), b, i, d));
      return {at, 1, 1};
    }
    // Valid positions: [0, d] going forward, [-1, d-1] going backward.
    int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? d : d - 1;
    auto canonical = [&](int64_t x, bool masked, bool is_end) {
      if (masked)
        return (step > 0) == is_end ? hi : lo;
      if (x < 0)
        x += d;
      return std::clamp(x, lo, hi);
    };
    int64_t start = canonical(b, bit(begin_mask_, i), false);
    int64_t stop = canonical(e, bit(end_mask_, i), true);
    int64_t span = stop - start, size = 0;
    if (span != 0 && (span > 0) == (step > 0))
      size = span / step + (span % step != 0);
    return {start, step, size};
  }

  int64_t begin_mask_, end_mask_, ellipsis_mask_, new_axis_mask_, shrink_mask_;
};

// TF Slice(input, begin, size): size -1 takes the rest of the dim.
class TfSliceKernel : public SliceBacked {
public:
  using SliceBacked::SliceBacked;

protected:
  void resolve(std::span<const Tensor> in) override {
    std::vector<int64_t> begin = vector_input(in, 1, "begin"), size = vector_input(in, 2, "size");
    const Shape &s = in[0].shape();
    if (begin.size() != s.size() || size.size() != s.size())
      throw InputError(fmt::format("{}: begin {} and size {} do not match input {}",
                                   node_.describe(), shape_str(begin), shape_str(size),
                                   shape_str(s)));
    for (size_t d = 0; d < s.size(); ++d) {
      int64_t n = size[d] == -1 ? s[d] - begin[d] : size[d];
      if (begin[d] < 0 || n < 0 || begin[d] + n > s[d])
        throw InputError(fmt::format("{}: begin {} size {} out of range for input {}",
                                     node_.describe(), shape_str(begin), shape_str(size),
                                     shape_str(s)));
      dims_.push_back({begin[d], 1, n});
      out_shape_.push_back(n);
    }
  }
};

} // namespace

void register_tf_slice_kernels(KernelRegistry &r) {
  r.add("StridedSlice", kernels::tf::factory<StridedSliceKernel>(), "tf");
  r.add("Slice", kernels::tf::factory<TfSliceKernel>(), "tf");
}

} // namespace qtune
