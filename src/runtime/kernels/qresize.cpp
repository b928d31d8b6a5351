// qtune:QResize: nearest-neighbour Resize on u8/s8 values, made by the QDQ
// lowering from DQ(x) -> Resize(mode=nearest) -> Q with equal parameters
// (picking a neighbour commutes with the affine map, so the int8 values move
// unchanged). Inputs and attributes are Resize's (X, roi, scales, sizes;
// coordinate_transformation_mode, nearest_mode); tf_crop_and_resize is not
// lowered here.
//
// Each axis gets a table output index -> source index (ONNX formulas, double
// precision, as the fp32 Resize kernel); rows of the innermost axis are then
// gathered through that table, rows spread over threads.
//
// Layouts: a channels-last input resized in H and W only stays channels-last
// (kernels/resize_layout.h).
#include <cmath>
#include <cstring>
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/kernel.h"
#include "runtime/kernels/resize_coords.h"
#include "runtime/kernels/resize_layout.h"

namespace qtune {
namespace {

class QResizeKernel : public Kernel {
public:
  QResizeKernel(const Node &n, const KernelEnv &env)
      : node_(n), env_(env), coord_(n.attr_string("coordinate_transformation_mode", "half_pixel")),
        nearest_mode_(n.attr_string("nearest_mode", "round_prefer_floor")) {
    if (n.attr_string("mode", "nearest") != "nearest")
      throw UnsupportedError(fmt::format("{}: only mode 'nearest' runs on int8", n.describe()));
    const char *coords[] = {"half_pixel",    "pytorch_half_pixel", "half_pixel_symmetric",
                            "align_corners", "asymmetric",         "tf_half_pixel_for_nn"};
    if (std::find(std::begin(coords), std::end(coords), coord_) == std::end(coords))
      throw UnsupportedError(fmt::format("{}: coordinate_transformation_mode '{}' is not supported",
                                         n.describe(), coord_));
    const char *modes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    if (std::find(std::begin(modes), std::end(modes), nearest_mode_) == std::end(modes))
      throw UnsupportedError(
          fmt::format("{}: nearest_mode '{}' is not supported", n.describe(), nearest_mode_));
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.empty() || !in[0].defined())
      throw InputError(fmt::format("{}: input X is missing", node_.describe()));
    if (in[0].dtype() != DType::u8 && in[0].dtype() != DType::i8)
      throw InputError(fmt::format("{}: input type {} is not int8", node_.describe(),
                                   dtype_name(in[0].dtype())));
    const Shape &s = in[0].shape();
    size_t rank = s.size();
    if (rank == 0)
      throw InputError(fmt::format("{}: input X is a scalar", node_.describe()));
    Shape out = kernels::resize_output_shape(node_, in, scales_);
    maps_.assign(rank, {});
    for (size_t d = 0; d < rank; ++d)
      maps_[d] = source_indices(s[d], out[d], scales_[d]);
    layout_.plan(env_, in[0], out, rank == 4 && identity_map(0) && identity_map(1));
    return {{in[0].dtype(), out}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (out[0].numel() == 0)
      return;
    if (layout_.active()) {
      layout_.run(in[0].raw(), out[0], maps_[2].data(), maps_[3].data());
      return;
    }
    run_plain(static_cast<const uint8_t *>(layout_.plain_input(env_, in[0])), in[0].shape(),
              out[0]);
  }

  // oneDNN layout opt-in (runtime/kernel.h): channels-last in, channels-last out.
  bool accepts_dnnl_layouts() const override { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    layout_.set_input_layout(layouts.empty() ? nullptr : layouts[0]);
  }
  const dnnl_memory_desc_t *output_layout(size_t) const override { return layout_.output_layout(); }

private:
  bool identity_map(size_t d) const {
    for (size_t i = 0; i < maps_[d].size(); ++i)
      if (maps_[d][i] != static_cast<int64_t>(i))
        return false;
    return true;
  }

  void run_plain(const uint8_t *x, const Shape &is, Tensor &out) {
    const Shape &os = out.shape();
    const int rank = static_cast<int>(is.size());
    std::vector<int64_t> in_stride(rank, 1);
    for (int d = rank - 2; d >= 0; --d)
      in_stride[d] = in_stride[d + 1] * is[d + 1];
    const int64_t inner = os[rank - 1];
    const int64_t rows = out.numel() / inner;
    uint8_t *y = static_cast<uint8_t *>(out.raw());
    const int64_t *last = maps_[rank - 1].data();
    auto source_row = [&](int64_t r) {
      // Source row offset from the row's output index, outer axes through their tables.
      int64_t rest = r, offset = 0;
      for (int d = rank - 2; d >= 0; --d) {
        offset += maps_[d][rest % os[d]] * in_stride[d];
        rest /= os[d];
      }
      return offset;
    };
    // Rows of one plane (the second-innermost axis) go to one thread, in order:
    // upsampling repeats source rows, and a repeat copies the previous output row.
    const int64_t h = rank >= 2 ? os[rank - 2] : 1;
    const int64_t planes = rows / h;
#pragma omp parallel for if (out.numel() > 32768)
    for (int64_t p = 0; p < planes; ++p) {
      int64_t prev = -1;
      for (int64_t i = 0; i < h; ++i) {
        const int64_t r = p * h + i, offset = source_row(r);
        uint8_t *dst = y + r * inner;
        if (offset == prev) {
          std::memcpy(dst, dst - inner, inner);
          continue;
        }
        prev = offset;
        const uint8_t *src = x + offset;
        for (int64_t j = 0; j < inner; ++j)
          dst[j] = src[last[j]];
      }
    }
  }

  std::vector<int64_t> source_indices(int64_t in, int64_t out, double scale) const {
    std::vector<int64_t> idx(out);
    for (int64_t x = 0; x < out; ++x)
      idx[x] = std::clamp<int64_t>(nearest(source_coord(x, in, out, scale)), 0, in - 1);
    return idx;
  }

  double source_coord(int64_t x, int64_t in, int64_t out, double scale) const {
    return kernels::resize_source_coord(coord_, x, in, out, scale);
  }

  int64_t nearest(double xo) const {
    double lo = std::floor(xo), frac = xo - lo;
    if (nearest_mode_ == "floor")
      return static_cast<int64_t>(lo);
    if (nearest_mode_ == "ceil")
      return static_cast<int64_t>(std::ceil(xo));
    bool up = nearest_mode_ == "round_prefer_floor" ? frac > 0.5 : frac >= 0.5;
    return static_cast<int64_t>(up ? lo + 1 : lo);
  }

  Node node_;
  KernelEnv env_;
  kernels::NhwcNearestResize layout_;
  std::string coord_, nearest_mode_;
  std::vector<double> scales_;
  std::vector<std::vector<int64_t>> maps_;
};

} // namespace

void register_qresize_kernels(KernelRegistry &r) {
  r.add(
      "QResize",
      [](const Node &n, const KernelEnv &env) { return std::make_unique<QResizeKernel>(n, env); },
      "qtune");
}

} // namespace qtune
