// The bad-input corpus, per file format (issue 13): every parser a user can
// feed gets truncated, garbage and structurally wrong files built from a valid
// base (a real file from ../shared/data or a small one written here). The
// bases themselves must load (ValidBases below), so each case fails because of
// its one defect. Runner and outcome rules: test_bad_input.cpp.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bad_input_util.h"
#include "data/od_example.h"
#include "data/tfrecord.h"
#include "proto/example.pb.h"
#include "proto/tf_graph.pb.h"

namespace qtune::test {

namespace {

// ---- bases

std::string onnx_base() {
  return read_file(shared_data("models/mnist/wuhanstudio_mnist-sm.onnx"));
}

const char *kRegression = "tf/small/regression_ckpt_frozen_savedmodel";

std::string graphdef_base() {
  return read_file(shared_data(std::string(kRegression) + "/graphdef/frozen.pb"));
}

std::string graphdef_text_base() {
  tensorflow::GraphDef g;
  g.ParseFromString(graphdef_base());
  std::string text;
  google::protobuf::TextFormat::PrintToString(g, &text);
  return text;
}

// A copy of a read-only folder from the shared data (writable, so cases can
// damage one file).
void copy_tree(const std::string &from, const fs::path &to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive);
  for (const auto &e : fs::recursive_directory_iterator(to))
    fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add);
}

void checkpoint_base(const fs::path &d) {
  copy_tree(shared_data(std::string(kRegression) + "/checkpoint"), d / "ckpt");
}

void saved_model_base(const fs::path &d) {
  copy_tree(shared_data("tf/small/half_plus_two_savedmodel/00000123"), d / "sm");
}

// x[1,4] + w[4] (weights from w.bin) -> y, as a TF.js graph model.
std::string tfjs_json(const std::string &weights_path = "w.bin",
                      const std::string &weight_shape = "[4]", const std::string &dtype = "float32",
                      const std::string &extra_node = "") {
  return R"({"format": "graph-model", "modelTopology": {"node": [
  {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
   "shape": {"shape": {"dim": [{"size": "1"}, {"size": "4"}]}}}},
  {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"},
   "value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "4"}]}}}}},
  {"name": "y", "op": "AddV2", "input": ["x", "w"], "attr": {"T": {"type": "DT_FLOAT"}}})" +
         extra_node + R"(]},
 "weightsManifest": [{"paths": [")" +
         weights_path + R"("], "weights": [{"name": "w", "shape": )" + weight_shape +
         R"(, "dtype": ")" + dtype + R"("}]}]})";
}

void tfjs_base(const fs::path &d, const std::string &json = tfjs_json(),
               const std::string &bin = std::string(16, '\0')) {
  write_file(d / "model.json", json);
  write_file(d / "w.bin", bin);
}

std::string dog_bytes() {
  return read_file(shared_data("models/yolox_nano/dog.jpg"));
}

// A TFRecord of `n` OD-API tf.Examples of `image` bytes (one box each).
std::string od_record(const fs::path &d, const std::string &image, int n = 2, int width = 768,
                      int height = 576) {
  data::TFRecordWriter w((d / "a.record").string());
  for (int i = 0; i < n; ++i) {
    data::Sample s;
    s.encoded = image;
    s.format = "jpeg";
    s.width = width, s.height = height;
    s.truth.image_id = i + 1;
    s.truth.boxes.push_back({10, 10, 100, 80});
    s.truth.category_ids.push_back(18);
    s.truth.is_crowd.push_back(0);
    s.truth.area.push_back(8000);
    w.write(data::make_od_example(s, "img" + std::to_string(i) + ".jpg"));
  }
  w.close();
  return read_file(d / "a.record");
}

std::string yolox_eval_args(const std::string &data_args) {
  return "evaluate --config " + source_dir("examples/coco/yolox_nano_eval.yaml") + " --model " +
         shared_data("models/yolox_nano/yolox_nano.onnx") + " " + data_args;
}

std::string coco_json(const std::string &images, const std::string &annotations,
                      const std::string &categories = R"([{"id": 1, "name": "a"}])") {
  return R"({"images": )" + images + R"(, "annotations": )" + annotations + R"(, "categories": )" +
         categories + "}";
}

const char *kImage = R"([{"id": 1, "file_name": "a.jpg", "width": 8, "height": 6}])";

std::string ann(const std::string &fields) {
  return R"([{"id": 1, "image_id": 1, "category_id": 1, "area": 12, "iscrowd": 0, )" + fields +
         "}]";
}

const char *kBox = R"("bbox": [1, 1, 4, 3])";

// A minimal valid tuning config, with `model_extra` inside `model:` and
// `rest` appended.
std::string tune_yaml(const std::string &rest, const std::string &model_extra = "") {
  return "model:\n  name: m\n  framework: onnxrt_qlinearops\n  path: model.onnx\n" + model_extra +
         rest;
}

// The Fashion-MNIST classification evaluation with IDX files of our own.
std::string idx_yaml() {
  return "model:\n  name: fm\n  framework: onnxrt_qdq\n  path: " +
         source_dir("examples/fashion_mnist/fashion_mnist_cnn.onnx") +
         "\n  inputs: image\n  outputs: logits\nevaluation:\n  accuracy:\n    metric: {topk: 1}\n"
         "    dataloader:\n      batch_size: 1\n      dataset:\n        FashionMNIST: {images: "
         "img.idx, labels: lab.idx}\n      transform:\n        Rescale: {scale: 0.0039}\n"
         "        Layout: {layout: NCHW}\n";
}

std::string be32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

std::string idx_images(uint32_t n, uint32_t rows = 28, uint32_t cols = 28, size_t pixels = 0) {
  return std::string("\0\0\x08\x03", 4) + be32(n) + be32(rows) + be32(cols) +
         std::string(pixels ? pixels : size_t(n) * rows * cols, '\x40');
}

std::string idx_labels(uint32_t n, size_t count = 0) {
  return std::string("\0\0\x08\x01", 4) + be32(n) + std::string(count ? count : n, '\x03');
}

// Deterministic junk.
std::string garbage(size_t n, uint32_t seed = 7) {
  std::string s(n, '\0');
  for (auto &c : s) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 16);
  }
  return s;
}

std::string head(const std::string &s, size_t n) {
  return s.substr(0, std::min(n, s.size()));
}

// One-file case: `file` (relative to the case folder) gets `bytes(dir)`, then
// `args` run. The file name is always one of the expected fragments.
Case file_case(std::string name, const char *kind, std::string file,
               std::function<std::string(const fs::path &)> bytes, std::string args,
               std::vector<std::string> expect,
               std::function<void(const fs::path &)> others = nullptr) {
  expect.insert(expect.begin(), fs::path(file).filename().string());
  return {std::move(name), kind,
          [=](const fs::path &d) {
            if (others)
              others(d);
            fs::create_directories((d / file).parent_path());
            write_file(d / file, bytes(d));
            return args;
          },
          std::move(expect)};
}

// For a case whose message names another file than the one it damages.
Case named_elsewhere(Case c) {
  c.expect.erase(c.expect.begin());
  return c;
}

// Flips the byte at `pos` (negative: from the end).
std::string flip(std::string s, long pos) {
  size_t p = pos < 0 ? s.size() + pos : size_t(pos);
  s[p] = static_cast<char>(s[p] ^ 0x5a);
  return s;
}

