// `qtune compare` on the Fashion-MNIST CNN and its QDQ model: every activation
// the model quantizes (inspect's Q/DQ count) gets a row, rows are worst first,
// the relative L2 and SQNR agree (SQNR = -20 log10(rel L2)), --html writes a page.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"

namespace fs = std::filesystem;
using qtune::test::run_qtune;

TEST(CompareCli, FashionMnistQdqModel) {
  fs::path dir = fs::temp_directory_path() / "qtune_compare_cli";
  fs::create_directories(dir);
  const std::string model = (dir / "fm8.onnx").string(), html = (dir / "cmp.html").string();
  const std::string fp32 = "examples/fashion_mnist/fashion_mnist_cnn.onnx";
  const std::string yaml = "examples/fashion_mnist/fashion_mnist.yaml";
  auto q = run_qtune("quantize " + fp32 + " --config " + yaml + " --sampling-size 16 -o " + model);
  ASSERT_EQ(q.status, 0) << q.out;
  auto r = run_qtune("compare " + fp32 + " " + model + " --config " + yaml +
                         " --samples 8 --threads 1 --json --html " + html,
                     false);
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("samples"), 8);
  auto inspect = nlohmann::json::parse(run_qtune("inspect --json " + model, false).out);
  int quantized = 0;
  double prev = -1e9;
  for (const auto &t : j.at("tensors")) {
    quantized += t.at("quantized").get<bool>();
    if (t.at("sqnr_db").is_null())
      continue; // exact (the uint8 image / 255 is representable)
    const double sqnr = t.at("sqnr_db"), rel = t.at("rel_l2");
    EXPECT_NEAR(sqnr, -20 * std::log10(rel), 1e-6) << t.at("name");
    EXPECT_GE(sqnr, prev);
    prev = sqnr;
    EXPECT_GT(sqnr, 20) << t.at("name"); // 8-bit activations: tens of dB
  }
  EXPECT_EQ(quantized, inspect.at("qdq").at("dequantize_of_activations").get<int>());
  EXPECT_EQ(j.at("tensors").back().at("name"), "image"); // exact, so last
  // benchmark runs the INT8 model too, as its --help says.
  auto bench =
      run_qtune("benchmark " + model + " --iterations 3 --warmup 1 --threads 1 --json", false);
  EXPECT_EQ(bench.status, 0) << bench.out;
  EXPECT_NE(run_qtune("benchmark --help").out.find("int8"), std::string::npos);
  std::ifstream f(html);
  std::string page((std::istreambuf_iterator<char>(f)), {});
  EXPECT_NE(page.find("<table id=\"errors\">"), std::string::npos);
  EXPECT_NE(page.find("logits"), std::string::npos);
  fs::remove_all(dir);
}

TEST(CompareCli, HelpExplainsTheMatching) {
  auto r = run_qtune("compare --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("DequantizeLinear output"), std::string::npos) << r.out;
}
