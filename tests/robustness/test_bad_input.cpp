// The bad-input corpus (issue 13): each case writes a hostile file into its own
// folder, runs one qtune command under a timeout and expects exit code 1 (no
// signal, no hang) with a one-line message that names the file and the problem.
#include <cstdio>
#include <cstring>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bad_input_util.h"

namespace qtune::test {
namespace {

constexpr int64_t kHuge = (int64_t(1) << 62) + 1;

// X[1,1,4,4] -> op(window attrs) -> Y.
std::string window_model(const fs::path &dir, const std::string &op, std::vector<int64_t> strides,
                         std::vector<int64_t> dilations = {}) {
  OnnxModel m;
  m.input("X", {1, 1, 4, 4});
  std::vector<std::string> in = {"X"};
  auto &n = op == "Conv" ? m.node(op, "bad_window", {"X", "W"}, {"Y"})
                         : m.node(op, "bad_window", {"X"}, {"Y"});
  if (op == "Conv")
    m.init_f32("W", {1, 1, 2, 2}, 1.f);
  OnnxModel::ints(n, "kernel_shape", {2, 2});
  OnnxModel::ints(n, "strides", strides);
  if (!dilations.empty())
    OnnxModel::ints(n, "dilations", dilations);
  m.output("Y");
  m.save(dir / "model.onnx");
  return "inspect model.onnx";
}

// X[1] f32 input -> op(X, shape initializer) -> Y, run with a 4-byte input.
std::string shape_model(const fs::path &dir, const std::string &op, std::vector<int64_t> shape) {
  OnnxModel m;
  m.input("X", {1, 1});
  m.init_i64("S", shape);
  m.node(op, "too_big", {"X", "S"}, {"Y"});
  m.output("Y");
  m.save(dir / "model.onnx");
  write_file(dir / "x.f32", std::string(4, '\0'));
  return "run model.onnx --input X=x.f32 --output-dir out";
}

// X[1] + W (external data: `location`, optional offset/length) -> Y.
std::string external_model(const fs::path &dir, const std::string &location,
                           std::vector<std::pair<std::string, std::string>> extra = {},
                           std::vector<int64_t> dims = {1}) {
  OnnxModel m;
  m.input("X", {1});
  auto &w = m.init("W", dims);
  w.set_data_location(onnx::TensorProto::EXTERNAL);
  extra.insert(extra.begin(), {"location", location});
  for (const auto &[k, v] : extra) {
    auto *e = w.add_external_data();
    e->set_key(k);
    e->set_value(v);
  }
  m.node("Add", "add", {"X", "W"}, {"Y"});
  m.output("Y");
  fs::create_directories(dir / "m");
  m.save(dir / "m" / "model.onnx");
  return "inspect m/model.onnx";
}

// X[1,4] -> Relu -> Y: a model that loads and runs, for the input-file cases.
void relu_model(const fs::path &path) {
  OnnxModel m;
  m.input("X", {1, 4});
  m.node("Relu", "relu", {"X"}, {"Y"});
  m.output("Y");
  m.save(path);
}

// `name` in `dir` as a FIFO (kind "fifo") or a directory (kind "dir").
void special(const fs::path &dir, const std::string &name, const std::string &kind) {
  if (kind == "fifo")
    mkfifo((dir / name).c_str(), 0644);
  else
    fs::create_directories(dir / name);
}

// One case per (command, file role, kind of special file): each used to block
// forever on a FIFO or report a directory as empty / garbage.
void add_special_file_cases(std::vector<Case> &out) {
  struct Site {
    const char *name, *file, *args;
    std::function<void(const fs::path &)> others; // the other, valid files
  };
  auto model = [](const fs::path &d) { relu_model(d / "model.onnx"); };
  auto gt = [](const fs::path &d) {
    write_file(d / "gt.json", R"({"images":[],"annotations":[],"categories":[]})");
  };
  static const std::vector<Site> sites = {
      {"inspect_model", "model.onnx", "inspect model.onnx", nullptr},
      {"run_model", "model.onnx", "run model.onnx --input X=x.f32 --output-dir out", nullptr},
      {"run_input", "x.f32", "run model.onnx --input X=x.f32 --output-dir out", model},
      {"run_image_input", "photo.jpg", "run model.onnx --input X=photo.jpg --output-dir out",
       model},
      {"tune_config", "c.yaml", "tune --config c.yaml", nullptr},
      {"evaluate_config", "c.yaml", "evaluate --config c.yaml", nullptr},
      {"quantize_config", "c.yaml", "quantize model.onnx --config c.yaml -o q.onnx", model},
      {"evaluate_annotations", "gt.json", "evaluate --annotations gt.json --detections d.json",
       [](const fs::path &d) { write_file(d / "d.json", "[]"); }},
      {"evaluate_detections", "d.json", "evaluate --annotations gt.json --detections d.json", gt},
      {"dataset_info_record", "a.record", "dataset info a.record", nullptr},
      {"dataset_convert_annotations", "gt.json",
       "dataset convert --from coco --annotations gt.json --images . --to tfrecord o.record",
       nullptr},
  };
  for (const Site &site : sites)
    for (const char *kind : {"fifo", "dir"}) {
      std::string name = std::string(site.name) + "_" + kind;
      out.push_back({name,
                     std::string(kind) == "fifo" ? "hang" : "unclear",
                     [site, k = std::string(kind)](const fs::path &d) {
                       if (site.others)
                         site.others(d);
                       special(d, site.file, k);
                       return std::string(site.args);
                     },
                     {site.file, std::string(kind) == "fifo" ? "not a regular file (a FIFO)"
                                                             : "is a directory"}});
    }
}

// X[1,3,8,8] -> Relu -> Y: takes a photo through `qtune run`.
std::string image_model(const fs::path &dir, const std::string &image) {
  OnnxModel m;
  m.input("X", {1, 3, 8, 8});
  m.node("Relu", "relu", {"X"}, {"Y"});
  m.output("Y");
  m.save(dir / "model.onnx");
  return "run model.onnx --input X=" + image + " --output-dir out";
}

std::string dog_jpeg() {
  return read_file(shared_data("models/yolox_nano/dog.jpg"));
}

// A COCO ground truth with one 8x6 image `file` (category 1) and one box.
std::string coco_gt(const std::string &file, const std::string &image_id = "1",
                    const std::string &segmentation = "") {
  std::string ann = R"({"id": 1, "image_id": )" + image_id +
                    R"(, "category_id": 1, "bbox": [1, 1, 4, 3], "area": 12, "iscrowd": 0)" +
                    (segmentation.empty() ? "" : ", \"segmentation\": " + segmentation) + "}";
  return R"({"images": [{"id": )" + image_id + R"(, "file_name": ")" + file +
         R"(", "width": 8, "height": 6}], "categories": [{"id": 1, "name": "a"}], "annotations": [)" +
         ann + "]}";
}

