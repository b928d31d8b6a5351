#pragma once
// `qtune dataset info FILE`'s numbers: records (images), image sizes, objects
// and categories of a TFRecord of OD-API Examples or a COCO annotations JSON.
#include <cstdint>
#include <string>
#include <vector>

namespace qtune::data {

struct CategoryCount {
  int64_t id = 0;
  std::string name;
  size_t objects = 0;
};

struct DatasetInfo {
  std::string kind; // "COCO annotations" | "TFRecord"
  size_t images = 0, objects = 0, crowd_objects = 0;
  int64_t min_width = 0, max_width = 0, min_height = 0, max_height = 0;
  size_t distinct_sizes = 0;
  std::vector<CategoryCount> categories; // with objects, by id
};

// A .json (or a file starting with '{') is COCO JSON, anything else a TFRecord
// (every record CRC is checked).
DatasetInfo dataset_info(const std::string &path);

} // namespace qtune::data
