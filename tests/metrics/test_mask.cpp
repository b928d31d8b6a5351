// RLE / polygon masks. References: the fake segm results' strings were written by
// pycocotools' rleToString, the crowd RLEs by COCO's tools. (COCO's "area" and
// "bbox" of crowd annotations are NOT the mask's: area differs and bbox is one
// pixel narrower, so they are no reference; polygon rasterisation is checked
// for real by the segm stats in test_coco_eval.cpp.)
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "data/coco.h"
#include "metrics/mask.h"
#include "qtune/error.h"

namespace qtune::mask {
namespace {

nlohmann::json load_json(const std::string &rel) {
  return nlohmann::json::parse(coco::read_text_file(test::shared_data(rel)));
}

TEST(Mask, CrowdRleRoundTrips) {
  coco::Dataset gt =
      coco::load_coco(test::shared_data("coco/cocoapi_golden/instances_val2014_100.json"));
  int crowd = 0;
  for (const coco::Annotation &a : gt.annotations) {
    if (a.segmentation.kind != coco::Segmentation::Kind::rle_counts)
      continue;
    ++crowd;
    Rle rle{uint32_t(a.segmentation.rle_height), uint32_t(a.segmentation.rle_width),
            a.segmentation.counts};
    // The mask lies inside COCO's box (which is one pixel narrower than toBbox's).
    Box box = rle_to_bbox(rle);
    EXPECT_EQ(box[0], a.bbox[0]) << "annotation " << a.id;
    EXPECT_EQ(box[1], a.bbox[1]) << "annotation " << a.id;
    // decode -> encode and string -> counts round trips
    std::vector<uint8_t> m = rle_decode(rle);
    EXPECT_EQ(rle_encode(m, rle.h, rle.w).counts, rle.counts);
    EXPECT_EQ(rle_from_string(rle_to_string(rle), rle.h, rle.w).counts, rle.counts);
  }
  EXPECT_EQ(crowd, 9); // the golden file's RLE (crowd) annotations
}

TEST(Mask, PycocotoolsStringsRoundTrip) {
  nlohmann::json res = load_json("coco/cocoapi_golden/instances_val2014_fakesegm100_results.json");
  ASSERT_GT(res.size(), 100u);
  for (const auto &r : res) {
    const auto &seg = r["segmentation"];
    std::string s = seg["counts"].get<std::string>();
    uint32_t h = seg["size"][0], w = seg["size"][1];
    Rle rle = rle_from_string(s, h, w);
    EXPECT_EQ(rle_to_string(rle), s);
    EXPECT_EQ(rle_encode(rle_decode(rle), h, w).counts, rle.counts);
  }
}

TEST(Mask, IntegerRectanglePolygonCoversItsPixels) {
  // maskApi's rasterisation puts an integer-aligned box on exactly w*h pixels.
  const double xy[8] = {10, 20, 10, 60, 40, 60, 40, 20};
  Rle rle = rle_from_polygon(xy, 100, 80);
  EXPECT_EQ(rle_area(rle), 30u * 40u);
  Box box = rle_to_bbox(rle);
  EXPECT_EQ(box, (Box{10, 20, 30, 40}));
  std::vector<uint8_t> m = rle_decode(rle);
  EXPECT_EQ(m[10 * 100 + 20], 1); // x=10, y=20 inside
  EXPECT_EQ(m[39 * 100 + 59], 1); // x=39, y=59 inside
  EXPECT_EQ(m[40 * 100 + 59], 0); // x=40 outside
  EXPECT_EQ(m[10 * 100 + 19], 0); // y=19 outside
  EXPECT_EQ(rle_from_bbox({10, 20, 30, 40}, 100, 80).counts, rle.counts);
}

TEST(Mask, MergeAndIouOfRectangles) {
  Rle a = rle_from_bbox({0, 0, 10, 10}, 50, 50);
  Rle b = rle_from_bbox({5, 5, 10, 10}, 50, 50);
  Rle ab[2] = {a, b};
  EXPECT_EQ(rle_area(rle_merge(ab)), 175u);
  EXPECT_EQ(rle_area(rle_merge(ab, true)), 25u);
  double o[2];
  uint8_t crowd[2] = {0, 1};
  Rle gts[2] = {b, b};
  rle_iou({&a, 1}, gts, crowd, o);
  EXPECT_DOUBLE_EQ(o[0], 25.0 / 175.0);
  EXPECT_DOUBLE_EQ(o[1], 25.0 / 100.0); // crowd: intersection over detection area
  Box db[1] = {{0, 0, 10, 10}};
  Box gb[2] = {{5, 5, 10, 10}, {5, 5, 10, 10}};
  bbox_iou(db, gb, crowd, o);
  EXPECT_DOUBLE_EQ(o[0], 25.0 / 175.0);
  EXPECT_DOUBLE_EQ(o[1], 25.0 / 100.0);
  Rle far = rle_from_bbox({30, 30, 5, 5}, 50, 50);
  rle_iou({&far, 1}, {&a, 1}, {}, o);
  EXPECT_EQ(o[0], 0.0);
}

TEST(Mask, MergeOfRealPolygonsIsPixelwiseUnion) {
  // Multi-polygon objects of the golden ground truth: run-walking union and
  // intersection must equal OR / AND of the decoded masks.
  coco::Dataset gt =
      coco::load_coco(test::shared_data("coco/cocoapi_golden/instances_val2014_100.json"));
  int checked = 0;
  for (const coco::Annotation &a : gt.annotations) {
    if (a.segmentation.polygons.size() < 2 || checked == 20) // 20 keep the test fast
      continue;
    const coco::Image &img = gt.image(a.image_id);
    uint32_t h = uint32_t(img.height), w = uint32_t(img.width);
    std::vector<Rle> parts;
    for (const auto &poly : a.segmentation.polygons)
      parts.push_back(rle_from_polygon(poly, h, w));
    std::vector<uint8_t> any(size_t(h) * w, 0), all(size_t(h) * w, 1);
    for (const Rle &r : parts) {
      std::vector<uint8_t> m = rle_decode(r);
      for (size_t i = 0; i < m.size(); ++i) {
        any[i] |= m[i];
        all[i] &= m[i];
      }
    }
    EXPECT_EQ(rle_decode(rle_merge(parts)), any) << "annotation " << a.id;
    EXPECT_EQ(rle_decode(rle_merge(parts, true)), all) << "annotation " << a.id;
    EXPECT_EQ(rle_merge(parts).counts, rle_encode(any, h, w).counts) << "annotation " << a.id;
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(Mask, BadCompressedStringIsAnError) {
  EXPECT_THROW(rle_from_string("0!", 1, 1, "x"), InputError);   // '!' below '0'
  EXPECT_THROW(rle_from_string("1", 2, 2, "x"), InputError);    // sums to 1, not 4
  EXPECT_THROW(rle_from_string("\x60", 2, 2, "x"), InputError); // ends mid-count
}

} // namespace
} // namespace qtune::mask
