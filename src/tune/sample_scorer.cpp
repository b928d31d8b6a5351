#include "tune/sample_scorer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/decoders.h"
#include "metrics/coco_eval.h"
#include "metrics/fidelity.h"
#include "metrics/topk.h"
#include "qtune/error.h"
#include "tune/workspace.h"

namespace qtune::tune {

namespace {

// Sample `row` of an output whose first dimension is the batch (the whole
// tensor when the batch is one sample), as float32 values.
std::vector<float> row_values(const Tensor &t, int row, int batch) {
  Tensor f = t.dtype() == DType::f32 ? t : t.cast(DType::f32);
  auto all = f.span<float>();
  if (batch <= 1 || f.rank() == 0 || f.shape()[0] != batch)
    return {all.begin(), all.end()};
  size_t each = all.size() / static_cast<size_t>(batch);
  return {all.begin() + row * each, all.begin() + (row + 1) * each};
}

} // namespace

SampleScorer::SampleScorer(MetricSpec spec, std::unique_ptr<coco::Dataset> ground_truth,
                           std::unique_ptr<data::DetectionDecoder> decoder,
                           std::vector<std::string> output_names)
    : spec_(std::move(spec)), gt_(std::move(ground_truth)), decoder_(std::move(decoder)),
      output_names_(std::move(output_names)) {}

SampleScorer::~SampleScorer() = default;

void SampleScorer::begin(bool capture) {
  capture_ = capture && spec_.uses_fp32;
  index_ = 0;
  image_ids_.clear();
  detections_.clear();
  top1_.clear();
  num_.clear();
  den_.clear();
  if (capture_)
    ref_ = Reference{};
}

void SampleScorer::add(const std::vector<Tensor> &outputs, int row, int batch,
                       const data::PreparedSample &s) {
  const size_t i = index_++;
  image_ids_.push_back(s.truth.image_id);
  switch (spec_.kind) {
  case MetricKind::coco_map:
  case MetricKind::fidelity_coco_map: {
    std::vector<Detection> d =
        decoder_->decode(outputs, output_names_, row, s.truth.image_id, s.frame.geo);
    detections_.insert(detections_.end(), d.begin(), d.end());
    return;
  }
  case MetricKind::topk: {
    std::vector<float> v = row_values(outputs.at(0), row, batch);
    num_.push_back(metrics::label_in_top_k(v, s.truth.class_label, spec_.k) ? 1 : 0);
    den_.push_back(1);
    return;
  }
  case MetricKind::accuracy: {
    // LPOT's Accuracy: class scores -> argmax; a single value -> rounded.
    std::vector<float> v = row_values(outputs.at(0), row, batch);
    int64_t predicted = v.size() == 1 ? std::llround(v[0]) : metrics::argmax(v);
    num_.push_back(predicted == s.truth.class_label ? 1 : 0);
    den_.push_back(1);
    return;
  }
  case MetricKind::loss: {
    std::vector<float> v = row_values(outputs.at(0), row, batch);
    double sum = 0;
    for (float x : v)
      sum += x;
    num_.push_back(sum);
    den_.push_back(1);
    return;
  }
  case MetricKind::fidelity_top1: {
    int64_t c = metrics::argmax(row_values(outputs.at(0), row, batch));
    if (capture_)
      ref_.top1.push_back(c);
    top1_.push_back(c);
    return;
  }
  case MetricKind::mse:
  case MetricKind::rmse:
  case MetricKind::mae:
  case MetricKind::fidelity_relative_l2:
    break;
  }
  std::vector<float> got;
  for (const Tensor &t : outputs) {
    std::vector<float> v = row_values(t, row, batch);
    got.insert(got.end(), v.begin(), v.end());
  }
  if (capture_)
    ref_.outputs.push_back(got);
  if (i >= ref_.outputs.size() || ref_.outputs[i].size() != got.size())
    throw Error("metric " + spec_.name + ": sample " + std::to_string(i) +
                " does not match the FP32 reference outputs (different evaluation data?)");
  metrics::OutputErrorSums e = metrics::output_error_sums(got, ref_.outputs[i]);
  num_.push_back(spec_.kind == MetricKind::mae ? e.abs_error : e.squared_error);
  den_.push_back(spec_.kind == MetricKind::fidelity_relative_l2 ? e.reference_energy
                                                                : double(got.size()));
}

coco::Dataset SampleScorer::reference_ground_truth() const {
  return metrics::detections_as_ground_truth(ref_.image_ids, ref_.detections, spec_.score_threshold,
                                             "FidelityCOCOmAP");
}

void ScoredShard::append(ScoredShard o) {
  image_ids.insert(image_ids.end(), o.image_ids.begin(), o.image_ids.end());
  detections.insert(detections.end(), o.detections.begin(), o.detections.end());
  num.insert(num.end(), o.num.begin(), o.num.end());
  den.insert(den.end(), o.den.begin(), o.den.end());
}

ScoredRun SampleScorer::finish_coco(ScoredShard all) {
  if (capture_)
    ref_.detections = all.detections;
  metrics::CocoMap map(spec_.kind == MetricKind::coco_map ? *gt_ : reference_ground_truth());
  map.add(all.detections);
  metrics::CocoEvalResult e = map.evaluate();
  ScoredRun r;
  r.value = e.stats[0];
  r.has_coco_stats = true;
  r.coco_stats = e.stats;
  r.samples.reduce = metrics::Reduce::coco_ap;
  r.samples.images = std::move(e.image_matches);
  r.samples.num_categories = static_cast<int32_t>(map.ground_truth().num_categories());
  r.detections = std::move(all.detections);
  return r;
}

ScoredShard SampleScorer::take_shard() {
  if (capture_)
    has_reference_ = true;
  if (spec_.kind == MetricKind::fidelity_top1) {
    if (top1_.size() != ref_.top1.size())
      throw Error("FidelityTop1: " + std::to_string(top1_.size()) +
                  " samples, the FP32 reference " + std::to_string(ref_.top1.size()));
    for (size_t i = 0; i < top1_.size(); ++i) {
      num_.push_back(top1_[i] == ref_.top1[i] ? 1 : 0);
      den_.push_back(1);
    }
  }
  ScoredShard s;
  s.image_ids = std::move(image_ids_);
  s.detections = std::move(detections_);
  s.num = std::move(num_);
  s.den = std::move(den_);
  image_ids_.clear();
  detections_.clear();
  num_.clear();
  den_.clear();
  top1_.clear();
  return s;
}

ScoredRun SampleScorer::finish(ScoredShard all) {
  if (capture_)
    ref_.image_ids = all.image_ids;
  if (spec_.kind == MetricKind::coco_map || spec_.kind == MetricKind::fidelity_coco_map)
    return finish_coco(std::move(all));
  ScoredRun r;
  r.samples.reduce =
      spec_.kind == MetricKind::rmse || spec_.kind == MetricKind::fidelity_relative_l2
          ? metrics::Reduce::sqrt_ratio
          : metrics::Reduce::ratio;
  r.samples.num = std::move(all.num);
  r.samples.den = std::move(all.den);
  r.value = metrics::metric_value(r.samples);
  return r;
}

// Reference file: one JSON line (metric, image ids, detections, top-1), then
// for output metrics each sample's float32 values (a uint64 count, then data).
void SampleScorer::save_reference(const std::string &path) const {
  nlohmann::json j;
  j["metric"] = spec_.name;
  j["image_ids"] = ref_.image_ids;
  nlohmann::json dets = nlohmann::json::array();
  for (const Detection &d : ref_.detections)
    dets.push_back({d.image_id, d.category_id, d.x, d.y, d.w, d.h, d.score});
  j["detections"] = std::move(dets);
  j["top1"] = ref_.top1;
  j["outputs"] = ref_.outputs.size();
  std::string text = j.dump() + "\n";
  for (const auto &o : ref_.outputs) {
    uint64_t n = o.size();
    text.append(reinterpret_cast<const char *>(&n), sizeof(n));
    text.append(reinterpret_cast<const char *>(o.data()), n * sizeof(float));
  }
  write_file_atomic(path, text);
}

bool SampleScorer::load_reference(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::string line;
  std::getline(in, line);
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || j.value("metric", "") != spec_.name)
    return false;
  Reference r;
  try {
    r.image_ids = j.at("image_ids").get<std::vector<int64_t>>();
    for (const auto &d : j.at("detections"))
      r.detections.push_back({d[0].get<int64_t>(), d[1].get<int64_t>(), d[2].get<double>(),
                              d[3].get<double>(), d[4].get<double>(), d[5].get<double>(),
                              d[6].get<double>()});
    r.top1 = j.at("top1").get<std::vector<int64_t>>();
    size_t outputs = j.at("outputs").get<size_t>();
    for (size_t i = 0; i < outputs; ++i) {
      uint64_t n = 0;
      if (!in.read(reinterpret_cast<char *>(&n), sizeof(n)) || n > (uint64_t(1) << 32))
        return false;
      std::vector<float> v(n);
      if (!in.read(reinterpret_cast<char *>(v.data()), static_cast<std::streamsize>(n * 4)))
        return false;
      r.outputs.push_back(std::move(v));
    }
  } catch (const nlohmann::json::exception &) {
    return false; // a damaged cache: the FP32 model runs again
  }
  ref_ = std::move(r);
  has_reference_ = true;
  return true;
}

} // namespace qtune::tune
