#include "metrics/topk.h"

#include <vector>

#include "qtune/error.h"

namespace qtune::metrics {

bool label_in_top_k(std::span<const float> scores, int64_t label, int k) {
  if (label < 0 || label >= static_cast<int64_t>(scores.size()))
    throw InputError("topk: label " + std::to_string(label) + " out of range 0.." +
                     std::to_string(scores.size() - 1));
  float s = scores[label];
  int64_t rank = 0;
  for (int64_t c = 0; c < static_cast<int64_t>(scores.size()); ++c)
    if (scores[c] > s || (scores[c] == s && c < label))
      ++rank;
  return rank < k;
}

TopK::TopK(int k) : k_(k) {
  if (k < 1)
    throw InputError("topk: k must be >= 1, got " + std::to_string(k));
}

void TopK::update(std::span<const Tensor> predictions, std::span<const Tensor> labels) {
  if (predictions.empty() || labels.empty())
    throw InputError("topk: needs a prediction tensor and a label tensor");
  const Tensor &pred = predictions[0];
  const Tensor &lab = labels[0];
  if (pred.rank() < 1 || pred.rank() > 2)
    throw InputError("topk: predictions must be [N, C] or [C], got " + shape_str(pred.shape()));
  int64_t n = pred.rank() == 2 ? pred.dim(0) : 1;
  int64_t c = pred.dim(-1);
  bool one_hot = lab.numel() == n * c && c > 1 && lab.numel() != n;
  if (!one_hot && lab.numel() != n)
    throw InputError("topk: " + std::to_string(n) + " predictions but labels of shape " +
                     shape_str(lab.shape()));
  std::vector<float> scores = pred.to_f32_vector();
  for (int64_t i = 0; i < n; ++i) {
    int64_t label = 0;
    if (one_hot) {
      for (int64_t j = 1; j < c; ++j)
        if (lab.get_f64(i * c + j) > lab.get_f64(i * c + label))
          label = j;
    } else {
      label = lab.get_i64(i);
    }
    std::span<const float> row(scores.data() + i * c, static_cast<size_t>(c));
    correct_ += label_in_top_k(row, label, k_);
    ++total_;
  }
}

} // namespace qtune::metrics
