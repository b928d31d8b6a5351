// The public qtune/data.h + qtune/decoder.h pipeline against what other tools
// produced: dog.jpg through an ImageFolder dataset, the LPOT transforms and
// the loader equals the reference YOLOX input; YOLOX-Nano run through
// qtune::Model and decoded by the public decoder finds the dog, the bicycle
// and the truck, as ONNX Runtime's output does; the COCO loader's image ids
// and geometry follow the annotations file, and its detections agree with
// ONNX Runtime's reference detections of the same images.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <set>
#include <unistd.h>

#include "public_test_util.h"
#include "qtune/data.h"
#include "qtune/decoder.h"
#include "qtune/error.h"
#include "qtune/metrics.h"
#include "qtune/model.h"

namespace qtune {
namespace {

namespace fs = std::filesystem;

// examples/coco/yolox_nano.yaml's transform and postprocess sections.
const char *kYoloxTransforms = "Letterbox: {size: [416, 416], pad_value: 114, position: top_left,\n"
                               "            interpolation: bilinear_antialias}\n"
                               "ChannelOrder: {order: BGR}\n"
                               "Transpose: {perm: [2, 0, 1]}\n"
                               "Cast: {dtype: float32}";
const char *kYoloxDecoder =
    "yolox: {strides: [8, 16, 32], score_threshold: 0.01, nms_iou: 0.65, max_detections: 100}";

Model &yolox() {
  static Model m(test::shared_data("models/yolox_nano/yolox_nano.onnx"));
  return m;
}

// An ImageFolder tree: class "animals" (empty) and class "dog" with dog.jpg.
struct DogFolder {
  fs::path root = fs::temp_directory_path() / ("qtune_api_dog_" + std::to_string(::getpid()));
  DogFolder() {
    fs::remove_all(root);
    fs::create_directories(root / "animals");
    fs::create_directories(root / "dog");
    fs::create_symlink(test::shared_data("models/yolox_nano/dog.jpg"), root / "dog" / "dog.jpg");
  }
  ~DogFolder() { fs::remove_all(root); }
};

TEST(PublicData, YoloxFindsDogBicycleTruckLikeOnnxRuntime) {
  DogFolder folder;
  Dataset set = Dataset::image_folder(folder.root.string());
  ASSERT_EQ(set.size(), 1u);
  EXPECT_FALSE(set.has_coco_ground_truth());
  ImageDataLoader loader(set, Transforms(kYoloxTransforms), "images");
  std::optional<InputSample> s = loader.next_sample();
  ASSERT_TRUE(s);
  EXPECT_FALSE(loader.next_sample());
  EXPECT_EQ(s->label, 1); // classes in sorted name order: animals, dog
  EXPECT_EQ(s->geometry.orig_width, 768);
  EXPECT_EQ(s->geometry.orig_height, 576);
  EXPECT_NEAR(s->geometry.sx, 416.0 / 768, 1e-12);

  // The input equals the reference preprocessing within one 8-bit step
  // (fixed-point vs float resize rounding; tests/data/test_image.cpp).
  Tensor ref_in = test::read_f32_tensor(test::shared_data("reference/yolox_nano_dog.input.f32"),
                                        {1, 3, 416, 416});
  ASSERT_EQ(s->input.shape(), ref_in.shape());
  auto got = s->input.span<float>();
  auto want = ref_in.span<float>();
  double max_diff = 0;
  for (size_t i = 0; i < got.size(); ++i)
    max_diff = std::max(max_diff, double(std::fabs(got[i] - want[i])));
  EXPECT_LE(max_diff, 1.0);

  // Decoded: the confident detections are the dog, the bicycle and the truck
  // (which YOLOX-Nano calls a car first), as for ONNX Runtime's output.
  DetectionDecoder decoder(kYoloxDecoder);
  EXPECT_EQ(decoder.name(), "yolox");
  std::vector<std::string> names = yolox().output_names();
  std::vector<Tensor> ours = yolox().run({{"images", s->input}});
  Tensor ort = test::read_f32_tensor(test::shared_data("reference/yolox_nano_dog.output.f32"),
                                     {1, 3549, 85});
  std::vector<Detection> d_ours = decoder.decode(ours, names, *s);
  std::vector<Detection> d_ort = decoder.decode(std::span<const Tensor>(&ort, 1), names, *s);
  for (const auto *d : {&d_ours, &d_ort}) {
    std::set<int64_t> confident;
    bool truck = false;
    for (const Detection &x : *d) {
      if (x.score > 0.5)
        confident.insert(x.category_id);
      truck = truck || (x.category_id == 8 && x.score > 0.2);
      EXPECT_EQ(x.image_id, s->image_id);
    }
    EXPECT_EQ(confident, (std::set<int64_t>{2, 3, 18}));
    EXPECT_TRUE(truck);
  }

  // Label-free: our detections scored against ONNX Runtime's as ground truth,
  // and our raw output against ONNX Runtime's on the reference input.
  FidelityCOCOmAP fid(0.3);
  fid.add_reference(s->image_id, d_ort);
  fid.add(d_ours);
  FidelityRelativeL2 l2;
  l2.add_reference(ort.to_f32_vector());
  l2.update(yolox().run({{"images", ref_in}}), {});
  std::printf("dog.jpg: FidelityCOCOmAP of qtune vs ONNX Runtime detections %.4f; output rel L2 "
              "on the reference input %.3g (SQNR %.1f dB)\n",
              fid.result(), l2.result(), l2.sqnr_db());
  EXPECT_GT(fid.result(), 0.8);
  EXPECT_LT(l2.result(), 1e-4);
}

TEST(PublicData, CocoLoaderFollowsTheAnnotationsAndAgreesWithOnnxRuntime) {
  const size_t n = 3;
  Dataset val = Dataset::coco_raw(test::shared_data("coco/val2017_tiny"));
  EXPECT_EQ(val.size(), 80u);
  EXPECT_NE(val.describe().find("80"), std::string::npos) << val.describe();
  auto images = test::read_json(
      test::shared_data("coco/val2017_tiny/annotations/instances_val2017.json"))["images"];
  ImageDataLoader loader(val, Transforms(kYoloxTransforms), "images", n);
  EXPECT_EQ(loader.size(), n);
  DetectionDecoder decoder(kYoloxDecoder);
  FidelityCOCOmAP agree(0.3);
  std::set<int64_t> ids;
  for (size_t i = 0; i < n; ++i) {
    std::optional<InputSample> s = loader.next_sample();
    ASSERT_TRUE(s);
    const auto &im = images.at(i);
    EXPECT_EQ(s->index, i);
    EXPECT_EQ(s->image_id, im.at("id").get<int64_t>());
    EXPECT_EQ(s->geometry.orig_width, im.at("width").get<int>());
    EXPECT_EQ(s->geometry.orig_height, im.at("height").get<int>());
    double r = 416.0 / std::max(im.at("width").get<double>(), im.at("height").get<double>());
    EXPECT_NEAR(s->geometry.sx, r, 1e-12);
    EXPECT_EQ(s->input.shape(), (Shape{1, 3, 416, 416}));
    agree.add(decoder.decode(yolox().run({{"images", s->input}}), yolox().output_names(), *s));
    ids.insert(s->image_id);
  }
  EXPECT_FALSE(loader.next_sample());
  // As a DataLoader (calibration): the same images again after reset().
  loader.reset();
  std::optional<Batch> b = loader.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->at("images").shape(), (Shape{1, 3, 416, 416}));

