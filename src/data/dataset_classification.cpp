// Classification datasets: image folder per class, "path label" list, MNIST IDX.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <zlib.h>

#include "data/dataset.h"
#include "data/image_decode.h"
#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune::data {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path &p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

} // namespace

ImageFolderDataset::ImageFolderDataset(const std::string &root) : root_(root) {
  if (!fs::is_directory(root))
    throw InputError(root + ": ImageFolder root is not a folder");
  for (const auto &e : fs::directory_iterator(root))
    if (e.is_directory())
      classes_.push_back(e.path().filename().string());
  std::sort(classes_.begin(), classes_.end());
  if (classes_.empty())
    throw InputError(root + ": ImageFolder root has no class sub-folders");
  for (size_t c = 0; c < classes_.size(); ++c) {
    std::vector<std::string> names;
    for (const auto &e : fs::directory_iterator(fs::path(root) / classes_[c]))
      if (e.is_regular_file() && is_image_name(e.path()))
        names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    for (auto &n : names) {
      files_.push_back(std::move(n));
      labels_.push_back(static_cast<int64_t>(c));
    }
  }
}

Sample ImageFolderDataset::get(size_t i) const {
  Sample s;
  s.name = files_.at(i);
  s.encoded = read_file_bytes(s.name);
  s.truth.image_id = static_cast<int64_t>(i);
  s.truth.class_label = labels_[i];
  return s;
}

std::string ImageFolderDataset::describe() const {
  return "ImageFolder " + root_ + " (" + std::to_string(size()) + " images, " +
         std::to_string(classes_.size()) + " classes)";
}

ImageListDataset::ImageListDataset(const std::string &list_file, const std::string &root) {
  root_ = root.empty() ? fs::path(list_file).parent_path().string() : root;
  std::ifstream in = open_input_file(list_file, "image list", std::ios::in);
  if (!in)
    throw InputError(list_file + ": cannot open image list");
  std::string line;
  int64_t max_label = -1;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    std::istringstream ls(line);
    std::string path;
    int64_t label = -1;
    std::string extra;
    if (!(ls >> path >> label) || label < 0 || (ls >> extra))
      throw InputError(list_file + ":" + std::to_string(line_no) +
                       ": expected '<image path> <label>' with a label >= 0");
    files_.push_back((fs::path(root_) / path).string());
    labels_.push_back(label);
    max_label = std::max(max_label, label);
  }
  if (files_.empty())
    throw InputError(list_file + ": image list is empty");
  for (int64_t c = 0; c <= max_label; ++c)
    classes_.push_back(std::to_string(c));
}

std::string ImageListDataset::describe() const {
  return "ImageList " + root_ + " (" + std::to_string(size()) + " images)";
}

namespace {

// Whole file, transparently gunzipped when it starts with the gzip magic.
std::vector<uint8_t> read_maybe_gzip(const std::string &path) {
  require_regular_file(path);
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f)
    throw InputError(path + ": cannot open file");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      throw InputError(path + ": corrupt gzip data: " + msg);
    }
    if (n == 0)
      break;
    out.insert(out.end(), buf, buf + n);
  }
  gzclose(f);
  return out;
}

uint32_t load_u32be(const uint8_t *p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

} // namespace

MnistDataset::MnistDataset(const std::string &images_file, const std::string &labels_file)
    : images_file_(images_file) {
  std::vector<uint8_t> img = read_maybe_gzip(images_file);
  std::vector<uint8_t> lab = read_maybe_gzip(labels_file);
  size_t count = 0;
  if (img.size() >= 16 && load_u32be(img.data()) == 0x00000803) { // idx3, uint8
    count = load_u32be(img.data() + 4);
    rows_ = static_cast<int>(load_u32be(img.data() + 8));
    cols_ = static_cast<int>(load_u32be(img.data() + 12));
    if (img.size() != 16 + count * rows_ * cols_)
      throw InputError(images_file + ": IDX header says " + std::to_string(count) + " images of " +
                       std::to_string(rows_) + "x" + std::to_string(cols_) + " but the file has " +
                       std::to_string(img.size() - 16) + " data bytes");
    pixels_.assign(img.begin() + 16, img.end());
  } else { // headerless raw uint8 28x28 images
    rows_ = cols_ = 28;
    if (img.empty() || img.size() % 784 != 0)
      throw InputError(images_file + ": neither an IDX image file (magic 0x00000803) nor raw " +
                       "28x28 uint8 images (size is not a multiple of 784)");
    count = img.size() / 784;
    pixels_ = std::move(img);
  }
  if (lab.size() >= 8 && load_u32be(lab.data()) == 0x00000801) { // idx1, uint8
    if (load_u32be(lab.data() + 4) != count || lab.size() != 8 + count)
      throw InputError(labels_file + ": IDX label count does not match the " +
                       std::to_string(count) + " images of " + images_file);
    labels_.assign(lab.begin() + 8, lab.end());
  } else {
    if (lab.size() != count)
      throw InputError(labels_file + ": " + std::to_string(lab.size()) + " raw labels for " +
                       std::to_string(count) + " images of " + images_file);
    labels_ = std::move(lab);
  }
}

Sample MnistDataset::get(size_t i) const {
  Sample s;
  s.name = images_file_ + ": image " + std::to_string(i);
  Image im;
  im.width = cols_;
  im.height = rows_;
  im.channels = 1;
  const size_t n = size_t(rows_) * cols_;
  im.pixels.assign(pixels_.begin() + i * n, pixels_.begin() + (i + 1) * n);
  s.image = std::move(im);
  s.width = cols_;
  s.height = rows_;
  s.truth.image_id = static_cast<int64_t>(i);
  s.truth.class_label = labels_.at(i);
  return s;
}

std::string MnistDataset::describe() const {
  return "MNIST " + images_file_ + " (" + std::to_string(size()) + " images " +
         std::to_string(rows_) + "x" + std::to_string(cols_) + ")";
}

} // namespace qtune::data
