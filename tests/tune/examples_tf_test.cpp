// The shipped TensorFlow configs (examples/tf/*.yaml) load, and the AIY SSD one's
// whole evaluation path works without the model: a stand-in "model" answers each
// image with TensorFlow.js's own detections for it (reference/aiy_ssd_*.json, as
// the graph's four outputs: normalised boxes, 1-based person/cat/dog classes), so
// dataloader (uint8 256x256 input), decoder (label map, geometry) and COCOmAP
// restricted to [1, 17, 18] must reproduce pycocotools' AP 0.179035.
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "data/coco.h"
#include "qtune/error.h"
#include "tune/config.h"
#include "tune/evaluator.h"

namespace qtune::tune {
namespace {

struct RefDetection {
  double x, y, w, h, score;
  int64_t category;
};

std::map<int64_t, std::vector<RefDetection>> reference_detections(const std::string &file) {
  std::ifstream in(test::shared_data(file));
  nlohmann::json j = nlohmann::json::parse(in);
  std::map<int64_t, std::vector<RefDetection>> by_image;
  for (const auto &d : j) {
    auto b = d.at("bbox");
    by_image[d.at("image_id").get<int64_t>()].push_back(
        {b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>(),
         d.at("score").get<double>(), d.at("category_id").get<int64_t>()});
  }
  return by_image;
}

TEST(ExamplesTf, ConfigsLoad) {
  Config aiy = load_config(test::source_dir("examples/tf/aiy_ssd.yaml"));
  EXPECT_EQ(aiy.model.framework, "tensorflow");
  EXPECT_EQ(aiy.model.inputs, std::vector<std::string>{"image_tensor"});
  EXPECT_EQ(aiy.model.outputs.size(), 4u);
  EXPECT_NE(aiy.accuracy.dataloader.node["dataset"]["COCORaw"]["root"].as<std::string>().find(
                "coco/val2017_241"),
            std::string::npos);
  EXPECT_NE(aiy.quantization.calibration.dataloader.node["dataset"]["COCORaw"]["root"]
                .as<std::string>()
                .find("coco/train2017_128"),
            std::string::npos);
  EXPECT_EQ(aiy.accuracy.metric["COCOmAP"]["category_ids"].as<std::vector<int64_t>>(),
            (std::vector<int64_t>{1, 17, 18}));
  EXPECT_TRUE(aiy.tuning.relative);
  EXPECT_DOUBLE_EQ(aiy.tuning.criterion, 0.01);
  Config cn = load_config(test::source_dir("examples/tf/centernet_tfjs.yaml"));
  EXPECT_EQ(cn.model.framework, "tensorflow");
  EXPECT_NE(cn.accuracy.dataloader.node["dataset"]["COCORaw"]["root"].as<std::string>().find(
                "coco/val2017_tiny"),
            std::string::npos);
}

TEST(ExamplesTf, AiySsdEvaluationPathReproducesPycocotools) {
  Config c = load_config(test::source_dir("examples/tf/aiy_ssd.yaml"));
  auto refs = reference_detections("reference/aiy_ssd_person_cat_dog_val2017_241.detections.json");
  coco::Dataset gt =
      coco::load_coco(test::shared_data("coco/val2017_241/annotations/instances_val2017.json"));
  const std::map<int64_t, float> model_class = {{1, 1.f}, {17, 2.f}, {18, 3.f}};
  std::vector<std::string> outputs = {"num_detections", "detection_boxes", "detection_scores",
                                      "detection_classes"};
  AccuracyEvaluator ev(c, "image_tensor", outputs, DType::u8);
  size_t calls = 0;
  double ap = ev.evaluate([&](const Inputs &in) {
    const Tensor &x = in.at("image_tensor");
    EXPECT_EQ(x.dtype(), DType::u8);
    EXPECT_EQ(x.shape(), (Shape{1, 256, 256, 3}));
    // The evaluator reads the dataset in order: image `calls` of the annotations.
    const coco::Image &im = gt.images.at(calls++);
    const auto &dets = refs[im.id];
    const int64_t n = 100;
    EXPECT_LE(static_cast<int64_t>(dets.size()), n);
    Tensor num = Tensor::from_vector<float>({1}, {static_cast<float>(dets.size())});
    Tensor boxes(DType::f32, {1, n, 4}), scores(DType::f32, {1, n}), classes(DType::f32, {1, n});
    for (size_t i = 0; i < dets.size(); ++i) {
      const RefDetection &d = dets[i];
      float *b = boxes.data<float>() + 4 * i;
      b[0] = static_cast<float>(d.y / im.height);
      b[1] = static_cast<float>(d.x / im.width);
      b[2] = static_cast<float>((d.y + d.h) / im.height);
      b[3] = static_cast<float>((d.x + d.w) / im.width);
      scores.data<float>()[i] = static_cast<float>(d.score);
      classes.data<float>()[i] = model_class.at(d.category);
    }
    return std::vector<Tensor>{num, boxes, scores, classes};
  });
  EXPECT_EQ(calls, 241u);
  // Boxes went through float32 normalisation and back: a hair off pycocotools.
  EXPECT_NEAR(ap, 0.179035, 2e-5);
}

// A graph that resizes inside (OD API keep_aspect_ratio_resizer, uint8
// image_tensor [1,-1,-1,3]) gets each image at its own size as uint8, batch 1.
TEST(ExamplesTf, Uint8InputAtTheImagesOwnSize) {
  DataloaderConfig dc;
  dc.node = YAML::Load(
      "{batch_size: 1, dataset: {COCORaw: {root: " + test::shared_data("coco/val2017_tiny") +
      ", img_dir: val2017, anno_dir: annotations/instances_val2017.json}}}");
  BatchSource src(dc, "evaluation.accuracy.dataloader", "image_tensor", DType::u8);
  size_t n = 0;
  src.for_each(3, [&](const Inputs &in, const std::vector<data::PreparedSample> &b) {
    const Tensor &x = in.at("image_tensor");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(x.dtype(), DType::u8);
    EXPECT_EQ(x.shape(), (Shape{1, b[0].frame.geo.orig_height, b[0].frame.geo.orig_width, 3}));
    for (int64_t i = 0; i < x.numel(); i += 997) // the decoded pixels, unchanged
      ASSERT_EQ(x.data<uint8_t>()[i], static_cast<uint8_t>(b[0].frame.px[i]));
    ++n;
  });
  EXPECT_EQ(n, 3u);
}

// COCOmAP's ground truth: anno_path when given (else the dataset's), restricted to
// category_ids; a --category-ids override wins over the YAML's list.
TEST(ExamplesTf, CocoMetricGroundTruthFromAnnoPathAndCategories) {
  std::string gt_file = test::shared_data("coco/val2017_241/annotations/instances_val2017.json");
  YAML::Node params = YAML::Load("{anno_path: " + gt_file + ", category_ids: [1, 17, 18]}");
  coco::Dataset gt = coco_metric_ground_truth(params, nullptr, "conf.yaml");
  EXPECT_EQ(gt.images.size(), 241u);
  ASSERT_EQ(gt.num_categories(), 3);
  EXPECT_EQ(gt.categories[1].id, 17);
  coco::Dataset one = coco_metric_ground_truth(params, nullptr, "conf.yaml", {18});
  ASSERT_EQ(one.num_categories(), 1);
  EXPECT_EQ(one.categories[0].id, 18);
  // Without anno_path the dataset's own ground truth is used; without either, an error.
  coco::Dataset all = coco::load_coco(gt_file);
  EXPECT_EQ(coco_metric_ground_truth(YAML::Node(), &all, "conf.yaml").num_categories(),
            all.num_categories());
  EXPECT_THROW(coco_metric_ground_truth(YAML::Node(), nullptr, "conf.yaml"), InputError);
}

} // namespace
} // namespace qtune::tune