// The smallest evaluation config around `transform` (a YAML flow mapping).
std::string eval_config(const std::string &extra_model, const std::string &transform) {
  return "model:\n  name: m\n  framework: onnxrt_qlinearops\n  path: model.onnx\n" + extra_model +
         "evaluation:\n  accuracy:\n    metric:\n      COCOmAP: {}\n    dataloader:\n"
         "      dataset:\n        COCORaw: {root: ., img_dir: ., anno_dir: gt.json}\n"
         "      transform: " +
         transform + "\n";
}

std::vector<Case> cases() {
  std::vector<Case> all = {
      // ---- crashes
      {"maxpool_zero_strides",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "MaxPool", {0, 0});
       },
       {"model.onnx", "bad_window", "strides", "0"}},
      {"averagepool_zero_strides",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "AveragePool", {0, 0});
       },
       {"model.onnx", "bad_window", "strides"}},
      {"conv_zero_strides",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "Conv", {0, 0});
       },
       {"model.onnx", "bad_window", "strides"}},
      {"conv_negative_strides",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "Conv", {-1, 1});
       },
       {"model.onnx", "bad_window", "strides"}},
      {"conv_zero_dilations",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "Conv", {1, 1}, {0, 0});
       },
       {"model.onnx", "bad_window", "dilations"}},
      {"expand_overflowing_shape",
       "crash",
       [](const fs::path &d) {
         return shape_model(d, "Expand", {kHuge, 4});
       },
       {"model.onnx", "too_big", "64 bits"}},
      {"expand_4tib_output",
       "unclear",
       [](const fs::path &d) {
         return shape_model(d, "Expand", {1 << 20, 1 << 20});
       },
       {"model.onnx", "too_big", "output 'Y'", "4398046511104 bytes"}},
      {"tile_overflowing_repeats",
       "silent",
       [](const fs::path &d) {
         return shape_model(d, "Tile", {kHuge, 4});
       },
       {"model.onnx", "too_big", "64 bits"}},
      {"gather_overflowing_indices",
       "crash",
       [](const fs::path &d) {
         OnnxModel m;
         m.input("X", {1, 1});
         m.init_i64("S", {kHuge, 4});
         auto &c = m.node("ConstantOfShape", "idx", {"S"}, {"I"});
         auto *a = c.add_attribute();
         a->set_name("value");
         a->set_type(onnx::AttributeProto::TENSOR);
         a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
         a->mutable_t()->add_dims(1);
         a->mutable_t()->add_int64_data(0);
         m.node("Gather", "gather", {"X", "I"}, {"Y"});
         m.output("Y");
         m.save(d / "model.onnx");
         write_file(d / "x.f32", std::string(4, '\0'));
         return std::string("run model.onnx --input X=x.f32 --output-dir out");
       },
       {"model.onnx", "idx", "64 bits"}},
      {"initializer_dims_overflow",
       "crash",
       [](const fs::path &d) {
         OnnxModel m;
         m.input("X", {1});
         m.init("W", {kHuge, 4});
         m.node("Add", "add", {"X", "W"}, {"Y"});
         m.output("Y");
         m.save(d / "model.onnx");
         return std::string("inspect model.onnx");
       },
       {"model.onnx", "'W'", "64 bits"}},
      // ---- escapes and external data
      {"external_absolute_path",
       "escape",
       [](const fs::path &d) { return external_model(d, "/etc/passwd"); },
       {"model.onnx", "'W'", "/etc/passwd", "absolute path"}},
      {"external_dotdot_escape",
       "escape",
       [](const fs::path &d) { return external_model(d, "../../../../../../../../etc/passwd"); },
       {"model.onnx", "'W'", "outside the model's folder"}},
      {"external_dotdot_sibling",
       "escape",
       [](const fs::path &d) {
         write_file(d / "secret.bin", std::string(4, 'x'));
         return external_model(d, "../secret.bin");
       },
       {"model.onnx", "'W'", "outside the model's folder"}},
      {"external_symlink_out",
       "escape",
       [](const fs::path &d) {
         std::string args = external_model(d, "w.bin");
         fs::create_symlink("/etc/passwd", d / "m" / "w.bin");
         return args;
       },
       {"model.onnx", "'W'", "outside the model's folder"}},
      {"external_directory",
       "unclear",
       [](const fs::path &d) {
         std::string args = external_model(d, "w.bin");
         fs::create_directories(d / "m" / "w.bin");
         return args;
       },
       {"model.onnx", "w.bin", "is a directory"}},
      {"external_fifo",
       "hang",
       [](const fs::path &d) {
         std::string args = external_model(d, "w.bin");
         mkfifo((d / "m" / "w.bin").c_str(), 0644);
         return args;
       },
       {"model.onnx", "w.bin", "not a regular file"}},
      {"external_missing_file",
       "unclear",
       [](const fs::path &d) { return external_model(d, "w.bin"); },
       {"model.onnx", "w.bin", "not found"}},
      {"external_offset_not_a_number",
       "unclear",
       [](const fs::path &d) {
         fs::create_directories(d / "m");
         write_file(d / "m/w.bin", std::string(8, '\0'));
         return external_model(d, "w.bin", {{"offset", "abc"}});
       },
       {"model.onnx", "'offset' is 'abc'"}},
      {"external_offset_negative",
       "unclear",
       [](const fs::path &d) {
         fs::create_directories(d / "m");
         write_file(d / "m/w.bin", std::string(8, '\0'));
         return external_model(d, "w.bin", {{"offset", "-4"}});
       },
       {"model.onnx", "'offset' is '-4'"}},
      {"external_offset_overflow",
       "unclear",
       [](const fs::path &d) {
         fs::create_directories(d / "m");
         write_file(d / "m/w.bin", std::string(8, '\0'));
         return external_model(d, "w.bin", {{"offset", "99999999999999999999"}});
       },
       {"model.onnx", "'offset'"}},
      {"external_length_trailing_junk",
       "unclear",
       [](const fs::path &d) {
         fs::create_directories(d / "m");
         write_file(d / "m/w.bin", std::string(8, '\0'));
         return external_model(d, "w.bin", {{"length", "4x"}});
       },
       {"model.onnx", "'length' is '4x'"}},
      {"external_offset_past_end",
       "unclear",
       [](const fs::path &d) {
         fs::create_directories(d / "m");
         write_file(d / "m/w.bin", std::string(8, '\0'));
         return external_model(d, "w.bin", {{"offset", "6"}});
       },
       {"model.onnx", "w.bin", "too short"}},
      {"initializer_3gib_without_data",
       "memory",
       [](const fs::path &d) {
         OnnxModel m;
         m.input("X", {1});
         m.init("W", {805306368});
         m.node("Add", "add", {"X", "W"}, {"Y"});
         m.output("Y");
         m.save(d / "model.onnx");
         return std::string("inspect model.onnx");
       },
       {"model.onnx", "'W'", "has 0 values", "805306368"}},
      {"initializer_raw_data_short",
       "memory",
       [](const fs::path &d) {
         OnnxModel m;
         m.input("X", {1});
         m.init("W", {805306368}).set_raw_data(std::string(16, '\0'));
         m.node("Add", "add", {"X", "W"}, {"Y"});
         m.output("Y");
         m.save(d / "model.onnx");
         return std::string("inspect model.onnx");
       },
       {"model.onnx", "'W'", "raw_data has 16 bytes"}},
      {"external_3gib_initializer_small_file",
       "memory",
       [](const fs::path &d) {
         fs::create_directories(d / "m");
         write_file(d / "m/w.bin", std::string(16, '\0'));
         return external_model(d, "w.bin", {}, {805306368});
       },
       {"model.onnx", "w.bin", "too short"}},
      // ---- silent wrong results
      {"run_truncated_jpeg",
       "silent",
       [](const fs::path &d) {
         std::string j = dog_jpeg();
         write_file(d / "cut.jpg", j.substr(0, j.size() / 2));
         return image_model(d, "cut.jpg");
       },
       {"cut.jpg", "truncated JPEG"}},
      {"run_truncated_png",
       "silent",
       [](const fs::path &d) {
         std::string p = make_png(64, 64, 200);
         write_file(d / "cut.png", p.substr(0, p.size() - 30));
         return image_model(d, "cut.png");
       },
       {"cut.png", "PNG"}},
      {"convert_truncated_jpeg",
       "silent",
       [](const fs::path &d) {
         std::string j = dog_jpeg();
         write_file(d / "cut.jpg", j.substr(0, j.size() * 3 / 4));
         write_file(d / "gt.json", coco_gt("cut.jpg"));
         return std::string(
             "dataset convert --from coco --annotations gt.json --images . --to tfrecord o.record");
       },
       {"cut.jpg", "truncated JPEG"}},
      {"yaml_duplicate_key",
       "silent",
       [](const fs::path &d) {
         write_file(d / "c.yaml", "model:\n  name: a\n  framework: onnxrt_qlinearops\n"
                                  "  name: b\n");
         return std::string("tune --config c.yaml");
       },
       {"c.yaml:4:3", "duplicate key 'model.name'", "line 2, column 3"}},
      {"yaml_nan_pad_value",
       "silent",
       [](const fs::path &d) {
         write_file(d / "c.yaml", eval_config("", "{Letterbox: {size: 8, pad_value: .nan}}"));
         return std::string("evaluate --config c.yaml");
       },
       {"c.yaml:", "pad_value' is .nan", "finite"}},
      {"yaml_inf_tolerance",
       "silent",
       [](const fs::path &d) {
         write_file(d / "c.yaml", "model: {name: a, framework: onnxrt_qlinearops}\n"
                                  "tuning:\n  accuracy_criterion: {relative: -.Inf}\n");
         return std::string("tune --config c.yaml");
       },
       {"c.yaml:3:", "relative' is -.Inf"}},
      {"coco_id_beyond_int64",
       "silent",
       [](const fs::path &d) {
         write_file(d / "gt.json", coco_gt("a.jpg", "18446744073709551615"));
         write_file(d / "d.json", "[]");
         return std::string("evaluate --annotations gt.json --detections d.json");
       },
       {"gt.json", "images[0].id", "fits int64"}},
      {"detection_id_beyond_int64",
       "silent",
       [](const fs::path &d) {
         write_file(d / "gt.json", coco_gt("a.jpg"));
         write_file(d / "d.json", R"([{"image_id": 18446744073709551615, "category_id": 1,
                                       "bbox": [1, 1, 2, 2], "score": 0.5}])");
         return std::string("evaluate --annotations gt.json --detections d.json");
       },
       {"d.json", "image_id", "fits int64"}},
      {"empty_json_as_record",
       "silent",
       [](const fs::path &d) {
         write_file(d / "empty.json", "");
         return std::string("dataset info empty.json");
       },
       {"empty.json"}},
      {"rle_size_differs_from_image",
       "silent",
       [](const fs::path &d) {
         write_file(d / "gt.json", coco_gt("a.jpg", "1", R"({"size": [3, 3], "counts": [9]})"));
         write_file(d / "d.json", R"([{"image_id": 1, "category_id": 1, "score": 0.5,
             "segmentation": {"size": [6, 8], "counts": [48]}}])");
         return std::string("evaluate --annotations gt.json --detections d.json --iou-type segm");
       },
       {"gt.json", "annotation 1", "RLE size [3, 3] differs from its image's [6, 8]"}},
      {"two_nodes_one_output",
       "silent",
       [](const fs::path &d) {
         OnnxModel m;
         m.input("X", {1, 4});
         m.node("Relu", "first", {"X"}, {"Y"});
         m.node("Sigmoid", "second", {"X"}, {"Y"});
         m.output("Y");
         m.save(d / "model.onnx");
         return std::string("inspect model.onnx");
       },
       {"model.onnx", "'first'", "'second'", "both write 'Y'"}},
      // ---- memory blow-ups before a check
      {"jpeg_declares_20000x20000",
       "memory",
       [](const fs::path &d) {
         write_file(d / "big.jpg", jpeg_with_size(dog_jpeg(), 20000, 20000));
         return image_model(d, "big.jpg");
       },
       {"big.jpg", "20000x20000", "limit"}},
      {"png_declares_60000x60000",
       "memory",
       [](const fs::path &d) {
         write_file(d / "big.png", make_png(4, 4, 10, 60000, 60000));
         return image_model(d, "big.png");
       },
       {"big.png", "60000x60000", "limit"}},
      {"letterbox_size_int_max",
       "memory",
       [](const fs::path &d) {
         write_file(d / "c.yaml", eval_config("", "{Letterbox: {size: 2147483647}}"));
         return std::string("evaluate --config c.yaml");
       },
       {"c.yaml:", "Letterbox.size", "2147483647"}},
      // Found by fuzz_yaml_config (session 6): a list as a key inside a
      // transform or decoder escaped as a raw yaml-cpp exception ("bad conversion").
      {"yaml_list_as_transform_key",
       "unclear",
       [](const fs::path &d) {
         image_model(d, "x.jpg");
         write_file(d / "gt.json", coco_gt("x.jpg"));
         write_file(d / "c.yaml", eval_config("", "{Resize: {[size]: 4}}"));
         return std::string("evaluate --config c.yaml");
       },
       {"transform.Resize", "mapping or list, not a name"}},
      {"resize_size_too_many_pixels",
       "memory",
       [](const fs::path &d) {
         write_file(d / "c.yaml", eval_config("", "{Resize: {size: [60000, 60000]}}"));
         return std::string("evaluate --config c.yaml");
       },
       {"c.yaml:", "Resize.size", "pixels"}},
      // ---- round 4: transform and decoder parameters, checked at config load
      // with the offending key's line and column (before: "line 1" or none).
      {"transform_param_wrong_type_located",
       "unclear",
       [](const fs::path &d) {
         write_file(d / "c.yaml", eval_config("", "{Letterbox: {size: 8, pad_value: abc}}"));
         return std::string("evaluate --config c.yaml");
       },
       {"c.yaml:12:51:", "Letterbox.pad_value", "wrong type ('abc')"}},
      {"transform_unknown_interpolation_located",
       "unclear",
       [](const fs::path &d) {
         write_file(d / "c.yaml", eval_config("", "{Resize: {size: 8, interpolation: cubicc}}"));
         return std::string("evaluate --config c.yaml");
       },
       {"c.yaml:12:", "transform.Resize.interpolation", "cubicc"}},
      {"transform_channel_order_located",
       "unclear",
       [](const fs::path &d) {
         write_file(d / "c.yaml", eval_config("", "{Resize: {size: 8},\n"
                                                  "        ChannelOrder: {order: GBR}}"));
         return std::string("evaluate --config c.yaml");
       },
       {"c.yaml:13:", "ChannelOrder.order", "GBR"}},
      {"decoder_nms_iou_above_one",
       "silent",
       [](const fs::path &d) {
         write_file(d / "c.yaml", eval_config("", "{Resize: {size: 8}}") +
                                      "    postprocess:\n      yolox: {nms_iou: 3.5}\n");
         return std::string("evaluate --config c.yaml");
       },
       {"c.yaml:14:", "yolox.nms_iou", "[0, 1]"}},
      {"decoder_max_detections_negative",
       "unclear",
       [](const fs::path &d) {
         write_file(d / "c.yaml", eval_config("", "{Resize: {size: 8}}") +
                                      "    postprocess:\n      yolox: {max_detections: -100}\n");
         return std::string("evaluate --config c.yaml");
       },
       {"c.yaml:14:", "yolox.max_detections", ">= 1, got -100"}},
  };
  add_special_file_cases(all);
  for (auto &c : format_cases())
    all.push_back(std::move(c));
  return all;
}

