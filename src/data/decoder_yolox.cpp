// YOLOX head decode: anchors on stride grids, boxes relative to their cell.
#include <cmath>

#include "data/decoders_impl.h"
#include "data/yaml_util.h"

namespace qtune::data {

namespace {

class YoloxDecoder : public DetectionDecoder {
public:
  std::vector<int> strides{8, 16, 32};
  float score_threshold = 0.01f, nms_iou = 0.65f;
  size_t max_detections = 100;
  ClassMap classes;

  std::vector<Detection> decode(std::span<const Tensor> outputs, std::span<const std::string>,
                                int b, int64_t image_id, const Geometry &geo) const override {
    if (outputs.empty())
      throw InputError("yolox decoder: the model has no outputs");
    const Tensor &out = outputs[0];
    const float *data = f32_data(out, 3, "yolox decoder: output 0");
    const int64_t anchors = out.dim(1), stride_len = out.dim(2), num_classes = stride_len - 5;
    if (num_classes < 1)
      throw InputError("yolox decoder: output shape " + shape_str(out.shape()) +
                       " has no class scores (expected [N, anchors, 5 + classes])");
    int64_t expected = 0;
    for (int s : strides)
      expected += int64_t(geo.input_height / s) * (geo.input_width / s);
    if (expected != anchors)
      throw InputError("yolox decoder: output has " + std::to_string(anchors) +
                       " anchors but strides on a " + std::to_string(geo.input_width) + "x" +
                       std::to_string(geo.input_height) + " input give " +
                       std::to_string(expected));
    const float *p = data + int64_t(b) * anchors * stride_len;
    std::vector<BoxCandidate> cands;
    for (int s : strides) {
      const int gh = geo.input_height / s, gw = geo.input_width / s;
      for (int gy = 0; gy < gh; ++gy)
        for (int gx = 0; gx < gw; ++gx, p += stride_len) {
          float obj = p[4];
          if (obj <= score_threshold)
            continue; // score = obj * cls <= obj
          float cx = (p[0] + gx) * s, cy = (p[1] + gy) * s;
          float w = std::exp(p[2]) * s, h = std::exp(p[3]) * s;
          for (int c = 0; c < num_classes; ++c) {
            float score = obj * p[5 + c];
            if (score > score_threshold)
              cands.push_back({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, c});
          }
        }
    }
    return to_detections(nms_per_class(std::move(cands), nms_iou, max_detections), image_id, geo,
                         classes);
  }
  std::string name() const override { return "yolox"; }
};

} // namespace

std::unique_ptr<DetectionDecoder> make_yolox_decoder(const YAML::Node &n, const std::string &at) {
  yaml::check_keys(n, at, "decoder.yolox");
  auto d = std::make_unique<YoloxDecoder>();
  d->strides = yaml::get<std::vector<int>>(n, "strides", at, d->strides);
  for (int s : d->strides)
    if (s <= 0)
      yaml::fail(at + ".strides", "strides must be positive");
  d->score_threshold = read_threshold(n, "score_threshold", at, d->score_threshold);
  d->nms_iou = read_threshold(n, "nms_iou", at, d->nms_iou);
  d->max_detections = read_max_detections(n, at, d->max_detections);
  d->classes = read_class_map(n, at, "coco80");
  return d;
}

} // namespace qtune::data
