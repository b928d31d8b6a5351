// `qtune dataset convert --from coco --annotations A.json --images DIR --to tfrecord OUT`
// (our counterpart of the seed's prepare_dataset.sh / create_coco_tf_record.py) and
// `qtune dataset info FILE` (a TFRecord of OD-API Examples or a COCO JSON).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data/dataset_convert.h"
#include "data/dataset_info.h"
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

int run_info(const DatasetArgs &a) {
  const data::DatasetInfo d = data::dataset_info(a.info_file);
  if (a.json) {
    nlohmann::json j;
    j["file"] = a.info_file;
    j["kind"] = d.kind;
    j["images"] = d.images;
    j["objects"] = d.objects;
    j["crowd_objects"] = d.crowd_objects;
    j["image_width"] = {d.min_width, d.max_width};
    j["image_height"] = {d.min_height, d.max_height};
    nlohmann::json cats = nlohmann::json::array();
    for (const auto &c : d.categories)
      cats.push_back({{"id", c.id}, {"name", c.name}, {"objects", c.objects}});
    j["categories"] = cats;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %s\n", a.info_file.c_str(), d.kind.c_str());
  std::printf("  %s: %zu\n", d.kind == "TFRecord" ? "records (images)" : "images", d.images);
  std::printf("  image sizes: width %lld..%lld, height %lld..%lld (%zu distinct)\n",
              static_cast<long long>(d.min_width), static_cast<long long>(d.max_width),
              static_cast<long long>(d.min_height), static_cast<long long>(d.max_height),
              d.distinct_sizes);
  std::printf("  objects: %zu (%zu crowd), %.2f per image\n", d.objects, d.crowd_objects,
              d.images == 0 ? 0.0 : double(d.objects) / d.images);
  std::printf("  categories with objects: %zu\n", d.categories.size());
  for (const auto &c : d.categories)
    std::printf("    %3lld %-16s %zu\n", static_cast<long long>(c.id), c.name.c_str(), c.objects);
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
