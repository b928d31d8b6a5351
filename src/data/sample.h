#pragma once
// What a dataset hands out: one image (encoded bytes, or already decoded pixels
// for sets like MNIST) plus its ground truth (detection boxes or a class label).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qtune::data {

// 8-bit pixels, interleaved (HWC), channels 1 (gray) or 3 (RGB order).
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

struct BoxXYWH {
  float x = 0, y = 0, w = 0, h = 0; // pixels of the original image, COCO style
};

struct GroundTruth {
  int64_t image_id = -1;
  std::vector<BoxXYWH> boxes;
  std::vector<int64_t> category_ids; // COCO category ids (1..90)
  std::vector<uint8_t> is_crowd;
  std::vector<float> area;
  std::vector<std::string> class_text;
  int64_t class_label = -1; // classification sets: the class index
};

struct Sample {
  std::string name;    // file name or "record N", for error messages
  std::string encoded; // JPEG/PNG bytes (empty when `image` is set)
  std::string format;  // "jpeg", "png" or "" (sniffed from bytes)
  std::optional<Image> image;
  int width = 0, height = 0; // 0 when unknown before decoding
  GroundTruth truth;
};

} // namespace qtune::data
