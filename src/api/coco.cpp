// qtune/coco.h: the data and metrics libraries behind a small public surface.
#include "qtune/coco.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "data/dataset.h"
#include "data/image_decode.h"
#include "data/transforms.h"
#include "metrics/coco_eval.h"
#include "qtune/error.h"

namespace qtune {

namespace fs = std::filesystem;

namespace {

// annotations/instances_<name>.json (the first in name order) and <name>/.
std::unique_ptr<data::Dataset> open_folder(const fs::path &dir) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir / "annotations", ec))
    if (e.path().extension() == ".json" && e.path().stem().string().rfind("instances_", 0) == 0)
      found.push_back(e.path());
  if (found.empty())
    throw InputError(dir.string() + ": no annotations/instances_*.json (expected a COCO folder or "
                                    "a TFRecord file)");
  std::sort(found.begin(), found.end());
  fs::path images = dir / found.front().stem().string().substr(10);
  if (!fs::is_directory(images))
    images = dir;
  return std::make_unique<data::CocoRawDataset>(found.front().string(), images.string());
}

} // namespace

struct CocoDetectionSet::Impl {
  std::unique_ptr<data::Dataset> dataset;
  coco::Dataset gt; // of the images used
  size_t size = 0;
};

CocoDetectionSet::CocoDetectionSet(const std::string &location, size_t limit)
    : impl_(std::make_unique<Impl>()) {
  if (fs::is_directory(location))
    impl_->dataset = open_folder(location);
  else if (fs::is_regular_file(location))
    impl_->dataset = std::make_unique<data::CocoRecordDataset>(location);
  else
    throw InputError(location + ": not found (expected a COCO folder or a TFRecord file)");
  impl_->size = limit ? std::min(limit, impl_->dataset->size()) : impl_->dataset->size();
  impl_->gt = metrics::first_images(*impl_->dataset->coco_ground_truth(), impl_->size);
}

CocoDetectionSet::~CocoDetectionSet() = default;

size_t CocoDetectionSet::size() const {
  return impl_->size;
}

std::string CocoDetectionSet::describe() const {
  return impl_->dataset->describe();
}

CocoDetectionSet::Image CocoDetectionSet::image(size_t i) const {
  if (i >= impl_->size)
    throw InputError(describe() + ": image " + std::to_string(i) + " is past the end (" +
                     std::to_string(impl_->size) + " images)");
  data::Sample s = impl_->dataset->get(i);
  data::Frame f = data::preprocess(s, {});
  Image out;
  out.id = s.truth.image_id;
  out.width = f.width;
  out.height = f.height;
  out.pixels = data::frame_to_tensor(f, DType::u8);
  return out;
}

std::array<double, 12> CocoDetectionSet::evaluate(std::span<const Detection> detections,
                                                  std::span<const int64_t> category_ids) const {
  metrics::CocoMap map(impl_->gt);
  map.restrict_categories(category_ids);
  map.add(detections);
  return map.evaluate().stats;
}

Tensor resize_bilinear_tf1(const Tensor &image, int height, int width) {
  if (image.dtype() != DType::u8 || image.rank() != 4 || image.dim(0) != 1)
    throw InputError("resize_bilinear_tf1: expected a uint8 [1,H,W,C] image, got " +
                     std::string(dtype_name(image.dtype())) + " " + shape_str(image.shape()));
  data::Frame f;
  f.height = static_cast<int>(image.dim(1));
  f.width = static_cast<int>(image.dim(2));
  f.channels = static_cast<int>(image.dim(3));
  f.px.assign(image.data<uint8_t>(), image.data<uint8_t>() + image.numel());
  f = data::resize_frame(f, width, height, data::Interp::bilinear, data::Coords::tf_legacy);
  return data::frame_to_tensor(f, DType::u8);
}

} // namespace qtune
