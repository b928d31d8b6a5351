// SSD-style decode: per-prior box deltas (center-size encoding with variances)
// and class scores, then per-class NMS.
#include <cmath>

#include "data/decoders_impl.h"
#include "data/yaml_util.h"

namespace qtune::data {

namespace {

struct Prior {
  float cx, cy, w, h; // input pixels
};

class SsdDecoder : public DetectionDecoder {
public:
  std::vector<int> strides;
  std::vector<std::vector<float>> min_sizes; // per stride: square prior sizes (pixels)
  float var_center = 0.1f, var_size = 0.2f;
  float score_threshold = 0.3f, nms_iou = 0.45f;
  size_t max_detections = 200;
  bool background = true; // class 0 is background
  std::string scores = "probabilities";
  ClassMap classes;

  std::vector<Prior> priors(int in_w, int in_h) const {
    std::vector<Prior> p;
    for (size_t k = 0; k < strides.size(); ++k) {
      int s = strides[k];
      int gw = (in_w + s - 1) / s, gh = (in_h + s - 1) / s;
      for (int y = 0; y < gh; ++y)
        for (int x = 0; x < gw; ++x)
          for (float m : min_sizes[k])
            p.push_back({(x + 0.5f) * s, (y + 0.5f) * s, m, m});
    }
    return p;
  }

  std::vector<Detection> decode(std::span<const Tensor> outputs, std::span<const std::string>,
                                int b, int64_t image_id, const Geometry &geo) const override {
    if (outputs.size() < 2)
      throw InputError("ssd decoder: expected outputs box deltas [N,P,4] and scores [N,P,C]");
    // Whichever output has last dim 4 is the boxes (unless both do).
    int bi = outputs[0].rank() == 3 && outputs[0].dim(2) == 4 ? 0 : 1, si = 1 - bi;
    const float *deltas = f32_data(outputs[bi], 3, "ssd decoder: box deltas");
    const float *sc = f32_data(outputs[si], 3, "ssd decoder: scores");
    std::vector<Prior> pri = priors(geo.input_width, geo.input_height);
    const int64_t np = outputs[bi].dim(1), nc = outputs[si].dim(2);
    if (np != static_cast<int64_t>(pri.size()) || outputs[si].dim(1) != np)
      throw InputError("ssd decoder: model gives " + std::to_string(np) + " boxes but the priors " +
                       "for a " + std::to_string(geo.input_width) + "x" +
                       std::to_string(geo.input_height) + " input number " +
                       std::to_string(pri.size()));
    deltas += int64_t(b) * np * 4;
    sc += int64_t(b) * np * nc;
    std::vector<BoxCandidate> cands;
    std::vector<float> prob(nc);
    for (int64_t i = 0; i < np; ++i) {
      const float *d = deltas + i * 4;
      const float *s = sc + i * nc;
      score_probabilities(s, prob);
      const Prior &a = pri[i];
      float cx = a.cx + d[0] * var_center * a.w, cy = a.cy + d[1] * var_center * a.h;
      float w = a.w * std::exp(d[2] * var_size), h = a.h * std::exp(d[3] * var_size);
      for (int64_t c = background ? 1 : 0; c < nc; ++c)
        if (prob[c] > score_threshold)
          cands.push_back({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, prob[c],
                           static_cast<int>(c - (background ? 1 : 0))});
    }
    return to_detections(nms_per_class(std::move(cands), nms_iou, max_detections), image_id, geo,
                         classes);
  }

  void score_probabilities(const float *s, std::vector<float> &prob) const {
    const size_t nc = prob.size();
    if (scores == "softmax") {
      float mx = s[0], sum = 0;
      for (size_t c = 1; c < nc; ++c)
        mx = std::max(mx, s[c]);
      for (size_t c = 0; c < nc; ++c)
        sum += prob[c] = std::exp(s[c] - mx);
      for (float &v : prob)
        v /= sum;
    } else if (scores == "sigmoid") {
      for (size_t c = 0; c < nc; ++c)
        prob[c] = 1.f / (1.f + std::exp(-s[c]));
    } else {
      std::copy(s, s + nc, prob.begin());
    }
  }
  std::string name() const override { return "ssd"; }
};

} // namespace

std::unique_ptr<DetectionDecoder> make_ssd_decoder(const YAML::Node &n, const std::string &at) {
  yaml::check_keys(n, at, "decoder.ssd");
  auto d = std::make_unique<SsdDecoder>();
  const YAML::Node p = n && n.IsMap() ? n["priors"] : YAML::Node();
  if (!p)
    yaml::fail(at + ".priors", "required key is missing");
  yaml::check_keys(p, at + ".priors", "decoder.ssd.priors");
  d->strides = yaml::get<std::vector<int>>(p, "strides", at + ".priors", {});
  d->min_sizes = yaml::get<std::vector<std::vector<float>>>(p, "min_sizes", at + ".priors", {});
  if (d->strides.empty() || d->strides.size() != d->min_sizes.size())
    yaml::fail(at + ".priors", "needs strides and one min_sizes list per stride");
  auto v = yaml::get_floats(n, "variances", at, {0.1f, 0.2f});
  if (v.size() != 2)
    yaml::fail(at + ".variances", "expected [center, size]");
  d->var_center = v[0];
  d->var_size = v[1];
  d->score_threshold = read_threshold(n, "score_threshold", at, d->score_threshold);
  d->nms_iou = read_threshold(n, "nms_iou", at, d->nms_iou);
  d->max_detections = read_max_detections(n, at, d->max_detections);
  d->background = yaml::get<bool>(n, "background", at, true);
  d->scores = yaml::get<std::string>(n, "scores", at, "probabilities");
  if (d->scores != "softmax" && d->scores != "sigmoid" && d->scores != "probabilities")
    yaml::fail(at + ".scores", "expected softmax, sigmoid or probabilities");
  d->classes = read_class_map(n, at, "none");
  d->classes.offset = d->background ? 1 : 0;
  return d;
}

} // namespace qtune::data
