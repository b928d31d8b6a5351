#include "data/dataset_info.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include "data/coco.h"
#include "data/dataset.h"

namespace qtune::data {

namespace {

bool looks_like_json(const std::string &path) {
  // A .json is JSON even when empty or broken (not a 0-record TFRecord).
  if (std::filesystem::path(path).extension() == ".json")
    return true;
  std::string text = coco::read_text_file(path).substr(0, 64);
  size_t p = text.find_first_not_of(" \t\r\n");
  return p != std::string::npos && text[p] == '{';
}

DatasetInfo describe(const coco::Dataset &gt, std::string kind) {
  DatasetInfo d;
  d.kind = std::move(kind);
  std::map<std::pair<int64_t, int64_t>, size_t> sizes; // (w, h) -> images
  for (const auto &im : gt.images)
    ++sizes[{im.width, im.height}];
  std::map<int64_t, size_t> per_cat;
  for (const auto &an : gt.annotations) {
    ++per_cat[an.category_id];
    d.crowd_objects += an.iscrowd;
  }
  bool first = true;
  for (const auto &[wh, n] : sizes) {
    if (first)
      d.min_width = d.max_width = wh.first, d.min_height = d.max_height = wh.second;
    d.min_width = std::min(d.min_width, wh.first), d.max_width = std::max(d.max_width, wh.first);
    d.min_height = std::min(d.min_height, wh.second);
    d.max_height = std::max(d.max_height, wh.second);
    first = false;
  }
  d.images = gt.images.size();
  d.objects = gt.annotations.size();
  d.distinct_sizes = sizes.size();
  for (const auto &[id, n] : per_cat) {
    int ci = gt.category_index(id);
    d.categories.push_back({id, ci >= 0 ? gt.categories[ci].name : std::string(), n});
  }
  return d;
}

} // namespace

DatasetInfo dataset_info(const std::string &path) {
  if (looks_like_json(path))
    return describe(coco::load_coco(path), "COCO annotations");
  CocoRecordDataset record(path); // checks every CRC
  return describe(*record.coco_ground_truth(), "TFRecord");
}

} // namespace qtune::data
