// Writes the libFuzzer seed corpora from ../shared/data (nothing is copied into
// the repository): small real files as they are, and small valid files cut
// from the big ones (a few COCO images with their annotations, a few
// detections, graph_defs out of SavedModels and checkpoints, a TF.js topology
// head, TFRecords of tf.Examples, JPEG/PNG in several layouts, IDX pairs).
//   make_seeds SHARED_DATA_DIR REPO_DIR OUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <google/protobuf/text_format.h>
#include <nlohmann/json.hpp>
#include <png.h>
#include <set>
#include <turbojpeg.h>
#include <zlib.h>

#include "data/od_example.h"
#include "data/tfrecord.h"
#include "proto/tf_graph.pb.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int written = 0;

void put(const fs::path &dir, const std::string &name, const std::string &bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
  ++written;
}

void copy_small(const fs::path &root, const fs::path &dir, const std::string &ext,
                uintmax_t max_bytes) {
  if (!fs::exists(root))
    return;
  for (const auto &e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ext && e.file_size() <= max_bytes)
      put(dir, std::to_string(written) + "_" + e.path().filename().string(), slurp(e.path()));
}

// graph_defs inside SavedModels (saved_model.pb) and checkpoints (.meta).
void graph_seeds(const fs::path &tf, const fs::path &out) {
  for (const auto &e : fs::recursive_directory_iterator(tf)) {
    if (!e.is_regular_file() || e.file_size() > 400000)
      continue;
    std::string name = e.path().filename().string(), bytes = slurp(e.path());
    std::vector<const tensorflow::GraphDef *> graphs;
    tensorflow::SavedModel sm;
    tensorflow::MetaGraphDef meta;
    if (name == "saved_model.pb" && sm.ParseFromString(bytes))
      for (const auto &m : sm.meta_graphs())
        graphs.push_back(&m.graph_def());
    else if (e.path().extension() == ".meta" && meta.ParseFromString(bytes))
      graphs.push_back(&meta.graph_def());
    else if (name == "frozen.pb")
      put(out / "graphdef", "frozen.pb", bytes);
    for (const auto *g : graphs) {
      std::string id = std::to_string(written);
      put(out / "graphdef", id + ".pb", g->SerializeAsString());
      std::string text;
      google::protobuf::TextFormat::PrintToString(*g, &text);
      if (text.size() < 200000)
        put(out / "graphdef_text", id + ".pbtxt", text);
    }
  }
}

// The first `n` images of a COCO file with their annotations.
json coco_head(const json &doc, size_t n) {
  json out = {{"images", json::array()},
              {"annotations", json::array()},
              {"categories", doc.value("categories", json::array())}};
  std::set<int64_t> ids;
  for (const auto &img : doc["images"]) {
    if (ids.size() == n)
      break;
    ids.insert(img["id"].get<int64_t>());
    out["images"].push_back(img);
  }
  for (const auto &a : doc["annotations"])
    if (ids.count(a["image_id"].get<int64_t>()))
      out["annotations"].push_back(a);
  return out;
}

// A few detections re-targeted at the fuzz target's ground truth (images 1, 2;
// categories 1, 3).
json detections_head(const json &doc, size_t n) {
  json out = json::array();
  for (size_t i = 0; i < doc.size() && i < n; ++i) {
    json d = doc[i];
    d["image_id"] = 1 + i % 2;
    d["category_id"] = i % 3 == 0 ? 3 : 1;
    out.push_back(d);
  }
  return out;
}

// The first nodes of a TF.js topology, weights pointed at the fuzz target's shard.
json tfjs_head(json doc, size_t nodes) {
  auto &list = doc["modelTopology"]["node"];
  if (list.size() > nodes)
    list.erase(list.begin() + static_cast<long>(nodes), list.end());
  std::set<std::string> names;
  for (const auto &node : list)
    names.insert(node.value("name", ""));
  for (auto &group : doc["weightsManifest"]) {
    group["paths"] = json::array({"group1-shard1of1.bin"});
    json kept = json::array();
    for (const auto &w : group["weights"])
      if (names.count(w.value("name", "")))
        kept.push_back(w);
    group["weights"] = kept;
  }
  return doc;
}

std::string jpeg(int w, int h, int channels, int subsamp) {
  std::vector<unsigned char> px(size_t(w) * h * channels);
  for (size_t i = 0; i < px.size(); ++i)
    px[i] = static_cast<unsigned char>(i * 37 + i / 5);
  tjhandle tj = tjInitCompress();
  unsigned char *buf = nullptr;
  unsigned long len = 0;
  tjCompress2(tj, px.data(), w, 0, h, channels == 1 ? TJPF_GRAY : TJPF_RGB, &buf, &len,
              channels == 1 ? TJSAMP_GRAY : subsamp, 75, 0);
  std::string out(reinterpret_cast<char *>(buf), len);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

std::string png(int w, int h, uint32_t format) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = w;
  img.height = h;
  img.format = format;
  std::vector<uint8_t> px(PNG_IMAGE_SIZE(img));
  for (size_t i = 0; i < px.size(); ++i)
    px[i] = static_cast<uint8_t>(i * 13);
  png_alloc_size_t len = 0;
  png_image_write_to_memory(&img, nullptr, &len, 0, px.data(), 0, nullptr);
  std::string out(len, '\0');
  png_image_write_to_memory(&img, out.data(), &len, 0, px.data(), 0, nullptr);
  out.resize(len);
  return out;
}