// "qtune: error: m.onnx: m.onnx: ..." names its file twice (two layers added it).
bool repeats_first_place(const std::string &err) {
  const std::string lead = "qtune: error: ";
  if (err.rfind(lead, 0) != 0)
    return false;
  size_t end = err.find(": ", lead.size());
  if (end == std::string::npos)
    return false;
  const std::string place = err.substr(lead.size(), end + 2 - lead.size());
  return err.compare(end + 2, place.size(), place) == 0;
}

class BadInput : public ::testing::TestWithParam<Case> {};

TEST_P(BadInput, ExitsOneWithClearMessage) {
  const Case &c = GetParam();
  fs::path dir = fs::temp_directory_path() /
                 ("qtune_bad_" + std::string(c.name) + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string args = c.setup(dir);
  RunResult r = run_qtune(dir, args);
  EXPECT_EQ(r.outcome, Outcome::clear_error)
      << c.name << " (" << c.kind << "): qtune " << args << " -> " << outcome_name(r.outcome) << " "
      << r.code << "\n"
      << r.err;
  bool named = true;
  for (const auto &frag : c.expect) {
    named = named && r.err.find(frag) != std::string::npos;
    EXPECT_NE(r.err.find(frag), std::string::npos)
        << c.name << ": message lacks '" << frag << "': " << r.err;
  }
  // QTUNE_BAD_INPUT_REPORT=1: one line per case for the README's outcome table.
  if (const char *rep = std::getenv("QTUNE_BAD_INPUT_REPORT"); rep && *rep == '1')
    std::printf("CASE %s %s %s%s\n", c.name.c_str(), c.kind, outcome_name(r.outcome),
                r.outcome == Outcome::clear_error && !named ? " (unclear message)" : "");
  if (const char *rep = std::getenv("QTUNE_BAD_INPUT_REPORT"); rep && *rep == '2')
    std::printf("CASE %s code %d: %s", c.name.c_str(), r.code, r.err.c_str());
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find("what()"), std::string::npos) << r.err;
  EXPECT_FALSE(repeats_first_place(r.err)) << r.err;
  if (!HasFailure())
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInput, ::testing::ValuesIn(cases()),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
} // namespace qtune::test
