// TF array ops computed by the ONNX data-movement kernels once their TF-only
// inputs become attributes: Pack / Unpack (axis, num), ConcatV2 (axis last)
// and Concat (axis first), Split (axis first, num_split) and SplitV
// (size_splits with one -1), Gather / GatherV2 (axis input, batch_dims 0;
// indices must lie in [0, dim): TF rejects negative ones), Tile (multiples)
// and Transpose (perm input); BroadcastTo and ReverseV2 likewise; Unique.
#include <cstring>
#include <limits>
#include <unordered_map>

#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

using kernels::tf::OnnxBacked;
namespace tfk = kernels::tf;

Shape insert_dim(Shape s, int axis) {
  s.insert(s.begin() + axis, 1);
  return s;
}

// Pack(values..., axis): each value viewed with a 1 at axis, then concatenated.
class PackKernel : public OnnxBacked {
public:
  PackKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, false), axis_(n.attr_int("axis", 0)) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.empty())
      throw InputError(node_.describe() + ": needs values");
    for (const Tensor &t : in)
      if (t.shape() != in[0].shape())
        throw InputError(fmt::format("{}: values {} and {} differ in shape", node_.describe(),
                                     shape_str(in[0].shape()), shape_str(t.shape())));
    axis_at_ = kernels::normalize_axis(node_, axis_, in[0].rank() + 1);
    Node m = make_onnx("Concat");
    m.attrs["axis"] = int64_t{axis_at_};
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    std::vector<Tensor> v;
    for (const Tensor &t : in)
      v.push_back(t.reshaped(insert_dim(t.shape(), axis_at_)));
    return v;
  }

private:
  int64_t axis_;
  int axis_at_ = 0;
};

// Unpack(value, num, axis): an equal Split along axis, the axis dropped.
class UnpackKernel : public OnnxBacked {
public:
  UnpackKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, false), axis_(n.attr_int("axis", 0)), num_(n.attr_int("num", -1)) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    int axis = kernels::normalize_axis(node_, axis_, in[0].rank());
    int64_t num = num_ < 0 ? in[0].dim(axis) : num_;
    if (in[0].dim(axis) != num)
      throw InputError(fmt::format("{}: num = {} but axis {} of {} has {} elements",
                                   node_.describe(), num, axis, shape_str(in[0].shape()),
                                   in[0].dim(axis)));
    axis_at_ = axis;
    Node m = make_onnx("Split");
    m.outputs.resize(num);
    m.attrs["axis"] = int64_t{axis};
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override { return {in[0]}; }
  std::vector<TensorType> tf_types(std::span<const Tensor>, std::vector<TensorType> onnx) override {
    for (TensorType &t : onnx)
      t.shape.erase(t.shape.begin() + axis_at_);
    return onnx;
  }

private:
  int64_t axis_, num_;
  int axis_at_ = 0;
};

// ConcatV2(values..., axis) and Concat(axis, values...).
class TfConcatKernel : public OnnxBacked {
public:
  TfConcatKernel(const Node &n, const KernelEnv &env, bool axis_last)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {axis_index(n, axis_last)})),
        axis_last_(axis_last) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs values and axis");
    const Tensor &axis = axis_last_ ? in.back() : in.front();
    Node m = make_onnx("Concat");
    m.attrs["axis"] = tfk::scalar_i64(node_, axis, "axis");
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    return axis_last_ ? std::vector<Tensor>(in.begin(), in.end() - 1)
                      : std::vector<Tensor>(in.begin() + 1, in.end());
  }

private:
  static size_t axis_index(const Node &n, bool axis_last) {
    return axis_last ? n.inputs.size() - 1 : 0;
  }
  bool axis_last_;
};

