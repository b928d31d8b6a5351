// The public qtune::Model loads any model file the frontends read, not only
// ONNX: TensorFlow Serving's half_plus_two SavedModel computes 0.5 x + 2 (what
// TensorFlow Serving documents for it), and tf2onnx's regression model gives
// the same predictions from its frozen GraphDef and its SavedModel.
#include <gtest/gtest.h>

#include "../test_util.h"
#include "qtune/error.h"
#include "qtune/model.h"

namespace qtune {
namespace {

TEST(PublicModel, TensorFlowSavedModelAndGraphDef) {
  Model half(test::shared_data("tf/small/half_plus_two_savedmodel/00000123"));
  ASSERT_EQ(half.input_names(), std::vector<std::string>{"x"});
  ASSERT_EQ(half.output_names(), std::vector<std::string>{"y"});
  std::vector<Tensor> y = half.run({{"x", Tensor::from_vector<float>({4}, {0, 1, -3, 10.5f})}});
  EXPECT_EQ(y.at(0).to_f32_vector(), (std::vector<float>{2, 2.5f, 0.5f, 7.25f}));

  std::string root = test::shared_data("tf/small/regression_ckpt_frozen_savedmodel/");
  Model frozen(root + "graphdef/frozen.pb"), saved(root + "saved_model");
  Tensor x = Tensor::scalar_f32(3.5f);
  float a = frozen.run({{frozen.input_names().at(0), x}}).at(0).to_f32_vector().at(0);
  float b = saved.run({{saved.input_names().at(0), x}}).at(0).to_f32_vector().at(0);
  EXPECT_EQ(a, b);

  EXPECT_THROW(Model(root + "no_such_model.pb"), InputError);
}

} // namespace
} // namespace qtune
