// `qtune quantize` end to end on the Fashion-MNIST example model: calibration
// from the YAML dataloader, QDQ export accepted by onnx::checker, statistics
// reuse, and a one-line error for bad input.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "../cli/cli_util.h"

namespace {

using Result = qtune::test::CliResult;

Result run(const std::string &args) {
  return qtune::test::run_qtune(args);
}

} // namespace

TEST(QuantizeCli, FashionMnistExportsCheckedQdqModel) {
  auto dir = std::filesystem::temp_directory_path() / "qtune_quantize_cli";
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "fm8.onnx").string(), stats = (dir / "stats.json").string();
  Result r = run("quantize examples/fashion_mnist/fashion_mnist_cnn.onnx --config "
                 "examples/fashion_mnist/fashion_mnist.yaml --sampling-size 16 --threads 1 -o " +
                 out + " --save-stats " + stats + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("16/16 calibration"), std::string::npos) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_GT(j.at("int8").get<int>(), 0);
  EXPECT_EQ(j.at("calibration_samples").get<int>(), 16);
  onnx::ModelProto model;
  std::ifstream f(out, std::ios::binary);
  ASSERT_TRUE(model.ParseFromIstream(&f));
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  int q = 0;
  for (const auto &n : model.graph().node())
    q += n.op_type() == "QuantizeLinear";
  EXPECT_GT(q, 0);
  // Same statistics, no calibration: same model bytes.
  const std::string out2 = (dir / "fm8b.onnx").string();
  Result r2 = run("quantize examples/fashion_mnist/fashion_mnist_cnn.onnx --config "
                  "examples/fashion_mnist/fashion_mnist.yaml -o " +
                  out2 + " --load-stats " + stats);
  ASSERT_EQ(r2.status, 0) << r2.out;
  EXPECT_EQ(r2.out.find("calibration ["), std::string::npos);
  std::ifstream a(out, std::ios::binary), b(out2, std::ios::binary);
  std::string sa((std::istreambuf_iterator<char>(a)), {}),
      sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(sa, sb);
  std::filesystem::remove_all(dir);
}

TEST(QuantizeCli, BadStatisticsFileIsOneLineError) {
  auto bad = std::filesystem::temp_directory_path() / "qtune_bad_stats.json";
  std::ofstream(bad) << "{\"format\": \"qtune-calibration-1\", \"tensors\": {\"x\": {}}}";
  Result r = run("quantize examples/fashion_mnist/fashion_mnist_cnn.onnx --config "
                 "examples/fashion_mnist/fashion_mnist.yaml -o /tmp/never.onnx --load-stats " +
                 bad.string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("qtune: error: " + bad.string() + ": tensor 'x'"), std::string::npos)
      << r.out;
  std::filesystem::remove(bad);
}