// One row of a case table: the case, what it used to cause, its input (the
// damaged file's bytes, a model builder or an edit of a valid base: the
// table's type), the message fragments besides the file name, and the command
// when it is not the table's.
template <class Input> struct Row {
  std::string name;
  const char *kind;
  Input input;
  std::vector<std::string> expect;
  std::string args = {};
};
using Bytes = std::function<std::string()>;
using Edit = std::function<std::string(const std::string &)>;

// A table whose rows each write `file` from their Bytes.
void add_file_rows(std::vector<Case> &out, const std::string &file, const std::string &args,
                   const std::vector<Row<Bytes>> &rows,
                   std::function<void(const fs::path &)> others = nullptr) {
  for (const auto &r : rows)
    out.push_back(file_case(
        r.name, r.kind, file, [bytes = r.input](const fs::path &) { return bytes(); },
        r.args.empty() ? args : r.args, r.expect, others));
}

// Bytes of a constant string.
Bytes text(std::string s) {
  return [s = std::move(s)] { return s; };
}

// A table whose rows each write `file` from their text.
void add_text_rows(std::vector<Case> &out, const std::string &file, const std::string &args,
                   const std::vector<Row<std::string>> &rows,
                   std::function<void(const fs::path &)> others = nullptr) {
  for (const auto &r : rows)
    out.push_back(file_case(
        r.name, r.kind, file, [text = r.input](const fs::path &) { return text; },
        r.args.empty() ? args : r.args, r.expect, others));
}

std::string truncated_onnx(int pct) {
  std::string b = onnx_base();
  return head(b, b.size() * pct / 100);
}

void add_onnx_cases(std::vector<Case> &out) {
  // Found by fuzz_onnx (session 8): the real PyTorch-exported MNIST model with
  // its graph input renamed, so its first node, a Shape, reads a name nothing
  // defines. libonnx 1.12's data propagation dereferenced that input's missing
  // type (SIGSEGV inside ONNX shape inference, before qtune's own checks).
  out.push_back({"onnx_shape_of_undefined_input",
                 "crash",
                 [](const fs::path &d) {
                   const std::string dir = "models/mnist/zuramai/";
                   onnx::ModelProto m;
                   EXPECT_TRUE(m.ParseFromString(read_file(shared_data(dir + "mnist.onnx"))));
                   m.mutable_graph()->mutable_input(0)->set_name("renamed");
                   write_file(d / "mnist.onnx", m.SerializeAsString());
                   write_file(d / "mnist.onnx.data",
                              read_file(shared_data(dir + "mnist.onnx.data")));
                   return std::string("inspect mnist.onnx");
                 },
                 {"mnist.onnx", "'input'"}});
  const std::string run = "run m.onnx --input X=x.f32 --output-dir out";
  add_file_rows(out, "m.onnx", "inspect m.onnx",
                {
                    {"onnx_empty", "unclear", text(""), {"empty"}},
                    {"onnx_truncated_10", "unclear", [] { return truncated_onnx(10); }, {"ONNX"}},
                    {"onnx_truncated_50", "unclear", [] { return truncated_onnx(50); }, {"ONNX"}},
                    {"onnx_truncated_90", "unclear", [] { return truncated_onnx(90); }, {"ONNX"}},
                    {"onnx_truncated_99", "unclear", [] { return truncated_onnx(99); }, {"ONNX"}},
                    {"onnx_garbage", "unclear", [] { return garbage(4096); }, {"ONNX"}},
                    {"onnx_text", "unclear", text("hello, world\n"), {"ONNX"}},
                    {"onnx_flipped_byte", "unclear", [] { return flip(onnx_base(), 40); }, {}},
                });
  const std::vector<Row<std::function<void(OnnxModel &)>>> models = {
      {"onnx_unknown_op",
       "unclear",
       [](OnnxModel &m) {
         m.input("X", {1, 4});
         m.node("NoSuchOp", "mystery", {"X"}, {"Y"});
         m.output("Y");
       },
       {"mystery", "NoSuchOp"},
       run},
      {"onnx_undefined_input",
       "unclear",
       [](OnnxModel &m) {
         m.input("X", {1, 4});
         m.node("Add", "add", {"X", "ghost"}, {"Y"});
         m.output("Y");
       },
       {"ghost"}},
      {"onnx_cycle",
       "hang",
       [](OnnxModel &m) {
         m.input("X", {1, 4});
         m.node("Add", "a", {"X", "B"}, {"A"});
         m.node("Relu", "b", {"A"}, {"B"});
         m.output("B");
       },
       {"cycle"}},
      {"onnx_output_never_written",
       "unclear",
       [](OnnxModel &m) {
         m.input("X", {1, 4});
         m.node("Relu", "r", {"X"}, {"Y"});
         m.output("Z");
       },
       {"'Z'"},
       run},
      {"onnx_initializer_bad_dtype",
       "unclear",
       [](OnnxModel &m) {
         m.input("X", {1});
         m.init("W", {1}, 999).set_raw_data(std::string(4, '\0'));
         m.node("Add", "add", {"X", "W"}, {"Y"});
         m.output("Y");
       },
       {"'W'", "999"}},
      {"onnx_initializer_negative_dim",
       "unclear",
       [](OnnxModel &m) {
         m.input("X", {1});
         m.init("W", {-3}).set_raw_data(std::string(12, '\0'));
         m.node("Add", "add", {"X", "W"}, {"Y"});
         m.output("Y");
       },
       {"'W'", "-3"}},
      {"onnx_float_data_count",
       "silent",
       [](OnnxModel &m) {
         m.input("X", {4});
         auto &w = m.init("W", {4});
         w.add_float_data(1), w.add_float_data(2), w.add_float_data(3);
         m.node("Add", "add", {"X", "W"}, {"Y"});
         m.output("Y");
       },
       {"'W'", "3"}},
      {"onnx_int64_data_count",
       "silent",
       [](OnnxModel &m) {
         m.input("X", {1, 1});
         auto &s = m.init("S", {3}, onnx::TensorProto::INT64);
         s.add_int64_data(1);
         m.node("Reshape", "reshape", {"X", "S"}, {"Y"});
         m.output("Y");
       },
       {"'S'"}},
      {"onnx_conv_zero_kernel",
       "crash",
       [](OnnxModel &m) {
         m.input("X", {1, 1, 4, 4});
         m.init_f32("W", {1, 1, 2, 2}, 1.f);
         auto &n = m.node("Conv", "conv", {"X", "W"}, {"Y"});
         OnnxModel::ints(n, "kernel_shape", {0, 0});
         m.output("Y");
       },
       {"conv", "kernel_shape"}},
      {"onnx_conv_weight_rank",
       "crash",
       [](OnnxModel &m) {
         m.input("X", {1, 1, 2, 2});
         m.init_f32("W", {4}, 1.f);
         m.node("Conv", "conv", {"X", "W"}, {"Y"});
         m.output("Y");
       },
       {"conv"},
       run},
      // Found by fuzz_onnx (session 9): no kernel_shape, so libonnx 1.12 takes the
      // kernel from the rank-1 weight (none) and, under auto_pad, read it at the
      // input's spatial rank: SIGSEGV at address 0 inside ONNX shape inference.
      {"onnx_conv_weight_rank_auto_pad",
       "crash",
       [](OnnxModel &m) {
         m.input("X", {1, 1, 2, 2});
         m.init_f32("W", {4}, 1.f);
         auto &n = m.node("Conv", "conv", {"X", "W"}, {"Y"});
         auto *a = n.add_attribute();
         a->set_name("auto_pad");
         a->set_type(onnx::AttributeProto::STRING);
         a->set_s("NOTSET");
         m.output("Y");
       },
       {"conv"},
       run},
      // The same in libonnx's ConvTranspose inference (found in review, session 9).
      {"onnx_conv_transpose_weight_rank_auto_pad",
       "crash",
       [](OnnxModel &m) {
         m.input("X", {1, 1, 2, 2});
         m.init_f32("W", {4}, 1.f);
         auto &n = m.node("ConvTranspose", "deconv", {"X", "W"}, {"Y"});
         auto *a = n.add_attribute();
         a->set_name("auto_pad");
         a->set_type(onnx::AttributeProto::STRING);
         a->set_s("SAME_UPPER");
         m.output("Y");
       },
       {"deconv"},
       run},
      {"onnx_reshape_wrong_size",
       "silent",
       [](OnnxModel &m) {
         m.input("X", {1, 4});
         m.init_i64("S", {3, 5});
         m.node("Reshape", "reshape", {"X", "S"}, {"Y"});
         m.output("Y");
       },
       {"reshape", "cannot reshape"},
       run},
      {"onnx_matmul_mismatch",
       "crash",
       [](OnnxModel &m) {
         m.input("X", {1, 4});
         m.init_f32("W", {5, 6}, 1.f);
         m.node("MatMul", "mm", {"X", "W"}, {"Y"});
         m.output("Y");
       },
       {"mm"},
       run},
      {"onnx_concat_axis_out_of_range",
       "crash",
       [](OnnxModel &m) {
         m.input("X", {1, 4});
         auto &n = m.node("Concat", "cat", {"X", "X"}, {"Y"});
         auto *a = n.add_attribute();
         a->set_name("axis");
         a->set_type(onnx::AttributeProto::INT);
         a->set_i(7);
         m.output("Y");
       },
       {"cat", "axis"},
       run},
      {"onnx_gather_index_out_of_range",
       "crash",
       [](OnnxModel &m) {
         m.input("X", {4});
         m.init_i64("I", {9});
         m.node("Gather", "gather", {"X", "I"}, {"Y"});
         m.output("Y");
       },
       {"gather", "out of range"},
       run},
      {"onnx_slice_step_zero",
       "hang",
       [](OnnxModel &m) {
         m.input("X", {4});
         m.init_i64("S", {0});
         m.init_i64("E", {4});
         m.init_i64("A", {0});
         m.init_i64("P", {0});
         m.node("Slice", "slice", {"X", "S", "E", "A", "P"}, {"Y"});
         m.output("Y");
       },
       {"slice", "step is zero"},
       run},
      {"onnx_deep_subgraph_nesting",
       "unclear",
       [](OnnxModel &m) {
         m.input("X", {1});
         m.node("Relu", "r", {"X"}, {"Y"});
         m.output("Y");
         // 120 If-branches inside each other: past protobuf's recursion limit.
         onnx::GraphProto *g = m.m.mutable_graph();
         for (int i = 0; i < 120; ++i) {
           auto *n = g->add_node();
           n->set_op_type("If");
           auto *a = n->add_attribute();
           a->set_name("then_branch");
           a->set_type(onnx::AttributeProto::GRAPH);
           g = a->mutable_g();
         }
       },
       {"nested deeper"}},
  };
  for (const auto &r : models)
    out.push_back(file_case(
        r.name, r.kind, "m.onnx",
        [build = r.input](const fs::path &) {
          OnnxModel m;
          build(m);
          return m.m.SerializeAsString();
        },
        r.args.empty() ? "inspect m.onnx" : r.args, r.expect));
  // The run cases need an input file of the right size.
  for (auto &c : out)
    if (c.name.rfind("onnx_", 0) == 0) {
      auto setup = c.setup;
      c.setup = [setup](const fs::path &d) {
        write_file(d / "x.f32", std::string(16, '\0'));
        return setup(d);
      };
    }
}

