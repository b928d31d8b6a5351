// The lowering on real models, quantized by `qtune quantize` on 2 calibration
// images: how many nodes each rule rewrites follows from the model's structure
// (op histogram of `qtune inspect`) and the plan, not from an earlier run.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "../test_util.h"
#include "frontends/onnx/onnx_import.h"
#include "quant/inference_graph.h"

namespace qtune {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string &path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// `qtune quantize MODEL --config CONFIG` into a temporary QDQ file, then the
// inference graph the runtime would execute.
Graph quantize_and_lower(const std::string &model, const std::string &config,
                         quant::LowerReport &report) {
  fs::path dir = fs::temp_directory_path() / "qtune_lowering_models";
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

int count_ops(const Graph &g, const std::string &domain, const std::string &op) {
  int n = 0;
  for (const Node &node : g.nodes)
    n += node.domain == domain && node.op_type == op;
  return n;
}

// YOLOX-Nano (113 Conv, 7 Add, 3 MaxPool, 2 Resize) with the tuning result of
// the README: the two dark2.0 convs fp32, everything else int8.
TEST(LoweringModels, YoloxNanoTunedPlanCountsByRule) {
  std::string yaml = read_text(test::source_dir("examples/coco/yolox_nano.yaml"));
  const std::string op_wise =
      "  op_wise:\n"
      "    /backbone/backbone/dark2/dark2.0/dconv/conv/Conv: {activation: {dtype: [fp32]}}\n"
      "    /backbone/backbone/dark2/dark2.0/pconv/conv/Conv: {activation: {dtype: [fp32]}}\n";
  size_t at = yaml.find("  recipes:\n");
  ASSERT_NE(at, std::string::npos);
  yaml.insert(at, op_wise);
  fs::path config = fs::temp_directory_path() / "qtune_yolox_tuned.yaml";
  std::ofstream(config) << yaml;

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
}

// UltraFace: every Conv int8 (BN folded first); RFB-320's one residual Add
// (the RFB block shortcut) folds; of the two box-decode Adds, the one between
// int8 operands becomes a table (rule lut), the other stays fp32.
TEST(LoweringModels, UltraFaceCountsByRule) {
  struct Case {
    const char *model;
    int convs, residual_adds, fp32_adds;
  };
  for (const Case &c :
       {Case{"version-RFB-320.onnx", 52, 1, 1}, Case{"version-slim-320.onnx", 42, 0, 1}}) {
    quant::LowerReport r;
    Graph g = quantize_and_lower(test::shared_data(std::string("models/ultraface/") + c.model),
                                 "examples/ultraface/ultraface_rfb320.yaml", r);
    EXPECT_EQ(r.count("conv"), c.convs) << c.model << ": " << r.summary();
    EXPECT_EQ(r.count("residual_add"), c.residual_adds) << c.model << ": " << r.summary();
    EXPECT_EQ(count_ops(g, "qtune", "QConv"), c.convs) << c.model;
    EXPECT_EQ(count_ops(g, "", "Add"), c.fp32_adds) << c.model;
    EXPECT_EQ(count_ops(g, "", "Conv") + count_ops(g, "qtune", "FusedConv"), 0) << c.model;
    // The heads' Transpose/Reshape move int8 values before their DequantizeLinear.
    EXPECT_GE(r.count("sink_dequantize"), 1) << c.model << ": " << r.summary();
  }
}

} // namespace
} // namespace qtune
