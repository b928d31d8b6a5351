// ONNX importer on the real shared models and on broken inputs.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <random>
#include <set>
#include <unistd.h>

#include "../test_util.h"
#include "frontends/onnx/onnx_import.h"
#include "qtune/error.h"
#include "runtime/kernel.h"

namespace fs = std::filesystem;
using namespace qtune;

namespace {

std::string read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

fs::path temp_dir(const std::string &name) {
  fs::path d = fs::temp_directory_path() / ("qtune_ir_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::map<std::string, int> histogram(const Graph &g) {
  std::map<std::string, int> h;
  for (const auto &n : g.nodes)
    h[n.op_type]++;
  return h;
}

// Every node input must be produced earlier (or be an input/initializer).
void expect_sorted(const Graph &g) {
  std::set<std::string> seen;
  for (const auto &i : g.inputs)
    seen.insert(i.name);
  for (const auto &[k, v] : g.initializers)
    seen.insert(k);
  for (const auto &n : g.nodes) {
    for (const auto &in : n.inputs)
      if (!in.empty())
        EXPECT_TRUE(seen.count(in)) << n.describe() << " reads " << in;
    for (const auto &o : n.outputs)
      seen.insert(o);
  }
}

// Expected counts are from the model files as Netron / onnx.helper list them.
TEST(OnnxImport, YoloxNano) {
  Graph g = load_onnx(test::shared_data("models/yolox_nano/yolox_nano.onnx"));
  EXPECT_EQ(g.opset, 11);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "images");
  EXPECT_EQ(g.inputs[0].dtype, DType::f32);
  EXPECT_EQ(g.inputs[0].static_shape(), (Shape{1, 3, 416, 416}));
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "output");
  EXPECT_EQ(g.outputs[0].static_shape(), (Shape{1, 3549, 85}));
  expect_sorted(g);
  // No Constant nodes survive: they became initializers.
  EXPECT_EQ(histogram(g).count("Constant"), 0u);
  EXPECT_GT(histogram(g)["Conv"], 50);
  // ONNX shape inference filled the intermediates.
  EXPECT_GT(g.value_info.size(), g.nodes.size() / 2);
}

TEST(OnnxImport, UltrafaceBothVersions) {
  for (const char *f : {"version-RFB-320.onnx", "version-slim-320.onnx"}) {
    Graph g = load_onnx(test::shared_data(std::string("models/ultraface/") + f));
    EXPECT_EQ(g.opset, 9) << f;
    ASSERT_EQ(g.inputs.size(), 1u) << f; // weights listed as inputs are dropped
    EXPECT_EQ(g.inputs[0].static_shape(), (Shape{1, 3, 240, 320}));
    ASSERT_EQ(g.outputs.size(), 2u);
    EXPECT_EQ(g.outputs[0].name, "scores");
    EXPECT_EQ(g.outputs[1].name, "boxes");
    expect_sorted(g);
    for (const auto &n : g.nodes) {
      EXPECT_NE(n.op_type, "Upsample") << f;
      if (n.op_type == "BatchNormalization") {
        EXPECT_FALSE(n.has_attr("spatial"));
      }
      if (n.op_type == "Softmax") {
        EXPECT_EQ(n.attr_int("qtune.legacy_softmax", 0), 1);
      }
    }
  }
}

TEST(OnnxImport, ZuramaiMnistExternalData) {
  std::string path = test::shared_data("models/mnist/zuramai/mnist.onnx");
  Graph g = load_onnx(path);
  EXPECT_EQ(g.opset, 20);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].dims.size(), 4u);
  // All weights came from mnist.onnx.data: their bytes add up to most of that file.
  size_t bytes = 0;
  for (const auto &[k, t] : g.initializers)
    bytes += t.nbytes();
  size_t data_size = fs::file_size(path + ".data");
  EXPECT_GE(bytes, data_size * 9 / 10);
  EXPECT_LE(bytes, data_size + 1024);
  // Weights are real numbers, not zero-filled.
  double abs_sum = 0;
  for (const auto &[k, t] : g.initializers)
    if (t.dtype() == DType::f32)
      for (float v : t.span<float>())
        abs_sum += std::abs(v);
  EXPECT_GT(abs_sum, 1.0);
}

TEST(OnnxImport, WuhanstudioUnsortedModelsAreSorted) {
  for (const char *f : {"wuhanstudio_mnist-sm.onnx", "wuhanstudio_mnist-lg.onnx"}) {
    std::string path = test::shared_data(std::string("models/mnist/") + f);
    onnx::ModelProto m;
    ASSERT_TRUE(m.ParseFromString(read_bytes(path)));
    Graph g = load_onnx(path);
    expect_sorted(g);
    size_t constants = 0;
    for (const auto &n : m.graph().node())
      constants += n.op_type() == "Constant";
    EXPECT_EQ(g.nodes.size() + constants, static_cast<size_t>(m.graph().node_size())) << f;
    ASSERT_EQ(g.inputs.size(), 1u);
    EXPECT_EQ(g.inputs[0].dims.size(), 4u);
  }
}

TEST(OnnxImport, UnsortedInFileIsDetectable) {
  // Guard that the wuhanstudio test really exercises sorting: the file order is not sorted.
  std::string path = test::shared_data("models/mnist/wuhanstudio_mnist-sm.onnx");
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(read_bytes(path)));
  std::set<std::string> seen;
  for (const auto &i : m.graph().input())
    seen.insert(i.name());
  for (const auto &i : m.graph().initializer())
    seen.insert(i.name());
  bool unsorted = false;
  for (const auto &n : m.graph().node()) {
    for (const auto &in : n.input())
      if (!in.empty() && !seen.count(in))
        unsorted = true;
    for (const auto &o : n.output())
      seen.insert(o);
  }
  EXPECT_TRUE(unsorted);
}