// X (declared `dims`, a negative one unknown; element type `elem`) -> Transpose
// -> Y: a model whose input declaration, not its data, is hostile.
std::function<void(const fs::path &)> declared_input_model(std::vector<int64_t> dims,
                                                           int elem = onnx::TensorProto::FLOAT) {
  return [=](const fs::path &d) {
    OnnxModel m;
    m.input("X", dims, elem);
    auto *shape = m.g().mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i)
      if (dims[i] < 0)
        shape->mutable_dim(static_cast<int>(i))->set_dim_param("n");
    m.node("Transpose", "transpose", {"X"}, {"Y"});
    m.output("Y", elem);
    m.save(d / "model.onnx");
  };
}

// `run` inputs against declared shapes that overflow, do not divide the file, or
// cannot be fed raw: each used to end in a message without the file, an
// attempted 4 TiB allocation or (strings) a division by zero.
void add_declared_input_cases(std::vector<Case> &out) {
  const int64_t huge = (int64_t(1) << 62) + 1;
  const std::string four(4, '\0');
  const std::string args = "run model.onnx --input X=x.f32 --output-dir out";
  struct Declared {
    std::string name;
    const char *kind;
    std::vector<int64_t> dims;
    std::vector<std::string> expect;
    std::string args;
  };
  const std::vector<Declared> rows = {
      {"input_declared_shape_overflows", "unclear", {huge, 4}, {"'X'", "64 bits"}, args},
      {"input_declared_4tib", "memory", {1 << 20, 1 << 20}, {"'X'", "4398046511104 bytes"}, args},
      {"input_unknown_dim_known_overflow", "unclear", {1, huge, 4, -1}, {"'X'", "64 bits"}, args},
      {"input_unknown_dim_not_whole", "unclear", {1, 3, -1}, {"'X'", "4 bytes", "whole"}, args},
      {"input_shape_arg_overflows",
       "unclear",
       {1, -1},
       {"'X'", "64 bits"},
       args + " --shape X=4611686018427387905x4"},
  };
  for (const Declared &r : rows)
    out.push_back(file_case(
        r.name, r.kind, "x.f32", [four](const fs::path &) { return four; }, r.args, r.expect,
        declared_input_model(r.dims)));
  out.push_back(named_elsewhere(file_case(
      "input_shape_arg_negative", "unclear", "x.f32", [four](const fs::path &) { return four; },
      args + " --shape X=-1x-4", {"--shape X=-1x-4", "non-negative"},
      declared_input_model({1, -1}))));
  out.push_back(file_case(
      "input_string_unknown_dim", "crash", "x.bin", [](const fs::path &) { return "abcd"; },
      "run model.onnx --input X=x.bin --output-dir out", {"'X'", "string"},
      declared_input_model({1, -1}, onnx::TensorProto::STRING)));
}

