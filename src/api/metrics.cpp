// qtune/metrics.h: the metrics library's COCO mAP and top-k for API users.
#include "qtune/metrics.h"

#include "api/data_impl.h"
#include "metrics/coco_eval.h"
#include "metrics/topk.h"
#include "qtune/error.h"

namespace qtune {

struct CocoMAP::Impl {
  std::unique_ptr<metrics::CocoMap> map;
};

CocoMAP::CocoMAP() : impl_(std::make_unique<Impl>()) {}

CocoMAP::CocoMAP(const Dataset &dataset, size_t limit) : impl_(std::make_unique<Impl>()) {
  const coco::Dataset *gt = dataset.impl().set->coco_ground_truth();
  if (!gt)
    throw InputError("CocoMAP: " + dataset.describe() + " has no COCO ground truth");
  impl_->map = std::make_unique<metrics::CocoMap>(metrics::first_images(*gt, limit));
}

CocoMAP CocoMAP::from_annotations(const std::string &annotations_json) {
  CocoMAP m;
  m.impl_->map = std::make_unique<metrics::CocoMap>(metrics::CocoMap::from_file(annotations_json));
  return m;
}

CocoMAP::~CocoMAP() = default;
CocoMAP::CocoMAP(CocoMAP &&) noexcept = default;
CocoMAP &CocoMAP::operator=(CocoMAP &&) noexcept = default;

void CocoMAP::add(std::span<const Detection> detections) {
  impl_->map->add(detections);
}
void CocoMAP::update(std::span<const Tensor> predictions, std::span<const Tensor> labels) {
  impl_->map->update(predictions, labels);
}
void CocoMAP::reset() {
  impl_->map->reset();
}
double CocoMAP::result() const {
  return impl_->map->result();
}
std::array<double, 12> CocoMAP::stats() const {
  return impl_->map->evaluate().stats;
}

std::vector<CocoImageResult> CocoMAP::per_image() const {
  // Bit t of tp is a true positive at IoU threshold t (0.50, 0.55, ... 0.95).
  constexpr uint16_t kIou50 = 1u << 0, kIou75 = 1u << 5;
  std::vector<CocoImageResult> out;
  for (const metrics::CocoImageMatches &m : impl_->map->evaluate().image_matches) {
    CocoImageResult r;
    r.image_id = m.image_id;
    for (const auto &c : m.categories) {
      r.ground_truths += static_cast<int>(c.gt_kept);
      r.detections += static_cast<int>(c.tp.size());
      for (uint16_t tp : c.tp) {
        r.matched_50 += (tp & kIou50) != 0;
        r.matched_75 += (tp & kIou75) != 0;
      }
    }
    out.push_back(r);
  }
  return out;
}

struct TopK::Impl {
  metrics::TopK topk;
};

TopK::TopK(int k) : impl_(std::make_unique<Impl>(Impl{metrics::TopK(k)})) {}
TopK::~TopK() = default;
TopK::TopK(TopK &&) noexcept = default;
TopK &TopK::operator=(TopK &&) noexcept = default;

void TopK::update(std::span<const Tensor> predictions, std::span<const Tensor> labels) {
  impl_->topk.update(predictions, labels);
}
void TopK::add(std::span<const float> scores, int64_t label) {
  Tensor p = Tensor::from_vector<float>({1, static_cast<int64_t>(scores.size())},
                                        std::vector<float>(scores.begin(), scores.end()));
  Tensor l = Tensor::from_vector<int64_t>({1}, {label});
  impl_->topk.update(std::span<const Tensor>(&p, 1), std::span<const Tensor>(&l, 1));
}
void TopK::reset() {
  impl_->topk.reset();
}
double TopK::result() const {
  return impl_->topk.result();
}

} // namespace qtune
