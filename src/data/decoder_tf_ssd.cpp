// TensorFlow Object Detection API SSD head decode from the raw box predictor
// outputs: box encodings [1, N, 4] (or [1, N, 1, 4]) of ty, tx, th, tw against the
// multiple-grid anchors (ssd_anchor_generator.h), Faster R-CNN box coder with scale
// factors (y, x, h, w = 10, 10, 5, 5): centre = t / scale * anchor size + anchor
// centre, size = exp(t / scale) * anchor size; class predictions [1, N, 1 + K]
// with the background at 0, converted by sigmoid (or softmax) after logit_scale.
#include <cmath>

#include "data/decoders_impl.h"
#include "data/ssd_anchor_generator.h"
#include "data/yaml_util.h"

namespace qtune::data {

namespace {

class TfSsdDecoder : public DetectionDecoder {
public:
  SsdAnchorConfig anchors;
  float scale_y = 10, scale_x = 10, scale_h = 5, scale_w = 5, logit_scale = 1;
  std::string scores = "sigmoid";
  NmsSettings nms{1e-8f, 0.6f, 100};    // the API's SSD configs
  std::map<int64_t, int64_t> label_map; // 1-based label -> COCO id; empty: the label
  ClassMap classes{false, 1};

  std::vector<Detection> decode(std::span<const Tensor> outputs, std::span<const std::string>,
                                int b, int64_t image_id, const Geometry &geo) const override {
    if (outputs.size() < 2)
      throw InputError("tf_ssd decoder: expected box encodings [1,N,4] and class predictions "
                       "[1,N,1+K]");
    // The box encodings have 4 values per anchor; when both have 4 (3 classes), output order.
    int bi = outputs[0].dim(outputs[0].rank() - 1) == 4 ? 0 : 1, ci = 1 - bi;
    const Tensor &bt = outputs[bi], &ct = outputs[ci];
    const float *enc = f32_data(bt, static_cast<int>(bt.rank()), "tf_ssd decoder: box encodings");
    const float *cls = f32_data(ct, 3, "tf_ssd decoder: class predictions");
    std::vector<Anchor> a = generate_ssd_anchors(anchors, geo.input_height, geo.input_width);
    const int64_t n = ct.dim(1), k = ct.dim(2);
    if (bt.numel() != bt.dim(0) * n * 4 || n != int64_t(a.size()) || k < 2 || b >= ct.dim(0))
      throw InputError("tf_ssd decoder: outputs " + shape_str(bt.shape()) + " and " +
                       shape_str(ct.shape()) + " do not fit the " + std::to_string(a.size()) +
                       " anchors of the anchor_generator for a " + std::to_string(geo.input_width) +
                       "x" + std::to_string(geo.input_height) + " input");
    enc += int64_t(b) * n * 4;
    cls += int64_t(b) * n * k;
    std::vector<BoxCandidate> cands;
    std::vector<float> prob(k);
    const float in_h = float(geo.input_height), in_w = float(geo.input_width);
    for (int64_t i = 0; i < n; ++i, enc += 4, cls += k) {
      probabilities(cls, prob);
      const Anchor &an = a[i];
      float cy = enc[0] / scale_y * an.h + an.cy, cx = enc[1] / scale_x * an.w + an.cx;
      float h = std::exp(enc[2] / scale_h) * an.h, w = std::exp(enc[3] / scale_w) * an.w;
      // Clipped to the image window [0, 1] before NMS, as the API's post-processing.
      float y1 = std::clamp(cy - h / 2, 0.f, 1.f) * in_h,
            x1 = std::clamp(cx - w / 2, 0.f, 1.f) * in_w;
      float y2 = std::clamp(cy + h / 2, 0.f, 1.f) * in_h,
            x2 = std::clamp(cx + w / 2, 0.f, 1.f) * in_w;
      for (int64_t c = 1; c < k; ++c)
        if (prob[c] > nms.score_threshold && (label_map.empty() || label_map.count(c)))
          cands.push_back({x1, y1, x2, y2, prob[c], static_cast<int>(c - 1)});
    }
    auto dets = finish_detections(std::move(cands), nms, image_id, geo, classes);
    if (!label_map.empty())
      for (Detection &d : dets)
        d.category_id = label_map.at(d.category_id);
    return dets;
  }
  std::string name() const override { return "tf_ssd"; }

private:
  void probabilities(const float *s, std::vector<float> &p) const {
    const size_t k = p.size();
    if (scores == "softmax") {
      float mx = s[0] / logit_scale, sum = 0;
      for (size_t c = 1; c < k; ++c)
        mx = std::max(mx, s[c] / logit_scale);
      for (size_t c = 0; c < k; ++c)
        sum += p[c] = std::exp(s[c] / logit_scale - mx);
      for (float &v : p)
        v /= sum;
    } else {
      for (size_t c = 0; c < k; ++c)
        p[c] = 1.f / (1.f + std::exp(-s[c] / logit_scale));
    }
  }
};

} // namespace

std::unique_ptr<DetectionDecoder> make_tf_ssd_decoder(const YAML::Node &n, const std::string &at) {
  yaml::check_keys(n, at, "decoder.tf_ssd");
  auto d = std::make_unique<TfSsdDecoder>();
  if (!n || !n.IsMap() || !n["anchor_generator"])
    yaml::fail(at + ".anchor_generator", "required key is missing (ssd_anchor_generator of "
                                         "pipeline.config + feature_map_sizes)");
  d->anchors = read_ssd_anchor_config(n["anchor_generator"], at + ".anchor_generator");
  if (const YAML::Node c = n["box_coder"]) {
    std::string w = at + ".box_coder";
    yaml::check_keys(c, w, "decoder.tf_ssd.box_coder");
    d->scale_y = yaml::get<float>(c, "y_scale", w, d->scale_y);
    d->scale_x = yaml::get<float>(c, "x_scale", w, d->scale_x);
    d->scale_h = yaml::get<float>(c, "height_scale", w, d->scale_h);
    d->scale_w = yaml::get<float>(c, "width_scale", w, d->scale_w);
    for (float s : {d->scale_y, d->scale_x, d->scale_h, d->scale_w})
      if (!(s > 0))
        yaml::fail(w, "scale factors must be positive");
  }
  d->scores = yaml::get<std::string>(n, "scores", at, "sigmoid");
  if (d->scores != "sigmoid" && d->scores != "softmax")
    yaml::fail(at + ".scores",
               "expected sigmoid or softmax (the score_converter), got '" + d->scores + "'");
  d->logit_scale = yaml::get<float>(n, "logit_scale", at, 1.f);
  if (!(d->logit_scale > 0))
    yaml::fail(at + ".logit_scale", "must be positive");
  d->nms = read_nms(n, at, d->nms);
  if (n["label_map"])
    d->label_map = read_label_map(n["label_map"], at + ".label_map");
  return d;
}

} // namespace qtune::data
