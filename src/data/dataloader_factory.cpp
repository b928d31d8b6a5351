#include "data/dataloader_factory.h"

#include <filesystem>

#include "data/yaml_util.h"
#include "qtune/error.h"

namespace qtune::data {

namespace fs = std::filesystem;

namespace {

using yaml::check_keys;
using yaml::fail;
using yaml::get;
using yaml::get_floats;
using yaml::require_str;

std::string resolve(const std::string &base, const std::string &p) {
  if (p.empty() || fs::path(p).is_absolute() || base.empty())
    return p;
  return (fs::path(base) / p).string();
}

// size: N or [h, w]
std::pair<int, int> get_size(const YAML::Node &n, const std::string &where) {
  const YAML::Node s = n && n.IsMap() ? n["size"] : YAML::Node();
  if (!s)
    fail(where + ".size", "required key is missing");
  try {
    if (s.IsScalar()) {
      int v = s.as<int>();
      if (v > 0)
        return {v, v};
    } else if (s.IsSequence() && s.size() == 2) {
      int h = s[0].as<int>(), w = s[1].as<int>();
      if (h > 0 && w > 0)
        return {h, w};
    }
  } catch (const YAML::Exception &) {
  }
  fail(where + ".size", "expected a positive integer or [height, width]");
}

Interp get_interp(const YAML::Node &n, const std::string &where) {
  return interp_from_name(get<std::string>(n, "interpolation", where, "bilinear"),
                          where + ".interpolation");
}

std::unique_ptr<Transform> make_one_transform(const std::string &name, const YAML::Node &n,
                                              const std::string &where) {
  if (name == "Resize") {
    check_keys(n, where, "transform.Resize");
    auto [h, w] = get_size(n, where);
    Coords coords =
        coords_from_name(get<std::string>(n, "mode", where, "half_pixel"), where + ".mode");
    return make_resize(h, w, get_interp(n, where), get<bool>(n, "keep_ratio", where, false),
                       coords);
  }
  if (name == "Letterbox") {
    check_keys(n, where, "transform.Letterbox");
    auto [h, w] = get_size(n, where);
    std::string pos = get<std::string>(n, "position", where, "top_left");
    if (pos != "top_left" && pos != "center")
      fail(where + ".position", "expected top_left or center, got '" + pos + "'");
    return make_letterbox(h, w, get<float>(n, "pad_value", where, 114.f), pos == "center",
                          get_interp(n, where));
  }
  if (name == "CenterCrop") {
    check_keys(n, where, "transform.CenterCrop");
    auto [h, w] = get_size(n, where);
    return make_center_crop(h, w);
  }
  if (name == "Normalize") {
    check_keys(n, where, "transform.Normalize");
    auto std = get_floats(n, "std", where, {1.f});
    for (float s : std)
      if (s == 0)
        fail(where + ".std", "must not contain 0");
    return make_normalize(get_floats(n, "mean", where, {0.f}), std);
  }
  if (name == "Rescale") {
    check_keys(n, where, "transform.Rescale");
    return make_rescale(get<float>(n, "scale", where, 1.f / 255.f));
  }
  if (name == "ChannelOrder") {
    check_keys(n, where, "transform.ChannelOrder");
    std::string o = get<std::string>(n, "order", where, "RGB");
    if (o != "RGB" && o != "BGR")
      fail(where + ".order", "expected RGB or BGR, got '" + o + "'");
    return make_channel_order(o == "BGR");
  }
  if (name == "Transpose") {
    check_keys(n, where, "transform.Transpose");
    auto perm = get<std::vector<int>>(n, "perm", where, {});
    if (perm == std::vector<int>{2, 0, 1})
      return make_layout(true);
    if (perm == std::vector<int>{0, 1, 2})
      return make_layout(false);
    fail(where + ".perm", "only [2, 0, 1] (HWC -> CHW) and [0, 1, 2] are supported");
  }
  if (name == "Layout") {
    check_keys(n, where, "transform.Layout");
    std::string l = get<std::string>(n, "layout", where, "NCHW");
    if (l != "NCHW" && l != "NHWC")
      fail(where + ".layout", "expected NCHW or NHWC, got '" + l + "'");
    return make_layout(l == "NCHW");
  }
  if (name == "Cast") {
    check_keys(n, where, "transform.Cast");
    std::string d = get<std::string>(n, "dtype", where, "float32");
    if (d == "float32" || d == "float")
      return make_cast(DType::f32);
    if (d == "uint8")
      return make_cast(DType::u8);
    fail(where + ".dtype", "expected float32 or uint8, got '" + d + "'");
  }
  fail(where, "unknown transform (accepted: Resize, Letterbox, CenterCrop, Normalize, Rescale, "
              "ChannelOrder, Transpose, Layout, Cast)");
}

} // namespace

TransformList make_transforms(const YAML::Node &node, const std::string &where) {
  TransformList list;
  if (!node || node.IsNull())
    return list;
  auto add_map = [&](const YAML::Node &m, const std::string &at) {
    for (const auto &kv : m) {
      std::string name = yaml::key_name(kv.first, at);
      list.push_back(make_one_transform(name, kv.second, at + "." + name));
    }
  };
  if (node.IsMap()) {
    add_map(node, where);
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsMap())
        fail(where + "[" + std::to_string(i) + "]", "expected a mapping");
      add_map(node[i], where + "[" + std::to_string(i) + "]");
    }
  } else {
    fail(where, "expected a mapping of transforms");
  }
  return list;
}

