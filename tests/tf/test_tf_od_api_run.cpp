// The seed's Object Detection API graphs end to end: the real model.ckpt.meta +
// .index with a synthesized data shard (tests/tf/checkpoint_writer.h), imported
// from the checkpoint and run on a real photo, pre-processing and
// post-processing while loops (map_fn, TensorArrays, tf.cond, NMS) included.
// Weights are synthetic, so the checks are what the API guarantees whatever the
// weights: output shapes and dtypes from the pipeline.config, num_detections
// within range, scores sorted in [0, 1], normalized boxes, 1-based class ids
// within num_classes, zero padding after the detections, masks in [0, 1].
#include <cmath>
#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

#include "../test_util.h"
#include "checkpoint_writer.h"
#include "data/image_decode.h"
#include "frontends/model_loader.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"

namespace qtune {
namespace {

namespace fs = std::filesystem;

struct OdCase {
  const char *dir;
  int64_t max_detections;
  int num_classes;
  int64_t mask_size;   // 0: no masks
  bool batch2 = false; // also run a batch of two
};

// dog.jpg as a uint8 [batch, H, W, 3] image_tensor (the same photo `batch` times).
Tensor photo(int64_t batch = 1) {
  data::Image im = data::load_image_file(test::shared_data("models/yolox_nano/dog.jpg"));
  Tensor t(DType::u8, {batch, im.height, im.width, 3});
  for (int64_t b = 0; b < batch; ++b)
    std::copy(im.pixels.begin(), im.pixels.end(), t.data<uint8_t>() + b * im.pixels.size());
  return t;
}

void check_detections(const OdCase &c, const std::vector<Tensor> &out) {
  const Tensor &num = out[0], &boxes = out[1], &scores = out[2], &classes = out[3];
  int64_t m = c.max_detections;
  for (const Tensor *t : {&num, &boxes, &scores, &classes})
    EXPECT_EQ(t->dtype(), DType::f32);
  ASSERT_EQ(num.shape(), (Shape{1}));
  ASSERT_EQ(boxes.shape(), (Shape{1, m, 4}));
  ASSERT_EQ(scores.shape(), (Shape{1, m}));
  ASSERT_EQ(classes.shape(), (Shape{1, m}));
  EXPECT_GT(num.data<float>()[0], 0.f); // random weights score many boxes
  float n = num.data<float>()[0];
  ASSERT_GE(n, 0.f);
  ASSERT_LE(n, float(m));
  ASSERT_EQ(n, std::floor(n));
  const float *b = boxes.data<float>(), *s = scores.data<float>(), *k = classes.data<float>();
  for (int64_t i = 0; i < m; ++i) {
    if (i < int64_t(n)) {
      EXPECT_GE(s[i], 0.f) << i;
      EXPECT_LE(s[i], 1.f) << i;
      if (i > 0)
        EXPECT_LE(s[i], s[i - 1]) << i;
      EXPECT_GE(k[i], 1.f) << i;
      EXPECT_LE(k[i], float(c.num_classes)) << i;
      EXPECT_EQ(k[i], std::floor(k[i])) << i;
      for (int j = 0; j < 4; ++j) {
        EXPECT_GE(b[i * 4 + j], 0.f) << i;
        EXPECT_LE(b[i * 4 + j], 1.f) << i;
      }
      EXPECT_LE(b[i * 4], b[i * 4 + 2]) << i;
      EXPECT_LE(b[i * 4 + 1], b[i * 4 + 3]) << i;
    } else {
      EXPECT_EQ(s[i], 0.f) << i;
      for (int j = 0; j < 4; ++j)
        EXPECT_EQ(b[i * 4 + j], 0.f) << i;
    }
  }
}

class OdApiRun : public ::testing::TestWithParam<OdCase> {};

TEST_P(OdApiRun, ImportsFromCheckpointAndRunsOnAPhoto) {
  const OdCase &c = GetParam();
  fs::path dir = fs::temp_directory_path() /
                 (std::string("qtune_od_") + std::to_string(getpid()) + "_" + c.dir);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string prefix = test::synthesize_checkpoint(
      test::shared_data(std::string("tf/od_api/") + c.dir + "/model.ckpt"), dir.string());
  LoadOptions opts;
  opts.inputs = {"image_tensor"};
  opts.outputs = {"num_detections", "detection_boxes", "detection_scores", "detection_classes"};
  if (c.mask_size)
    opts.outputs.push_back("detection_masks");
  auto graph = std::make_shared<Graph>(load_model(prefix, opts));
  fs::remove_all(dir);
  quant::prepare_for_inference(*graph); // what qtune run / evaluate / benchmark do
  int loops = 0;
  for (const Node &n : graph->nodes)
    loops += n.domain == "tf" && n.op_type == "While";
  EXPECT_GE(loops, 2); // pre-processing and NMS map_fn at least

  Executor ex(graph);
  auto out = ex.run({{"image_tensor", photo()}});
  ASSERT_EQ(out.size(), opts.outputs.size());
  check_detections(c, out);
  if (c.batch2) { // map_fn over two images: the loops run twice, each row as alone
    auto two = ex.run({{"image_tensor", photo(2)}});
    ASSERT_EQ(two[0].shape(), (Shape{2}));
    ASSERT_EQ(two[2].shape(), (Shape{2, c.max_detections}));
    for (int64_t b = 0; b < 2; ++b) {
      EXPECT_EQ(two[0].data<float>()[b], out[0].data<float>()[0]) << b;
      for (int64_t i = 0; i < c.max_detections; ++i) // sorted: ties may swap boxes, not scores
        ASSERT_NEAR(two[2].data<float>()[b * c.max_detections + i], out[2].data<float>()[i], 1e-4)
            << b << " " << i;
    }
  }
  if (c.mask_size) {
    const Tensor &masks = out[4];
    EXPECT_EQ(masks.dtype(), DType::f32);
    ASSERT_EQ(masks.shape(), (Shape{1, c.max_detections, c.mask_size, c.mask_size}));
    for (float v : masks.span<float>()) {
      ASSERT_GE(v, 0.f);
      ASSERT_LE(v, 1.f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Graphs, OdApiRun,
    ::testing::Values(OdCase{"ssd_mobilenet_v1_coco_2018_01_28", 100, 90, 0, true},
                      OdCase{"ssd_resnet50_v1_fpn_640x640_tf1.15_11classes", 100, 11, 0},
                      OdCase{"faster_rcnn_inception_v2_tf1.7", 300, 1, 0},
                      OdCase{"mask_rcnn_inception_v2_tf1.14_1class", 300, 1, 15}),
    [](const auto &info) {
      std::string s = info.param.dir;
      return s.substr(0, s.find('_', s.find('_') + 1));
    });

} // namespace
} // namespace qtune
