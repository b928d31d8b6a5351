#pragma once
// COCO detection data and scoring for programs that run their own evaluation
// loop (the seed's infer_detections): images as uint8 tensors, and the COCO
// bbox numbers exactly as pycocotools computes them.
//
//   qtune::CocoDetectionSet val("../shared/data/coco/val2017_241");
//   auto img = val.image(0);                 // uint8 [1,H,W,3] RGB + id and size
//   ... run the model, collect qtune::Detection in original-image pixels ...
//   double ap = val.evaluate(dets, std::vector<int64_t>{1, 17, 18})[0];
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "qtune/metric.h"
#include "qtune/tensor.h"

namespace qtune {

class CocoDetectionSet {
public:
  // `location`: a COCO folder (annotations/instances_<name>.json and the image
  // folder <name>/ beside it) or an Object Detection API TFRecord file. With
  // `limit` > 0 only the first `limit` images are used and scored.
  explicit CocoDetectionSet(const std::string &location, size_t limit = 0);
  ~CocoDetectionSet();
  CocoDetectionSet(const CocoDetectionSet &) = delete;
  CocoDetectionSet &operator=(const CocoDetectionSet &) = delete;

  size_t size() const;
  std::string describe() const;

  struct Image {
    int64_t id = 0; // COCO image id
    int width = 0, height = 0;
    Tensor pixels; // uint8 [1, height, width, 3], RGB
  };
  // Decodes image i (thread safe).
  Image image(size_t i) const;

  // The 12 COCO bbox numbers (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100,
  // ARs, ARm, ARl) of `detections` (original-image pixels) on this set. With
  // `category_ids`, only those categories' ground truth and detections count
  // (pycocotools' params.catIds); detections of categories the ground truth does
  // not list are left out.
  std::array<double, 12> evaluate(std::span<const Detection> detections,
                                  std::span<const int64_t> category_ids = {}) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A uint8 image [1,H,W,C] resized to [1,height,width,C] as TensorFlow 1.x
// ResizeBilinear does with align_corners=False and half_pixel_centers=False (the
// Object Detection API's fixed_shape_resizer), rounded half up to uint8.
Tensor resize_bilinear_tf1(const Tensor &image, int height, int width);

} // namespace qtune
