#pragma once
// AP@[.5:.95] of COCO per-image matches on any multiset of images (bootstrap
// resamples, shards), prepared once and evaluated many times. Reproduces
// COCOeval.accumulate + summarize (area all, 100 detections) on the dataset in
// which image i appears counts[i] times: images in ascending id order, copies
// adjacent, each copy with the image's own ground truth and detections.
#include <cstdint>
#include <span>
#include <vector>

#include "metrics/sample_results.h"

namespace qtune::metrics {

class CocoResample {
public:
  CocoResample(std::span<const CocoImageMatches> images, int32_t num_categories);
  // counts[i]: how often images[i] is drawn (0: left out).
  double ap(std::span<const uint32_t> counts) const;

private:
  // One detection in the order COCOeval's stable sort gives the whole set.
  struct Det {
    uint32_t image; // position in the images given to the constructor
    uint16_t tp, fp;
  };
  // Detections of one category in global score order, cut into runs of equal
  // score from one image: a run is what an image's copies repeat back to back.
  struct Category {
    std::vector<Det> dets;
    std::vector<uint32_t> run_end;                 // exclusive ends of the runs, ascending
    std::vector<std::pair<uint32_t, uint32_t>> gt; // (image, non-ignored gts)
  };
  std::vector<Category> categories_;
  size_t num_images_ = 0;
};

} // namespace qtune::metrics
