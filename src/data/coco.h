#pragma once
// COCO "instances" annotations (instances_*.json): images, annotations and
// categories, kept as written. Category ids are COCO's (1..90, with gaps);
// `category_index()` / `category_id()` map them to contiguous indices 0..K-1 in
// ascending id order (the usual 80-class order) and back.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qtune::coco {

struct Image {
  int64_t id = 0;
  std::string file_name;
  int64_t height = 0;
  int64_t width = 0;
};

struct Category {
  int64_t id = 0;
  std::string name;
  std::string supercategory;
};

// A segmentation as COCO stores it: one or more polygons [x0,y0,x1,y1,...], or a
// run-length encoding (column-major) with either plain counts or the compressed
// string form. Decoding to masks lives in src/metrics/mask.h.
struct Segmentation {
  enum class Kind { none, polygons, rle_counts, rle_string };
  Kind kind = Kind::none;
  std::vector<std::vector<double>> polygons;
  std::vector<uint32_t> counts; // Kind::rle_counts
  std::string counts_string;    // Kind::rle_string
  int64_t rle_height = 0;       // "size": [h, w] of an RLE
  int64_t rle_width = 0;
};

struct Annotation {
  int64_t id = 0;
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{}; // x, y, w, h in pixels
  bool has_bbox = false;
  double area = 0;
  bool has_area = false;
  bool iscrowd = false;
  double score = 0; // results files only
  Segmentation segmentation;
};

class Dataset {
public:
  std::string source; // file name, for error messages
  std::vector<Image> images;
  std::vector<Annotation> annotations;
  std::vector<Category> categories; // ascending id order

  // Rebuilds the lookup tables; call after editing the vectors by hand.
  void build_index();

  // Position in `images` of image id, or -1.
  int64_t image_index(int64_t image_id) const;
  const Image &image(int64_t image_id) const; // throws InputError if unknown
  // Contiguous index 0..K-1 of a COCO category id, or -1 if unknown.
  int category_index(int64_t category_id) const;
  // COCO category id of a contiguous index (throws if out of range).
  int64_t category_id(int index) const;
  int num_categories() const { return static_cast<int>(categories.size()); }
  // Indices into `annotations` of one image, in file order.
  std::vector<size_t> annotations_of_image(int64_t image_id) const;

private:
  std::unordered_map<int64_t, int64_t> image_pos_;
  std::unordered_map<int64_t, int> category_pos_;
  std::vector<size_t> ann_order_;   // annotation indices grouped by image position
  std::vector<size_t> ann_offsets_; // per image position, into ann_order_
};

// Loads instances_*.json. Malformed JSON -> InputError "file:line:column: ...";
// missing/mistyped fields name the element (e.g. "annotations[12].bbox");
// annotations pointing at unknown images or categories are errors.
Dataset load_coco(const std::string &path);
Dataset parse_coco(std::string_view json_text, const std::string &source_name);

// Helpers shared with the results loader (src/metrics/coco_eval.cpp).
// Reads a whole file (InputError if it cannot).
std::string read_text_file(const std::string &path);
// Parses JSON; a syntax error becomes InputError "source:line:column: ...".
nlohmann::json parse_json(std::string_view text, const std::string &source);
// A JSON integer (or integral float) that fits int64; nullopt otherwise (2^64-1,
// 1e30, 1.5, a string ...).
std::optional<int64_t> json_int64(const nlohmann::json &v);
// Reads "segmentation" / "bbox" of one annotation object; `where` names it in errors.
Segmentation parse_segmentation(const nlohmann::json &value, const std::string &where);
std::array<double, 4> parse_bbox(const nlohmann::json &value, const std::string &where);

} // namespace qtune::coco
