// `qtune dataset convert --from coco --annotations A.json --images DIR --to tfrecord OUT`
// (our counterpart of the seed's prepare_dataset.sh / create_coco_tf_record.py) and
// `qtune dataset info FILE` (a TFRecord of OD-API Examples or a COCO JSON).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data/coco.h"
#include "data/dataset.h"
#include "data/dataset_convert.h"
#include "qtune/error.h"

namespace qtune::cli {

namespace {

struct DatasetArgs {
  std::string from = "coco", to = "tfrecord", annotations, images, output, info_file;
  bool json = false;
};

int run_convert(const DatasetArgs &a) {
  if (a.from != "coco")
    throw InputError("dataset convert: --from must be coco, got '" + a.from + "'");
  if (a.to != "tfrecord")
    throw InputError("dataset convert: --to must be tfrecord, got '" + a.to + "'");
  data::ConvertStats st = data::convert_coco_to_tfrecord(a.annotations, a.images, a.output);
  std::printf("wrote %s: %zu images, %zu objects\n", a.output.c_str(), st.images, st.objects);
  return 0;
}

bool looks_like_json(const std::string &path) {
  // A .json is JSON even when empty or broken (not a 0-record TFRecord).
  if (std::filesystem::path(path).extension() == ".json")
    return true;
  std::string text = coco::read_text_file(path).substr(0, 64);
  size_t p = text.find_first_not_of(" \t\r\n");
  return p != std::string::npos && text[p] == '{';
}

int run_info(const DatasetArgs &a) {
  std::unique_ptr<coco::Dataset> owned;
  std::unique_ptr<data::CocoRecordDataset> record;
  const coco::Dataset *gt = nullptr;
  std::string kind;
  if (looks_like_json(a.info_file)) {
    owned = std::make_unique<coco::Dataset>(coco::load_coco(a.info_file));
    gt = owned.get();
    kind = "COCO annotations";
  } else {
    record = std::make_unique<data::CocoRecordDataset>(a.info_file); // checks every CRC
    gt = record->coco_ground_truth();
    kind = "TFRecord";
  }
  std::map<std::pair<int64_t, int64_t>, size_t> sizes; // (w, h) -> images
  for (const auto &im : gt->images)
    ++sizes[{im.width, im.height}];
  std::map<int64_t, size_t> per_cat;
  size_t crowd = 0;
  for (const auto &an : gt->annotations) {
    ++per_cat[an.category_id];
    crowd += an.iscrowd;
  }
  int64_t min_w = 0, max_w = 0, min_h = 0, max_h = 0;
  bool first = true;
  for (const auto &[wh, n] : sizes) {
    if (first)
      min_w = max_w = wh.first, min_h = max_h = wh.second;
    min_w = std::min(min_w, wh.first), max_w = std::max(max_w, wh.first);
    min_h = std::min(min_h, wh.second), max_h = std::max(max_h, wh.second);
    first = false;
  }
  if (a.json) {
    nlohmann::json j;
    j["file"] = a.info_file;
    j["kind"] = kind;
    j["images"] = gt->images.size();
    j["objects"] = gt->annotations.size();
    j["crowd_objects"] = crowd;
    j["image_width"] = {min_w, max_w};
    j["image_height"] = {min_h, max_h};
    nlohmann::json cats = nlohmann::json::array();
    for (const auto &[id, n] : per_cat) {
      int ci = gt->category_index(id);
      cats.push_back({{"id", id},
                      {"name", ci >= 0 ? gt->categories[ci].name : std::string()},
                      {"objects", n}});
    }
    j["categories"] = cats;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %s\n", a.info_file.c_str(), kind.c_str());
  std::printf("  %s: %zu\n", kind == "TFRecord" ? "records (images)" : "images", gt->images.size());
  std::printf("  image sizes: width %lld..%lld, height %lld..%lld (%zu distinct)\n",
              static_cast<long long>(min_w), static_cast<long long>(max_w),
              static_cast<long long>(min_h), static_cast<long long>(max_h), sizes.size());
  std::printf("  objects: %zu (%zu crowd), %.2f per image\n", gt->annotations.size(), crowd,
              gt->images.empty() ? 0.0 : double(gt->annotations.size()) / gt->images.size());
  std::printf("  categories with objects: %zu\n", per_cat.size());
  for (const auto &[id, n] : per_cat) {
    int ci = gt->category_index(id);
    std::printf("    %3lld %-16s %zu\n", static_cast<long long>(id),
                ci >= 0 ? gt->categories[ci].name.c_str() : "", n);
  }
  return 0;
}

} // namespace

Command add_dataset_command(CLI::App &app) {
  auto *sub = app.add_subcommand("dataset", "Convert datasets to TFRecord and inspect them");
  sub->require_subcommand(1);
  auto args = std::make_shared<DatasetArgs>();
  auto *conv = sub->add_subcommand("convert", "COCO annotations + images -> TFRecord");
  conv->add_option("--from", args->from, "source format: coco")->default_val("coco");
  conv->add_option("--annotations", args->annotations, "instances_*.json")->required();
  conv->add_option("--images", args->images, "image folder")->required();
  conv->add_option("--to", args->to, "target format: tfrecord")->default_val("tfrecord");
  conv->add_option("output", args->output, "output .record file")->required();
  auto *info = sub->add_subcommand("info", "Records, image sizes, objects and categories");
  info->add_option("file", args->info_file, "a TFRecord or a COCO annotations JSON")->required();
  info->add_flag("--json", args->json, "print one JSON object");
  return {sub, [args, conv] { return conv->parsed() ? run_convert(*args) : run_info(*args); }};
}

} // namespace qtune::cli
