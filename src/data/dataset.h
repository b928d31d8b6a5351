#pragma once
// Datasets behind one interface: size() samples, get(i) returns sample i (thread
// safe, so pipeline workers can read in parallel). Detection sets also expose
// their ground truth as a COCO dataset for the COCO mAP metric.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "data/coco.h"
#include "data/sample.h"
#include "data/tfrecord.h"

namespace qtune::data {

class Dataset {
public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  virtual Sample get(size_t i) const = 0;
  virtual std::string describe() const = 0; // "COCORecord coco_val.record (5000 images)"
  // COCO-style ground truth (detection sets only), else nullptr.
  virtual const coco::Dataset *coco_ground_truth() const { return nullptr; }
};

// instances_*.json + image folder (file_name of each image is relative to it).
// Without an annotations file (""), the folder's images, unlabelled (for the
// label-free metrics): ids from numeric file names, no ground truth.
class CocoRawDataset : public Dataset {
public:
  CocoRawDataset(const std::string &annotations_json, const std::string &image_dir);
  size_t size() const override { return gt_.images.size(); }
  Sample get(size_t i) const override;
  std::string describe() const override;
  const coco::Dataset *coco_ground_truth() const override { return labelled_ ? &gt_ : nullptr; }
  const std::string &image_dir() const { return image_dir_; }

private:
  coco::Dataset gt_; // without annotations: the images only
  std::string image_dir_;
  bool labelled_ = true;
};

// Ground truth of one COCO image as a sample (boxes, categories, crowd, area).
GroundTruth coco_ground_truth_of(const coco::Dataset &gt, int64_t image_id);

// TFRecord of Object Detection API Examples (create_coco_tf_record.py layout).
// Opening reads every record once: checks both CRCs, parses the Examples and
// builds the ground truth, then keeps only record offsets.
class CocoRecordDataset : public Dataset {
public:
  explicit CocoRecordDataset(const std::string &path);
  size_t size() const override { return offsets_.size(); }
  Sample get(size_t i) const override;
  std::string describe() const override;
  const coco::Dataset *coco_ground_truth() const override { return &gt_; }

private:
  std::string path_;
  std::vector<uint64_t> offsets_;
  coco::Dataset gt_;
  mutable std::mutex mutex_;
  mutable TFRecordReader reader_;
};

// Classification: one sub-folder per class (sorted names -> labels 0..C-1).
class ImageFolderDataset : public Dataset {
public:
  explicit ImageFolderDataset(const std::string &root);
  size_t size() const override { return files_.size(); }
  Sample get(size_t i) const override;
  std::string describe() const override;
  const std::vector<std::string> &class_names() const { return classes_; }

protected:
  ImageFolderDataset() = default;
  std::string root_;
  std::vector<std::string> classes_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
};

// Classification from a list file: one "relative/path.jpg label" per line, paths
// relative to `root` (default: the list file's folder).
class ImageListDataset : public ImageFolderDataset {
public:
  ImageListDataset(const std::string &list_file, const std::string &root);
  std::string describe() const override;
};

// MNIST-style IDX files (idx3 images, idx1 labels), plain or gzip-compressed; a
// headerless file of raw uint8 28x28 images (+ raw labels) is accepted as well.
class MnistDataset : public Dataset {
public:
  MnistDataset(const std::string &images_file, const std::string &labels_file);
  size_t size() const override { return labels_.size(); }
  Sample get(size_t i) const override;
  std::string describe() const override;
  int rows() const { return rows_; }
  int cols() const { return cols_; }

private:
  std::string images_file_;
  int rows_ = 0, cols_ = 0;
  std::vector<uint8_t> pixels_, labels_;
};

} // namespace qtune::data
