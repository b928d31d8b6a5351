#pragma once
/// @file
/// Detection decoders: a detector's raw outputs -> qtune::Detection values in
/// original-image pixels (what qtune::CocoMAP scores). The same decoders as the
/// YAML `postprocess` section: yolox, yolov5, yolov8, gfl (NanoDet), ssd,
/// tf_ssd, tf_object_detection, boxes_scores_classes.
///
///     qtune::DetectionDecoder yolox(
///         "yolox: {strides: [8, 16, 32], score_threshold: 0.01, nms_iou: 0.65}");
///     auto dets = yolox.decode(outputs, model.output_names(), sample);
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "qtune/data.h"
#include "qtune/metric.h"
#include "qtune/tensor.h"

namespace qtune {

class DetectionDecoder {
public:
  /// `yaml`: the `postprocess` mapping with exactly one decoder key and its
  /// parameters. InputError naming the key on a bad parameter.
  explicit DetectionDecoder(const std::string &yaml);
  ~DetectionDecoder();
  DetectionDecoder(const DetectionDecoder &);
  DetectionDecoder &operator=(const DetectionDecoder &);

  /// Detections of batch item `batch_index` of one run: `outputs` in the order
  /// of `output_names` (decoders that need several outputs find them by name),
  /// mapped back to the original image through `sample.geometry`, with
  /// `sample.image_id`.
  std::vector<Detection> decode(std::span<const Tensor> outputs,
                                std::span<const std::string> output_names,
                                const InputSample &sample, int batch_index = 0) const;
  std::string name() const; ///< "yolox", "ssd", ...

private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

} // namespace qtune