void add_run_input_cases(std::vector<Case> &out) {
  auto model = [](const fs::path &d) {
    OnnxModel m;
    m.input("X", {1, 4});
    m.node("Relu", "relu", {"X"}, {"Y"});
    m.output("Y");
    m.save(d / "model.onnx");
  };
  add_file_rows(out, "x.f32", "run model.onnx --input X=x.f32 --output-dir out",
                {
                    {"input_too_short", "silent", text(std::string(12, '\0')), {"12 bytes", "16"}},
                    {"input_too_long", "silent", text(std::string(20, '\0')), {"20 bytes", "16"}},
                    {"input_empty", "unclear", text(""), {"0 bytes"}},
                    {"input_unknown_name",
                     "unclear",
                     text(std::string(16, '\0')),
                     {"model.onnx", "no input 'Q'"},
                     "run model.onnx --input Q=x.f32 --output-dir out"},
                },
                model);
  out.back() = named_elsewhere(out.back());
  add_declared_input_cases(out);
}

std::string truncated_graphdef(int pct) {
  std::string b = graphdef_base();
  return head(b, b.size() * pct / 100);
}

// The first Const node's value tensor.
tensorflow::TensorProto &first_const(tensorflow::GraphDef &g) {
  for (auto &n : *g.mutable_node())
    if (n.op() == "Const")
      return *(*n.mutable_attr())["value"].mutable_tensor();
  throw std::runtime_error("graphdef base has no Const");
}

void add_graphdef_cases(std::vector<Case> &out) {
  add_file_rows(
      out, "g.pb", "inspect g.pb",
      {
          {"graphdef_truncated_25", "unclear", [] { return truncated_graphdef(25); }, {"GraphDef"}},
          {"graphdef_truncated_50", "unclear", [] { return truncated_graphdef(50); }, {"GraphDef"}},
          {"graphdef_truncated_75", "unclear", [] { return truncated_graphdef(75); }, {"GraphDef"}},
          {"graphdef_garbage", "unclear", [] { return "\x0a" + garbage(2048); }, {"GraphDef"}},
      });
  const std::vector<Row<std::function<void(tensorflow::GraphDef &)>>> graphs = {
      {"graphdef_unknown_op",
       "unclear",
       [](tensorflow::GraphDef &g) { g.mutable_node(g.node_size() - 1)->set_op("NoSuchTfOp"); },
       {"NoSuchTfOp"}},
      {"graphdef_missing_input_node",
       "unclear",
       [](tensorflow::GraphDef &g) { g.mutable_node(g.node_size() - 1)->set_input(0, "ghost"); },
       {"ghost"}},
      {"graphdef_const_short_content",
       "silent",
       [](tensorflow::GraphDef &g) {
         auto &t = first_const(g);
         t.clear_float_val();
         t.set_tensor_content(std::string(3, '\0'));
         t.mutable_tensor_shape()->clear_dim();
         t.mutable_tensor_shape()->add_dim()->set_size(4);
       },
       {"3 bytes"}},
      {"graphdef_const_overflowing_shape",
       "crash",
       [](tensorflow::GraphDef &g) {
         auto &t = first_const(g);
         t.mutable_tensor_shape()->clear_dim();
         t.mutable_tensor_shape()->add_dim()->set_size((int64_t(1) << 62) + 1);
         t.mutable_tensor_shape()->add_dim()->set_size(4);
       },
       {"'W'", "too many elements"}},
      {"graphdef_const_bad_dtype",
       "unclear",
       [](tensorflow::GraphDef &g) {
         for (auto &n : *g.mutable_node())
           if (n.op() == "Const") {
             (*n.mutable_attr())["value"].mutable_tensor()->set_dtype(
                 static_cast<tensorflow::DataType>(77));
             (*n.mutable_attr())["dtype"].set_type(static_cast<tensorflow::DataType>(77));
             return;
           }
       },
       {"77"}},
      // Found by fuzz_graphdef (session 8): an unread node named like a tensor
      // ('/device:CPU:0', node '/device:CPU' output 0) became a graph output
      // that named no node: a raw unordered_map::at escaped.
      {"graphdef_node_name_with_colon",
       "unclear",
       [](tensorflow::GraphDef &g) {
         tensorflow::NodeDef copy = g.node(g.node_size() - 1);
         copy.set_name("/device:CPU:0");
         *g.add_node() = copy;
       },
       {"'/device:CPU:0'", "may not contain ':'"}},
      {"graphdef_duplicate_node_name",
       "silent",
       [](tensorflow::GraphDef &g) { *g.add_node() = g.node(0); },
       {"two nodes"}},
      {"graphdef_cycle",
       "hang",
       [](tensorflow::GraphDef &g) {
         auto *a = g.add_node();
         a->set_name("loop_a");
         a->set_op("Identity");
         a->add_input("loop_b");
         auto *b = g.add_node();
         b->set_name("loop_b");
         b->set_op("Identity");
         b->add_input("loop_a");
         (*a->mutable_attr())["T"].set_type(tensorflow::DT_FLOAT);
         (*b->mutable_attr())["T"].set_type(tensorflow::DT_FLOAT);
         g.mutable_node(g.node_size() - 3)->set_input(0, "loop_b"); // the output reads it
       },
       {"cycle"}},
      {"graphdef_no_nodes",
       "unclear",
       [](tensorflow::GraphDef &g) { g.clear_node(); },
       {"not a model qtune can load"}},
  };
  for (const auto &r : graphs)
    out.push_back(file_case(
        r.name, r.kind, "g.pb",
        [edit = r.input](const fs::path &) {
          tensorflow::GraphDef g;
          g.ParseFromString(graphdef_base());
          edit(g);
          return g.SerializeAsString();
        },
        "inspect g.pb", r.expect));
  add_file_rows(out, "g.pbtxt", "inspect g.pbtxt",
                {
                    {"pbtxt_syntax_error", "unclear", text("node { name: \"a\" op: "), {}},
                    {"pbtxt_unknown_field",
                     "unclear",
                     text("node { name: \"a\" colour: 3 }\n"),
                     {"node 'a'"}},
                    {"pbtxt_truncated",
                     "unclear",
                     [] {
                       std::string t = graphdef_text_base();
                       return head(t, t.size() / 2);
                     },
                     {}},
                    {"pbtxt_empty", "unclear", text(""), {"no nodes"}},
                    {"pbtxt_deep_nesting",
                     "crash",
                     [] {
                       std::string t =
                           "node { name: \"a\" op: \"Const\" attr { key: \"value\" value { ";
                       for (int i = 0; i < 20000; ++i)
                         t += "list { func { attr { key: \"k\" value { ";
                       return t;
                     },
                     {}},
                });
}

// A file of a base folder and how a case damages it.
struct FileEdit {
  std::string file;
  Edit edit;
};

// A table whose rows each replace `folder/<file>` of a base copied by `base`
// with an edit of the shared data's `src/<file>`.
void add_edit_rows(std::vector<Case> &out, const std::string &folder, const std::string &src,
                   const std::string &args, const std::vector<Row<FileEdit>> &rows,
                   std::function<void(const fs::path &)> base) {
  for (const auto &r : rows)
    out.push_back(file_case(
        r.name, r.kind, folder + "/" + r.input.file,
        [edit = r.input.edit, from = src + "/" + r.input.file](const fs::path &) {
          return edit(read_file(shared_data(from)));
        },
        args, r.expect, base));
}

