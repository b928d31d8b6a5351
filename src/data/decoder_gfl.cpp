// GFL head decode (NanoDet): per cell of each stride grid, class scores and four
// side distances (left, top, right, bottom), each a distribution over reg_max + 1
// bins; distance = stride * sum_k k * softmax(bins)_k (distribution focal loss).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/decoders_impl.h"
#include "data/yaml_util.h"

namespace qtune::data {

namespace {

// One output tensor seen as rows x cols for batch item b (rank 2 = no batch axis).
struct View {
  const float *p = nullptr;
  int64_t rows = 0, cols = 0;
  size_t index = 0; // which output
};

// Where a level's class scores and box bins are: row r of the level is at
// p + (first + r) * cols + offset.
struct Part {
  const float *p = nullptr;
  int64_t cols = 0, first = 0, offset = 0;
  const float *row(int64_t r) const { return p + (first + r) * cols + offset; }
};

struct Level {
  int stride = 0, gw = 0, gh = 0;
  Part cls, box;
};

enum class Center { half_minus_one, half, zero };

class GflDecoder : public DetectionDecoder {
public:
  std::vector<int> strides{8, 16, 32};
  int reg_max = 7;
  Center center = Center::half_minus_one;
  bool sigmoid = false;              // class scores are logits (else probabilities)
  NmsSettings nms{0.05f, 0.6f, 100}; // NanoDet's test settings
  size_t pre_nms_top_k = 1000;
  ClassMap classes;

  std::vector<Detection> decode(std::span<const Tensor> outputs, std::span<const std::string>,
                                int b, int64_t image_id, const Geometry &geo) const override {
    int64_t num_classes = 0;
    std::vector<Level> levels = locate(outputs, b, geo, num_classes);
    std::vector<BoxCandidate> cands;
    for (const Level &l : levels)
      decode_level(l, num_classes, geo, cands);
    return finish_detections(std::move(cands), nms, image_id, geo, classes);
  }
  std::string name() const override { return "gfl"; }

private:
  int64_t box_cols() const { return 4 * int64_t(reg_max + 1); }

  std::vector<Level> grids(const Geometry &geo) const {
    std::vector<Level> levels;
    for (int s : strides) // NanoDet sizes its grids with ceil(input / stride)
      levels.push_back({s, (geo.input_width + s - 1) / s, (geo.input_height + s - 1) / s, {}, {}});
    return levels;
  }

  static std::vector<View> views(std::span<const Tensor> outputs, int b) {
    std::vector<View> v;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor &t = outputs[i];
      std::string what = "gfl decoder: output " + std::to_string(i);
      if (t.rank() != 2 && t.rank() != 3)
        throw InputError(what + ": expected [cells, columns] or [batch, cells, columns], got " +
                         shape_str(t.shape()));
      const float *p = f32_data(t, static_cast<int>(t.rank()), what);
      int64_t batch = t.rank() == 3 ? t.dim(0) : 1;
      if (b >= batch)
        throw InputError(what + ": shape " + shape_str(t.shape()) + " has no batch item " +
                         std::to_string(b));
      int64_t rows = t.dim(t.rank() - 2), cols = t.dim(t.rank() - 1);
      v.push_back({p + int64_t(b) * rows * cols, rows, cols, i});
    }
    return v;
  }

  std::vector<Level> locate(std::span<const Tensor> outputs, int b, const Geometry &geo,
                            int64_t &num_classes) const {
    std::vector<Level> levels = grids(geo);
    std::vector<View> v = views(outputs, b);
    int64_t total = 0;
    for (const Level &l : levels)
      total += int64_t(l.gw) * l.gh;
    if (v.size() == 1) { // [cells, classes + 4 * (reg_max + 1)], classes first
      num_classes = v[0].cols - box_cols();
      if (v[0].rows != total || num_classes < 1)
        throw InputError(layout_error(outputs, geo, total));
      int64_t first = 0;
      for (Level &l : levels) {
        l.cls = {v[0].p, v[0].cols, first, 0};
        l.box = {v[0].p, v[0].cols, first, num_classes};
        first += int64_t(l.gw) * l.gh;
      }
      return levels;
    }
    // Separate class and box tensors (told apart by width), either one per level
    // (matched by cell count, in output order) or each covering all levels.
    std::vector<View> cls, box;
    for (const View &x : v)
      (x.cols == box_cols() ? box : cls).push_back(x);
    num_classes = cls.empty() ? 0 : cls[0].cols;
    for (const View &x : cls)
      if (x.cols != num_classes)
        throw InputError(layout_error(outputs, geo, total));
    if (!assign(cls, levels, total, &Level::cls) || !assign(box, levels, total, &Level::box))
      throw InputError(layout_error(outputs, geo, total));
    return levels;
  }

  // Gives each level a part of `parts`; false when the shapes do not fit.
  static bool assign(const std::vector<View> &parts, std::vector<Level> &levels, int64_t total,
                     Part Level::*which) {
    if (parts.size() == 1 && parts[0].rows == total) {
      int64_t first = 0;
      for (Level &l : levels) {
        l.*which = {parts[0].p, parts[0].cols, first, 0};
        first += int64_t(l.gw) * l.gh;
      }
      return true;
    }
    if (parts.size() != levels.size())
      return false;
    std::vector<bool> used(parts.size(), false);
    for (Level &l : levels) {
      size_t k = 0;
      while (k < parts.size() && (used[k] || parts[k].rows != int64_t(l.gw) * l.gh))
        ++k;
      if (k == parts.size())
        return false;
      used[k] = true;
      l.*which = {parts[k].p, parts[k].cols, 0, 0};
    }
    return true;
  }

