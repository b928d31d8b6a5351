// YOLOv5 head decode: per stride level and anchor, tx, ty, tw, th, objectness and
// class scores. Raw head outputs use v5's grid formula, xy = (2 * sigmoid(t) - 0.5 +
// cell) * stride and wh = (2 * sigmoid(t))^2 * anchor; exports that already decoded
// the boxes give [B, N, 5 + C] rows of cx, cy, w, h (input pixels), obj, classes.
#include <cmath>

#include "data/decoders_impl.h"
#include "data/yaml_util.h"

namespace qtune::data {

namespace {

float sigmoid(float v) {
  return 1.f / (1.f + std::exp(-v));
}

class Yolov5Decoder : public DetectionDecoder {
public:
  std::vector<int> strides{8, 16, 32};
  std::vector<std::vector<float>> anchors{
      {10, 13, 16, 30, 33, 23}, {30, 61, 62, 45, 59, 119}, {116, 90, 156, 198, 373, 326}};
  bool decoded = false, apply_sigmoid = true, multi_label = true;
  NmsSettings nms{0.001f, 0.6f, 300}; // Ultralytics' val settings
  ClassMap classes;

  std::vector<Detection> decode(std::span<const Tensor> outputs, std::span<const std::string>,
                                int b, int64_t image_id, const Geometry &geo) const override {
    if (outputs.empty())
      throw InputError("yolov5 decoder: the model has no outputs");
    std::vector<BoxCandidate> cands;
    if (decoded)
      decode_rows(outputs[0], b, cands);
    else
      for (size_t l = 0; l < strides.size(); ++l)
        decode_level(find_level(outputs, l, geo), l, b, cands);
    return finish_detections(std::move(cands), nms, image_id, geo, classes);
  }
  std::string name() const override { return "yolov5"; }

private:
  ScoreOptions score_options() const { return {nms.score_threshold, multi_label, apply_sigmoid}; }

  // [B, N, 5 + C], boxes already in input pixels.
  void decode_rows(const Tensor &t, int b, std::vector<BoxCandidate> &out) const {
    const float *p = f32_data(t, 3, "yolov5 decoder: output 0 (decoded boxes)");
    const int64_t n = t.dim(1), cols = t.dim(2);
    if (cols < 6 || b >= t.dim(0))
      throw InputError("yolov5 decoder: output 0 has shape " + shape_str(t.shape()) +
                       ", expected [batch, boxes, 5 + classes] (decoded: true)");
    p += int64_t(b) * n * cols;
    for (int64_t i = 0; i < n; ++i, p += cols) {
      float obj = apply_sigmoid ? sigmoid(p[4]) : p[4];
      add_box_scores(p[0] - p[2] / 2, p[1] - p[3] / 2, p[0] + p[2] / 2, p[1] + p[3] / 2, obj, p + 5,
                     1, cols - 5, score_options(), out);
    }
  }

  // One level's raw output: [B, A, H, W, 5 + C] or the conv's [B, A * (5 + C), H, W].
  const Tensor &find_level(std::span<const Tensor> outputs, size_t l, const Geometry &geo) const {
    const int s = strides[l];
    const int64_t gh = (geo.input_height + s - 1) / s, gw = (geo.input_width + s - 1) / s;
    for (const Tensor &t : outputs) {
      bool r5 = t.rank() == 5 && t.dim(2) == gh && t.dim(3) == gw;
      bool r4 = t.rank() == 4 && t.dim(2) == gh && t.dim(3) == gw;
      if (r5 || r4)
        return t;
    }
    std::string shapes;
    for (const Tensor &t : outputs)
      shapes += " " + shape_str(t.shape());
    throw InputError("yolov5 decoder: no output is a " + std::to_string(gh) + "x" +
                     std::to_string(gw) + " grid for stride " + std::to_string(s) + " of a " +
                     std::to_string(geo.input_width) + "x" + std::to_string(geo.input_height) +
                     " input (outputs:" + shapes +
                     "); expected [1, anchors, H, W, 5 + classes] or [1, anchors * (5 + classes), "
                     "H, W] per stride, or decoded: true for one [1, N, 5 + classes]");
  }