  // ONNX Runtime's detections of the same images (reference JSON) as ground truth.
  std::vector<Detection> ort =
      test::read_detections(test::shared_data("reference/yolox_nano_val2017_tiny.detections.json"));
  for (int64_t id : ids) {
    std::vector<Detection> mine;
    std::copy_if(ort.begin(), ort.end(), std::back_inserter(mine),
                 [&](const Detection &d) { return d.image_id == id; });
    agree.add_reference(id, mine);
  }
  std::printf("val2017_tiny first %zu images: FidelityCOCOmAP of qtune vs ONNX Runtime %.4f\n", n,
              agree.result());
  EXPECT_GT(agree.result(), 0.7);
}

// An Object Detection API TFRecord made from val2017_tiny (`qtune dataset
// convert`) through Dataset::coco_record: the folder's images, pixel for
// pixel after the transforms, and ground truth that scores ONNX Runtime's
// YOLOX detections as pycocotools does.
TEST(PublicData, CocoRecordGivesTheFolderImagesAndGroundTruth) {
  std::string dir = test::shared_data("coco/val2017_tiny");
  fs::path rec = fs::temp_directory_path() / ("qtune_api_rec_" + std::to_string(::getpid()));
  std::string cmd = test::qtune_binary() + " dataset convert --from coco --annotations " + dir +
                    "/annotations/instances_val2017.json --images " + dir +
                    "/val2017 --to tfrecord " + rec.string() + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Dataset record = Dataset::coco_record(rec.string());
  fs::remove(rec);
  Dataset folder = Dataset::coco_raw(dir);
  EXPECT_EQ(record.size(), 80u);
  ASSERT_TRUE(record.has_coco_ground_truth());
  ImageDataLoader a(folder, Transforms(kYoloxTransforms), "images", 2);
  ImageDataLoader b(record, Transforms(kYoloxTransforms), "images", 2);
  for (int i = 0; i < 2; ++i) {
    std::optional<InputSample> x = a.next_sample(), y = b.next_sample();
    ASSERT_TRUE(x && y);
    EXPECT_EQ(x->image_id, y->image_id);
    ASSERT_EQ(x->input.shape(), y->input.shape());
    EXPECT_EQ(0, std::memcmp(x->input.raw(), y->input.raw(), x->input.nbytes()));
  }
  CocoMAP map(record);
  map.add(test::read_detections(
      test::shared_data("reference/yolox_nano_val2017_tiny.detections.json")));
  std::array<double, 12> got = map.stats(),
                         want = test::reference_stats("yolox_nano_val2017_tiny_bbox");
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-6) << "stat " << i;
}

TEST(PublicData, BadInputNamesThePlace) {
  EXPECT_THROW(Dataset::coco_raw("/nonexistent/coco"), InputError);
  EXPECT_THROW(Dataset::image_folder("/nonexistent/folder"), InputError);
  EXPECT_THROW(Transforms("Letterbox: {sise: [416, 416]}"), InputError);
  EXPECT_THROW(DetectionDecoder("yolox: {strides: oops}"), InputError);
  EXPECT_THROW(DetectionDecoder("nosuchdecoder: {}"), InputError);
}

} // namespace
} // namespace qtune
