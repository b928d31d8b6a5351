// A COCO results (detections) JSON against a fixed two-image ground truth,
// evaluated for boxes and for masks (RLE and polygon decoding, IoU, matching).
#include "data/coco.h"
#include "fuzz_util.h"
#include "metrics/coco_eval.h"

namespace {
const char *kGroundTruth = R"({
 "images": [{"id": 1, "file_name": "a.jpg", "width": 16, "height": 12},
            {"id": 2, "file_name": "b.jpg", "width": 8, "height": 8}],
 "categories": [{"id": 1, "name": "a"}, {"id": 3, "name": "b"}],
 "annotations": [
  {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 6, 5], "area": 30, "iscrowd": 0,
   "segmentation": [[1, 1, 7, 1, 7, 6, 1, 6]]},
  {"id": 2, "image_id": 2, "category_id": 3, "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 1,
   "segmentation": {"size": [8, 8], "counts": [0, 4, 4, 4, 4, 4, 4, 4, 36]}}]})";
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace qtune;
  static const coco::Dataset gt = [] {
    coco::Dataset d = coco::parse_coco(kGroundTruth, "gt.json");
    d.build_index();
    return d;
  }();
  return fuzz::expect_clean([&] {
    auto results = metrics::load_results(gt, fuzz::as_view(data, size), "d.json");
    metrics::coco_evaluate(gt, results, metrics::IouType::bbox);
    metrics::coco_evaluate(gt, results, metrics::IouType::segm);
  });
}
