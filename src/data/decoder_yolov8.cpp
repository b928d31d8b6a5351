// YOLOv8 (anchor-free, no objectness) export decode: [B, 4 + C, N] (Ultralytics'
// layout: one column per anchor point) or [B, N, 4 + C]; rows cx, cy, w, h in input
// pixels (the export already applied the distribution and the grid) and C class scores.
#include "data/decoders_impl.h"
#include "data/yaml_util.h"

namespace qtune::data {

namespace {

class Yolov8Decoder : public DetectionDecoder {
public:
  bool channels_first = true, apply_sigmoid = false, multi_label = true;
  NmsSettings nms{0.001f, 0.7f, 300}; // Ultralytics' val settings
  ClassMap classes;

  std::vector<Detection> decode(std::span<const Tensor> outputs, std::span<const std::string>,
                                int b, int64_t image_id, const Geometry &geo) const override {
    if (outputs.empty())
      throw InputError("yolov8 decoder: the model has no outputs");
    const Tensor &t = outputs[0];
    const float *p = f32_data(t, 3, "yolov8 decoder: output 0");
    // Values of one box are `step` apart; boxes are `next` apart.
    const int64_t vals = channels_first ? t.dim(1) : t.dim(2),
                  n = channels_first ? t.dim(2) : t.dim(1);
    const int64_t step = channels_first ? n : 1, next = channels_first ? 1 : vals;
    if (vals < 5 || b >= t.dim(0))
      throw InputError("yolov8 decoder: output 0 has shape " + shape_str(t.shape()) +
                       ", expected " +
                       (channels_first ? "[batch, 4 + classes, boxes] (layout: channels_first)"
                                       : "[batch, boxes, 4 + classes] (layout: channels_last)"));
    p += int64_t(b) * vals * n;
    std::vector<BoxCandidate> cands;
    const ScoreOptions o{nms.score_threshold, multi_label, apply_sigmoid};
    for (int64_t i = 0; i < n; ++i, p += next) {
      float cx = p[0], cy = p[step], w = p[2 * step], h = p[3 * step];
      add_box_scores(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, 1.f, p + 4 * step, step,
                     vals - 4, o, cands);
    }
    return finish_detections(std::move(cands), nms, image_id, geo, classes);
  }
  std::string name() const override { return "yolov8"; }
};

} // namespace

std::unique_ptr<DetectionDecoder> make_yolov8_decoder(const YAML::Node &n, const std::string &at) {
  yaml::check_keys(n, at, "decoder.yolov8");
  auto d = std::make_unique<Yolov8Decoder>();
  std::string layout = yaml::get<std::string>(n, "layout", at, "channels_first");
  if (layout != "channels_first" && layout != "channels_last")
    yaml::fail(at + ".layout", "expected channels_first ([1, 4 + C, N]) or channels_last "
                               "([1, N, 4 + C]), got '" +
                                   layout + "'");
  d->channels_first = layout == "channels_first";
  d->apply_sigmoid = yaml::get<bool>(n, "sigmoid", at, false);
  d->nms = read_nms(n, at, d->nms);
  d->multi_label = yaml::get<bool>(n, "multi_label", at, true);
  d->classes = read_class_map(n, at, "coco80");
  return d;
}

} // namespace qtune::data
