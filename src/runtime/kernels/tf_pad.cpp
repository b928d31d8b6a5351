// TF padding and block rearrangement: Pad / PadV2 (constant_values input) /
// MirrorPad (REFLECT or SYMMETRIC) with paddings [rank, 2], through the ONNX
// Pad kernel; SpaceToBatchND / BatchToSpaceND (block_shape [M], paddings or
// crops [M, 2]) as one index mapping between the space and batch layouts;
// DepthToSpace / SpaceToDepth (NHWC) likewise.
#include <cstring>

#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

using kernels::tf::OnnxBacked;
namespace tfk = kernels::tf;

// A [m, 2] int tensor of non-negative (before, after) pairs.
std::vector<std::pair<int64_t, int64_t>> pairs(const Node &node, const Tensor &t, int64_t m,
                                               const char *what) {
  if (t.rank() != 2 || t.dim(0) != m || t.dim(1) != 2)
    throw InputError(fmt::format("{}: {} must be [{}, 2], got {}", node.describe(), what, m,
                                 shape_str(t.shape())));
  std::vector<std::pair<int64_t, int64_t>> v;
  for (int64_t i = 0; i < m; ++i) {
    v.emplace_back(t.get_i64(2 * i), t.get_i64(2 * i + 1));
    if (v.back().first < 0 || v.back().second < 0)
      throw InputError(fmt::format("{}: {} {},{} is negative", node.describe(), what,
                                   v.back().first, v.back().second));
  }
  return v;
}

class TfPadKernel : public OnnxBacked {
public:
  TfPadKernel(const Node &n, const KernelEnv &env, bool mirror)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})), mirror_(mirror) {
    if (mirror) {
      std::string mode = n.attr_string("mode", "");
      if (mode != "REFLECT" && mode != "SYMMETRIC")
        throw UnsupportedError(
            fmt::format("{}: MirrorPad mode '{}' is not supported", n.describe(), mode));
      symmetric_ = mode == "SYMMETRIC";
    }
  }

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs input and paddings");
    int rank = in[0].rank();
    auto p = pairs(node_, in[1], rank, "paddings");
    std::vector<int64_t> pads(2 * rank);
    for (int i = 0; i < rank; ++i) {
      // REFLECT pads at most dim - 1, SYMMETRIC at most dim.
      int64_t limit = in[0].dim(i) - (symmetric_ ? 0 : 1);
      if (mirror_ && (p[i].first > limit || p[i].second > limit))
        throw InputError(fmt::format("{}: paddings {},{} too large for dim {} of size {}",
                                     node_.describe(), p[i].first, p[i].second, i, in[0].dim(i)));
      pads[i] = p[i].first;
      pads[rank + i] = p[i].second;
    }
    pads_ = tfk::i64_vector(pads);
    if (in.size() > 2 && in[2].defined() && (in[2].numel() != 1 || in[2].dtype() != in[0].dtype()))
      throw InputError(node_.describe() + ": constant_values must be a scalar of the input dtype");
    Node m = make_onnx("Pad");
    m.attrs["mode"] = std::string(!mirror_ ? "constant" : symmetric_ ? "symmetric" : "reflect");
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    std::vector<Tensor> v{in[0], pads_};
    if (in.size() > 2 && in[2].defined())
      v.push_back(in[2]);
    return v;
  }

private:
  bool mirror_, symmetric_ = false;
  Tensor pads_;
};