std::unique_ptr<Dataset> make_dataset(const YAML::Node &node, const std::string &base_dir,
                                      const std::string &where) {
  if (!node || !node.IsMap() || node.size() != 1)
    fail(where, "expected exactly one dataset (COCORaw, COCORecord, ImageFolder, ImageList, "
                "MNIST, FashionMNIST)");
  std::string type = yaml::key_name(node.begin()->first, where);
  const YAML::Node n = node.begin()->second;
  std::string at = where + "." + type;
  if (type == "COCORaw") {
    check_keys(n, at, "dataset.COCORaw");
    std::string root = resolve(base_dir, get<std::string>(n, "root", at, ""));
    std::string img = get<std::string>(n, "img_dir", at, "val2017");
    // anno_dir: null (or "") reads the images without annotations (label-free metrics).
    const bool unlabelled =
        n["anno_dir"] &&
        (n["anno_dir"].IsNull() || (n["anno_dir"].IsScalar() && n["anno_dir"].Scalar().empty()));
    std::string anno =
        unlabelled ? "" : get<std::string>(n, "anno_dir", at, "annotations/instances_val2017.json");
    return std::make_unique<CocoRawDataset>(unlabelled ? "" : resolve(root, anno),
                                            resolve(root, img));
  }
  if (type == "COCORecord") {
    check_keys(n, at, "dataset.COCORecord");
    return std::make_unique<CocoRecordDataset>(resolve(base_dir, require_str(n, "root", at)));
  }
  if (type == "ImageFolder") {
    check_keys(n, at, "dataset.ImageFolder");
    return std::make_unique<ImageFolderDataset>(resolve(base_dir, require_str(n, "root", at)));
  }
  if (type == "ImageList") {
    check_keys(n, at, "dataset.ImageList");
    std::string root = get<std::string>(n, "root", at, "");
    return std::make_unique<ImageListDataset>(resolve(base_dir, require_str(n, "list", at)),
                                              root.empty() ? "" : resolve(base_dir, root));
  }
  if (type == "MNIST" || type == "FashionMNIST") {
    check_keys(n, at, "dataset." + type);
    return std::make_unique<MnistDataset>(resolve(base_dir, require_str(n, "images", at)),
                                          resolve(base_dir, require_str(n, "labels", at)));
  }
  fail(at, "unknown dataset (accepted: COCORaw, COCORecord, ImageFolder, ImageList, MNIST, "
           "FashionMNIST)");
}

DataloaderConfig make_dataloader(const YAML::Node &node, const std::string &base_dir,
                                 const std::string &where) {
  check_keys(node, where, "dataloader");
  if (!node || !node.IsMap())
    fail(where, "expected a mapping with a dataset");
  DataloaderConfig c;
  c.batch_size = get<int>(node, "batch_size", where, 1);
  if (c.batch_size < 1)
    fail(where + ".batch_size", "must be >= 1");
  c.skip_bad_images = get<bool>(node, "skip_bad_images", where, false);
  if (node["filter"] && !node["filter"].IsNull())
    fail(where + ".filter", "dataset filters are not supported");
  c.dataset = make_dataset(node["dataset"], base_dir, where + ".dataset");
  c.transforms = make_transforms(node["transform"], where + ".transform");
  return c;
}

} // namespace qtune::data
