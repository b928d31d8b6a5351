// Datasets, the prefetching pipeline and the YAML factories on real data.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "../test_util.h"
#include "data/dataloader_factory.h"
#include "data/dataset.h"
#include "data/dataset_convert.h"
#include "data/pipeline.h"
#include "data_test_util.h"
#include "metrics/coco_eval.h"
#include "qtune/error.h"

using namespace qtune::data;
using qtune::test::shared_data;
namespace fs = std::filesystem;

namespace {

std::string tiny(const std::string &rel = "") {
  return shared_data("coco/val2017_tiny/" + rel);
}
std::string tiny_json() {
  return tiny("annotations/instances_val2017.json");
}

} // namespace

TEST(Datasets, CocoRawReadsVal2017Tiny) {
  CocoRawDataset ds(tiny_json(), tiny("val2017"));
  ASSERT_EQ(ds.size(), 80u);
  Sample s = ds.get(0);
  const auto &im = ds.coco_ground_truth()->images[0];
  EXPECT_EQ(s.truth.image_id, im.id);
  EXPECT_EQ(s.width, im.width);
  EXPECT_FALSE(s.truth.boxes.empty());
  EXPECT_EQ(s.truth.boxes.size(), ds.coco_ground_truth()->annotations_of_image(im.id).size());
}

// Converting to TFRecord and reading back keeps images and ground truth, and
// scoring the reference YOLOX detections (pycocotools AP 0.296087) against the
// ground truth from the record gives the same 12 numbers as from the JSON.
TEST(Datasets, CocoRecordMatchesRawJson) {
  fs::path dir = qtune::test::scratch_dir("record");
  std::string rec = (dir / "val2017_tiny.record").string();
  ConvertStats st = convert_coco_to_tfrecord(tiny_json(), tiny("val2017"), rec);
  EXPECT_EQ(st.images, 80u);
  CocoRawDataset raw(tiny_json(), tiny("val2017"));
  CocoRecordDataset from_rec(rec);
  ASSERT_EQ(from_rec.size(), 80u);
  EXPECT_EQ(st.objects, raw.coco_ground_truth()->annotations.size());
  for (size_t i : {0, 41, 79}) {
    Sample a = raw.get(i), b = from_rec.get(i);
    EXPECT_EQ(a.encoded, b.encoded);
    EXPECT_EQ(a.truth.image_id, b.truth.image_id);
    ASSERT_EQ(a.truth.boxes.size(), b.truth.boxes.size());
    for (size_t k = 0; k < a.truth.boxes.size(); ++k) {
      EXPECT_NEAR(a.truth.boxes[k].x, b.truth.boxes[k].x, 1e-3);
      EXPECT_NEAR(a.truth.boxes[k].h, b.truth.boxes[k].h, 1e-3);
      EXPECT_EQ(a.truth.category_ids[k], b.truth.category_ids[k]);
      EXPECT_EQ(a.truth.is_crowd[k], b.truth.is_crowd[k]);
    }
  }
  using namespace qtune::metrics;
  std::string det = shared_data("reference/yolox_nano_val2017_tiny.detections.json");
  const auto &gt_raw = *raw.coco_ground_truth();
  const auto &gt_rec = *from_rec.coco_ground_truth();
  auto s_raw = coco_evaluate(gt_raw, load_results_file(gt_raw, det), IouType::bbox).stats;
  auto s_rec = coco_evaluate(gt_rec, load_results_file(gt_rec, det), IouType::bbox).stats;
  EXPECT_NEAR(s_raw[0], 0.296087, 1e-4);
  for (int k = 0; k < 12; ++k)
    EXPECT_NEAR(s_rec[k], s_raw[k], 1e-6) << "stat " << k;
  fs::remove_all(dir);
}

