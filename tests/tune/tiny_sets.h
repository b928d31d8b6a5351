#pragma once
// Small real evaluation sets written into a test's temporary folder: the first
// images of Fashion-MNIST's test set (raw files the MNIST reader takes) and of
// COCO val2017_tiny (symlinked images, with or without a cut annotations file).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unistd.h>

#include "../test_util.h"
#include "data/dataset.h"

namespace qtune::test {

inline std::filesystem::path fresh_dir(const std::string &name) {
  auto dir =
      std::filesystem::temp_directory_path() / ("qtune_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The first n test images and labels as headerless files; returns the YAML
// `dataset:` value for them.
inline std::string tiny_fashion_mnist(const std::filesystem::path &dir, size_t n) {
  data::MnistDataset full(fashion_mnist("t10k-images-idx3-ubyte.gz"),
                          fashion_mnist("t10k-labels-idx1-ubyte.gz"));
  std::ofstream img(dir / "images.raw", std::ios::binary),
      lab(dir / "labels.raw", std::ios::binary);
  for (size_t i = 0; i < n; ++i) {
    data::Sample s = full.get(i);
    img.write(reinterpret_cast<const char *>(s.image->pixels.data()),
              static_cast<std::streamsize>(s.image->pixels.size()));
    char label = static_cast<char>(s.truth.class_label);
    lab.write(&label, 1);
  }
  return "{FashionMNIST: {images: " + (dir / "images.raw").string() +
         ", labels: " + (dir / "labels.raw").string() + "}}";
}

// The first n images of val2017_tiny (ascending file name) in dir/val2017;
// with `labelled`, their annotations in dir/annotations/instances.json.
inline void tiny_coco(const std::filesystem::path &dir, size_t n, bool labelled) {
  namespace fs = std::filesystem;
  fs::path src = shared_data("coco/val2017_tiny");
  std::ifstream in(src / "annotations/instances_val2017.json");
  nlohmann::json j = nlohmann::json::parse(in);
  std::vector<nlohmann::json> images(j["images"].begin(), j["images"].end());
  std::sort(images.begin(), images.end(), [](const auto &a, const auto &b) {
    return a["file_name"].template get<std::string>() < b["file_name"].template get<std::string>();
  });
  images.resize(n);
  std::set<int64_t> ids;
  fs::create_directories(dir / "val2017");
  for (const auto &im : images) {
    ids.insert(im["id"].get<int64_t>());
    std::string f = im["file_name"];
    fs::create_symlink(src / "val2017" / f, dir / "val2017" / f);
  }
  if (!labelled)
    return;
  nlohmann::json out = j;
  out["images"] = images;
  out["annotations"] = nlohmann::json::array();
  for (const auto &a : j["annotations"])
    if (ids.count(a["image_id"].get<int64_t>()))
      out["annotations"].push_back(a);
  fs::create_directories(dir / "annotations");
  std::ofstream(dir / "annotations/instances.json") << out.dump();
}

// YOLOX-Nano's preprocessing and decoder (examples/coco/yolox_nano.yaml).
inline const char *kYoloxTransform =
    "{Letterbox: {size: [416, 416], pad_value: 114, position: top_left, interpolation: "
    "bilinear_antialias}, ChannelOrder: {order: BGR}, Transpose: {perm: [2, 0, 1]}, Cast: "
    "{dtype: float32}}";
inline const char *kYoloxDecoder =
    "{yolox: {strides: [8, 16, 32], score_threshold: 0.01, nms_iou: 0.65, max_detections: 100}}";

} // namespace qtune::test
