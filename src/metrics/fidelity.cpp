#include "metrics/fidelity.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "metrics/coco_eval.h"
#include "qtune/error.h"

namespace qtune::metrics {

coco::Dataset detections_as_ground_truth(std::span<const int64_t> image_ids,
                                         std::span<const Detection> reference,
                                         double score_threshold, const std::string &metric) {
  coco::Dataset gt;
  gt.source = "FP32 detections with score >= " + std::to_string(score_threshold);
  std::vector<Detection> kept;
  std::set<int64_t> categories;
  for (const Detection &d : reference)
    if (d.score >= score_threshold) {
      kept.push_back(d);
      categories.insert(d.category_id);
    }
  if (categories.empty())
    throw InputError(metric + ": the FP32 model detects nothing with score >= " +
                     std::to_string(score_threshold) +
                     " on the evaluation images; lower score_threshold");
  std::set<int64_t> seen;
  for (int64_t id : image_ids) {
    if (!seen.insert(id).second)
      continue;
    coco::Image im;
    im.id = id;
    gt.images.push_back(im);
  }
  for (int64_t c : categories) {
    coco::Category cat;
    cat.id = c;
    cat.name = std::to_string(c);
    gt.categories.push_back(cat);
  }
  gt.build_index();
  // The kept detections become the ground truth boxes (loadRes: area w*h, not crowd).
  gt.annotations = results_from_detections(gt, kept);
  gt.build_index();
  return gt;
}

int64_t argmax(std::span<const float> values) {
  return static_cast<int64_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

OutputErrorSums output_error_sums(std::span<const float> got, std::span<const float> reference) {
  OutputErrorSums s;
  for (size_t j = 0; j < got.size(); ++j) {
    double x = reference[j], e = double(got[j]) - x;
    s.abs_error += std::fabs(e);
    s.squared_error += e * e;
    s.reference_energy += x * x;
  }
  return s;
}

} // namespace qtune::metrics