// Split(axis, value) into num_split equal parts; SplitV(value, size_splits,
// axis) with at most one -1 size taking the rest.
class TfSplitKernel : public OnnxBacked {
public:
  TfSplitKernel(const Node &n, const KernelEnv &env, bool sized)
      : OnnxBacked(n, env,
                   !tfk::values_constant(n, env,
                                         sized ? std::initializer_list<size_t>{1, 2}
                                               : std::initializer_list<size_t>{0})),
        sized_(sized), num_(n.attr_int("num_split", static_cast<int64_t>(n.outputs.size()))) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < (sized_ ? 3u : 2u))
      throw InputError(node_.describe() + ": needs value, axis" + (sized_ ? " and sizes" : ""));
    const Tensor &x = sized_ ? in[0] : in[1];
    int axis = kernels::normalize_axis(
        node_, tfk::scalar_i64(node_, sized_ ? in[2] : in[0], "axis"), x.rank());
    if (!sized_ && (num_ <= 0 || x.dim(axis) % num_ != 0))
      throw InputError(fmt::format("{}: axis {} of {} does not split into {} equal parts",
                                   node_.describe(), axis, shape_str(x.shape()), num_));
    std::vector<int64_t> sizes =
        sized_ ? split_sizes(in[1], x.dim(axis)) : std::vector<int64_t>(num_, x.dim(axis) / num_);
    sizes_ = tfk::i64_vector(sizes);
    Node m = make_onnx("Split");
    m.outputs.resize(sizes.size());
    m.attrs["axis"] = int64_t{axis};
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    return {sized_ ? in[0] : in[1], sizes_};
  }

private:
  std::vector<int64_t> split_sizes(const Tensor &t, int64_t dim) const {
    std::vector<int64_t> sizes = t.to_i64_vector();
    int64_t known = 0, free = -1;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] == -1 && free < 0)
        free = static_cast<int64_t>(i);
      else if (sizes[i] < 0)
        throw InputError(fmt::format("{}: bad size_splits {}", node_.describe(), shape_str(sizes)));
      else
        known += sizes[i];
    }
    if (free >= 0 && known <= dim)
      sizes[free] = dim - known;
    return sizes; // a total != dim is reported by the ONNX Split kernel
  }

  bool sized_;
  int64_t num_;
  Tensor sizes_;
};

// Gather(params, indices) and GatherV2(params, indices, axis).
class TfGatherKernel : public OnnxBacked {
public:
  TfGatherKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {2})) {
    if (n.attr_int("batch_dims", 0) != 0)
      throw UnsupportedError(n.describe() + ": batch_dims other than 0 is not supported");
  }

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs params and indices");
    int64_t axis = in.size() > 2 ? tfk::scalar_i64(node_, in[2], "axis") : 0;
    axis_ = kernels::normalize_axis(node_, axis, in[0].rank());
    if (in[1].dtype() != DType::i32 && in[1].dtype() != DType::i64)
      kernels::throw_dtype(node_, in[1].dtype());
    Node m = make_onnx("Gather");
    m.attrs["axis"] = int64_t{axis_};
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override { return {in[0], in[1]}; }
  void check(std::span<const Tensor> in) override {
    int64_t dim = in[0].dim(axis_);
    for (int64_t i = 0; i < in[1].numel(); ++i) {
      int64_t v = in[1].get_i64(i);
      if (v < 0 || v >= dim)
        throw InputError(fmt::format("{}: index {} is not in [0, {})", node_.describe(), v, dim));
    }
  }

private:
  int axis_ = 0;
};

class TfTileKernel : public OnnxBacked {
public:
  TfTileKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2 || in[1].rank() != 1 || in[1].numel() != in[0].rank())
      throw InputError(fmt::format("{}: multiples must be a vector of length {}", node_.describe(),
                                   in[0].rank()));
    for (int64_t m : in[1].to_i64_vector())
      if (m < 0)
        throw InputError(fmt::format("{}: multiple {} is negative", node_.describe(), m));
    return make_onnx("Tile");
  }
};

class TfTransposeKernel : public OnnxBacked {
public:
  TfTransposeKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2 || in[1].rank() != 1 || in[1].numel() != in[0].rank())
      throw InputError(
          fmt::format("{}: perm must be a vector of length {}", node_.describe(), in[0].rank()));
    std::vector<int64_t> perm = in[1].to_i64_vector();
    std::vector<bool> seen(perm.size(), false);
    for (int64_t &p : perm) {
      p = kernels::normalize_axis(node_, p, in[0].rank());
      if (seen[p])
        throw InputError(fmt::format("{}: perm {} repeats {}", node_.describe(),
                                     shape_str(in[1].to_i64_vector()), p));
      seen[p] = true;
    }
    Node m = make_onnx("Transpose");
    m.attrs["perm"] = perm;
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override { return {in[0]}; }
};

// BroadcastTo(input, shape): ONNX Expand, which must land exactly on `shape`.
class BroadcastToKernel : public OnnxBacked {
public:
  BroadcastToKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2 || in[1].rank() != 1)
      throw InputError(node_.describe() + ": needs input and a shape vector");
    Shape target = in[1].to_i64_vector();
    if (kernels::broadcast_shape(node_, {in[0].shape(), target}) != target)
      throw InputError(fmt::format("{}: {} does not broadcast to {}", node_.describe(),
                                   shape_str(in[0].shape()), shape_str(target)));
    return make_onnx("Expand");
  }
};

