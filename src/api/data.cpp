// qtune/data.h: the data library's datasets, transforms and pipeline behind
// a public surface (no yaml-cpp or src/ type in the header).
#include "qtune/data.h"

#include <algorithm>
#include <yaml-cpp/yaml.h>

#include "api/data_impl.h"
#include "data/dataloader_factory.h"
#include "data/pipeline.h"
#include "qtune/error.h"

namespace qtune {

namespace {

// YAML text a user wrote into the API -> a node; parse errors name `what`.
YAML::Node parse_yaml(const std::string &text, const std::string &what) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception &e) {
    throw InputError(what + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

ImageGeometry public_geometry(const data::Geometry &g) {
  return {g.sx, g.sy, g.ox, g.oy, g.orig_width, g.orig_height, g.input_width, g.input_height};
}

} // namespace

Dataset::Dataset(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Dataset::~Dataset() = default;
Dataset::Dataset(const Dataset &) = default;
Dataset &Dataset::operator=(const Dataset &) = default;

Dataset Dataset::from_yaml(const std::string &yaml, const std::string &base_dir) {
  auto impl = std::make_shared<Impl>();
  impl->set = data::make_dataset(parse_yaml(yaml, "dataset"), base_dir, "dataset");
  return Dataset(std::move(impl));
}

Dataset Dataset::coco_raw(const std::string &root, const std::string &img_dir,
                          const std::string &anno_dir) {
  YAML::Node n;
  n["COCORaw"]["root"] = root;
  n["COCORaw"]["img_dir"] = img_dir;
  n["COCORaw"]["anno_dir"] = anno_dir;
  auto impl = std::make_shared<Impl>();
  impl->set = data::make_dataset(n, ".", "dataset");
  return Dataset(std::move(impl));
}

Dataset Dataset::coco_record(const std::string &path) {
  auto impl = std::make_shared<Impl>();
  impl->set = std::make_unique<data::CocoRecordDataset>(path);
  return Dataset(std::move(impl));
}

Dataset Dataset::image_folder(const std::string &root) {
  auto impl = std::make_shared<Impl>();
  impl->set = std::make_unique<data::ImageFolderDataset>(root);
  return Dataset(std::move(impl));
}

size_t Dataset::size() const {
  return impl_->set->size();
}
std::string Dataset::describe() const {
  return impl_->set->describe();
}
bool Dataset::has_coco_ground_truth() const {
  return impl_->set->coco_ground_truth() != nullptr;
}

Transforms::Transforms() : impl_(std::make_shared<Impl>()) {}
Transforms::Transforms(const std::string &yaml) {
  auto impl = std::make_shared<Impl>();
  impl->list = data::make_transforms(parse_yaml(yaml, "transform"), "transform");
  impl_ = std::move(impl);
}
Transforms::~Transforms() = default;
Transforms::Transforms(const Transforms &) = default;
Transforms &Transforms::operator=(const Transforms &) = default;

struct ImageDataLoader::Impl {
  Dataset dataset;
  Transforms transforms;
  std::string input_name;
  data::PipelineOptions options;
  DType input_dtype;
  std::unique_ptr<data::Pipeline> pipeline; // the current pass, made on first use
};

ImageDataLoader::ImageDataLoader(Dataset dataset, Transforms transforms, std::string input_name,
                                 size_t limit, int threads, DType input_dtype)
    : impl_(std::make_unique<Impl>(Impl{std::move(dataset),
                                        std::move(transforms),
                                        std::move(input_name),
                                        {},
                                        input_dtype,
                                        nullptr})) {
  if (threads < 1)
    throw InputError("ImageDataLoader: threads must be >= 1, got " + std::to_string(threads));
  impl_->options.threads = threads;
  impl_->options.queue_depth = std::max(4, 2 * threads);
  impl_->options.limit = limit;
}

ImageDataLoader::~ImageDataLoader() = default;

void ImageDataLoader::reset() {
  impl_->pipeline.reset();
}

std::optional<InputSample> ImageDataLoader::next_sample() {
  if (!impl_->pipeline)
    impl_->pipeline = std::make_unique<data::Pipeline>(
        *impl_->dataset.impl().set, impl_->transforms.impl().list, impl_->options);
  std::optional<data::PreparedSample> s = impl_->pipeline->next();
  if (!s)
    return std::nullopt;
  InputSample out;
  out.index = s->index;
  out.name = std::move(s->name);
  out.input = data::frame_to_tensor(s->frame, impl_->input_dtype);
  out.image_id = s->truth.image_id;
  out.label = s->truth.class_label;
  out.geometry = public_geometry(s->frame.geo);
  return out;
}

std::optional<Batch> ImageDataLoader::next() {
  std::optional<InputSample> s = next_sample();
  if (!s)
    return std::nullopt;
  return Batch{{impl_->input_name, std::move(s->input)}};
}

size_t ImageDataLoader::size() const {
  size_t n = impl_->dataset.size();
  return impl_->options.limit ? std::min(n, impl_->options.limit) : n;
}

const Dataset &ImageDataLoader::dataset() const {
  return impl_->dataset;
}

} // namespace qtune
