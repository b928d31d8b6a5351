// The lowering on real models, quantized by `qtune quantize` (2 calibration
// images) or quantize_graph: how many nodes each rule rewrites follows from the
// model's structure (op histogram of `qtune inspect`) and the plan, and the
// whole lowered graph (fingerprint) is compared with what the lowering made
// before issue 10's last changes. The lowered graphs also run: same
// predictions as the QDQ graph (Fashion-MNIST), no fp32 data movement between
// int8 ops (NanoDet). Single rules on small graphs: test_lowering_rules.cpp.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <unistd.h>

#include "../../bench/resnet_body.h"
#include "../test_util.h"
#include "conv_graph.h"
#include "data/dataset.h"
#include "frontends/onnx/onnx_import.h"
#include "qdq_builder.h"
#include "quant/calibrate.h"
#include "quant/inference_graph.h"
#include "quant/quantize_graph.h"

namespace qtune {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string &path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The example YAML `example` with `text` put into its `  recipes:` section
// (first in it, or just before it with `before`), as a temporary file named
// after `tag` and this process (ctest runs tests in parallel).
fs::path edited_config(const std::string &example, const std::string &text, const std::string &tag,
                       bool before = false) {
  std::string yaml = read_text(test::source_dir(example));
  const std::string key = "  recipes:\n";
  size_t at = yaml.find(key);
  EXPECT_NE(at, std::string::npos) << example;
  if (at == std::string::npos)
    return {};
  yaml.insert(before ? at : at + key.size(), text);
  fs::path config =
      fs::temp_directory_path() / ("qtune_" + tag + "_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(config) << yaml;
  return config;
}

// `qtune quantize MODEL --config CONFIG` into a temporary QDQ file, then the
// inference graph the runtime would execute.
Graph quantize_and_lower(const std::string &model, const std::string &config,
                         quant::LowerReport &report) {
  // One folder per test process: ctest runs these tests in parallel, and each
  // removes its folder at the end.
  fs::path dir =
      fs::temp_directory_path() / ("qtune_lowering_models_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / (fs::path(model).stem().string() + "_qdq.onnx")).string();
  std::string cmd = "cd " + test::source_dir() + " && " + test::qtune_binary() + " quantize " +
                    model + " --config " + config + " --sampling-size 2 -o " + out +
                    " > /dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Graph g = load_onnx(out);
  report = quant::prepare_for_inference(g);
  fs::remove_all(dir);
  return g;
}

// The lowered graph in a few words: every rule's count, removed / folded nodes,
// then the op-type histogram ("qtune:QConv 111 ..."), so two graphs that differ
// in any node type count differ here.
std::string fingerprint(const Graph &g, const quant::LowerReport &r) {
  std::ostringstream s;
  for (const auto &[rule, n] : r.rules)
    s << rule << " " << n << ", ";
  s << "removed " << r.removed_nodes << ", folded " << r.folded_constants << " |";
  std::map<std::string, int> ops;
  for (const Node &n : g.nodes)
    ops[(n.domain.empty() ? "" : n.domain + ":") + n.op_type]++;
  for (const auto &[op, n] : ops)
    s << " " << op << " " << n;
  return s.str();
}

// Fingerprints of the lowered graphs, recorded by this test with the lowering
// code of main at 4871ed5 (src/quant and src/ir/passes as the rule registry of
// 89ef683 left them), before issue 10's last step (the shared activation
// matcher, descriptor-driven calibration, NHWC readers from the kernels): the
// redesign must leave every graph node-for-node the same. UltraFace's were
// re-recorded on main 6d2c4ba, whose lut rule (lowering/lut.cpp) turns its box
// decoding's Exp / Mul / one Add into 9 qtune:QLut tables; YOLOX's and the
// ResNet body's did not change. YOLOX's was re-recorded after
// fold_space_to_depth_conv (its Focus stem's 6 Slices and Concat became the
// stem conv's 6x6 stride-2 kernel before quantization: 7 pass-through ops and
// 14 Q/DQ fewer, everything else the same). Then recipe concat_fork_own_scale
// (a plan change): the dark3 and dark4 outputs, read by the next stage's conv
// and by a PAFPN Concat, keep their own scales, so those two Concats requantise
// one input each through a table (requant_concat: 2 QLut, 2 passthrough fewer).
// Session 16: Shape of a statically shaped value folds to a constant, so the
// head Reshapes' Shape/Slice/Concat targets fold (YOLOX: Shape 3, Slice 3,
// Concat 3 fewer; RFB: Shape 8, Gather 12, Unsqueeze 8, Concat 8 and the 4
// DequantizeLinear feeding them fewer), and fold_head_transpose moves YOLOX's
// output Transpose to each of the 3 levels (Transpose 1 -> 3, its Concat stays
// one Concat). With the Shape readers gone, 4 of RFB's tables are their conv's
// sole reader and fold into it (conv_table 4: QLut 9 -> 5).
const char *const kYoloxLowered =
    "conv 111, maxpool 3, passthrough 13, requant_concat 2, residual_add 7, removed 483, "
    "folded 0 | Concat 17 QuantizeLinear 2 Reshape 3 Transpose 3 qtune:FusedConv 2 "
    "qtune:QConv 111 qtune:QLut 2 qtune:QMaxPool 3 qtune:QResize 2";
const char *const kRfbLowered =
    "conv 52, conv_table 4, lut 9, passthrough 5, residual_add 1, sink_dequantize 12, removed "
    "276, folded 3 | Add 1 Concat 5 DequantizeLinear 10 Div 2 Flatten 1 QuantizeLinear 7 "
    "Reshape 9 Shape 1 Slice 6 Softmax 1 Sub 1 Transpose 8 qtune:QConv 52 qtune:QLut 5";
const char *const kSlimLowered =
    "conv 42, conv_table 4, lut 9, passthrough 4, sink_dequantize 12, removed 228, folded 3 | "
    "Add 1 Concat 4 DequantizeLinear 10 Div 2 Flatten 1 QuantizeLinear 7 Reshape 9 Shape 1 "
    "Slice 6 Softmax 1 Sub 1 Transpose 8 qtune:QConv 42 qtune:QLut 5";
const char *const kResNetBodyLowered = "conv 54, residual_add 15, removed 275, folded 0 | Add 1 "
                                       "DequantizeLinear 2 QuantizeLinear 1 Relu 1 qtune:QConv 54";

// Ops of these types outside the qtune domain.
int count_ops_of(const Graph &g, const std::set<std::string> &ops) {
  int n = 0;
  for (const Node &node : g.nodes)
    n += ops.count(node.op_type) && node.domain != "qtune";
  return n;
}

int count_ops(const Graph &g, const std::string &domain, const std::string &op) {
  int n = 0;
  for (const Node &node : g.nodes)
    n += node.domain == domain && node.op_type == op;
  return n;
}

// YOLOX-Nano (113 Conv, 7 Add, 3 MaxPool, 2 Resize) with the tuning result of
// the README: the two dark2.0 convs fp32, everything else int8.
TEST(LoweringModels, YoloxNanoTunedPlanCountsByRule) {
  const std::string op_wise =
      "  op_wise:\n"
      "    /backbone/backbone/dark2/dark2.0/dconv/conv/Conv: {activation: {dtype: [fp32]}}\n"
      "    /backbone/backbone/dark2/dark2.0/pconv/conv/Conv: {activation: {dtype: [fp32]}}\n";
  fs::path config = edited_config("examples/coco/yolox_nano.yaml", op_wise, "yolox_tuned", true);
  ASSERT_FALSE(config.empty());

  quant::LowerReport r;
  Graph g = quantize_and_lower(test::shared_data("models/yolox_nano/yolox_nano.onnx"),
                               config.string(), r);
  fs::remove(config);
  EXPECT_EQ(r.count("conv"), 111) << r.summary();       // 113 Conv - 2 fp32
  EXPECT_EQ(r.count("residual_add"), 7) << r.summary(); // every CSP shortcut Add
  EXPECT_EQ(r.count("maxpool"), 3) << r.summary();      // SPP
  EXPECT_EQ(count_ops(g, "qtune", "QConv"), 111);
  EXPECT_EQ(count_ops(g, "qtune", "FusedConv"), 2); // the two fp32 convs
  EXPECT_EQ(count_ops(g, "qtune", "QResize"), 2);   // nearest upsampling in the PAFPN
  EXPECT_EQ(count_ops(g, "", "Add"), 0);
  EXPECT_EQ(count_ops(g, "", "MaxPool"), 0);
  EXPECT_EQ(fingerprint(g, r), kYoloxLowered);
}

// YOLOX-Nano with recipe activation_table on the default plan (dark2.0's
// depthwise conv fp32 by depthwise_range_check, the other 112 convs int8). Of
// its 113 convs all but the 9 head prediction convs end in SiLU: 103 int8 ones;
// the stem's SiLU output feeds only that fp32 conv (no int8 output, no table),
// so 102 SiLUs become tables folded into their QConv. A table sits between
// each CSP shortcut's conv and its Add, so the 7 Adds are two-operand tables
// (lut) instead of QConv sums; with the 2 requantising Concat inputs 9 QLuts
// remain. No SiLU Mul is left in the graph.
TEST(LoweringModels, YoloxNanoActivationTableFoldsEverySiluTable) {
  fs::path config =
      edited_config("examples/coco/yolox_nano.yaml", "    activation_table: true\n", "yolox_table");
  ASSERT_FALSE(config.empty());
  quant::LowerReport r;
  Graph g = quantize_and_lower(test::shared_data("models/yolox_nano/yolox_nano.onnx"),
                               config.string(), r);
  fs::remove(config);
  EXPECT_EQ(r.count("conv"), 112) << r.summary();
  EXPECT_EQ(r.count("conv_table"), 102) << r.summary();
  EXPECT_EQ(r.count("residual_add"), 0) << r.summary();
  EXPECT_EQ(count_ops(g, "qtune", "QConv"), 112);
  EXPECT_EQ(count_ops(g, "qtune", "QLut"), 9);
  int with_table = 0;
  for (const Node &n : g.nodes)
    with_table += n.op_type == "QConv" && n.inputs.size() == 5;
  EXPECT_EQ(with_table, 102);
  EXPECT_EQ(count_ops(g, "", "Mul"), 0);
  EXPECT_EQ(count_ops(g, "", "Add"), 0);
}

// UltraFace: every Conv int8 (BN folded first); RFB-320's one residual Add
// (the RFB block shortcut) folds; of the two box-decode Adds, the one between
// int8 operands becomes a table (rule lut), the other stays fp32.
TEST(LoweringModels, UltraFaceCountsByRule) {
  struct Case {
    const char *model;
    int convs, residual_adds, fp32_adds;
    const char *lowered;
  };
  // Every conv int8: the depthwise_range_check recipe (on by default since
  // a39b388) would keep 1 (RFB) / 3 (slim) depthwise convs fp32, a change of
  // plan, not of lowering, which is what these fingerprints pin down.
  fs::path config = edited_config("examples/ultraface/ultraface_rfb320.yaml",
                                  "    depthwise_range_check: false\n", "ultraface_all_int8");
  ASSERT_FALSE(config.empty());
  for (const Case &c : {Case{"version-RFB-320.onnx", 52, 1, 1, kRfbLowered},
                        Case{"version-slim-320.onnx", 42, 0, 1, kSlimLowered}}) {
    quant::LowerReport r;
    Graph g = quantize_and_lower(test::shared_data(std::string("models/ultraface/") + c.model),
                                 config.string(), r);
    EXPECT_EQ(r.count("conv"), c.convs) << c.model << ": " << r.summary();
    EXPECT_EQ(r.count("residual_add"), c.residual_adds) << c.model << ": " << r.summary();
    EXPECT_EQ(count_ops(g, "qtune", "QConv"), c.convs) << c.model;
    EXPECT_EQ(count_ops(g, "", "Add"), c.fp32_adds) << c.model;
    EXPECT_EQ(count_ops(g, "", "Conv") + count_ops(g, "qtune", "FusedConv"), 0) << c.model;
    // The heads' Transpose/Reshape move int8 values before their DequantizeLinear.
    EXPECT_GE(r.count("sink_dequantize"), 1) << c.model << ": " << r.summary();
    EXPECT_EQ(fingerprint(g, r), c.lowered) << c.model;
  }
  fs::remove(config);
}

// The ResNet-50-style body of bench/ (bottleneck stages 3-4-6-3, 16 shortcut
// Adds, 4 projection convs), quantized by quantize_graph with default settings
// on one random 64x64 input: 54 convs (2 stem, 16 x 3, 4 projections); 15 of
// the 16 residual Adds fold into their QConv, the last one (whose Relu is the
// fp32 graph output, no Q after it) stays an fp32 Add.
TEST(LoweringModels, ResNet50BodyCountsByRule) {
  bench::ResNetBody b;
  b.record_shapes = true;
  b.record("x", {1, 3, 64, 64});
  std::string y = b.body("x");
  b.g.inputs.push_back(b.g.value_info.at("x"));
  b.g.outputs.push_back(b.g.value_info.at(y));
  auto fp32 = std::make_shared<const Graph>(b.g);
  Tensor x(DType::f32, {1, 3, 64, 64});
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 1.f);
  for (float &v : x.span<float>())
    v = d(rng);
  quant::Calibrator cal(fp32);
  cal.add({{"x", x}});
  Graph g = quant::quantize_graph(*fp32, cal.take(), quant::Plan{});
  quant::LowerReport r = quant::prepare_for_inference(g);
  EXPECT_EQ(r.count("conv"), 54) << r.summary();
  EXPECT_EQ(r.count("residual_add"), 15) << r.summary();
  EXPECT_EQ(count_ops(g, "", "Add"), 1);
  EXPECT_EQ(fingerprint(g, r), kResNetBodyLowered);
}

// The Fashion-MNIST CNN quantized with the default plan (the tuner's first
// trial) lowers to int8 kernels end to end: one QuantizeLinear at the input,
// no fp32 Gemm / pool / Flatten between Q and DQ, and the same predictions as
// the QDQ graph on real test images.
TEST(LoweringModels, FashionMnistCnnRunsInt8EndToEnd) {
  auto fp32 = std::make_shared<const Graph>(
      load_onnx(test::source_dir("examples/fashion_mnist/fashion_mnist_cnn.onnx")));
  const std::string dir = qtune::test::fashion_mnist();
  data::MnistDataset train(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz");
  quant::Calibrator cal(fp32, {.threads = 1});
  for (size_t i = 0; i < 4; ++i)
    cal.add({{"image", test::mnist_images(train, i * 32, 32)}});
  Graph qdq = quant::quantize_graph(*fp32, cal.take(), quant::Plan{});

  Graph lowered = qdq;
  auto report = quant::prepare_for_inference(lowered);
  EXPECT_EQ(report.count("conv"), 2) << report.summary();
  EXPECT_EQ(report.count("matmul"), 2) << report.summary();
  EXPECT_EQ(report.count("maxpool"), 2) << report.summary();
  EXPECT_EQ(report.count("passthrough"), 1) << report.summary(); // Flatten
  EXPECT_EQ(
      count_ops_of(lowered, {"Conv", "FusedConv", "Gemm", "FusedGemm", "MatMul", "FusedMatMul",
                             "MaxPool", "AveragePool", "Relu", "DequantizeLinear"}),
      0);
  EXPECT_EQ(count_ops_of(lowered, {"QuantizeLinear"}), 1);

  // One input step of the last Gemm through the largest column of |w|.
  const Node *last = nullptr;
  for (const Node &n : lowered.nodes)
    if (n.op_type == "QMatMul" && n.attr_string("y_dtype", "") == "f32")
      last = &n;
  ASSERT_NE(last, nullptr);
  const Tensor &w = *lowered.initializer(last->inputs[1]);
  std::vector<float> ws = last->attr_floats("w_scales");
  bool trans_b = last->attr_int("trans_b", 0) != 0;
  int64_t k = trans_b ? w.dim(1) : w.dim(0), n = trans_b ? w.dim(0) : w.dim(1);
  double bound = 0;
  for (int64_t j = 0; j < n; ++j) {
    double col = 0;
    for (int64_t p = 0; p < k; ++p)
      col += std::abs(w.get_f64(trans_b ? j * k + p : p * n + j)) * ws[ws.size() == 1 ? 0 : j];
    bound = std::max(bound, col * last->attr_float("a_scale", 0));
  }

  data::MnistDataset test_set(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
  Tensor images = test::mnist_images(test_set, 0, 200);
  auto [want, got] = run_both(qdq, lowered, {{"image", images}});
  EXPECT_LT(max_abs_diff(want[0], got[0]), bound);
  int same = 0;
  for (int64_t i = 0; i < 200; ++i) {
    const float *a = want[0].data<float>() + i * 10, *l = got[0].data<float>() + i * 10;
    same += std::max_element(a, a + 10) - a == std::max_element(l, l + 10) - l;
  }
  EXPECT_GE(same, 198) << "top-1 agreement of lowered vs QDQ graph on 200 test images";
}

// NanoDet-m's ShuffleNetV2 channel shuffles (Concat -> Reshape -> Transpose ->
// Reshape -> Split, calibrated on two seeded inputs): every Split lowers, and
// no fp32 Split, Transpose or Reshape is left between int8 ops.
TEST(LoweringModels, NanoDetChannelShuffleSplitsRunInt8) {
  auto fp32 = std::make_shared<const Graph>(
      load_onnx(test::shared_data("models/nanodet/nanodet_m_320.onnx")));
  quant::Calibrator cal(fp32, {.threads = 2});
  std::vector<Tensor> inputs{test::random_tensor({1, 3, 320, 320}, 1),
                             test::random_tensor({1, 3, 320, 320}, 2)};
  for (const Tensor &x : inputs)
    cal.add({{"image", x}});
  Graph qdq = quant::quantize_graph(*fp32, cal.take(), quant::Plan{});
  Graph lowered = qdq;
  quant::LowerReport report = quant::prepare_for_inference(lowered);
  // Channel shuffles: Split(Reshape(Transpose(...))). The other Splits (the
  // GFL head's class / box split) feed fp32 outputs and stay fp32.
  auto fp32_producers = fp32->producers();
  auto made_by = [&](const std::string &v, const char *op) -> const Node * {
    auto it = fp32_producers.find(v);
    return it != fp32_producers.end() && fp32->nodes[it->second].op_type == op
               ? &fp32->nodes[it->second]
               : nullptr;
  };
  int shuffles = 0;
  for (const Node &n : fp32->nodes) {
    const Node *reshape = n.op_type == "Split" ? made_by(n.inputs[0], "Reshape") : nullptr;
    shuffles += reshape && made_by(reshape->inputs[0], "Transpose");
  }
  EXPECT_EQ(shuffles, 13);
  EXPECT_EQ(report.count("split"), shuffles) << report.summary();
  auto producers = lowered.producers();
  for (const Node &n : lowered.nodes) {
    if (n.op_type != "Split" && n.op_type != "Transpose" && n.op_type != "Reshape")
      continue;
    auto it = producers.find(n.inputs[0]);
    bool reads_dq =
        it != producers.end() && lowered.nodes[it->second].op_type == "DequantizeLinear";
    EXPECT_FALSE(reads_dq) << n.describe() << " runs fp32 on a dequantized input";
  }
}

} // namespace
} // namespace qtune