std::string first_half(const std::string &b) {
  return head(b, b.size() / 2);
}

// A case that copies a base, then replaces `file` in it with a FIFO (nothing
// ever writes to it: reading it would block forever).
Case fifo_case(std::string name, std::function<void(const fs::path &)> base, std::string file,
               std::string args) {
  std::string shown = fs::path(file).filename().string();
  return {std::move(name),
          "hang",
          [=](const fs::path &d) {
            base(d);
            fs::remove(d / file);
            mkfifo((d / file).c_str(), 0644);
            return args;
          },
          {shown, "not a regular file"}};
}

void add_checkpoint_cases(std::vector<Case> &out) {
  const std::string data = "model.data-00000-of-00001";
  auto ck = [](const fs::path &d) { checkpoint_base(d); };
  auto text_edit = [](std::string s) { return [s](const std::string &) { return s; }; };
  add_edit_rows(
      out, "ckpt", std::string(kRegression) + "/checkpoint", "inspect ckpt",
      {
          {"ckpt_index_truncated", "unclear", {"model.index", first_half}, {}},
          {"ckpt_index_empty", "unclear", {"model.index", text_edit("")}, {}},
          {"ckpt_index_bad_magic",
           "unclear",
           {"model.index", [](const std::string &b) { return flip(b, -1); }},
           {"magic"}},
          {"ckpt_index_garbage",
           "unclear",
           {"model.index", [](const std::string &b) { return garbage(b.size()); }},
           {}},
          {"ckpt_index_block_crc",
           "silent",
           {"model.index", [](const std::string &b) { return flip(b, 3); }},
           {}},
          {"ckpt_data_truncated", "unclear", {data, first_half}, {}},
          {"ckpt_data_flipped",
           "silent",
           {data, [](const std::string &b) { return flip(b, 0); }},
           {"CRC"}},
          {"ckpt_meta_truncated",
           "unclear",
           {"model.meta", [](const std::string &b) { return head(b, b.size() / 3); }},
           {}},
          {"ckpt_meta_garbage",
           "unclear",
           {"model.meta", [](const std::string &b) { return garbage(b.size()); }},
           {}},
          {"ckpt_state_escape",
           "escape",
           {"checkpoint", text_edit("model_checkpoint_path: \"../../../../../../etc/passwd\"\n")},
           {"outside"}},
          {"ckpt_state_absolute",
           "escape",
           {"checkpoint", text_edit("model_checkpoint_path: \"/etc/passwd\"\n")},
           {"/etc/passwd"}},
          {"ckpt_state_garbage",
           "unclear",
           {"checkpoint", text_edit("model_checkpoint_path: {{{\n")},
           {}},
      },
      ck);
  out.push_back({"ckpt_data_missing",
                 "unclear",
                 [ck, data](const fs::path &d) {
                   ck(d);
                   fs::remove(d / "ckpt" / data);
                   return std::string("inspect ckpt");
                 },
                 {data}});
  out.push_back(fifo_case("ckpt_data_fifo", ck, "ckpt/" + data, "inspect ckpt"));
}

void add_saved_model_cases(std::vector<Case> &out) {
  auto sm = [](const fs::path &d) { saved_model_base(d); };
  add_edit_rows(out, "sm", "tf/small/half_plus_two_savedmodel/00000123", "inspect sm",
                {
                    {"savedmodel_pb_truncated", "unclear", {"saved_model.pb", first_half}, {}},
                    {"savedmodel_pb_garbage",
                     "unclear",
                     {"saved_model.pb", [](const std::string &b) { return garbage(b.size()); }},
                     {}},
                    {"savedmodel_pb_empty",
                     "unclear",
                     {"saved_model.pb", [](const std::string &) { return ""; }},
                     {}},
                    {"savedmodel_no_signature",
                     "unclear",
                     {"saved_model.pb",
                      [](const std::string &b) {
                        tensorflow::SavedModel m;
                        m.ParseFromString(b);
                        for (auto &mg : *m.mutable_meta_graphs())
                          mg.mutable_signature_def()->clear();
                        return m.SerializeAsString();
                      }},
                     {"serving_default"}},
                    {"savedmodel_variables_index_truncated",
                     "unclear",
                     {"variables/variables.index", first_half},
                     {}},
                    {"savedmodel_variables_data_truncated",
                     "unclear",
                     {"variables/variables.data-00000-of-00001", first_half},
                     {}},
                },
                sm);
  out.push_back({"savedmodel_variables_missing",
                 "unclear",
                 [sm](const fs::path &d) {
                   sm(d);
                   fs::remove_all(d / "sm/variables");
                   return std::string("inspect sm");
                 },
                 {"has no value"}});
}

void add_tfjs_cases(std::vector<Case> &out) {
  auto base = [](const fs::path &d) { tfjs_base(d); };
  add_file_rows(
      out, "model.json", "inspect model.json",
      {
          {"tfjs_syntax_error", "unclear", text(tfjs_json().substr(0, 200)), {}},
          {"tfjs_topology_not_object",
           "unclear",
           text(R"({"modelTopology": [1, 2], "weightsManifest": []})"),
           {"modelTopology"}},
          {"tfjs_weights_path_escape",
           "escape",
           text(tfjs_json("../../../../../../etc/passwd")),
           {"outside"}},
          {"tfjs_weights_path_absolute", "escape", text(tfjs_json("/etc/passwd")), {"/etc/passwd"}},
          {"tfjs_weights_missing_shard", "unclear", text(tfjs_json("nope.bin")), {"nope.bin"}},
          {"tfjs_weight_unknown_dtype",
           "unclear",
           text(tfjs_json("w.bin", "[4]", "complex256")),
           {"complex256"}},
          {"tfjs_weight_negative_dim", "unclear", text(tfjs_json("w.bin", "[-4]")), {"-4"}},
          {"tfjs_weight_overflowing_shape",
           "crash",
           text(tfjs_json("w.bin", "[4611686018427387905, 4]")),
           {"too many elements"}},
          {"tfjs_weight_shape_not_list",
           "unclear",
           text(tfjs_json("w.bin", "\"four\"")),
           {"shape"}},
          {"tfjs_unknown_op",
           "unclear",
           text(tfjs_json("w.bin", "[4]", "float32",
                          R"(, {"name": "z", "op": "NoSuchTfjsOp", "input": ["y"]})")),
           {"NoSuchTfjsOp"}},
          {"tfjs_input_missing_node",
           "unclear",
           text(tfjs_json("w.bin", "[4]", "float32",
                          R"(, {"name": "z", "op": "Relu", "input": ["ghost"],
                           "attr": {"T": {"type": "DT_FLOAT"}}})")),
           {"ghost"}},
      },
      base);
  add_file_rows(out, "w.bin", "inspect model.json",
                {{"tfjs_shard_too_short", "silent", text(std::string(10, '\0')), {"10"}}}, base);
  out.push_back(fifo_case("tfjs_shard_fifo", base, "w.bin", "inspect model.json"));
}

// One record file holding `example` (a serialized tf.Example) as its only record.
std::string single_record(const fs::path &d, const std::string &example) {
  fs::path tmp = d / "build";
  fs::create_directories(tmp);
  data::TFRecordWriter w((tmp / "r.record").string());
  w.write(example);
  w.close();
  return read_file(tmp / "r.record");
}