// SpaceToBatchND: input [B, S1..SM, R...] padded to P_j = S_j + pads, output
// [B * prod(b), P1/b1 .. PM/bM, R...] where output batch k * B + n holds
// input batch n at spatial offsets (k1..kM) of the block: o_j * b_j + k_j.
// BatchToSpaceND is the inverse, with crops taken off the space side.
class BlockSpaceKernel : public Kernel {
public:
  BlockSpaceKernel(const Node &n, const KernelEnv &env, bool to_batch)
      : node_(n), to_batch_(to_batch), value_dependent_(!tfk::values_constant(n, env, {1, 2})) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 3)
      throw InputError(node_.describe() + ": needs input, block_shape and paddings/crops");
    tfk::expect_rank(node_, in[1], 1, "block_shape");
    block_ = in[1].to_i64_vector();
    int64_t m = static_cast<int64_t>(block_.size()), blocks = 1;
    if (in[0].rank() < 1 + m)
      throw InputError(fmt::format("{}: input {} has fewer than {} spatial dims", node_.describe(),
                                   shape_str(in[0].shape()), m));
    for (int64_t b : block_) {
      if (b < 1)
        throw InputError(fmt::format("{}: block size {} is not positive", node_.describe(), b));
      blocks *= b;
    }
    edges_ = pairs(node_, in[2], m, to_batch_ ? "paddings" : "crops");
    Shape s = in[0].shape(), out = s;
    space_ = s;
    if (to_batch_) {
      out[0] = s[0] * blocks;
      for (int64_t j = 0; j < m; ++j) {
        int64_t padded = s[1 + j] + edges_[j].first + edges_[j].second;
        if (padded % block_[j] != 0)
          throw InputError(fmt::format("{}: padded dim {} ({}) is not a multiple of block {}",
                                       node_.describe(), 1 + j, padded, block_[j]));
        out[1 + j] = padded / block_[j];
      }
      batch_ = out;
      return {{in[0].dtype(), out}};
    }
    if (s[0] % blocks != 0)
      throw InputError(fmt::format("{}: batch {} is not a multiple of {} blocks", node_.describe(),
                                   s[0], blocks));
    out[0] = s[0] / blocks;
    for (int64_t j = 0; j < m; ++j) {
      out[1 + j] = s[1 + j] * block_[j] - edges_[j].first - edges_[j].second;
      if (out[1 + j] < 0)
        throw InputError(fmt::format("{}: crops exceed dim {}", node_.describe(), 1 + j));
    }
    batch_ = s;
    space_ = out;
    return {{in[0].dtype(), out}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const size_t m = block_.size();
    const size_t es = dtype_size(in[0].dtype());
    const int64_t rest = kernels::numel_after(batch_, static_cast<int>(m)) * es;
    const int64_t space_batch = space_[0];
    auto *src = static_cast<const uint8_t *>(in[0].raw());
    auto *dst = static_cast<uint8_t *>(out[0].raw());
    const int64_t cells = kernels::numel_before(batch_, static_cast<int>(m) + 1);
    if (to_batch_)
      std::memset(dst, 0, out[0].nbytes()); // padding
    for (int64_t c = 0; c < cells; ++c) {
      // Batch-side coordinate (ob, o1..oM) -> space-side (n, y1..yM).
      int64_t rem = c, space_off = 0, stride = 1;
      std::vector<int64_t> o(m);
      for (size_t j = m; j-- > 0;) {
        o[j] = rem % batch_[1 + j];
        rem /= batch_[1 + j];
      }
      int64_t ob = rem, n = ob % space_batch, k = ob / space_batch;
      bool inside = true;
      for (size_t j = m; j-- > 0;) {
        int64_t kj = k % block_[j];
        k /= block_[j];
        int64_t y = o[j] * block_[j] + kj - edges_[j].first;
        inside = inside && y >= 0 && y < space_[1 + j];
        space_off += y * stride;
        stride *= space_[1 + j];
      }
      if (!inside)
        continue;
      space_off += n * stride;
      if (to_batch_)
        std::memcpy(dst + c * rest, src + space_off * rest, rest);
      else
        std::memcpy(dst + space_off * rest, src + c * rest, rest);
    }
  }

  bool value_dependent_shapes() const override { return value_dependent_; }

private:
  Node node_;
  bool to_batch_, value_dependent_;
  std::vector<int64_t> block_;
  std::vector<std::pair<int64_t, int64_t>> edges_;
  Shape space_, batch_; // the space-side and batch-side shapes
};

// DepthToSpace / SpaceToDepth (NHWC, block_size b): the depth side is
// [B, H, W, b, b, C] and the space side [B, H, b, W, b, C] of the same
// elements; runs of C are copied between the two.
class DepthSpaceKernel : public Kernel {
public:
  DepthSpaceKernel(const Node &n, const KernelEnv &, bool to_space)
      : node_(n), to_space_(to_space), block_(n.attr_int("block_size", 0)) {
    if (block_ < 2)
      throw InputError(fmt::format("{}: block_size {} must be at least 2", n.describe(), block_));
    if (n.attr_string("data_format", "NHWC") != "NHWC")
      throw UnsupportedError(n.describe() + ": only data_format NHWC is supported");
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    tfk::expect_rank(node_, in[0], 4, "input");
    Shape s = in[0].shape();
    const int64_t b = block_;
    if (to_space_ ? s[3] % (b * b) != 0 : (s[1] % b != 0 || s[2] % b != 0))
      throw InputError(fmt::format("{}: input {} does not divide into blocks of {}",
                                   node_.describe(), shape_str(s), b));
    depth_ = to_space_ ? s : Shape{s[0], s[1] / b, s[2] / b, s[3] * b * b};
    Shape out = to_space_ ? Shape{s[0], s[1] * b, s[2] * b, s[3] / (b * b)} : depth_;
    return {{in[0].dtype(), out}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const int64_t b = block_, B = depth_[0], H = depth_[1], W = depth_[2];
    const size_t run = depth_[3] / (b * b) * dtype_size(in[0].dtype());
    const auto *src = static_cast<const uint8_t *>(in[0].raw());
    auto *dst = static_cast<uint8_t *>(out[0].raw());
    for (int64_t n = 0; n < B; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          for (int64_t i = 0; i < b; ++i)
            for (int64_t j = 0; j < b; ++j) {
              int64_t depth_at = (((n * H + h) * W + w) * b + i) * b + j;
              int64_t space_at = ((n * H + h) * b + i) * W * b + w * b + j;
              if (to_space_)
                std::memcpy(dst + space_at * run, src + depth_at * run, run);
              else
                std::memcpy(dst + depth_at * run, src + space_at * run, run);
            }
  }

private:
  Node node_;
  bool to_space_;
  int64_t block_;
  Shape depth_; // the depth-side shape [B, H, W, C * b * b]
};

} // namespace

void register_tf_pad_kernels(KernelRegistry &r) {
  r.add("Pad", tfk::factory<TfPadKernel>(false), "tf");
  r.add("PadV2", tfk::factory<TfPadKernel>(false), "tf");
  r.add("MirrorPad", tfk::factory<TfPadKernel>(true), "tf");
  r.add("SpaceToBatchND", tfk::factory<BlockSpaceKernel>(true), "tf");
  r.add("BatchToSpaceND", tfk::factory<BlockSpaceKernel>(false), "tf");
  r.add("DepthToSpace", tfk::factory<DepthSpaceKernel>(true), "tf");
  r.add("SpaceToDepth", tfk::factory<DepthSpaceKernel>(false), "tf");
}

} // namespace qtune