TEST(Datasets, MissingImageNamesFileOrIsSkipped) {
  fs::path dir = qtune::test::scratch_dir("missing");
  // Only half of the images present; one of them corrupt.
  CocoRawDataset full(tiny_json(), tiny("val2017"));
  const auto &images = full.coco_ground_truth()->images;
  for (size_t i = 0; i < images.size(); i += 2)
    fs::copy_file(fs::path(tiny("val2017")) / images[i].file_name, dir / images[i].file_name);
  std::ofstream(dir / images[2].file_name, std::ios::trunc) << "garbage";
  CocoRawDataset ds(tiny_json(), dir.string());
  std::string msg = qtune::test::input_error_of([&] { ds.get(1); });
  EXPECT_NE(msg.find(images[1].file_name), std::string::npos) << msg;

  TransformList t;
  t.push_back(make_resize(64, 64, Interp::bilinear, false));
  {
    Pipeline p(ds, t, {.threads = 2, .queue_depth = 4});
    EXPECT_TRUE(p.next().has_value());
    std::string m2 = qtune::test::input_error_of([&] { p.next(); });
    EXPECT_NE(m2.find(images[1].file_name), std::string::npos) << m2;
  }
  Pipeline p(ds, t, {.threads = 2, .queue_depth = 4, .skip_bad_images = true});
  size_t n = 0;
  while (auto s = p.next())
    ++n;
  EXPECT_EQ(n, 39u); // 40 present, one corrupt
  EXPECT_EQ(p.skipped(), 41u);
  fs::remove_all(dir);
}