// The dog image as an OD-API tf.Example with `boxes` small boxes, its proto
// then edited.
std::string dog_example(int boxes, const std::function<void(tensorflow::Example &)> &edit) {
  data::Sample s;
  s.encoded = dog_bytes();
  s.width = 768, s.height = 576;
  s.truth.image_id = 1;
  for (int i = 0; i < boxes; ++i) {
    s.truth.boxes.push_back({1.f + 2 * i, 1.f + 2 * i, 2, 2});
    s.truth.category_ids.push_back(i + 1);
    s.truth.is_crowd.push_back(0);
    s.truth.area.push_back(4);
  }
  tensorflow::Example e;
  e.ParseFromString(data::make_od_example(s, "x.jpg"));
  edit(e);
  return e.SerializeAsString();
}

void add_tfrecord_cases(std::vector<Case> &out) {
  const std::string info = "dataset info a.record";
  const std::vector<Row<Edit>> framing = {
      {"record_length_crc", "silent", [](const std::string &b) { return flip(b, 9); }, {"CRC"}},
      {"record_data_crc", "silent", [](const std::string &b) { return flip(b, 100); }, {"CRC"}},
      {"record_truncated_header", "unclear", [](const std::string &b) { return head(b, 5); }, {}},
      {"record_truncated_data", "silent", [](const std::string &b) { return head(b, 500); }, {}},
      {"record_length_huge",
       "memory",
       [](const std::string &b) { return std::string(8, '\xff') + b.substr(8); },
       {}},
      {"record_garbage", "unclear", [](const std::string &) { return garbage(1000); }, {}},
  };
  for (const auto &r : framing)
    out.push_back(file_case(
        r.name, r.kind, "a.record",
        [edit = r.input](const fs::path &d) { return edit(od_record(d, dog_bytes())); }, info,
        r.expect));
  const std::vector<Row<Bytes>> examples = {
      {"record_example_garbage", "unclear", [] { return garbage(300); }, {"record 0"}},
      {"record_example_box_lists_differ",
       "silent",
       [] {
         return dog_example(2, [](tensorflow::Example &e) {
           // Drop the last xmin value: the box lists now differ in length.
           (*e.mutable_features()->mutable_feature())["image/object/bbox/xmin"]
               .mutable_float_list()
               ->mutable_value()
               ->RemoveLast();
         });
       },
       {"record 0"}},
      {"record_example_huge_height",
       "silent",
       [] {
         return dog_example(0, [](tensorflow::Example &e) {
           (*e.mutable_features()->mutable_feature())["image/height"]
               .mutable_int64_list()
               ->set_value(0, int64_t(1) << 40);
         });
       },
       {"record 0", "height"}},
  };
  for (const auto &r : examples)
    out.push_back(file_case(
        r.name, r.kind, "a.record",
        [example = r.input](const fs::path &d) { return single_record(d, example()); }, info,
        r.expect));
  // Corrupt images inside records: found when the images are decoded.
  const std::vector<Row<Bytes>> images = {
      {"record_truncated_jpeg",
       "silent",
       [] { return first_half(dog_bytes()); },
       {"truncated JPEG"}},
      {"record_jpeg_garbage_scan",
       "silent",
       [] {
         std::string j = dog_bytes();
         std::string g = garbage(4000, 3);
         return j.replace(j.size() / 2, g.size(), g);
       },
       {"JPEG"}},
      {"record_not_an_image", "silent", [] { return garbage(500); }, {"not a JPEG or PNG"}},
      {"record_png_truncated",
       "silent",
       [] {
         std::string p = make_png(64, 48, 90);
         return head(p, p.size() - 30);
       },
       {"PNG"}},
      {"record_jpeg_20000x20000",
       "silent",
       [] { return jpeg_with_size(dog_bytes(), 20000, 20000); },
       {"20000x20000", "limit"}},
  };
  for (const auto &r : images)
    out.push_back(file_case(
        r.name, r.kind, "a.record",
        [image = r.input](const fs::path &d) { return od_record(d, image(), 1); },
        yolox_eval_args("--record a.record"), r.expect));
}

void add_coco_cases(std::vector<Case> &out) {
  const std::string eval = "evaluate --annotations gt.json --detections d.json";
  add_text_rows(
      out, "gt.json", eval,
      {
          {"coco_syntax_error", "unclear", R"({"images": [)", {"JSON"}},
          {"coco_top_level_array", "unclear", "[1, 2]", {"object"}},
          {"coco_images_not_list", "unclear", coco_json("{}", "[]"), {"images"}},
          {"coco_image_id_string",
           "unclear",
           coco_json(R"([{"id": "one", "file_name": "a.jpg", "width": 8, "height": 6}])", "[]"),
           {"images[0].id"}},
          {"coco_image_missing_id",
           "unclear",
           coco_json(R"([{"file_name": "a.jpg", "width": 8, "height": 6}])", "[]"),
           {"images[0]"}},
          {"coco_duplicate_image_id",
           "silent",
           coco_json(R"([{"id": 1, "file_name": "a.jpg", "width": 8, "height": 6},
                   {"id": 1, "file_name": "b.jpg", "width": 8, "height": 6}])",
                     "[]"),
           {"1"}},
          {"coco_bbox_three_numbers",
           "unclear",
           coco_json(kImage, ann(R"("bbox": [1, 1, 4])")),
           {"bbox"}},
          {"coco_bbox_negative_width",
           "silent",
           coco_json(kImage, ann(R"("bbox": [1, 1, -4, 3])")),
           {"bbox"}},
          {"coco_bbox_infinite",
           "silent",
           coco_json(kImage, ann(R"("bbox": [1, 1, 1e999, 3])")),
           {"1e999"}},
          {"coco_annotation_unknown_image",
           "silent",
           coco_json(kImage, R"([{"id": 1, "image_id": 5, "category_id": 1, "bbox": [1, 1, 4, 3],
                           "area": 12, "iscrowd": 0}])"),
           {"image_id", "5"}},
          {"coco_annotation_unknown_category",
           "silent",
           coco_json(kImage, R"([{"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 1, 4, 3],
                           "area": 12, "iscrowd": 0}])"),
           {"category", "7"}},
          {"coco_polygon_odd_count",
           "unclear",
           coco_json(kImage, ann(std::string(kBox) + R"(, "segmentation": [[1, 1, 4, 1, 4]])")),
           {"segmentation"}},
          {"coco_rle_counts_wrong_sum",
           "silent",
           coco_json(kImage, ann(std::string(kBox) + R"(, "segmentation": {"size": [6, 8],
                                                   "counts": [10, 5]}, "iscrowd": 1)")),
           {"run lengths sum"}},
          {"coco_image_negative_width",
           "silent",
           coco_json(R"([{"id": 1, "file_name": "a.jpg", "width": -8, "height": 6}])", "[]"),
           {"size must be positive"}},
          {"coco_category_id_float",
           "silent",
           coco_json(kImage, "[]", R"([{"id": 1.5, "name": "a"}])"),
           {"categories[0].id"}},
          {"coco_empty_file", "unclear", "", {"end of input"}},
      },
      [](const fs::path &d) { write_file(d / "d.json", "[]"); });
  // A segm evaluation, so the ground truth's RLE string is decoded.
  add_text_rows(out, "gt.json", eval + " --iou-type segm",
                {{"coco_rle_string_bad_chars",
                  "unclear",
                  coco_json(kImage, ann(std::string(kBox) + R"(, "segmentation": {"size": [6, 8],
                                                   "counts": "\u0001\u0002"}, "iscrowd": 1)")),
                  {"bad character"}}},
                [](const fs::path &d) {
                  write_file(d / "d.json", R"([{"image_id": 1, "category_id": 1, "score": 0.5,
                                  "segmentation": {"size": [6, 8], "counts": [48]}}])");
                });
  const std::string gt_ok = coco_json(kImage, ann(kBox));
  add_text_rows(
      out, "d.json", eval,
      {
          {"detections_not_list", "unclear", R"({"image_id": 1})", {"array"}},
          {"detections_syntax_error", "unclear", R"([{"image_id": 1,)", {"JSON"}},
          {"detections_missing_score",
           "silent",
           R"([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}])",
           {"score"}},
          {"detections_score_string",
           "unclear",
           R"([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": "high"}])",
           {"score"}},
          {"detections_score_infinite",
           "silent",
           R"([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 1e999}])",
           {"1e999"}},
          {"detections_unknown_image",
           "silent",
           R"([{"image_id": 9, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5}])",
           {"image_id", "9"}},
          {"detections_bbox_five_numbers",
           "unclear",
           R"([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2, 2], "score": 0.5}])",
           {"bbox"}},
          {"detections_bbox_nan_string",
           "unclear",
           R"([{"image_id": 1, "category_id": 1, "bbox": [1, "NaN", 2, 2], "score": 0.5}])",
           {"bbox"}},
          {"detections_empty_file", "unclear", "", {"end of input"}},
          // Found by fuzz_detections (session 9): a box 5e16 high, evaluated as
          // masks (its box polygon), overflowed the int vertex arithmetic of
          // the polygon rasterizer (UBSan: 2.6e17 does not fit an int); the
          // Release build walked billions of boundary points (a hang).
          // Every vertex within bounds, but 300 edges of 10^6 pixels each:
          // billions of boundary points to rasterize (found in review, session 9).
          {"detections_polygon_huge_outline",
           "hang",
           R"([{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": [[)" +
               [] {
                 std::string xy;
                 for (int i = 0; i < 300; ++i)
                   xy += (i ? ", " : "") + std::to_string(i % 2 ? 1000000 : 0) + ", " +
                         std::to_string(i);
                 return xy;
               }() +
               "]]}]",
           {"segmentation", "1048576"},
           eval + " --iou-type segm"},
          {"detections_bbox_huge_segm",
           "hang",
           R"([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 5.27e16], "score": 0.5}])",
           {"bbox", "5.27e+16", "1048576"},
           eval + " --iou-type segm"},
      },
      [gt_ok](const fs::path &d) { write_file(d / "gt.json", gt_ok); });
}

