// `qtune inspect` of quantized models: each op's precision and the Q/DQ
// summary, checked against the plan `qtune quantize` was asked for (op_wise
// fp32 and bf16 ops) and against ONNX's own QLinearConv conformance model.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli_util.h"

namespace fs = std::filesystem;
using qtune::test::run_qtune;

namespace {

// The Fashion-MNIST example YAML with one Gemm kept fp32 and one Conv bf16.
std::string mixed_yaml(const fs::path &dir) {
  std::ifstream in(qtune::test::source_dir("examples/fashion_mnist/fashion_mnist.yaml"));
  std::string s((std::istreambuf_iterator<char>(in)), {});
  const std::string anchor = "    activation: {scheme: asym, algorithm: minmax}\n";
  s.insert(s.find(anchor) + anchor.size(),
           "  op_wise:\n"
           "    /classifier/classifier.3/Gemm: {activation: {dtype: [fp32]}, weight: {dtype: "
           "[fp32]}}\n"
           "    /features/features.3/Conv: {activation: {dtype: [bf16]}, weight: {dtype: "
           "[bf16]}}\n");
  fs::path p = dir / "mixed.yaml";
  std::ofstream(p) << s;
  return p.string();
}

} // namespace

TEST(InspectPrecision, MatchesTheQuantizePlan) {
  fs::path dir =
      fs::temp_directory_path() / ("qtune_inspect_precision_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string model = (dir / "mixed.onnx").string();
  auto q = run_qtune("quantize examples/fashion_mnist/fashion_mnist_cnn.onnx --config " +
                         mixed_yaml(dir) + " --sampling-size 8 --threads 1 --json -o " + model,
                     false);
  ASSERT_EQ(q.status, 0) << q.out;
  nlohmann::json plan = nlohmann::json::parse(q.out);

  auto r = run_qtune("inspect --json " + model, false);
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  std::map<std::string, std::string> prec, why;
  for (const auto &op : j.at("precisions")) {
    prec[op.at("name")] = op.at("precision");
    why[op.at("name")] =
        op.at("source").get<std::string>() + ": " + op.at("reason").get<std::string>();
  }
  EXPECT_EQ(prec.at("/classifier/classifier.3/Gemm"), "fp32");
  EXPECT_EQ(prec.at("/features/features.3/Conv"), "bf16");
  EXPECT_EQ(prec.at("/features/features.0/Conv"), "int8");
  // The reasons travel in the model file: who set each precision.
  EXPECT_EQ(why.at("/classifier/classifier.3/Gemm"), "yaml: op_wise sets fp32");
  EXPECT_EQ(why.at("/features/features.3/Conv"), "yaml: op_wise sets bf16");
  for (const auto &[name, reason] : plan.at("fallback").items()) {
    EXPECT_EQ(prec.at(name), "fp32") << name << ": " << reason;
    EXPECT_EQ(why.at(name), reason.get<std::string>()) << name;
  }
  // Counts agree with what quantize reported it did.
  const auto &by = j.at("qdq").at("ops_by_precision");
  for (const char *p : {"int8", "bf16", "fp32"})
    EXPECT_EQ(by.value(p, 0), plan.at(p).get<int>()) << p;
  // The Q/DQ summary agrees with the op counts of the same JSON.
  const auto &qdq = j.at("qdq");
  EXPECT_EQ(qdq.at("quantize_linear"), j.at("ops").at("QuantizeLinear"));
  EXPECT_EQ(qdq.at("dequantize_linear"), j.at("ops").at("DequantizeLinear"));
  EXPECT_EQ(qdq.at("dequantize_of_constants").get<int>() +
                qdq.at("dequantize_of_activations").get<int>(),
            qdq.at("dequantize_linear").get<int>());
  // Per-channel weights of the int8 Conv and Gemm (4 of them: weights; biases are
  // int32 per channel too).
  EXPECT_GT(qdq.at("per_channel").get<int>(), 0);

  auto text = run_qtune("inspect " + model);
  EXPECT_NE(text.out.find("bf16  Conv             /features/features.3/Conv"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("Q/DQ: "), std::string::npos) << text.out;
  fs::remove_all(dir);
}

TEST(InspectPrecision, OnnxQLinearConvModelIsInt8) {
  auto r = run_qtune(
      "inspect --json /usr/share/libonnx-testdata/data/node/test_qlinearconv/model.onnx", false);
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("precisions").size(), 1u);
  EXPECT_EQ(j["precisions"][0].at("op_type"), "QLinearConv");
  EXPECT_EQ(j["precisions"][0].at("precision"), "int8");
  EXPECT_EQ(j.at("qdq").at("qoperator_ops"), 1);
}

TEST(InspectPrecision, Fp32ModelPrintsNoPrecisionSection) {
  auto r = run_qtune("inspect examples/fashion_mnist/fashion_mnist_cnn.onnx");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("precision"), std::string::npos) << r.out;
  auto j = run_qtune("inspect --json examples/fashion_mnist/fashion_mnist_cnn.onnx", false);
  for (const auto &op : nlohmann::json::parse(j.out).at("precisions"))
    EXPECT_EQ(op.at("precision"), "fp32");
}
