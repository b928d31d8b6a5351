// COCO detection datasets: raw annotations JSON + images, and TFRecord.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_set>

#include "data/dataset.h"
#include "data/image_decode.h"
#include "data/od_example.h"
#include "qtune/error.h"

namespace qtune::data {

GroundTruth coco_ground_truth_of(const coco::Dataset &gt, int64_t image_id) {
  GroundTruth t;
  t.image_id = image_id;
  for (size_t k : gt.annotations_of_image(image_id)) {
    const auto &a = gt.annotations[k];
    t.boxes.push_back({static_cast<float>(a.bbox[0]), static_cast<float>(a.bbox[1]),
                       static_cast<float>(a.bbox[2]), static_cast<float>(a.bbox[3])});
    t.category_ids.push_back(a.category_id);
    t.is_crowd.push_back(a.iscrowd);
    t.area.push_back(static_cast<float>(a.has_area ? a.area : a.bbox[2] * a.bbox[3]));
    int ci = gt.category_index(a.category_id);
    t.class_text.push_back(ci >= 0 ? gt.categories[ci].name : std::string());
  }
  return t;
}

namespace {

// The images of a folder without annotations (label-free metrics): .jpg, .jpeg
// and .png files in name order; the id is the file name's number when it is
// one (COCO's 000000005001.jpg -> 5001), else the position + 1.
coco::Dataset images_of_folder(const std::string &image_dir) {
  coco::Dataset d;
  d.source = image_dir;
  std::vector<std::string> names;
  for (const auto &e : std::filesystem::directory_iterator(image_dir)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png"))
      names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  bool numeric = true;
  for (const auto &n : names) {
    std::string stem = std::filesystem::path(n).stem().string();
    numeric = numeric && !stem.empty() && stem.size() < 18 &&
              std::all_of(stem.begin(), stem.end(), ::isdigit);
  }
  std::set<int64_t> ids;
  for (size_t i = 0; i < names.size(); ++i) {
    coco::Image im;
    im.file_name = names[i];
    im.id = numeric ? std::stoll(std::filesystem::path(names[i]).stem().string())
                    : static_cast<int64_t>(i) + 1;
    numeric = numeric && ids.insert(im.id).second;
    d.images.push_back(im);
  }
  if (!numeric) // two names with one number (001.jpg, 1.png): positions instead
    for (size_t i = 0; i < d.images.size(); ++i)
      d.images[i].id = static_cast<int64_t>(i) + 1;
  if (d.images.empty())
    throw InputError(image_dir + ": no .jpg / .png images in the folder");
  d.build_index();
  return d;
}

} // namespace

CocoRawDataset::CocoRawDataset(const std::string &annotations_json, const std::string &image_dir)
    : image_dir_(image_dir) {
  if (!std::filesystem::is_directory(image_dir))
    throw InputError(image_dir + ": image folder not found" +
                     (annotations_json.empty() ? "" : " (for " + annotations_json + ")"));
  labelled_ = !annotations_json.empty();
  gt_ = labelled_ ? coco::load_coco(annotations_json) : images_of_folder(image_dir);
}

Sample CocoRawDataset::get(size_t i) const {
  const coco::Image &im = gt_.images.at(i);
  Sample s;
  s.name = (std::filesystem::path(image_dir_) / im.file_name).string();
  s.encoded = read_file_bytes(s.name);
  s.width = static_cast<int>(im.width);
  s.height = static_cast<int>(im.height);
  if (labelled_)
    s.truth = coco_ground_truth_of(gt_, im.id);
  else
    s.truth.image_id = im.id;
  return s;
}

std::string CocoRawDataset::describe() const {
  if (!labelled_)
    return "COCORaw " + image_dir_ + " without annotations (" + std::to_string(size()) + " images)";
  return "COCORaw " + gt_.source + " + " + image_dir_ + " (" + std::to_string(size()) + " images)";
}

namespace {

std::string record_where(const std::string &path, size_t i) {
  return path + ": record " + std::to_string(i);
}

} // namespace

CocoRecordDataset::CocoRecordDataset(const std::string &path) : path_(path), reader_(path) {
  gt_.source = path;
  std::map<int64_t, std::string> category_names;
  std::unordered_set<int64_t> seen_ids;
  std::string rec;
  int64_t next_ann_id = 1;
  for (;;) {
    size_t index = gt_.images.size();
    if (!reader_.next(rec))
      break;
    Sample s = parse_od_example(rec, record_where(path, index));
    coco::Image im;
    im.id = s.truth.image_id;
    im.file_name = "record " + std::to_string(index);
    im.width = s.width;
    im.height = s.height;
    if (!seen_ids.insert(im.id).second)
      throw InputError(record_where(path, index) + ": duplicate image/source_id " +
                       std::to_string(im.id));
    gt_.images.push_back(im);
    const GroundTruth &t = s.truth;
    for (size_t k = 0; k < t.boxes.size(); ++k) {
      coco::Annotation a;
      a.id = next_ann_id++;
      a.image_id = im.id;
      a.category_id = t.category_ids[k];
      a.bbox = {t.boxes[k].x, t.boxes[k].y, t.boxes[k].w, t.boxes[k].h};
      a.has_bbox = true;
      a.area = t.area[k];
      a.has_area = true;
      a.iscrowd = t.is_crowd[k] != 0;
      gt_.annotations.push_back(a);
      auto &name = category_names[a.category_id];
      if (name.empty() && k < t.class_text.size())
        name = t.class_text[k];
    }
  }
  offsets_ = reader_.index();
  for (const auto &[id, name] : category_names) {
    coco::Category c;
    c.id = id;
    c.name = name;
    gt_.categories.push_back(c);
  }
  gt_.build_index();
}

Sample CocoRecordDataset::get(size_t i) const {
  std::string rec;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reader_.read_at(offsets_.at(i), static_cast<int64_t>(i), rec);
  }
  return parse_od_example(rec, record_where(path_, i));
}

std::string CocoRecordDataset::describe() const {
  return "COCORecord " + path_ + " (" + std::to_string(size()) + " images)";
}

} // namespace qtune::data