TEST(OnnxImportErrors, TruncatedModel) {
  fs::path dir = temp_dir("trunc");
  std::string bytes = read_bytes(test::shared_data("models/ultraface/version-slim-320.onnx"));
  fs::path bad = dir / "truncated.onnx";
  write_bytes(bad, bytes.substr(0, bytes.size() / 2));
  try {
    load_onnx(bad.string());
    FAIL() << "no error";
  } catch (const InputError &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(bad.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a valid ONNX model"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(OnnxImportErrors, GarbageBytes) {
  fs::path dir = temp_dir("garbage");
  std::mt19937 rng(7);
  std::string bytes(4096, '\0');
  for (auto &c : bytes)
    c = static_cast<char>(rng());
  fs::path bad = dir / "garbage.onnx";
  write_bytes(bad, bytes);
  EXPECT_THROW(load_onnx(bad.string()), InputError);
  write_bytes(bad, "");
  EXPECT_THROW(load_onnx(bad.string()), InputError);
  EXPECT_THROW(load_onnx((dir / "absent.onnx").string()), InputError);
  fs::remove_all(dir);
}

TEST(OnnxImportErrors, MissingExternalDataFile) {
  fs::path dir = temp_dir("extdata");
  fs::copy_file(test::shared_data("models/mnist/zuramai/mnist.onnx"), dir / "mnist.onnx");
  try {
    load_onnx((dir / "mnist.onnx").string());
    FAIL() << "no error";
  } catch (const InputError &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find((dir / "mnist.onnx").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("mnist.onnx.data"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  }
  // A data file that is too short is an error too, not a crash.
  write_bytes(dir / "mnist.onnx.data", "short");
  EXPECT_THROW(load_onnx((dir / "mnist.onnx").string()), InputError);
  fs::remove_all(dir);
}

onnx::ModelProto one_node_model(const std::string &op, int opset) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto *os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  auto *g = m.mutable_graph();
  g->set_name("g");
  auto *n = g->add_node();
  n->set_op_type(op);
  n->set_name("my_node");
  n->add_input("x");
  n->add_output("y");
  for (auto *vi : {g->add_input(), g->add_output()}) {
    vi->set_name(vi == &g->input(0) ? "x" : "y");
    auto *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_param("batch");
    tt->mutable_shape()->add_dim()->set_dim_value(4);
  }
  return m;
}

TEST(OnnxImportErrors, UnsupportedOpNamesOpAndNode) {
  Graph g = graph_from_model_proto(one_node_model("FooBar", 13), "foo.onnx", "");
  ASSERT_EQ(g.nodes.size(), 1u);
  try {
    make_kernel(g.nodes[0], KernelEnv{});
    FAIL() << "no error";
  } catch (const UnsupportedError &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("FooBar"), std::string::npos) << msg;
    EXPECT_NE(msg.find("my_node"), std::string::npos) << msg;
  }
}

TEST(OnnxImport, DynamicBatchDimension) {
  Graph g = graph_from_model_proto(one_node_model("Relu", 13), "relu.onnx", "");
  ASSERT_EQ(g.inputs.size(), 1u);
  ASSERT_EQ(g.inputs[0].dims.size(), 2u);
  EXPECT_FALSE(g.inputs[0].dims[0].known());
  EXPECT_EQ(g.inputs[0].dims[0].symbol, "batch");
  EXPECT_EQ(g.inputs[0].dims[1].value, 4);
  EXPECT_THROW(g.inputs[0].static_shape(), Error);
}

TEST(OnnxImportErrors, CycleIsAnError) {
  onnx::ModelProto m = one_node_model("Relu", 13);
  auto *g = m.mutable_graph();
  // y = Relu(x + z), z = Relu(y): a cycle.
  g->mutable_node(0)->set_input(0, "s");
  auto *add = g->add_node();
  add->set_op_type("Add");
  add->set_name("add");
  add->add_input("x");
  add->add_input("z");
  add->add_output("s");
  auto *back = g->add_node();
  back->set_op_type("Relu");
  back->set_name("back");
  back->add_input("y");
  back->add_output("z");
  try {
    graph_from_model_proto(m, "cycle.onnx", "");
    FAIL() << "no error";
  } catch (const InputError &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cycle.onnx"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
  }
}

TEST(OnnxImport, ToposortReordersAndKeepsSortedOrder) {
  Graph g;
  auto node = [](std::string name, std::string in, std::string out) {
    Node n;
    n.name = name;
    n.op_type = "Relu";
    n.inputs = {in};
    n.outputs = {out};
    return n;
  };
  g.inputs.push_back(ValueInfo{"x", DType::f32, {}, false});
  g.nodes = {node("c", "b", "c"), node("a", "x", "a"), node("b", "a", "b"), node("d", "x", "d")};
  g.toposort();
  std::vector<std::string> order;
  for (const auto &n : g.nodes)
    order.push_back(n.name);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "d"}));
  g.toposort();
  order.clear();
  for (const auto &n : g.nodes)
    order.push_back(n.name);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "d"}));
  g.nodes.push_back(node("e", "nowhere", "e"));
  EXPECT_THROW(g.toposort(), InputError);
}

} // namespace