std::string gzip(const std::string &raw) {
  fs::path tmp = fs::temp_directory_path() / "qtune-seed.gz";
  gzFile f = gzopen(tmp.c_str(), "wb");
  gzwrite(f, raw.data(), static_cast<unsigned>(raw.size()));
  gzclose(f);
  std::string out = slurp(tmp);
  fs::remove(tmp);
  return out;
}

std::string gunzip_head(const fs::path &p, size_t n) {
  gzFile f = gzopen(p.c_str(), "rb");
  std::string out(n, '\0');
  int got = f ? gzread(f, out.data(), static_cast<unsigned>(n)) : 0;
  if (f)
    gzclose(f);
  out.resize(got > 0 ? size_t(got) : 0);
  return out;
}

std::string be32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

void idx_seeds(const fs::path &out) {
  fs::path fm = "/usr/share/datasets/fashion-mnist";
  std::string images = gunzip_head(fm / "t10k-images-idx3-ubyte.gz", 16 + 2 * 784);
  std::string labels = gunzip_head(fm / "t10k-labels-idx1-ubyte.gz", 8 + 2);
  if (images.size() < 16 + 2 * 784 || labels.size() < 10)
    return;
  images.replace(4, 4, be32(2)); // two items, matching the cut
  labels.replace(4, 4, be32(2));
  // First byte: 0 = these are the images, 1 = the labels (fuzz_idx.cpp).
  put(out / "idx", "images", '\0' + images);
  put(out / "idx", "images.gz", '\0' + gzip(images));
  put(out / "idx", "labels", '\1' + labels);
  put(out / "idx", "labels.gz", '\1' + gzip(labels));
}

void tfrecord_seeds(const fs::path &coco_json, const fs::path &out) {
  fs::create_directories(out / "tfrecord");
  qtune::data::TFRecordWriter w((out / "tfrecord" / "od.record").string());
  json doc = json::parse(slurp(coco_json));
  int i = 0;
  for (const auto &a : doc["annotations"]) {
    if (i == 3)
      break;
    qtune::data::Sample s;
    s.encoded = i == 2 ? png(8, 6, PNG_FORMAT_RGB) : jpeg(8, 6, 3, TJSAMP_420);
    s.format = i == 2 ? "png" : "jpeg";
    s.width = 8, s.height = 6;
    s.truth.image_id = a["image_id"].get<int64_t>();
    s.truth.boxes.push_back({1, 1, 4, 3});
    s.truth.category_ids.push_back(a["category_id"].get<int64_t>());
    s.truth.is_crowd.push_back(0);
    s.truth.area.push_back(12);
    w.write(qtune::data::make_od_example(s, "image" + std::to_string(i++) + ".jpg"));
  }
  w.close();
  ++written;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: make_seeds SHARED_DATA_DIR REPO_DIR OUT_DIR\n");
    return 2;
  }
  fs::path data = argv[1], repo = argv[2], out = argv[3];
  copy_small(data / "models", out / "onnx", ".onnx", 100000);
  graph_seeds(data / "tf", out);
  copy_small(data / "models", out / "graphdef_text", ".pbtxt", 100000);
  copy_small(data / "tf", out / "checkpoint", ".index", 30000);
  json tfjs = json::parse(slurp(data / "models/centernet_tfjs/centernet.json"));
  put(out / "tfjs", "head40.json", tfjs_head(tfjs, 40).dump());
  put(out / "tfjs", "head8.json", tfjs_head(tfjs, 8).dump());
  fs::path tiny = data / "coco/val2017_tiny/annotations/instances_val2017.json";
  json gt = json::parse(slurp(tiny));
  put(out / "coco", "val2017_tiny_3.json", coco_head(gt, 3).dump(1));
  json golden = json::parse(slurp(data / "coco/cocoapi_golden/instances_val2014_100.json"));
  put(out / "coco", "val2014_2.json", coco_head(golden, 2).dump());
  for (const char *f : {"reference/yolox_nano_val2017_tiny.detections.json",
                        "coco/cocoapi_golden/instances_val2014_fakesegm100_results.json"})
    put(out / "detections", fs::path(f).filename().string(),
        detections_head(json::parse(slurp(data / f)), 8).dump());
  copy_small(repo / "examples", out / "yaml_config", ".yaml", 100000);
  put(out / "image", "rgb420.jpg", jpeg(16, 12, 3, TJSAMP_420));
  put(out / "image", "rgb444.jpg", jpeg(9, 7, 3, TJSAMP_444));
  put(out / "image", "gray.jpg", jpeg(8, 8, 1, TJSAMP_GRAY));
  put(out / "image", "rgb.png", png(9, 7, PNG_FORMAT_RGB));
  put(out / "image", "gray.png", png(8, 8, PNG_FORMAT_GRAY));
  put(out / "image", "rgba16.png", png(5, 3, PNG_FORMAT_LINEAR_RGB_ALPHA));
  idx_seeds(out);
  tfrecord_seeds(tiny, out);
  std::printf("make_seeds: %d seed files in %s\n", written, out.c_str());
  return 0;
}
