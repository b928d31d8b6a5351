#pragma once
// Detection decoders: model outputs -> COCO-style detections in original-image
// pixels. Chosen and parameterised by the `postprocess` YAML section:
//
// postprocess:                       # exactly one of:
//   yolox: {strides: [8, 16, 32], score_threshold: 0.01, nms_iou: 0.65, max_detections: 100,
//           class_map: coco80}
//     output [1, A, 5+C]: per anchor cx, cy, w, h (grid-relative), objectness, C class
//     scores (already sigmoid); grids of input/stride cells, row-major, per stride.
//   tf_object_detection: {score_threshold: 0.0, max_detections: 100, label_offset: 0,
//                         label_map: {1: 1, 2: 17, 3: 18} | FILE}
//     outputs num_detections [B], detection_boxes [B,N,4] normalized ymin,xmin,ymax,xmax
//     of the model input (mapped back to original-image pixels), detection_scores
//     [B,N], detection_classes [B,N] (found by name, else in the order boxes, classes,
//     scores, num_detections); the first num_detections rows count. Classes are COCO
//     ids (+ label_offset) for the 90-class COCO models, or go through label_map
//     (model class id -> COCO category id, inline or a YAML/JSON file of that
//     mapping); classes the map leaves out are dropped.
//   boxes_scores_classes: {score_threshold: 0.0, max_detections: 100, normalized: false,
//                          nms_iou: 1.0, class_map: coco80}
//     output [1, N, 6]: x1, y1, x2, y2 (input pixels, or 0..1 if normalized), score,
//     class index (e.g. CenterNet).
//   ssd: {variances: [0.1, 0.2], priors: {strides: [...], min_sizes: [[...], ...]},
//         score_threshold: 0.3, nms_iou: 0.45, max_detections: 200, background: true,
//         class_map: none | coco80, scores: softmax | sigmoid | probabilities}
//     outputs box deltas [1, P, 4] (dx, dy, dw, dh) and class scores [1, P, C] against
//     prior boxes built for the model input size (center-size, one per min_size per cell).
//   gfl: {strides: [8, 16, 32], reg_max: 7, center: half_minus_one, scores: probabilities,
//         score_threshold: 0.05, nms_iou: 0.6, max_detections: 100, pre_nms_top_k: 1000,
//         class_map: coco80}                                     (decoder_gfl.cpp)
//     GFL / NanoDet: per level [cells, C] class scores and [cells, 4 * (reg_max + 1)]
//     box bins (found by shape, any order; batch axis optional), or one
//     [1, cells, C + 4 * (reg_max + 1)] (NanoDet-Plus export). Side distance = stride *
//     expected bin of softmax(bins); cell centre x * s + (s - 1) / 2 (half_minus_one,
//     NanoDet v0.1 / NanoDet-m), + s / 2 (half) or + 0 (zero, NanoDet-Plus); boxes
//     clipped to the input and then to the image; top pre_nms_top_k cells per level.
//   yolov5: {strides: [8, 16, 32], anchors: [[10,13, 16,30, 33,23], [30,61, ...], [...]],
//            decoded: false, sigmoid: !decoded, score_threshold: 0.001, nms_iou: 0.6,
//            max_detections: 300, multi_label: true, class_map: coco80}  (decoder_yolov5.cpp)
//     raw head outputs per stride, [1, A, H, W, 5+C] or the conv's [1, A*(5+C), H, W]:
//     xy = (2 sigmoid(t) - 0.5 + cell) * stride, wh = (2 sigmoid(t))^2 * anchor (pixels);
//     decoded: true for exports giving [1, N, 5+C] cx, cy, w, h (input pixels), obj, classes.
//     score = obj * class; multi_label: every class above the threshold, else the best.
//   yolov8: {layout: channels_first, sigmoid: false, score_threshold: 0.001, nms_iou: 0.7,
//            max_detections: 300, multi_label: true, class_map: coco80}  (decoder_yolov8.cpp)
//     [1, 4+C, N] (channels_first, Ultralytics) or [1, N, 4+C]: cx, cy, w, h in input
//     pixels and C class scores, no objectness.
//   tf_ssd: {anchor_generator: {num_layers: 6, min_scale: 0.2, max_scale: 0.95,
//              aspect_ratios: [1, 2, 0.5, 3, 0.3333], interpolated_scale_aspect_ratio: 1,
//              reduce_boxes_in_lowest_layer: true, base_anchor_height: 1, base_anchor_width: 1,
//              feature_map_sizes: [[19, 19], ...]},
//            box_coder: {y_scale: 10, x_scale: 10, height_scale: 5, width_scale: 5},
//            scores: sigmoid, logit_scale: 1, score_threshold: 1e-8, nms_iou: 0.6,
//            max_detections: 100, label_map: {...}}     (decoder_tf_ssd.cpp)
//     TF OD API SSD raw box predictor: encodings [1, N, 4] (ty, tx, th, tw) against the
//     multiple-grid anchors (ssd_anchor_generator.h) and class predictions [1, N, 1+K]
//     (background at 0); detections are 1-based labels (COCO ids for COCO models) or
//     go through label_map.
// class_map: coco80 maps contiguous 0..79 to COCO ids 1..90; none keeps index (+1 if
// the set has a background class at 0).
// NMS is per class (greedy, IoU > nms_iou suppresses), then the top max_detections
// by score are kept. Boxes are mapped back through the preprocessing Geometry.
#include <memory>
#include <span>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

#include "data/transforms.h"
#include "qtune/metric.h"
#include "qtune/tensor.h"

namespace qtune::data {

// COCO category id of contiguous class index 0..79 (the 80 classes in id order).
int64_t coco80_to_coco91(int index);

struct BoxCandidate {
  float x1, y1, x2, y2; // model-input pixels
  float score;
  int cls; // contiguous class index
};

// Greedy per-class NMS (IoU > iou_threshold suppresses), then top `max_keep` by score.
std::vector<BoxCandidate> nms_per_class(std::vector<BoxCandidate> boxes, float iou_threshold,
                                        size_t max_keep);

class DetectionDecoder {
public:
  virtual ~DetectionDecoder() = default;
  // `outputs`/`names`: the model's outputs for one batch; `b`: which batch item.
  virtual std::vector<Detection> decode(std::span<const Tensor> outputs,
                                        std::span<const std::string> names, int b, int64_t image_id,
                                        const Geometry &geo) const = 0;
  virtual std::string name() const = 0;
};

// `node` is the `postprocess` mapping; `where` names it in errors.
std::unique_ptr<DetectionDecoder>
make_decoder(const YAML::Node &node, const std::string &where = "evaluation.accuracy.postprocess");

} // namespace qtune::data