void add_yaml_cases(std::vector<Case> &out) {
  auto model = [](const fs::path &d) {
    OnnxModel m;
    m.input("X", {1, 4});
    m.node("Relu", "relu", {"X"}, {"Y"});
    m.output("Y");
    m.save(d / "model.onnx");
  };
  const std::string tune = "tune --config c.yaml";
  add_text_rows(
      out, "c.yaml", tune,
      {
          {"yaml_syntax_error", "unclear", "model: {name: [a\n", {"c.yaml"}},
          {"yaml_tab_indent", "unclear", "model:\n\tname: a\n", {"c.yaml:"}},
          {"yaml_empty", "unclear", "", {"mapping"}},
          {"yaml_top_level_list", "unclear", "- a\n- b\n", {"mapping"}},
          {"yaml_unknown_top_key",
           "silent",
           tune_yaml("tunning:\n  random_seed: 1\n"),
           {"tunning", "tuning"}},
          {"yaml_unknown_strategy",
           "unclear",
           tune_yaml("tuning:\n  strategy: {name: bayesianx}\n"),
           {"bayesianx"}},
          {"yaml_batch_size_zero",
           "hang",
           tune_yaml("quantization:\n  calibration:\n    dataloader:\n      batch_size: 0\n"),
           {"batch_size"}},
          {"yaml_batch_size_string",
           "unclear",
           tune_yaml("quantization:\n  calibration:\n    dataloader:\n      batch_size: many\n"),
           {"batch_size", "many"}},
          {"yaml_sampling_size_negative",
           "silent",
           tune_yaml("quantization:\n  calibration:\n    sampling_size: -5\n"),
           {"sampling_size"}},
          {"yaml_max_trials_negative",
           "silent",
           tune_yaml("tuning:\n  exit_policy: {max_trials: -1}\n"),
           {"max_trials"}},
          {"yaml_timeout_negative",
           "silent",
           tune_yaml("tuning:\n  exit_policy: {timeout: -10}\n"),
           {"timeout"}},
          {"yaml_relative_negative",
           "silent",
           tune_yaml("tuning:\n  accuracy_criterion: {relative: -0.1}\n"),
           {"criterion"}},
          {"yaml_unknown_dtype",
           "unclear",
           tune_yaml("quantization:\n  model_wise:\n    weight: {dtype: int3}\n"),
           {"int3"}},
          {"yaml_unknown_dataset",
           "unclear",
           tune_yaml("evaluation:\n  accuracy:\n    metric: {topk: 1}\n    dataloader:\n"
                     "      dataset: {Imagenette: {root: .}}\n"),
           {"Imagenette"},
           "evaluate --config c.yaml"},
          {"yaml_unknown_transform",
           "unclear",
           tune_yaml("evaluation:\n  accuracy:\n    metric: {topk: 1}\n    dataloader:\n"
                     "      dataset: {ImageFolder: {root: .}}\n      transform: {Sharpen: {}}\n"),
           {"Sharpen"},
           "evaluate --config c.yaml"},
          {"yaml_unknown_metric",
           "unclear",
           tune_yaml("evaluation:\n  accuracy:\n    metric: {F7: {}}\n    dataloader:\n"
                     "      dataset: {ImageFolder: {root: .}}\n"),
           {"F7"},
           "evaluate --config c.yaml"},
          {"yaml_alias_bomb",
           "hang",
           [] {
             std::string s = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
             for (int i = 1; i < 12; ++i)
               s += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
                    std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
                    std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
                    std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
                    std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
             return tune_yaml(s);
           }(),
           {"a0"}},
          // Found by fuzz_yaml_config: a mapping as a key escaped as a YAML exception.
          {"yaml_mapping_as_key",
           "crash",
           tune_yaml("quantization:\n  model_wise:\n    {weight: 1}: {dtype: int8}\n"),
           {"c.yaml:", "mapping or list, not a name"}},
          // Found by fuzz_yaml_config (session 9): the same as an explicit
          // `? {..}` key where one dataset name is expected.
          {"yaml_mapping_as_dataset_name",
           "unclear",
           tune_yaml("quantization:\n  calibration:\n    dataloader:\n      dataset:\n"
                     "        ? {labels: x}\n"),
           {"c.yaml:", "dataset", "mapping or list, not a name"}},
          {"yaml_deep_nesting", "crash", tune_yaml("x: " + std::string(100000, '[')), {"c.yaml"}},
      },
      model);
  // Named in the message: the model file the config points to, not the config.
  add_text_rows(out, "c.yaml", tune,
                {{"yaml_model_path_missing",
                  "unclear",
                  "model:\n  name: m\n  framework: onnxrt_qlinearops\n  path: nowhere.onnx\n",
                  {"nowhere.onnx", "no such file"}}},
                model);
  out.back() = named_elsewhere(out.back());
}

