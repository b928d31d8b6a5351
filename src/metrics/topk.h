#pragma once
// Top-k classification accuracy (LPOT's "topk" metric).
#include <cstdint>
#include <span>

#include "qtune/metric.h"

namespace qtune::metrics {

// True if `label`'s score is among the k best of `scores`. Rank = classes with a
// higher score, plus equal-scored classes with a lower index (a stable
// descending sort), so ties are decided the same way every run.
bool label_in_top_k(std::span<const float> scores, int64_t label, int k);

class TopK : public Metric {
public:
  explicit TopK(int k = 1);
  // predictions[0]: scores [N, C] (or [C] for one sample), any float/int dtype;
  // labels[0]: class indices [N] / [N, 1], or one-hot [N, C].
  void update(std::span<const Tensor> predictions, std::span<const Tensor> labels) override;
  void reset() override {
    correct_ = 0;
    total_ = 0;
  }
  // Fraction of samples with the label in the top k; 0 before any update.
  double result() const override { return total_ ? double(correct_) / double(total_) : 0.0; }
  std::string name() const override { return "topk"; }
  int k() const { return k_; }
  int64_t total() const { return total_; }

private:
  int k_;
  int64_t correct_ = 0;
  int64_t total_ = 0;
};

} // namespace qtune::metrics
