#include "data/od_example.h"

#include "proto/example.pb.h"
#include "qtune/error.h"

namespace qtune::data {

namespace {

using FeatureMap = google::protobuf::Map<std::string, tensorflow::Feature>;

const tensorflow::Feature &require(const FeatureMap &m, const std::string &key,
                                   tensorflow::Feature::KindCase kind, const char *kind_name,
                                   const std::string &where) {
  auto it = m.find(key);
  if (it == m.end())
    throw InputError(where + ": missing required feature '" + key + "'");
  if (it->second.kind_case() != kind)
    throw InputError(where + ": feature '" + key + "' is not a " + kind_name);
  return it->second;
}

const tensorflow::Feature *optional(const FeatureMap &m, const std::string &key,
                                    tensorflow::Feature::KindCase kind, const char *kind_name,
                                    const std::string &where) {
  auto it = m.find(key);
  if (it == m.end())
    return nullptr;
  if (it->second.kind_case() != kind)
    throw InputError(where + ": feature '" + key + "' is not a " + kind_name);
  return &it->second;
}

const auto kBytes = tensorflow::Feature::kBytesList;
const auto kFloats = tensorflow::Feature::kFloatList;
const auto kInts = tensorflow::Feature::kInt64List;

int64_t single_int(const FeatureMap &m, const std::string &key, const std::string &where) {
  const auto &f = require(m, key, kInts, "int64_list", where);
  if (f.int64_list().value_size() != 1)
    throw InputError(where + ": feature '" + key + "' must hold exactly one value");
  return f.int64_list().value(0);
}

std::string single_bytes(const FeatureMap &m, const std::string &key, const std::string &where) {
  const auto &f = require(m, key, kBytes, "bytes_list", where);
  if (f.bytes_list().value_size() != 1)
    throw InputError(where + ": feature '" + key + "' must hold exactly one value");
  return f.bytes_list().value(0);
}

void check_count(int n, int expected, const std::string &key, const std::string &where) {
  if (n != expected)
    throw InputError(where + ": feature '" + key + "' has " + std::to_string(n) +
                     " values but there are " + std::to_string(expected) + " boxes");
}

} // namespace

Sample parse_od_example(std::string_view bytes, const std::string &where) {
  tensorflow::Example ex;
  if (!ex.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw InputError(where + ": not a valid tf.train.Example protobuf");
  const FeatureMap &m = ex.features().feature();
  Sample s;
  s.name = where;
  s.encoded = single_bytes(m, "image/encoded", where);
  int64_t height = single_int(m, "image/height", where);
  int64_t width = single_int(m, "image/width", where);
  // Checked before narrowing: 2^32+5 must not become 5.
  if (height <= 0 || width <= 0 || height > INT32_MAX || width > INT32_MAX)
    throw InputError(where + ": image/height and image/width must be in [1, 2^31), got " +
                     std::to_string(height) + "x" + std::to_string(width));
  s.height = static_cast<int>(height);
  s.width = static_cast<int>(width);
  std::string source_id = single_bytes(m, "image/source_id", where);
  try {
    size_t used = 0;
    s.truth.image_id = std::stoll(source_id, &used);
    if (used != source_id.size())
      throw std::invalid_argument("trailing text");
  } catch (const std::exception &) {
    throw InputError(where + ": image/source_id '" + source_id + "' is not an integer image id");
  }
  if (auto *f = optional(m, "image/format", kBytes, "bytes_list", where))
    if (f->bytes_list().value_size() > 0)
      s.format = f->bytes_list().value(0);

  const auto &xmin =
      require(m, "image/object/bbox/xmin", kFloats, "float_list", where).float_list();
  const auto &ymin =
      require(m, "image/object/bbox/ymin", kFloats, "float_list", where).float_list();
  const auto &xmax =
      require(m, "image/object/bbox/xmax", kFloats, "float_list", where).float_list();
  const auto &ymax =
      require(m, "image/object/bbox/ymax", kFloats, "float_list", where).float_list();
  const auto &label =
      require(m, "image/object/class/label", kInts, "int64_list", where).int64_list();
  int n = xmin.value_size();
  check_count(ymin.value_size(), n, "image/object/bbox/ymin", where);
  check_count(xmax.value_size(), n, "image/object/bbox/xmax", where);
  check_count(ymax.value_size(), n, "image/object/bbox/ymax", where);
  check_count(label.value_size(), n, "image/object/class/label", where);
  auto &t = s.truth;
  for (int i = 0; i < n; ++i) {
    float x0 = xmin.value(i) * s.width, x1 = xmax.value(i) * s.width;
    float y0 = ymin.value(i) * s.height, y1 = ymax.value(i) * s.height;
    t.boxes.push_back({x0, y0, x1 - x0, y1 - y0});
    t.category_ids.push_back(label.value(i));
  }
  if (auto *f = optional(m, "image/object/is_crowd", kInts, "int64_list", where)) {
    check_count(f->int64_list().value_size(), n, "image/object/is_crowd", where);
    for (int64_t v : f->int64_list().value())
      t.is_crowd.push_back(v != 0);
  } else {
    t.is_crowd.assign(n, 0);
  }
  if (auto *f = optional(m, "image/object/area", kFloats, "float_list", where)) {
    check_count(f->float_list().value_size(), n, "image/object/area", where);
    for (float v : f->float_list().value())
      t.area.push_back(v);
  } else {
    for (const auto &b : t.boxes)
      t.area.push_back(b.w * b.h);
  }
  if (auto *f = optional(m, "image/object/class/text", kBytes, "bytes_list", where)) {
    check_count(f->bytes_list().value_size(), n, "image/object/class/text", where);
    for (const auto &v : f->bytes_list().value())
      t.class_text.push_back(v);
  }
  return s;
}

std::string make_od_example(const Sample &s, const std::string &filename) {
  tensorflow::Example ex;
  auto &m = *ex.mutable_features()->mutable_feature();
  auto put_bytes = [&](const std::string &k, const std::string &v) {
    m[k].mutable_bytes_list()->add_value(v);
  };
  auto put_int = [&](const std::string &k, int64_t v) { m[k].mutable_int64_list()->add_value(v); };
  put_int("image/height", s.height);
  put_int("image/width", s.width);
  put_bytes("image/filename", filename);
  put_bytes("image/source_id", std::to_string(s.truth.image_id));
  put_bytes("image/encoded", s.encoded);
  put_bytes("image/format", s.format.empty() ? "jpeg" : s.format);
  auto *xmin = m["image/object/bbox/xmin"].mutable_float_list();
  auto *xmax = m["image/object/bbox/xmax"].mutable_float_list();
  auto *ymin = m["image/object/bbox/ymin"].mutable_float_list();
  auto *ymax = m["image/object/bbox/ymax"].mutable_float_list();
  auto *text = m["image/object/class/text"].mutable_bytes_list();
  auto *label = m["image/object/class/label"].mutable_int64_list();
  auto *crowd = m["image/object/is_crowd"].mutable_int64_list();
  auto *area = m["image/object/area"].mutable_float_list();
  const auto &t = s.truth;
  for (size_t i = 0; i < t.boxes.size(); ++i) {
    const auto &b = t.boxes[i];
    xmin->add_value(b.x / s.width);
    xmax->add_value((b.x + b.w) / s.width);
    ymin->add_value(b.y / s.height);
    ymax->add_value((b.y + b.h) / s.height);
    label->add_value(t.category_ids[i]);
    text->add_value(i < t.class_text.size() ? t.class_text[i] : std::string());
    crowd->add_value(i < t.is_crowd.size() ? t.is_crowd[i] : 0);
    area->add_value(i < t.area.size() ? t.area[i] : b.w * b.h);
  }
  return ex.SerializeAsString();
}

} // namespace qtune::data
