// `qtune run` with an image input: decoded, resized to the input, run, written.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include <unistd.h>

#include "../test_util.h"

namespace fs = std::filesystem;
using qtune::test::qtune_binary;
using qtune::test::shared_data;

namespace {
int run_cmd(const std::string &cmd, std::string *err = nullptr) {
  // Per process: ctest runs the RunCli cases in parallel and each reads its own stderr.
  std::string errfile =
      (fs::temp_directory_path() / ("qtune_run_cli." + std::to_string(::getpid()) + ".err"))
          .string();
  int rc = std::system((cmd + " 2>" + errfile).c_str());
  if (err) {
    std::ifstream f(errfile);
    err->assign(std::istreambuf_iterator<char>(f), {});
  }
  fs::remove(errfile);
  return rc;
}
} // namespace

TEST(RunCli, JpegInputFeedsUltraFace) {
  fs::path out = fs::temp_directory_path() / "qtune_run_cli_uf";
  fs::remove_all(out);
  std::string cmd = qtune_binary() + " run " +
                    shared_data("models/ultraface/version-RFB-320.onnx") +
                    " --input input=" + shared_data("models/yolox_nano/dog.jpg") +
                    " --output-dir " + out.string() + " >/dev/null";
  ASSERT_EQ(run_cmd(cmd), 0);
  std::ifstream f(out / "scores.f32", std::ios::binary);
  std::vector<float> scores(4420 * 2);
  f.read(reinterpret_cast<char *>(scores.data()), scores.size() * sizeof(float));
  ASSERT_EQ(f.gcount(), static_cast<std::streamsize>(scores.size() * sizeof(float)));
  // The model ends in a softmax over (background, face): each pair sums to 1,
  // and a photo of a dog has no confident face.
  float max_face = 0;
  for (size_t i = 0; i < 4420; ++i) {
    EXPECT_NEAR(scores[2 * i] + scores[2 * i + 1], 1.f, 1e-4);
    max_face = std::max(max_face, scores[2 * i + 1]);
  }
  EXPECT_LT(max_face, 0.9f);
  EXPECT_TRUE(fs::exists(out / "outputs.json"));
}

TEST(RunCli, ImageForNonImageInputIsOneLineError) {
  std::string err;
  std::string cmd = qtune_binary() + " run " + shared_data("models/mnist/zuramai/mnist.onnx") +
                    " --input input=" + shared_data("models/yolox_nano/dog.jpg") +
                    " --output-dir " + (fs::temp_directory_path() / "qtune_run_cli_mn").string();
  EXPECT_NE(run_cmd(cmd, &err), 0);
  EXPECT_NE(err.find("dog.jpg"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}
