// COCO instances JSON loading: real val2017 annotations, the category id <->
// index map (COCO's 80 ids in 1..90), segmentation forms, and bad input.
#include <filesystem>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>

#include "../test_util.h"
#include "data/coco.h"
#include "qtune/error.h"

namespace qtune::coco {
namespace {

std::string error_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const InputError &e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(Coco, LoadsVal2017Tiny) {
  Dataset ds = load_coco(test::shared_data("coco/val2017_tiny/annotations/instances_val2017.json"));
  EXPECT_EQ(ds.images.size(), 80u);
  EXPECT_EQ(ds.annotations.size(), 815u);
  ASSERT_EQ(ds.num_categories(), 80);
  // COCO's ids: 1 (person) .. 90 (toothbrush) with gaps such as 12, 26, 29.
  EXPECT_EQ(ds.category_index(1), 0);
  EXPECT_EQ(ds.category_index(13), 11); // stop sign, after the gap at 12
  EXPECT_EQ(ds.category_index(90), 79);
  EXPECT_EQ(ds.category_index(12), -1);
  EXPECT_EQ(ds.category_id(0), 1);
  EXPECT_EQ(ds.category_id(79), 90);
  EXPECT_EQ(ds.categories[0].name, "person");
  EXPECT_EQ(ds.categories[79].name, "toothbrush");
  for (int k = 0; k < ds.num_categories(); ++k)
    EXPECT_EQ(ds.category_index(ds.category_id(k)), k);
  EXPECT_THROW(ds.category_id(80), Error);

  const Image &img = ds.image(532481);
  EXPECT_EQ(img.file_name, "000000532481.jpg");
  EXPECT_EQ(img.height, 426);
  EXPECT_EQ(img.width, 640);
  size_t total = 0;
  for (const Image &im : ds.images)
    for (size_t a : ds.annotations_of_image(im.id)) {
      EXPECT_EQ(ds.annotations[a].image_id, im.id);
      ++total;
    }
  EXPECT_EQ(total, ds.annotations.size());
}

TEST(Coco, KeepsCrowdRleAndPolygons) {
  Dataset ds = load_coco(test::shared_data("coco/cocoapi_golden/instances_val2014_100.json"));
  int crowd = 0, polys = 0;
  for (const Annotation &a : ds.annotations) {
    if (a.iscrowd) {
      ++crowd;
      EXPECT_EQ(a.segmentation.kind, Segmentation::Kind::rle_counts);
      EXPECT_GT(a.segmentation.rle_height, 0);
    } else {
      EXPECT_EQ(a.segmentation.kind, Segmentation::Kind::polygons);
      ++polys;
    }
  }
  EXPECT_EQ(crowd, 9);
  EXPECT_EQ(polys, 830);
  const Annotation &first = ds.annotations[0];
  EXPECT_DOUBLE_EQ(first.segmentation.polygons[0][0], 321.02); // first number in the file
}

TEST(Coco, MalformedJsonNamesLineAndColumn) {
  // Line 2, column 16 holds the stray '}' where a value must come.
  std::string text = "{\"images\": [],\n \"categories\": }\n";
  std::string msg = error_of([&] { parse_coco(text, "gt.json"); });
  EXPECT_NE(msg.find("gt.json:2:16: malformed JSON"), std::string::npos) << msg;
}

TEST(Coco, BadAnnotationsAreErrors) {
  std::string head = R"({"images": [{"id": 7, "file_name": "a.jpg", "height": 10, "width": 20}],
    "categories": [{"id": 1, "name": "person"}], "annotations": [)";
  std::string ok =
      R"({"id": 1, "image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0})";
  EXPECT_NO_THROW(parse_coco(head + ok + "]}", "gt.json"));
  std::string msg = error_of([&] {
    parse_coco(head + ok +
                   R"(, {"id": 2, "image_id": 7, "category_id": 5, "bbox": [1, 2, 3, 4]}]})",
               "gt.json");
  });
  EXPECT_NE(msg.find("gt.json: annotations[1]: unknown category_id 5"), std::string::npos) << msg;
  msg = error_of([&] {
    parse_coco(head + R"({"id": 2, "image_id": 8, "category_id": 1, "bbox": [1, 2, 3, 4]}]})",
               "gt.json");
  });
  EXPECT_NE(msg.find("annotations[0]: unknown image_id 8"), std::string::npos) << msg;
  msg = error_of([&] {
    parse_coco(head + R"({"id": 2, "image_id": 7, "category_id": 1, "bbox": [1, 2, 3]}]})",
               "gt.json");
  });
  EXPECT_NE(msg.find("annotations[0].bbox: expected [x, y, w, h]"), std::string::npos) << msg;
  msg = error_of([&] {
    parse_coco(head + R"({"id": 2, "image_id": 7, "category_id": 1,
      "segmentation": {"size": [10, 20], "counts": [5, 10]}}]})",
               "gt.json");
  });
  EXPECT_NE(msg.find("run lengths sum to 15, expected height*width = 200"), std::string::npos)
      << msg;
  msg = error_of([&] { load_coco("/nonexistent/instances.json"); });
  EXPECT_NE(msg.find("/nonexistent/instances.json: cannot open file"), std::string::npos) << msg;
}

} // namespace
} // namespace qtune::coco
