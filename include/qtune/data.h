#pragma once
/// @file
/// Datasets, the LPOT 1.x image transforms and a dataloader that feeds a model
/// one preprocessed image at a time: the pieces of an `eval_func` (or a
/// `q_dataloader`) that runs its own loop over its own images, preprocessed
/// exactly as `qtune evaluate` does for the same YAML.
///
///     auto val = qtune::Dataset::coco_raw("../shared/data/coco/val2017_tiny");
///     qtune::Transforms pre("Letterbox: {size: [416, 416], pad_value: 114}\n"
///                           "ChannelOrder: {order: BGR}\n"
///                           "Transpose: {perm: [2, 0, 1]}");
///     qtune::ImageDataLoader loader(val, pre, "images");
///     while (auto s = loader.next_sample()) {
///       auto outputs = model.run({{"images", s->input}});
///       ...
///     }
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "qtune/dataloader.h"
#include "qtune/tensor.h"

namespace qtune {

/// How model-input pixels map back to the original image: the preprocessing
/// scaled by (sx, sy) and then shifted by (ox, oy).
struct ImageGeometry {
  double sx = 1, sy = 1, ox = 0, oy = 0;
  int orig_width = 0, orig_height = 0;   ///< the decoded image
  int input_width = 0, input_height = 0; ///< after the transforms
};

/// One image after the transforms, ready to run.
struct InputSample {
  size_t index = 0;      ///< position in the dataset
  std::string name;      ///< file name or "record N"
  Tensor input;          ///< [1, ...] in the layout and dtype the transforms produce
  int64_t image_id = -1; ///< COCO image id (detection sets), else -1
  int64_t label = -1;    ///< class index (classification sets), else -1
  ImageGeometry geometry;
};

/// A set of images with their ground truth. Copies share the opened set.
class Dataset {
public:
  /// LPOT `COCORaw`: `root`/`anno_dir` (instances_*.json) and the images in
  /// `root`/`img_dir`. InputError naming the file when either is unreadable.
  static Dataset coco_raw(const std::string &root, const std::string &img_dir = "val2017",
                          const std::string &anno_dir = "annotations/instances_val2017.json");
  /// LPOT `COCORecord`: an Object Detection API TFRecord file (every record's
  /// CRC is checked on opening).
  static Dataset coco_record(const std::string &path);
  /// LPOT `ImageFolder`: one sub-folder per class, labels in sorted name order.
  static Dataset image_folder(const std::string &root);
  /// Any LPOT `dataset` mapping as YAML text, e.g. "COCORaw: {root: DIR}";
  /// relative paths are resolved against `base_dir`.
  static Dataset from_yaml(const std::string &yaml, const std::string &base_dir = ".");

  ~Dataset();
  Dataset(const Dataset &);
  Dataset &operator=(const Dataset &);

  size_t size() const;
  std::string describe() const; ///< e.g. "COCORaw instances_val2017.json (80 images)"
  bool has_coco_ground_truth() const;

  struct Impl; ///< internal
  /// The opened set (internal).
  const Impl &impl() const { return *impl_; }

private:
  explicit Dataset(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

/// The LPOT `transform` section, applied in the order written: Resize,
/// Letterbox, CenterCrop, Normalize, Rescale, ChannelOrder, Transpose, Layout,
/// Cast (keys and parameters as in the YAML, README "YAML reference").
/// Copies share the parsed list.
class Transforms {
public:
  /// No transform: the decoded image, HWC, RGB, 0..255.
  Transforms();
  /// `yaml`: the mapping (or sequence of one-key mappings) of the `transform`
  /// section. InputError naming the key on bad parameters.
  explicit Transforms(const std::string &yaml);
  ~Transforms();
  Transforms(const Transforms &);
  Transforms &operator=(const Transforms &);

  struct Impl; ///< internal
  /// The parsed list (internal).
  const Impl &impl() const { return *impl_; }

private:
  std::shared_ptr<const Impl> impl_;
};

/// Decodes and preprocesses the images of a Dataset on `threads` worker
/// threads, handing them back in dataset order. As a DataLoader (calibration)
/// each batch is one image under `input_name`.
class ImageDataLoader : public DataLoader {
public:
  /// `limit` > 0: only the first `limit` images. `input_dtype`: the tensor type
  /// the model wants (undefined: what the transforms produce; u8: 8-bit images
  /// as uint8).
  ImageDataLoader(Dataset dataset, Transforms transforms, std::string input_name, size_t limit = 0,
                  int threads = 1, DType input_dtype = DType::undefined);
  ~ImageDataLoader() override;
  ImageDataLoader(const ImageDataLoader &) = delete;
  ImageDataLoader &operator=(const ImageDataLoader &) = delete;

  void reset() override;
  std::optional<Batch> next() override;
  /// The next image with where it came from, or nullopt at the end. Throws
  /// InputError naming the image when one cannot be decoded.
  std::optional<InputSample> next_sample();
  /// Images one pass hands out.
  size_t size() const;
  const Dataset &dataset() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace qtune