void add_image_cases(std::vector<Case> &out) {
  auto model = [](const fs::path &d) {
    OnnxModel m;
    m.input("X", {1, 3, 8, 8});
    m.node("Relu", "relu", {"X"}, {"Y"});
    m.output("Y");
    m.save(d / "model.onnx");
  };
  auto run = [](const std::string &file) {
    return "run model.onnx --input X=" + file + " --output-dir out";
  };
  add_file_rows(out, "x.jpg", run("x.jpg"),
                {
                    {"input_image_not_an_image",
                     "unclear",
                     [] { return std::string("GIF89a") + garbage(64); },
                     {"not a JPEG or PNG"}},
                },
                model);
  add_file_rows(
      out, "a.jpg", run("a.jpg"),
      {
          {"jpeg_only_soi", "unclear", [] { return std::string("\xff\xd8", 2); }, {"JPEG"}},
          {"jpeg_garbage_after_soi",
           "unclear",
           [] { return std::string("\xff\xd8", 2) + garbage(3000); },
           {"JPEG"}},
          {"jpeg_zero_width",
           "unclear",
           [] { return jpeg_with_size(dog_bytes(), 0, 576); },
           {"JPEG"}},
          {"jpeg_scan_garbage",
           "silent",
           [] {
             std::string j = dog_bytes();
             std::string g = garbage(4000, 5);
             return j.replace(j.size() / 2, g.size(), g);
           },
           {"JPEG"}},
      },
      model);
  add_file_rows(
      out, "a.png", run("a.png"),
      {
          {"png_bad_ihdr_crc", "unclear", [] { return flip(make_png(8, 8, 100), 29); }, {"PNG"}},
          {"png_zero_width", "unclear", [] { return make_png(0, 8, 100); }, {"PNG"}},
          {"png_too_much_image_data",
           "silent",
           [] { return make_png(8, 8, 100, 8, 4); },
           {"corrupt PNG data"}},
          {"png_text_chunk_crc",
           "silent",
           [] {
             std::string p = make_png(8, 8, 100);
             // A tEXt chunk with a wrong CRC, after IHDR (8 + 25 bytes).
             std::string text =
                 std::string("\0\0\0\x05tEXtk\0abc", 13) + std::string("\0\0\0\0", 4);
             return p.insert(33, text);
           },
           {"corrupt PNG data", "CRC"}},
          {"png_idat_flipped", "silent", [] { return flip(make_png(8, 8, 100), 45); }, {"PNG"}},
          {"png_signature_only",
           "unclear",
           [] { return std::string("\x89PNG\r\n\x1a\n", 8); },
           {"PNG"}},
          {"image_empty", "unclear", [] { return std::string(); }, {"empty"}},
      },
      model);
}

// The image and label files of an IDX pair.
struct IdxPair {
  std::string images, labels;
  bool labels_damaged = false; // else the case damages the images
};

void add_idx_cases(std::vector<Case> &out) {
  const std::vector<Row<IdxPair>> rows = {
      {"idx_bad_magic",
       "unclear",
       {"\x01\x02\x03\x04" + idx_images(2).substr(4), idx_labels(2)},
       {"magic"}},
      {"idx_truncated_pixels",
       "silent",
       {head(idx_images(2), 16 + 784 + 100), idx_labels(2)},
       {"img.idx"}},
      {"idx_count_mismatch", "silent", {idx_images(3), idx_labels(2)}, {"does not match"}},
      {"idx_zero_rows", "unclear", {idx_images(2, 0, 28, 10), idx_labels(2)}, {"img.idx"}},
      {"idx_huge_count",
       "memory",
       {idx_images(0x7fffffff, 28, 28, 784), idx_labels(2)},
       {"img.idx"}},
      {"idx_labels_truncated",
       "silent",
       {idx_images(2), head(idx_labels(2), 9), true},
       {"lab.idx"}},
      {"idx_labels_bad_magic",
       "unclear",
       {idx_images(2), std::string("\x00\x00\x08\x09", 4) + idx_labels(2).substr(4), true},
       {"lab.idx"}},
      {"idx_gzip_corrupt",
       "unclear",
       {std::string("\x1f\x8b\x08\x00", 4) + garbage(200), idx_labels(2)},
       {"gzip"}},
  };
  for (const auto &r : rows) {
    bool labels = r.input.labels_damaged;
    std::string file = labels ? "lab.idx" : "img.idx", other = labels ? "img.idx" : "lab.idx";
    std::string damaged = labels ? r.input.labels : r.input.images;
    std::string intact = labels ? r.input.images : r.input.labels;
    out.push_back(file_case(
        r.name, r.kind, file, [damaged](const fs::path &) { return damaged; },
        "evaluate --config c.yaml", r.expect,
        [intact, other](const fs::path &d) {
          write_file(d / "c.yaml", idx_yaml());
          write_file(d / other, intact);
        }));
  }
}

} // namespace

std::vector<Case> format_cases() {
  std::vector<Case> out;
  add_onnx_cases(out);
  add_run_input_cases(out);
  add_graphdef_cases(out);
  add_checkpoint_cases(out);
  add_saved_model_cases(out);
  add_tfjs_cases(out);
  add_tfrecord_cases(out);
  add_coco_cases(out);
  add_yaml_cases(out);
  add_image_cases(out);
  add_idx_cases(out);
  return out;
}

namespace {

// The bases the cases damage load and run cleanly (exit 0), so every case's
// error comes from its own defect.
TEST(ValidBases, LoadCleanly) {
  fs::path d = fs::temp_directory_path() / ("qtune_bases_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  write_file(d / "m.onnx", onnx_base());
  write_file(d / "g.pb", graphdef_base());
  write_file(d / "g.pbtxt", graphdef_text_base());
  checkpoint_base(d);
  saved_model_base(d);
  tfjs_base(d);
  od_record(d, dog_bytes());
  write_file(d / "gt.json", coco_json(kImage, ann(kBox)));
  write_file(d / "d.json",
             R"([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5}])");
  write_file(d / "img.idx", idx_images(2));
  write_file(d / "lab.idx", idx_labels(2));
  write_file(d / "c.yaml", idx_yaml());
  for (const char *args :
       {"inspect m.onnx", "inspect g.pb", "inspect g.pbtxt", "inspect ckpt", "inspect sm",
        "inspect model.json", "dataset info a.record",
        "evaluate --annotations gt.json --detections d.json", "evaluate --config c.yaml"}) {
    RunResult r = run_qtune(d, args, 120);
    EXPECT_TRUE(r.outcome == Outcome::other_exit && r.code == 0) << args << ": " << r.err;
  }
  if (!HasFailure())
    fs::remove_all(d);
}

} // namespace

} // namespace qtune::test
