// qtune/metrics.h: the metrics library's COCO mAP, top-k and fidelity
// metrics for API users.
#include "qtune/metrics.h"

#include <cmath>
#include <limits>

#include "api/data_impl.h"
#include "metrics/coco_eval.h"
#include "metrics/fidelity.h"
#include "metrics/topk.h"
#include "qtune/error.h"

namespace qtune {

namespace {

// What each image contributed, from the evaluation's area-"all" matching.
std::vector<CocoImageResult> image_results(const metrics::CocoEvalResult &e) {
  // Bit t of tp is a true positive at IoU threshold t (0.50, 0.55, ... 0.95).
  constexpr uint16_t kIou50 = 1u << 0, kIou75 = 1u << 5;
  std::vector<CocoImageResult> out;
  for (const metrics::CocoImageMatches &m : e.image_matches) {
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

// Sample i of scores [N, C] (N samples) or [C] (one sample), as float32.
std::vector<std::vector<float>> score_rows(std::span<const Tensor> predictions,
                                           const std::string &metric) {
  if (predictions.empty())
    throw InputError(metric + ": no prediction tensor given");
  const Tensor &t = predictions[0];
  std::vector<float> all = t.to_f32_vector();
  size_t n = t.rank() >= 2 ? static_cast<size_t>(t.dim(0)) : 1;
  if (all.empty() || n == 0 || all.size() % n != 0)
    throw InputError(metric + ": scores must be [N, C] or [C], got " + shape_str(t.shape()));
  size_t c = all.size() / n;
  std::vector<std::vector<float>> rows;
  for (size_t i = 0; i < n; ++i)
    rows.emplace_back(all.begin() + static_cast<long>(i * c),
                      all.begin() + static_cast<long>((i + 1) * c));
  return rows;
}

// The candidate's sample `i` needs a reference sample at the same position.
void check_reference_has(const std::string &metric, size_t i, size_t reference_samples) {
  if (i >= reference_samples)
    throw InputError(metric + ": sample " + std::to_string(i) + " of the candidate, but the " +
                     "FP32 reference has " + std::to_string(reference_samples) + " samples");
}

// Every tensor's values in order, as one sample.
std::vector<float> all_values(std::span<const Tensor> predictions) {
  std::vector<float> v;
  for (const Tensor &t : predictions) {
    std::vector<float> x = t.to_f32_vector();
    v.insert(v.end(), x.begin(), x.end());
  }
  return v;
}

} // namespace

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
  return image_results(impl_->map->evaluate());
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

// Fidelity metrics: the same computations as the YAML's (metrics/fidelity.h).

struct FidelityCOCOmAP::Impl {
  double threshold = 0.3;
  std::vector<int64_t> image_ids;
  std::vector<Detection> reference, candidate;
  // The reference as ground truth, built on first use after it changed.
  mutable std::unique_ptr<metrics::CocoMap> map;

  metrics::CocoEvalResult evaluate() const {
    if (!map)
      map = std::make_unique<metrics::CocoMap>(
          metrics::detections_as_ground_truth(image_ids, reference, threshold, "FidelityCOCOmAP"));
    map->reset();
    map->add(candidate);
    return map->evaluate();
  }
};

FidelityCOCOmAP::FidelityCOCOmAP(double score_threshold) : impl_(std::make_unique<Impl>()) {
  impl_->threshold = score_threshold;
}
FidelityCOCOmAP::~FidelityCOCOmAP() = default;
FidelityCOCOmAP::FidelityCOCOmAP(FidelityCOCOmAP &&) noexcept = default;
FidelityCOCOmAP &FidelityCOCOmAP::operator=(FidelityCOCOmAP &&) noexcept = default;

void FidelityCOCOmAP::add_reference(int64_t image_id, std::span<const Detection> fp32) {
  for (const Detection &d : fp32)
    if (d.image_id != image_id)
      throw InputError("FidelityCOCOmAP: add_reference for image " + std::to_string(image_id) +
                       " got a detection of image " + std::to_string(d.image_id));
  impl_->image_ids.push_back(image_id);
  impl_->reference.insert(impl_->reference.end(), fp32.begin(), fp32.end());
  impl_->map.reset();
}
void FidelityCOCOmAP::clear_reference() {
  double threshold = impl_->threshold;
  *impl_ = Impl{};
  impl_->threshold = threshold;
}
void FidelityCOCOmAP::add(std::span<const Detection> detections) {
  impl_->candidate.insert(impl_->candidate.end(), detections.begin(), detections.end());
}
void FidelityCOCOmAP::update(std::span<const Tensor> predictions, std::span<const Tensor>) {
  add(metrics::detections_from_rows(predictions, name()));
}
void FidelityCOCOmAP::reset() {
  impl_->candidate.clear();
}
double FidelityCOCOmAP::result() const {
  return impl_->evaluate().stats[0];
}
std::array<double, 12> FidelityCOCOmAP::stats() const {
  return impl_->evaluate().stats;
}
std::vector<CocoImageResult> FidelityCOCOmAP::per_image() const {
  return image_results(impl_->evaluate());
}

struct FidelityTop1::Impl {
  std::vector<int64_t> reference; // FP32's top-1 class per sample
  size_t samples = 0, agree = 0;
};

FidelityTop1::FidelityTop1() : impl_(std::make_unique<Impl>()) {}
FidelityTop1::~FidelityTop1() = default;
FidelityTop1::FidelityTop1(FidelityTop1 &&) noexcept = default;
FidelityTop1 &FidelityTop1::operator=(FidelityTop1 &&) noexcept = default;

void FidelityTop1::add_reference(std::span<const float> fp32_scores) {
  if (fp32_scores.empty())
    throw InputError("FidelityTop1: reference sample " + std::to_string(impl_->reference.size()) +
                     " has no scores");
  impl_->reference.push_back(metrics::argmax(fp32_scores));
}
void FidelityTop1::update_reference(std::span<const Tensor> predictions) {
  for (const std::vector<float> &row : score_rows(predictions, name()))
    add_reference(row);
}
void FidelityTop1::clear_reference() {
  *impl_ = Impl{};
}
void FidelityTop1::add(std::span<const float> scores) {
  size_t i = impl_->samples;
  check_reference_has(name(), i, impl_->reference.size());
  if (scores.empty())
    throw InputError("FidelityTop1: sample " + std::to_string(i) + " has no scores");
  impl_->agree += metrics::argmax(scores) == impl_->reference[i];
  impl_->samples = i + 1;
}
void FidelityTop1::update(std::span<const Tensor> predictions, std::span<const Tensor>) {
  for (const std::vector<float> &row : score_rows(predictions, name()))
    add(row);
}
void FidelityTop1::reset() {
  impl_->samples = impl_->agree = 0;
}
double FidelityTop1::result() const {
  return impl_->samples ? double(impl_->agree) / double(impl_->samples) : 0.0;
}

struct FidelityRelativeL2::Impl {
  std::vector<std::vector<float>> reference; // FP32's values per sample
  size_t samples = 0;
  double squared_error = 0, reference_energy = 0;
};

FidelityRelativeL2::FidelityRelativeL2() : impl_(std::make_unique<Impl>()) {}
FidelityRelativeL2::~FidelityRelativeL2() = default;
FidelityRelativeL2::FidelityRelativeL2(FidelityRelativeL2 &&) noexcept = default;
FidelityRelativeL2 &FidelityRelativeL2::operator=(FidelityRelativeL2 &&) noexcept = default;

void FidelityRelativeL2::add_reference(std::span<const float> fp32_values) {
  impl_->reference.emplace_back(fp32_values.begin(), fp32_values.end());
}
void FidelityRelativeL2::update_reference(std::span<const Tensor> predictions) {
  add_reference(all_values(predictions));
}
void FidelityRelativeL2::clear_reference() {
  *impl_ = Impl{};
}
void FidelityRelativeL2::add(std::span<const float> values) {
  size_t i = impl_->samples;
  check_reference_has(name(), i, impl_->reference.size());
  const std::vector<float> &want = impl_->reference[i];
  if (values.size() != want.size())
    throw InputError("FidelityRelativeL2: sample " + std::to_string(i) + " has " +
                     std::to_string(values.size()) + " values, the FP32 reference " +
                     std::to_string(want.size()));
  metrics::OutputErrorSums e = metrics::output_error_sums(values, want);
  impl_->squared_error += e.squared_error;
  impl_->reference_energy += e.reference_energy;
  impl_->samples = i + 1;
}
void FidelityRelativeL2::update(std::span<const Tensor> predictions, std::span<const Tensor>) {
  add(all_values(predictions));
}
void FidelityRelativeL2::reset() {
  impl_->samples = 0;
  impl_->squared_error = impl_->reference_energy = 0;
}
double FidelityRelativeL2::result() const {
  return impl_->reference_energy > 0 ? std::sqrt(impl_->squared_error / impl_->reference_energy)
                                     : 0.0;
}
double FidelityRelativeL2::sqnr_db() const {
  if (impl_->squared_error == 0)
    return std::numeric_limits<double>::infinity();
  return 10 * std::log10(impl_->reference_energy / impl_->squared_error);
}

} // namespace qtune
