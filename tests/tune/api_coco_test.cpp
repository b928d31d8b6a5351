// Public qtune/coco.h: a COCO folder's images as uint8 tensors, the TF1 resize,
// and COCO scoring restricted to categories, against reference data other tools
// made (the TensorFlow.js AIY input, pycocotools' AIY numbers).
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>

#include "../test_util.h"
#include "qtune/qtune.h"

namespace {

TEST(ApiCoco, FolderImagesResizeAndRestrictedScoring) {
  qtune::CocoDetectionSet set(qtune::test::shared_data("coco/val2017_241"));
  EXPECT_EQ(set.size(), 241u);
  qtune::CocoDetectionSet::Image img = set.image(0);
  EXPECT_EQ(img.pixels.dtype(), qtune::DType::u8);
  EXPECT_EQ(img.pixels.shape(), (qtune::Shape{1, img.height, img.width, 3}));
  EXPECT_THROW(set.image(241), qtune::InputError);

  // The reference detections, scored by pycocotools with catIds [1, 17, 18].
  std::ifstream in(
      qtune::test::shared_data("reference/aiy_ssd_person_cat_dog_val2017_241.detections.json"));
  std::vector<qtune::Detection> dets;
  for (const auto &d : nlohmann::json::parse(in)) {
    auto b = d.at("bbox");
    dets.push_back({d.at("image_id").get<int64_t>(), d.at("category_id").get<int64_t>(),
                    b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>(),
                    d.at("score").get<double>()});
  }
  std::vector<int64_t> cats = {1, 17, 18};
  EXPECT_NEAR(set.evaluate(dets, cats)[0], 0.179035, 1e-6);
  // With a limit only the first images are scored.
  qtune::CocoDetectionSet first(qtune::test::shared_data("coco/val2017_241"), 10);
  EXPECT_EQ(first.size(), 10u);
  std::set<int64_t> ids;
  for (size_t i = 0; i < first.size(); ++i)
    ids.insert(first.image(i).id);
  std::vector<qtune::Detection> some;
  for (const auto &d : dets)
    if (ids.count(d.image_id))
      some.push_back(d);
  double ap10 = first.evaluate(some, cats)[0];
  EXPECT_GT(ap10, 0);
  EXPECT_NE(ap10, set.evaluate(dets, cats)[0]);
  // Detections of images outside the set are an error, not silently dropped.
  EXPECT_THROW(first.evaluate(dets, cats), qtune::InputError);
}

TEST(ApiCoco, ResizeBilinearTf1ByHand) {
  // 2x2 -> 3x3 samples at 0, 2/3, 4/3 (clamped to the edge), rounded half up.
  // The same code reproduces the AIY reference input byte for byte
  // (tests/data/test_tf_resize.cpp).
  qtune::Tensor tiny = qtune::Tensor::from_vector<uint8_t>({1, 2, 2, 1}, {0, 10, 20, 30});
  qtune::Tensor r = qtune::resize_bilinear_tf1(tiny, 3, 3);
  std::vector<uint8_t> want = {0, 7, 10, 13, 20, 23, 20, 27, 30};
  ASSERT_EQ(r.shape(), (qtune::Shape{1, 3, 3, 1}));
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(r.data<uint8_t>()[i], want[i]) << i;
  EXPECT_THROW(qtune::resize_bilinear_tf1(qtune::Tensor(qtune::DType::f32, {1, 2, 2, 3}), 1, 1),
               qtune::InputError);
}

} // namespace

namespace {

// An Object Detection API TFRecord (made by `qtune dataset convert`) gives the
// same images and ground truth as the COCO folder it came from.
TEST(ApiCoco, TfRecordLocationMatchesTheFolder) {
  std::string dir = qtune::test::shared_data("coco/val2017_tiny");
  std::string rec = (std::filesystem::temp_directory_path() /
                     ("qtune_api_coco_" + std::to_string(::getpid()) + ".record"))
                        .string();
  std::string cmd = qtune::test::qtune_binary() + " dataset convert --from coco --annotations " +
                    dir + "/annotations/instances_val2017.json --images " + dir +
                    "/val2017 --to tfrecord " + rec + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  qtune::CocoDetectionSet folder(dir, 5), record(rec, 5);
  ASSERT_EQ(record.size(), 5u);
  std::vector<qtune::Detection> dets;
  for (size_t i = 0; i < 5; ++i) {
    auto a = folder.image(i), b = record.image(i);
    EXPECT_EQ(a.id, b.id);
    ASSERT_EQ(a.pixels.shape(), b.pixels.shape());
    EXPECT_EQ(0, std::memcmp(a.pixels.raw(), b.pixels.raw(), a.pixels.nbytes()));
    dets.push_back({a.id, 1, 10, 10, 100, 100, 0.5});
  }
  EXPECT_EQ(folder.evaluate(dets)[1], record.evaluate(dets)[1]);
  std::filesystem::remove(rec);
}

} // namespace
