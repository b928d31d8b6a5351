// Top-k accuracy on a hand-made batch whose answer is worked out by hand.
#include <gtest/gtest.h>

#include "metrics/topk.h"
#include "qtune/error.h"

namespace qtune::metrics {
namespace {

TEST(TopK, HandMadeBatch) {
  // Sample 0: label 2 is best -> top1, top2.
  // Sample 1: label 0 is second (0.3 < 0.5) -> top2 only.
  // Sample 2: label 1 is last (three higher scores) -> not even top3.
  // Sample 3: label 3 ties with class 1 (0.4); class 1 has the lower index so
  //           label 3 ranks third behind classes 0 and 1 -> top3 only.
  Tensor scores = Tensor::from_vector<float>({4, 4}, {0.1f, 0.2f, 0.6f, 0.1f, //
                                                      0.3f, 0.5f, 0.1f, 0.1f, //
                                                      0.5f, 0.1f, 0.2f, 0.2f, //
                                                      0.5f, 0.4f, 0.0f, 0.4f});
  Tensor labels = Tensor::from_vector<int64_t>({4}, {2, 0, 1, 3});
  TopK top1(1), top2(2), top3(3);
  for (TopK *m : {&top1, &top2, &top3})
    m->update({&scores, 1}, {&labels, 1});
  EXPECT_DOUBLE_EQ(top1.result(), 1.0 / 4);
  EXPECT_DOUBLE_EQ(top2.result(), 2.0 / 4);
  EXPECT_DOUBLE_EQ(top3.result(), 3.0 / 4);
}

TEST(TopK, OneHotLabelsAndAccumulation) {
  Tensor scores = Tensor::from_vector<float>({2, 3}, {0.1f, 0.7f, 0.2f, 0.6f, 0.3f, 0.1f});
  Tensor onehot = Tensor::from_vector<float>({2, 3}, {0, 1, 0, 0, 0, 1});
  TopK top1(1);
  top1.update({&scores, 1}, {&onehot, 1});
  EXPECT_DOUBLE_EQ(top1.result(), 0.5);
  top1.update({&scores, 1}, {&onehot, 1});
  EXPECT_EQ(top1.total(), 4);
  EXPECT_DOUBLE_EQ(top1.result(), 0.5);
  top1.reset();
  EXPECT_EQ(top1.total(), 0);
  EXPECT_DOUBLE_EQ(top1.result(), 0.0);
}

TEST(TopK, BadLabelsAreErrors) {
  Tensor scores = Tensor::from_vector<float>({1, 3}, {0.1f, 0.7f, 0.2f});
  Tensor out_of_range = Tensor::from_vector<int64_t>({1}, {3});
  Tensor wrong_count = Tensor::from_vector<int64_t>({2}, {0, 1});
  TopK top1(1);
  EXPECT_THROW(top1.update({&scores, 1}, {&out_of_range, 1}), InputError);
  EXPECT_THROW(top1.update({&scores, 1}, {&wrong_count, 1}), InputError);
  EXPECT_THROW(TopK(0), InputError);
}

} // namespace
} // namespace qtune::metrics
