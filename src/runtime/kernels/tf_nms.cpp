// TF NonMaxSuppression (V1: iou_threshold attribute) and V2..V5 on one box set: boxes [n,4] as
// (y1,x1,y2,x2) with corners in either order, scores [n]. Greedy by descending score (ties: lower
// index first), a box is suppressed when its IoU with a selected one exceeds iou_threshold; V3+
// keep only scores above score_threshold. V4/V5 may pad the indices to max_output_size and report
// valid_outputs; V5 returns the selected scores and, with soft_nms_sigma > 0, runs soft NMS
// (Gaussian decay score * exp(-iou^2 / (2 sigma)) by every selected box; a candidate whose decayed
// score falls to score_threshold or below is dropped; as in current TensorFlow, soft NMS ignores
// iou_threshold, while TF.js and older TF releases also zero a score above it). Results are
// computed in infer(): the output length depends on the values.
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/kernels/nms_util.h"
#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

using kernels::Box;
namespace tfk = kernels::tf;

class TfNmsKernel : public Kernel {
public:
  TfNmsKernel(const Node &n, int version)
      : node_(n), version_(version), pad_(n.attr_int("pad_to_max_output_size", 0) != 0) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    size_t needed = version_ == 1 ? 3 : version_ == 2 ? 4 : version_ == 5 ? 6 : 5;
    if (in.size() < needed)
      throw InputError(
          fmt::format("{}: needs {} inputs, got {}", node_.describe(), needed, in.size()));
    read_boxes(in[0], in[1]);
    int64_t max_out = tfk::scalar_i64(node_, in[2], "max_output_size");
    // V1 has the IoU threshold as an attribute.
    float iou_th = version_ == 1 ? node_.attr_float("iou_threshold", 0.5f)
                                 : float(tfk::scalar_f64(node_, in[3], "iou_threshold"));
    float score_th = version_ >= 3 ? float(tfk::scalar_f64(node_, in[4], "score_threshold"))
                                   : std::numeric_limits<float>::lowest();
    float sigma = version_ == 5 ? float(tfk::scalar_f64(node_, in[5], "soft_nms_sigma")) : 0.f;
    if (max_out < 0)
      throw InputError(
          fmt::format("{}: max_output_size {} is negative", node_.describe(), max_out));
    if (!(iou_th >= 0 && iou_th <= 1))
      throw InputError(
          fmt::format("{}: iou_threshold {} is not in [0, 1]", node_.describe(), iou_th));
    if (sigma < 0)
      throw InputError(fmt::format("{}: soft_nms_sigma {} is negative", node_.describe(), sigma));
    selected_.clear();
    selected_scores_.clear();
    if (sigma > 0) {
      soft_nms(max_out, score_th, sigma);
    } else {
      selected_ = kernels::greedy_nms(boxes_, scores_.data(), max_out, iou_th, score_th);
      for (int64_t i : selected_)
        selected_scores_.push_back(scores_[i]);
    }
    int64_t len = pad_ && version_ >= 4 ? max_out : static_cast<int64_t>(selected_.size());
    std::vector<TensorType> types{{DType::i32, {len}}};
    if (version_ == 5)
      types.push_back({score_dtype_, {len}});
    if (version_ >= 4)
      types.push_back({DType::i32, {}});
    return types;
  }

  void run(std::span<const Tensor>, std::span<Tensor> out) override {
    Tensor &idx = out[0];
    int64_t n = static_cast<int64_t>(selected_.size());
    std::fill_n(idx.data<int32_t>(), idx.numel(), 0);
    for (int64_t i = 0; i < n; ++i)
      idx.data<int32_t>()[i] = static_cast<int32_t>(selected_[i]);
    if (version_ == 5 && out[1].defined()) {
      Tensor s(DType::f32, out[1].shape());
      std::copy(selected_scores_.begin(), selected_scores_.end(), s.data<float>());
      Tensor c = s.cast(out[1].dtype());
      std::memcpy(out[1].raw(), c.raw(), c.nbytes());
    }
    if (version_ >= 4) {
      Tensor &valid = out[version_ == 5 ? 2 : 1];
      if (valid.defined())
        valid.data<int32_t>()[0] = static_cast<int32_t>(n);
    }
  }

  bool value_dependent_shapes() const override { return true; }

private:
  void read_boxes(const Tensor &boxes, const Tensor &scores) {
    if (boxes.rank() != 2 || boxes.dim(1) != 4 || scores.rank() != 1 ||
        scores.dim(0) != boxes.dim(0))
      throw InputError(fmt::format("{}: boxes {} must be [n,4] and scores {} [n]", node_.describe(),
                                   shape_str(boxes.shape()), shape_str(scores.shape())));
    for (const Tensor *t : {&boxes, &scores})
      if (t->dtype() != DType::f32 && t->dtype() != DType::f16)
        kernels::throw_dtype(node_, t->dtype());
    score_dtype_ = scores.dtype();
    Tensor b = boxes.cast(DType::f32);
    int64_t n = boxes.dim(0);
    boxes_.resize(n);
    for (int64_t i = 0; i < n; ++i)
      boxes_[i] = kernels::box_from_corners(b.data<float>() + 4 * i);
    scores_ = scores.to_f32_vector();
  }

  // Soft NMS: the highest current score is selected next (ties: lower index),
  // then every remaining candidate decays by its overlap with it.
  void soft_nms(int64_t max_out, float score_th, float sigma) {
    const float scale = -0.5f / sigma;
    std::vector<int64_t> alive;
    for (int64_t i = 0; i < static_cast<int64_t>(scores_.size()); ++i)
      if (scores_[i] > score_th)
        alive.push_back(i);
    std::vector<float> cur = scores_;
    while (static_cast<int64_t>(selected_.size()) < max_out && !alive.empty()) {
      auto best = std::max_element(alive.begin(), alive.end(),
                                   [&](int64_t a, int64_t b) { return cur[a] < cur[b]; });
      int64_t pick = *best;
      alive.erase(best);
      selected_.push_back(pick);
      selected_scores_.push_back(cur[pick]);
      std::vector<int64_t> next;
      for (int64_t k : alive) {
        float o = kernels::iou(boxes_[k], boxes_[pick]);
        cur[k] *= std::exp(scale * o * o);
        if (cur[k] > score_th)
          next.push_back(k);
      }
      alive = std::move(next);
    }
  }

  Node node_;
  int version_;
  bool pad_;
  DType score_dtype_ = DType::f32;
  std::vector<Box> boxes_;
  std::vector<float> scores_, selected_scores_;
  std::vector<int64_t> selected_;
};

} // namespace

void register_tf_nms_kernels(KernelRegistry &r) {
  for (int v = 1; v <= 5; ++v)
    r.add(
        v == 1 ? std::string("NonMaxSuppression") : fmt::format("NonMaxSuppressionV{}", v),
        [v](const Node &n, const KernelEnv &) { return std::make_unique<TfNmsKernel>(n, v); },
        "tf");
}

} // namespace qtune
