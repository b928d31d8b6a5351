// The accumulate step of coco_eval.cpp, over the per-image matches instead of
// the evaluator's arrays; the floating-point operations are the same, in the
// same order, so the result is bit-identical to evaluating the duplicated set.
#include "metrics/coco_resample.h"

#include <algorithm>
#include <numeric>

#include "qtune/error.h"

namespace qtune::metrics {

namespace {

constexpr int kT = 10;                         // IoU thresholds .50:.05:.95
constexpr int kR = 101;                        // recall thresholds 0:.01:1
constexpr double kEps = 2.220446049250313e-16; // np.spacing(1)

// np.linspace(0, 1, 101) as COCOeval builds it.
std::vector<double> recall_thresholds() {
  std::vector<double> y(kR);
  double step = 1.0 / (kR - 1);
  for (int i = 0; i < kR; ++i)
    y[i] = i * step;
  y[kR - 1] = 1.0;
  return y;
}

} // namespace

CocoResample::CocoResample(std::span<const CocoImageMatches> images, int32_t num_categories)
    : categories_(num_categories), num_images_(images.size()) {
  // Images in ascending id order (COCOeval's p.imgIds), whatever order they came in.
  std::vector<uint32_t> order(images.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return images[a].image_id < images[b].image_id; });
  std::vector<std::vector<double>> scores(num_categories);
  for (uint32_t pos : order)
    for (const auto &c : images[pos].categories) {
      if (c.index < 0 || c.index >= num_categories)
        throw Error("coco_ap: category index out of range");
      Category &cat = categories_[c.index];
      if (c.gt_kept > 0)
        cat.gt.push_back({pos, c.gt_kept});
      for (size_t d = 0; d < c.score.size(); ++d) {
        cat.dets.push_back({pos, c.tp[d], c.fp[d]});
        scores[c.index].push_back(c.score[d]);
      }
    }
  for (int32_t k = 0; k < num_categories; ++k) {
    Category &cat = categories_[k];
    const std::vector<double> &s = scores[k];
    std::vector<uint32_t> idx(cat.dets.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) { return s[a] > s[b]; });
    std::vector<Det> sorted;
    sorted.reserve(idx.size());
    for (size_t j = 0; j < idx.size(); ++j) {
      sorted.push_back(cat.dets[idx[j]]);
      bool last = j + 1 == idx.size() || s[idx[j + 1]] != s[idx[j]] ||
                  cat.dets[idx[j + 1]].image != cat.dets[idx[j]].image;
      if (last)
        cat.run_end.push_back(static_cast<uint32_t>(j + 1));
    }
    cat.dets = std::move(sorted);
  }
}

double CocoResample::ap(std::span<const uint32_t> counts) const {
  if (counts.size() != num_images_)
    throw Error("coco_ap: " + std::to_string(counts.size()) + " counts for " +
                std::to_string(num_images_) + " images");
  static const std::vector<double> rec_thr = recall_thresholds();
  const size_t K = categories_.size();
  // q[t][k][r], -1 where a category has no ground truth in the draw.
  std::vector<double> q(size_t(kT) * K * kR, -1.0);
  std::vector<uint16_t> tpb, fpb;
  std::vector<double> rc, pr;
  for (size_t k = 0; k < K; ++k) {
    const Category &cat = categories_[k];
    uint64_t npig = 0;
    for (const auto &[image, n] : cat.gt)
      npig += uint64_t(counts[image]) * n;
    if (npig == 0)
      continue;
    // The concatenation COCOeval sorts, already in its sorted order.
    tpb.clear();
    fpb.clear();
    uint32_t begin = 0;
    for (uint32_t end : cat.run_end) {
      for (uint32_t copy = 0; copy < counts[cat.dets[begin].image]; ++copy)
        for (uint32_t j = begin; j < end; ++j) {
          tpb.push_back(cat.dets[j].tp);
          fpb.push_back(cat.dets[j].fp);
        }
      begin = end;
    }
    const size_t nd = tpb.size();
    rc.resize(nd);
    pr.resize(nd);
    for (int t = 0; t < kT; ++t) {
      const uint16_t bit = uint16_t(1u << t);
      double tp = 0, fp = 0;
      for (size_t j = 0; j < nd; ++j) {
        tp += (tpb[j] & bit) ? 1 : 0;
        fp += (fpb[j] & bit) ? 1 : 0;
        rc[j] = tp / double(npig);
        pr[j] = tp / (fp + tp + kEps);
      }
      for (size_t j = nd; j-- > 1;)
        if (pr[j] > pr[j - 1])
          pr[j - 1] = pr[j];
      size_t pos = 0;
      for (int r = 0; r < kR; ++r) {
        while (pos < nd && rc[pos] < rec_thr[r])
          ++pos;
        q[(size_t(t) * K + k) * kR + r] = pos < nd ? pr[pos] : 0;
      }
    }
  }
  // summarize(): the mean of the entries > -1, summed in COCOeval's loop order.
  double sum = 0;
  size_t n = 0;
  for (int t = 0; t < kT; ++t)
    for (size_t k = 0; k < K; ++k)
      for (int r = 0; r < kR; ++r) {
        double v = q[(size_t(t) * K + k) * kR + r];
        if (v > -1) {
          sum += v;
          ++n;
        }
      }
  return n == 0 ? -1 : sum / double(n);
}

} // namespace qtune::metrics