// ReverseV2(tensor, axis): ONNX Slice backwards over every listed axis.
class ReverseKernel : public OnnxBacked {
public:
  ReverseKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2 || in[1].rank() > 1)
      throw InputError(node_.describe() + ": needs tensor and an axis vector");
    int rank = in[0].rank();
    std::vector<bool> seen(rank, false);
    std::vector<int64_t> starts, ends, axes, steps;
    for (int64_t a : in[1].to_i64_vector()) {
      int ax = kernels::normalize_axis(node_, a, rank);
      if (seen[ax])
        throw InputError(fmt::format("{}: axis {} is listed twice", node_.describe(), a));
      seen[ax] = true;
      if (in[0].dim(ax) < 2)
        continue; // nothing to reverse
      starts.push_back(-1);
      ends.push_back(std::numeric_limits<int64_t>::min());
      axes.push_back(ax);
      steps.push_back(-1);
    }
    args_ = {tfk::i64_vector(starts), tfk::i64_vector(ends), tfk::i64_vector(axes),
             tfk::i64_vector(steps)};
    return make_onnx("Slice");
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    std::vector<Tensor> v{in[0]};
    v.insert(v.end(), args_.begin(), args_.end());
    return v;
  }

private:
  std::vector<Tensor> args_;
};

// Unique(x) of a vector: y = the distinct values in order of first
// appearance, idx[i] = the position of x[i] in y (out_idx int32 or int64).
class UniqueKernel : public Kernel {
public:
  UniqueKernel(const Node &n, const KernelEnv &)
      : node_(n), idx_type_(tfk::attr_dtype(n, "out_idx", DType::i32)) {
    if (idx_type_ != DType::i32 && idx_type_ != DType::i64)
      kernels::throw_dtype(n, idx_type_);
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    tfk::expect_rank(node_, in[0], 1, "x");
    firsts_.clear();
    idx_.assign(in[0].numel(), 0);
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *x = in[0].data<T>();
      std::unordered_map<T, int64_t> pos; // -0.0 == 0.0, NaNs all differ: as TF
      for (int64_t i = 0; i < in[0].numel(); ++i) {
        auto [it, added] = pos.try_emplace(x[i], static_cast<int64_t>(firsts_.size()));
        if (added)
          firsts_.push_back(i);
        idx_[i] = it->second;
      }
    });
    int64_t n = static_cast<int64_t>(firsts_.size());
    return {{in[0].dtype(), {n}}, {idx_type_, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    size_t es = dtype_size(in[0].dtype());
    const auto *src = static_cast<const uint8_t *>(in[0].raw());
    for (size_t k = 0; k < firsts_.size(); ++k)
      std::memcpy(static_cast<uint8_t *>(out[0].raw()) + k * es, src + firsts_[k] * es, es);
    if (out.size() > 1 && out[1].defined()) {
      Tensor idx = tfk::i64_vector(idx_);
      idx.cast_to(out[1]);
    }
  }

  bool value_dependent_shapes() const override { return true; }

private:
  Node node_;
  DType idx_type_;
  std::vector<int64_t> firsts_, idx_;
};

} // namespace

void register_tf_array_kernels(KernelRegistry &r) {
  r.add("Pack", tfk::factory<PackKernel>(), "tf");
  r.add("Unpack", tfk::factory<UnpackKernel>(), "tf");
  r.add("ConcatV2", tfk::factory<TfConcatKernel>(true), "tf");
  r.add("Concat", tfk::factory<TfConcatKernel>(false), "tf");
  r.add("Split", tfk::factory<TfSplitKernel>(false), "tf");
  r.add("SplitV", tfk::factory<TfSplitKernel>(true), "tf");
  r.add("Gather", tfk::factory<TfGatherKernel>(), "tf");
  r.add("GatherV2", tfk::factory<TfGatherKernel>(), "tf");
  r.add("Tile", tfk::factory<TfTileKernel>(), "tf");
  r.add("Transpose", tfk::factory<TfTransposeKernel>(), "tf");
  r.add("BroadcastTo", tfk::factory<BroadcastToKernel>(), "tf");
  r.add("ReverseV2", tfk::factory<ReverseKernel>(), "tf");
  r.add("Unique", tfk::factory<UniqueKernel>(), "tf");
}

} // namespace qtune
