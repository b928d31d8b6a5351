#include "data/coco.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "ir/checked_size.h"
#include "ir/input_file.h"
#include "qtune/error.h"

namespace qtune::coco {

using nlohmann::json;

std::string read_text_file(const std::string &path) {
  std::ifstream in = open_input_file(path);
  if (!in)
    throw InputError(path + ": cannot open file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    throw InputError(path + ": read error");
  return text;
}

// nlohmann reports the byte count read so far; turn it into line:column (1-based)
// of the offending character.
static std::pair<size_t, size_t> line_column(std::string_view text, size_t byte) {
  size_t pos = std::min(byte > 0 ? byte - 1 : 0, text.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < pos; ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  return {line, pos - line_start + 1};
}

json parse_json(std::string_view text, const std::string &source) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error &e) {
    auto [line, column] = line_column(text, e.byte);
    std::string what = e.what();
    // Keep the lexer's description, drop nlohmann's "[json.exception...] ... line/column" prefix.
    size_t colon = what.find(": ");
    std::string problem = colon == std::string::npos ? what : what.substr(colon + 2);
    throw InputError(source + ":" + std::to_string(line) + ":" + std::to_string(column) +
                     ": malformed JSON: " + problem);
  } catch (const json::exception &e) {
    // out_of_range.406: a number no double holds ("1e999"); JSON has no inf.
    std::string what = e.what();
    size_t bracket = what.find("] ");
    throw InputError(source + ": malformed JSON: " +
                     (bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
}

static const json &field(const json &obj, const char *key, const std::string &where) {
  auto it = obj.find(key);
  if (it == obj.end())
    throw InputError(where + ": missing field \"" + key + "\"");
  return *it;
}

std::optional<int64_t> json_int64(const json &v) {
  // 2^64-1 is an unsigned JSON number: get<int64_t>() would make it -1.
  if (v.is_number_unsigned())
    return v.get<uint64_t>() <= uint64_t(INT64_MAX) ? std::optional<int64_t>(v.get<int64_t>())
                                                    : std::nullopt;
  if (v.is_number_integer())
    return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    // [-2^63, 2^63): the cast below is defined only there.
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
        d == static_cast<double>(static_cast<int64_t>(d)))
      return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

static int64_t to_int(const json &v, const std::string &where) {
  if (std::optional<int64_t> i = json_int64(v))
    return *i;
  throw InputError(where + ": expected an integer that fits int64, got " + v.dump());
}

static double to_double(const json &v, const std::string &where) {
  if (!v.is_number())
    throw InputError(where + ": expected a number, got " + std::string(v.type_name()));
  return v.get<double>();
}

static std::string to_string_or_empty(const json &obj, const char *key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Images are at most 65536 pixels a side: a coordinate beyond 2^20 is no place
// in one, and rasterizing such a box or polygon for mask IoU would walk (and
// allocate) millions of boundary points per edge (fuzz_detections: a box
// 5e16 high overflowed pycocotools' int vertex arithmetic).
constexpr double kMaxCoordinate = 1048576.0;

static void check_coordinate(double v, const char *what, const std::string &where,
                             const json &value) {
  if (!(std::fabs(v) <= kMaxCoordinate))
    throw InputError(fmt::format("{}: {} = {:g} in {} is beyond +-1048576 pixels", where, what, v,
                                 value.dump()));
}

std::array<double, 4> parse_bbox(const json &value, const std::string &where) {
  if (!value.is_array() || value.size() != 4)
    throw InputError(where + ": expected [x, y, w, h]");
  std::array<double, 4> box{};
  for (size_t i = 0; i < 4; ++i)
    box[i] = to_double(value[i], where);
  const std::pair<const char *, double> checked[] = {{"x", box[0]},
                                                     {"y", box[1]},
                                                     {"w", box[2]},
                                                     {"h", box[3]},
                                                     {"x + w", box[0] + box[2]},
                                                     {"y + h", box[1] + box[3]}};
  for (const auto &[what, v] : checked)
    check_coordinate(v, what, where, value);
  // A negative extent makes areas and IoUs negative: no annotation tool
  // writes one, so it is a damaged file, not a box.
  if (box[2] < 0 || box[3] < 0)
    throw InputError(where + ": negative width or height " + value.dump());
  return box;
}

static void parse_rle(const json &value, Segmentation &seg, const std::string &where) {
  const json &size = field(value, "size", where);
  if (!size.is_array() || size.size() != 2)
    throw InputError(where + ".size: expected [height, width]");
  seg.rle_height = to_int(size[0], where + ".size");
  seg.rle_width = to_int(size[1], where + ".size");
  if (seg.rle_height < 0 || seg.rle_width < 0)
    throw InputError(where + ".size: negative dimension");
  const json &counts = field(value, "counts", where);
  if (counts.is_string()) {
    seg.kind = Segmentation::Kind::rle_string;
    seg.counts_string = counts.get<std::string>();
    return;
  }
  if (!counts.is_array())
    throw InputError(where + ".counts: expected a string or an array of run lengths");
  seg.kind = Segmentation::Kind::rle_counts;
  seg.counts.reserve(counts.size());
  uint64_t total = 0;
  for (const json &c : counts) {
    int64_t n = to_int(c, where + ".counts");
    if (n < 0 || n > UINT32_MAX)
      throw InputError(where + ".counts: run length " + std::to_string(n) + " out of range");
    seg.counts.push_back(static_cast<uint32_t>(n));
    total += static_cast<uint64_t>(n);
  }
  int64_t area = checked_mul(seg.rle_height, seg.rle_width, (where + ".size").c_str());
  if (total != static_cast<uint64_t>(area))
    throw InputError(where + ".counts: run lengths sum to " + std::to_string(total) +
                     ", expected height*width = " + std::to_string(area));
}

Segmentation parse_segmentation(const json &value, const std::string &where) {
  Segmentation seg;
  if (value.is_object()) {
    parse_rle(value, seg, where);
    return seg;
  }
  if (!value.is_array())
    throw InputError(where + ": expected a list of polygons or an RLE object");
  seg.kind = Segmentation::Kind::polygons;
  for (size_t i = 0; i < value.size(); ++i) {
    const json &poly = value[i];
    std::string place = where + "[" + std::to_string(i) + "]";
    if (!poly.is_array() || poly.size() % 2 != 0)
      throw InputError(place + ": expected a polygon [x0, y0, x1, y1, ...]");
    std::vector<double> xy;
    xy.reserve(poly.size());
    double perimeter = 0; // max(|dx|, |dy|) per edge: what rasterizing walks
    for (size_t k = 0; k < poly.size(); ++k) {
      xy.push_back(to_double(poly[k], place));
      check_coordinate(xy.back(), k % 2 ? "y" : "x", place + "[" + std::to_string(k) + "]",
                       poly[k]);
      if (k % 2 == 1 && k >= 3)
        perimeter += std::max(std::fabs(xy[k - 1] - xy[k - 3]), std::fabs(xy[k] - xy[k - 2]));
    }
    if (xy.size() >= 4)
      perimeter += std::max(std::fabs(xy[0] - xy[xy.size() - 2]), std::fabs(xy[1] - xy.back()));
    if (perimeter > kMaxCoordinate)
      throw InputError(fmt::format("{}: a polygon of {} points whose edges span {:g} pixels "
                                   "(more than 1048576: no outline in an image)",
                                   place, xy.size() / 2, perimeter));
    seg.polygons.push_back(std::move(xy));
  }
  return seg;
}

static Image parse_image(const json &v, const std::string &where) {
  if (!v.is_object())
    throw InputError(where + ": expected an object");
  Image img;
  img.id = to_int(field(v, "id", where), where + ".id");
  img.file_name = to_string_or_empty(v, "file_name");
  img.height = to_int(field(v, "height", where), where + ".height");
  img.width = to_int(field(v, "width", where), where + ".width");
  if (img.height <= 0 || img.width <= 0)
    throw InputError(where + ": image size must be positive");
  return img;
}

static Category parse_category(const json &v, const std::string &where) {
  if (!v.is_object())
    throw InputError(where + ": expected an object");
  Category cat;
  cat.id = to_int(field(v, "id", where), where + ".id");
  cat.name = to_string_or_empty(v, "name");
  cat.supercategory = to_string_or_empty(v, "supercategory");
  return cat;
}

static Annotation parse_annotation(const json &v, const std::string &where) {
  if (!v.is_object())
    throw InputError(where + ": expected an object");
  Annotation a;
  a.id = to_int(field(v, "id", where), where + ".id");
  a.image_id = to_int(field(v, "image_id", where), where + ".image_id");
  a.category_id = to_int(field(v, "category_id", where), where + ".category_id");
  if (auto it = v.find("bbox"); it != v.end()) {
    a.bbox = parse_bbox(*it, where + ".bbox");
    a.has_bbox = true;
  }
  if (auto it = v.find("area"); it != v.end()) {
    a.area = to_double(*it, where + ".area");
    a.has_area = true;
  }
  if (auto it = v.find("iscrowd"); it != v.end())
    a.iscrowd = to_int(*it, where + ".iscrowd") != 0;
  if (auto it = v.find("segmentation"); it != v.end())
    a.segmentation = parse_segmentation(*it, where + ".segmentation");
  return a;
}

static const json &array_field(const json &root, const char *key, const std::string &source) {
  const json &arr = field(root, key, source);
  if (!arr.is_array())
    throw InputError(source + ": \"" + key + "\" must be an array");
  return arr;
}

Dataset parse_coco(std::string_view json_text, const std::string &source_name) {
  json root = parse_json(json_text, source_name);
  if (!root.is_object())
    throw InputError(source_name + ": expected a COCO annotations object at the top level");
  Dataset ds;
  ds.source = source_name;
  const json &images = array_field(root, "images", source_name);
  ds.images.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i)
    ds.images.push_back(
        parse_image(images[i], source_name + ": images[" + std::to_string(i) + "]"));
  const json &cats = array_field(root, "categories", source_name);
  for (size_t i = 0; i < cats.size(); ++i)
    ds.categories.push_back(
        parse_category(cats[i], source_name + ": categories[" + std::to_string(i) + "]"));
  // Annotations are optional (image-info files such as image_info_test2017.json).
  if (root.contains("annotations")) {
    const json &anns = array_field(root, "annotations", source_name);
    ds.annotations.reserve(anns.size());
    for (size_t i = 0; i < anns.size(); ++i)
      ds.annotations.push_back(
          parse_annotation(anns[i], source_name + ": annotations[" + std::to_string(i) + "]"));
  }
  ds.build_index();
  for (size_t i = 0; i < ds.annotations.size(); ++i) {
    const Annotation &a = ds.annotations[i];
    std::string where = source_name + ": annotations[" + std::to_string(i) + "]";
    if (ds.image_index(a.image_id) < 0)
      throw InputError(where + ": unknown image_id " + std::to_string(a.image_id));
    if (ds.category_index(a.category_id) < 0)
      throw InputError(where + ": unknown category_id " + std::to_string(a.category_id));
  }
  return ds;
}

Dataset load_coco(const std::string &path) {
  return parse_coco(read_text_file(path), path);
}

void Dataset::build_index() {
  std::stable_sort(categories.begin(), categories.end(),
                   [](const Category &a, const Category &b) { return a.id < b.id; });
  category_pos_.clear();
  for (size_t i = 0; i < categories.size(); ++i)
    if (!category_pos_.emplace(categories[i].id, static_cast<int>(i)).second)
      throw InputError(source + ": duplicate category id " + std::to_string(categories[i].id));
  image_pos_.clear();
  for (size_t i = 0; i < images.size(); ++i)
    if (!image_pos_.emplace(images[i].id, static_cast<int64_t>(i)).second)
      throw InputError(source + ": duplicate image id " + std::to_string(images[i].id));
  // Group annotation indices by image (counting sort keeps file order inside a group).
  ann_offsets_.assign(images.size() + 1, 0);
  for (const Annotation &a : annotations) {
    int64_t p = image_index(a.image_id);
    if (p >= 0)
      ++ann_offsets_[p + 1];
  }
  for (size_t i = 0; i < images.size(); ++i)
    ann_offsets_[i + 1] += ann_offsets_[i];
  ann_order_.assign(ann_offsets_.back(), 0);
  std::vector<size_t> fill(ann_offsets_.begin(), ann_offsets_.end() - 1);
  for (size_t i = 0; i < annotations.size(); ++i) {
    int64_t p = image_index(annotations[i].image_id);
    if (p >= 0)
      ann_order_[fill[p]++] = i;
  }
}

int64_t Dataset::image_index(int64_t image_id) const {
  auto it = image_pos_.find(image_id);
  return it == image_pos_.end() ? -1 : it->second;
}

const Image &Dataset::image(int64_t image_id) const {
  int64_t p = image_index(image_id);
  if (p < 0)
    throw InputError(source + ": unknown image id " + std::to_string(image_id));
  return images[p];
}

int Dataset::category_index(int64_t category_id) const {
  auto it = category_pos_.find(category_id);
  return it == category_pos_.end() ? -1 : it->second;
}

int64_t Dataset::category_id(int index) const {
  if (index < 0 || index >= num_categories())
    throw Error(source + ": category index " + std::to_string(index) + " out of range 0.." +
                std::to_string(num_categories() - 1));
  return categories[index].id;
}

std::vector<size_t> Dataset::annotations_of_image(int64_t image_id) const {
  int64_t p = image_index(image_id);
  if (p < 0 || ann_offsets_.size() != images.size() + 1)
    return {};
  return {ann_order_.begin() + ann_offsets_[p], ann_order_.begin() + ann_offsets_[p + 1]};
}

} // namespace qtune::coco