  std::string layout_error(std::span<const Tensor> outputs, const Geometry &geo,
                           int64_t total) const {
    std::string shapes;
    for (const Tensor &t : outputs)
      shapes += (shapes.empty() ? "" : ", ") + shape_str(t.shape());
    std::string cells;
    for (const Level &l : grids(geo))
      cells += (cells.empty() ? "" : "+") + std::to_string(int64_t(l.gw) * l.gh);
    return "gfl decoder: outputs " + shapes + " do not fit strides on a " +
           std::to_string(geo.input_width) + "x" + std::to_string(geo.input_height) + " input (" +
           cells + " = " + std::to_string(total) + " cells) with reg_max " +
           std::to_string(reg_max) + ": expected per level [cells, classes] + [cells, " +
           std::to_string(box_cols()) + "], or one [cells, classes + " +
           std::to_string(box_cols()) + "]";
  }

  float score(float v) const { return sigmoid ? 1.f / (1.f + std::exp(-v)) : v; }

  // Cells of the level to decode: NanoDet keeps the pre_nms_top_k cells with the
  // best class score per level.
  std::vector<int64_t> cells(const Level &l, int64_t num_classes) const {
    const int64_t n = int64_t(l.gw) * l.gh;
    std::vector<int64_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    if (pre_nms_top_k == 0 || size_t(n) <= pre_nms_top_k)
      return idx;
    std::vector<float> best(n);
    for (int64_t i = 0; i < n; ++i) {
      const float *c = l.cls.row(i);
      best[i] = *std::max_element(c, c + num_classes);
    }
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int64_t a, int64_t c) { return best[a] > best[c]; });
    idx.resize(pre_nms_top_k);
    return idx;
  }

  // Expected bin index of one side's distribution (softmax over reg_max + 1 logits).
  float expected_bin(const float *bins) const {
    float mx = *std::max_element(bins, bins + reg_max + 1), sum = 0, acc = 0;
    for (int k = 0; k <= reg_max; ++k) {
      float e = std::exp(bins[k] - mx);
      sum += e;
      acc += e * float(k);
    }
    return acc / sum;
  }

  float offset(int s) const {
    switch (center) {
    case Center::half_minus_one:
      return (s - 1) / 2.f;
    case Center::half:
      return s / 2.f;
    case Center::zero:
      return 0.f;
    }
    return 0.f;
  }

  void decode_level(const Level &l, int64_t num_classes, const Geometry &geo,
                    std::vector<BoxCandidate> &out) const {
    const float in_w = float(geo.input_width), in_h = float(geo.input_height);
    for (int64_t i : cells(l, num_classes)) {
      const float *c = l.cls.row(i);
      float best = score(*std::max_element(c, c + num_classes));
      if (best <= nms.score_threshold)
        continue;
      const float *d = l.box.row(i);
      const float s = float(l.stride);
      float cx = float(i % l.gw) * s + offset(l.stride),
            cy = float(i / l.gw) * s + offset(l.stride);
      float x1 = std::clamp(cx - expected_bin(d) * s, 0.f, in_w);
      float y1 = std::clamp(cy - expected_bin(d + reg_max + 1) * s, 0.f, in_h);
      float x2 = std::clamp(cx + expected_bin(d + 2 * (reg_max + 1)) * s, 0.f, in_w);
      float y2 = std::clamp(cy + expected_bin(d + 3 * (reg_max + 1)) * s, 0.f, in_h);
      for (int64_t k = 0; k < num_classes; ++k) {
        float p = score(c[k]);
        if (p > nms.score_threshold)
          out.push_back({x1, y1, x2, y2, p, static_cast<int>(k)});
      }
    }
  }
};

Center center_from_name(const std::string &s, const std::string &where) {
  if (s == "half_minus_one")
    return Center::half_minus_one;
  if (s == "half")
    return Center::half;
  if (s == "zero")
    return Center::zero;
  yaml::fail(where, "expected half_minus_one ((stride - 1) / 2, NanoDet v0.1 / NanoDet-m), "
                    "half (stride / 2) or zero (NanoDet-Plus), got '" +
                        s + "'");
}

} // namespace

std::unique_ptr<DetectionDecoder> make_gfl_decoder(const YAML::Node &n, const std::string &at) {
  yaml::check_keys(n, at, "decoder.gfl");
  auto d = std::make_unique<GflDecoder>();
  d->strides = yaml::get<std::vector<int>>(n, "strides", at, d->strides);
  if (d->strides.empty())
    yaml::fail(at + ".strides", "needs at least one stride");
  for (int s : d->strides)
    if (s <= 0)
      yaml::fail(at + ".strides", "strides must be positive");
  d->reg_max = yaml::get<int>(n, "reg_max", at, d->reg_max);
  if (d->reg_max < 1 || d->reg_max > 64)
    yaml::fail(at + ".reg_max",
               "expected 1..64 (bins per side minus one), got " + std::to_string(d->reg_max));
  d->center =
      center_from_name(yaml::get<std::string>(n, "center", at, "half_minus_one"), at + ".center");
  std::string scores = yaml::get<std::string>(n, "scores", at, "probabilities");
  if (scores != "probabilities" && scores != "sigmoid")
    yaml::fail(at + ".scores", "expected probabilities (the graph ends in Sigmoid) or sigmoid, "
                               "got '" +
                                   scores + "'");
  d->sigmoid = scores == "sigmoid";
  d->nms = read_nms(n, at, d->nms);
  d->pre_nms_top_k = yaml::get<size_t>(n, "pre_nms_top_k", at, d->pre_nms_top_k);
  d->classes = read_class_map(n, at, "coco80");
  return d;
}

} // namespace qtune::data