  void decode_level(const Tensor &t, size_t l, int b, std::vector<BoxCandidate> &out) const {
    const int64_t na = int64_t(anchors[l].size() / 2);
    const int64_t gh = t.dim(2), gw = t.dim(3), cells = gh * gw;
    const float *p = f32_data(t, static_cast<int>(t.rank()),
                              "yolov5 decoder: stride " + std::to_string(strides[l]));
    // no = 5 + C values per anchor; rank 5 keeps them last, rank 4 (NCHW) strides by cells.
    const int64_t no = t.rank() == 5 ? t.dim(4) : (t.dim(1) % na == 0 ? t.dim(1) / na : 0);
    if (no < 6 || (t.rank() == 5 && t.dim(1) != na) || b >= t.dim(0))
      throw InputError("yolov5 decoder: stride " + std::to_string(strides[l]) + " output " +
                       shape_str(t.shape()) + " does not hold " + std::to_string(na) +
                       " anchors x (5 + classes)");
    const int64_t step = t.rank() == 5 ? 1 : cells; // between one anchor's values
    p += int64_t(b) * na * no * cells;
    const float s = float(strides[l]);
    std::vector<float> v(no);
    for (int64_t a = 0; a < na; ++a)
      for (int64_t c = 0; c < cells; ++c) {
        const float *q = t.rank() == 5 ? p + (a * cells + c) * no : p + a * no * cells + c;
        for (int64_t k = 0; k < no; ++k)
          v[k] = apply_sigmoid ? sigmoid(q[k * step]) : q[k * step];
        float cx = (2 * v[0] - 0.5f + float(c % gw)) * s;
        float cy = (2 * v[1] - 0.5f + float(c / gw)) * s;
        float w = 4 * v[2] * v[2] * anchors[l][2 * a], h = 4 * v[3] * v[3] * anchors[l][2 * a + 1];
        ScoreOptions o = score_options();
        o.sigmoid = false; // done above
        add_box_scores(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, v[4], v.data() + 5, 1,
                       no - 5, o, out);
      }
  }
};

} // namespace

std::unique_ptr<DetectionDecoder> make_yolov5_decoder(const YAML::Node &n, const std::string &at) {
  yaml::check_keys(n, at, "decoder.yolov5");
  auto d = std::make_unique<Yolov5Decoder>();
  d->decoded = yaml::get<bool>(n, "decoded", at, false);
  // Raw heads end in the conv (logits); decoded exports have applied sigmoid already.
  d->apply_sigmoid = yaml::get<bool>(n, "sigmoid", at, !d->decoded);
  d->strides = yaml::get<std::vector<int>>(n, "strides", at, d->strides);
  d->anchors = yaml::get<std::vector<std::vector<float>>>(n, "anchors", at, d->anchors);
  if (d->strides.empty())
    yaml::fail(at + ".strides", "needs at least one stride");
  for (int s : d->strides)
    if (s <= 0)
      yaml::fail(at + ".strides", "strides must be positive");
  if (d->anchors.size() != d->strides.size())
    yaml::fail(at + ".anchors", "needs one list of anchors per stride (" +
                                    std::to_string(d->strides.size()) + "), got " +
                                    std::to_string(d->anchors.size()));
  for (const auto &a : d->anchors)
    if (a.empty() || a.size() % 2 != 0)
      yaml::fail(at + ".anchors", "each stride's anchors are w, h pairs in input pixels");
  d->nms = read_nms(n, at, d->nms);
  d->multi_label = yaml::get<bool>(n, "multi_label", at, true);
  d->classes = read_class_map(n, at, "coco80");
  return d;
}

} // namespace qtune::data
