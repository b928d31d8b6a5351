#pragma once
// Datasets and transforms from the LPOT 1.x `dataloader` YAML section. The tuner's
// schema mirrors the keys accepted here:
//
// dataloader:
//   batch_size: 1                      # int >= 1
//   skip_bad_images: false             # ours: skip and count missing/corrupt images
//   dataset:                           # exactly one of:
//     COCORaw: {root: DIR, img_dir: val2017, anno_dir: annotations/instances_val2017.json}
//     COCORecord: {root: FILE.record}
//     ImageFolder: {root: DIR}         # one sub-folder per class
//     ImageList: {list: FILE, root: DIR}   # lines "path label"; root defaults to list's folder
//     MNIST: {images: FILE, labels: FILE}  # IDX (.gz ok) or raw uint8 28x28
//     FashionMNIST: {images: FILE, labels: FILE}
//   transform:                         # applied in the order written (map or list of maps)
//     Resize: {size: N | [h, w], interpolation: bilinear, keep_ratio: false,
//              mode: half_pixel | tf_legacy | align_corners}
//     Letterbox: {size: N | [h, w], pad_value: 114, position: top_left | center,
//                 interpolation: bilinear}
//     CenterCrop: {size: N | [h, w]}
//     Normalize: {mean: [..], std: [..]}  # per channel, (x - mean) / std
//     Rescale: {scale: 0.00392156862745098}  # x * scale (default 1/255)
//     ChannelOrder: {order: RGB | BGR}   # decoded images start RGB
//     Transpose: {perm: [2, 0, 1]}       # HWC -> CHW ([0,1,2] keeps HWC)
//     Layout: {layout: NCHW | NHWC}      # same as Transpose, by name
//     Cast: {dtype: float32 | uint8}
// interpolation: bilinear (OpenCV INTER_LINEAR), bilinear_antialias (PIL BILINEAR),
// nearest, area. Resize mode (sampling coordinates, see transforms.h): half_pixel
// (default, OpenCV/PIL), tf_legacy (TensorFlow 1.x ResizeBilinear with
// align_corners=False, half_pixel_centers=False, as the Object Detection API's
// fixed_shape_resizer), align_corners. 8-bit images stay 8-bit (rounded half up);
// a uint8 model input (TensorFlow's image_tensor) receives them as uint8.
// Relative paths are resolved against `base_dir`.
// Errors are InputError naming the key path, e.g. "dataloader.transform.Resize.size: ...".
#include <memory>
#include <string>
#include <yaml-cpp/yaml.h>

#include "data/dataset.h"
#include "data/transforms.h"

namespace qtune::data {

// `node` is the `dataset` mapping; `where` its key path for messages.
std::unique_ptr<Dataset> make_dataset(const YAML::Node &node, const std::string &base_dir,
                                      const std::string &where = "dataloader.dataset");
// `node` is the `transform` mapping (or sequence of one-key mappings).
TransformList make_transforms(const YAML::Node &node,
                              const std::string &where = "dataloader.transform");

struct DataloaderConfig {
  std::unique_ptr<Dataset> dataset;
  TransformList transforms;
  int batch_size = 1;
  bool skip_bad_images = false;
};

// The whole `dataloader` section.
DataloaderConfig make_dataloader(const YAML::Node &node, const std::string &base_dir,
                                 const std::string &where = "dataloader");

} // namespace qtune::data