TEST(Datasets, PipelineKeepsOrderWithThreads) {
  CocoRawDataset ds(tiny_json(), tiny("val2017"));
  TransformList t;
  t.push_back(make_letterbox(128, 128, 114, false, Interp::bilinear));
  std::vector<int64_t> ids;
  std::vector<float> first_px;
  for (int threads : {1, 2}) {
    Pipeline p(ds, t, {.threads = threads, .queue_depth = 3, .limit = 20});
    std::vector<int64_t> got;
    while (auto s = p.next()) {
      got.push_back(s->truth.image_id);
      if (threads == 1)
        first_px.push_back(s->frame.px[1000]);
      else
        EXPECT_EQ(s->frame.px[1000], first_px[got.size() - 1]);
    }
    ASSERT_EQ(got.size(), 20u);
    if (threads == 1)
      ids = got;
    else
      EXPECT_EQ(got, ids);
  }
  for (size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(ids[i], ds.coco_ground_truth()->images[i].id);
}

TEST(Datasets, FashionMnistGzipIdx) {
  MnistDataset ds(qtune::test::fashion_mnist("t10k-images-idx3-ubyte.gz"),
                  qtune::test::fashion_mnist("t10k-labels-idx1-ubyte.gz"));
  ASSERT_EQ(ds.size(), 10000u);
  EXPECT_EQ(ds.rows(), 28);
  // Published facts about the Fashion-MNIST test set: first label is 9 (ankle
  // boot), second 2 (pullover); 1000 images per class.
  EXPECT_EQ(ds.get(0).truth.class_label, 9);
  EXPECT_EQ(ds.get(1).truth.class_label, 2);
  std::vector<int> per_class(10);
  for (size_t i = 0; i < ds.size(); ++i)
    ++per_class[ds.get(i).truth.class_label];
  for (int c : per_class)
    EXPECT_EQ(c, 1000);
}

TEST(Datasets, RawMnistFromSharedData) {
  MnistDataset ds(shared_data("mnist/images_10000x28x28_u8.bin"),
                  shared_data("mnist/labels_10000_u8.bin"));
  ASSERT_EQ(ds.size(), 10000u);
  Sample s = ds.get(3);
  ASSERT_TRUE(s.image.has_value());
  EXPECT_EQ(s.image->channels, 1);
  EXPECT_LT(s.truth.class_label, 10);
  std::string msg = qtune::test::input_error_of([&] {
    MnistDataset bad(shared_data("mnist/images_10000x28x28_u8.bin"),
                     qtune::test::fashion_mnist("train-labels-idx1-ubyte.gz"));
  });
  EXPECT_NE(msg.find("train-labels-idx1-ubyte.gz"), std::string::npos) << msg;
}

TEST(Datasets, ImageFolderAndList) {
  fs::path dir = qtune::test::scratch_dir("folder");
  std::string dog = shared_data("models/yolox_nano/dog.jpg");
  fs::create_directories(dir / "b_dog");
  fs::create_directories(dir / "a_cat");
  fs::copy_file(dog, dir / "b_dog" / "1.jpg");
  fs::copy_file(dog, dir / "b_dog" / "0.jpg");
  fs::copy_file(dog, dir / "a_cat" / "x.jpg");
  ImageFolderDataset ds(dir.string());
  ASSERT_EQ(ds.size(), 3u);
  EXPECT_EQ(ds.class_names(), (std::vector<std::string>{"a_cat", "b_dog"}));
  EXPECT_EQ(ds.get(0).truth.class_label, 0);
  EXPECT_EQ(ds.get(2).truth.class_label, 1);
  EXPECT_NE(ds.get(1).name.find("0.jpg"), std::string::npos);
  std::ofstream(dir / "list.txt") << "b_dog/1.jpg 7\na_cat/x.jpg 3\n";
  ImageListDataset list((dir / "list.txt").string(), "");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.get(0).truth.class_label, 7);
  std::ofstream(dir / "bad.txt") << "b_dog/1.jpg 7\nno_label.jpg\n";
  std::string msg =
      qtune::test::input_error_of([&] { ImageListDataset((dir / "bad.txt").string(), ""); });
  EXPECT_NE(msg.find("bad.txt:2"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Factories, DataloaderFromYaml) {
  YAML::Node n = YAML::Load(R"(
batch_size: 1
dataset:
  COCORaw: {root: coco/val2017_tiny, img_dir: val2017, anno_dir: annotations/instances_val2017.json}
transform:
  Letterbox: {size: [416, 416], pad_value: 114, interpolation: bilinear_antialias}
  ChannelOrder: {order: BGR}
  Transpose: {perm: [2, 0, 1]}
)");
  DataloaderConfig c = make_dataloader(n, shared_data());
  EXPECT_EQ(c.dataset->size(), 80u);
  ASSERT_EQ(c.transforms.size(), 3u);
  EXPECT_EQ(c.transforms[0]->name(), "Letterbox");
  Frame f = preprocess(c.dataset->get(0), c.transforms);
  EXPECT_TRUE(f.chw && f.bgr);
  EXPECT_EQ(f.width, 416);
}

TEST(Factories, ErrorsNameKeyPath) {
  // A folder of its own with one (empty) class folder, not /tmp: other tests
  // running beside this one create and delete files there while an
  // ImageFolder lists it.
  const auto root = qtune::test::scratch_dir("factories_classes");
  std::filesystem::create_directories(root / "a");
  const std::string folder = root.string();
  auto err = [](const std::string &yaml) {
    return qtune::test::input_error_of([&] { make_dataloader(YAML::Load(yaml), "/nonexistent"); });
  };
  EXPECT_NE(err("dataset: {COCORecord: {root: x.record}}\ntransform: {Resize: {size: -3}}")
                .find("x.record"),
            std::string::npos);
  std::string m =
      err("dataset: {ImageFolder: {root: " + folder + "}}\ntransform: {Resize: {size: [1]}}");
  EXPECT_NE(m.find("dataloader.transform.Resize.size"), std::string::npos) << m;
  m = qtune::test::input_error_of(
      [] { make_transforms(YAML::Load("Resize: {size: 4, interpolation: cubic}")); });
  EXPECT_NE(m.find("dataloader.transform.Resize.interpolation"), std::string::npos) << m;
  m = qtune::test::input_error_of([] { make_transforms(YAML::Load("Blur: {}")); });
  EXPECT_NE(m.find("dataloader.transform.Blur"), std::string::npos) << m;
  m = err("dataset: {COCORaw: {root: r, imgdir: x}}");
  EXPECT_NE(m.find("dataloader.dataset.COCORaw.imgdir"), std::string::npos) << m;
  m = err("batch_size: 0\ndataset: {ImageFolder: {root: " + folder + "}}");
  EXPECT_NE(m.find("dataloader.batch_size"), std::string::npos) << m;
}
