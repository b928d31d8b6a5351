// `qtune run` into a uint8 image input (TensorFlow's image_tensor): a raw .u8 file
// of the input's shape, or a photo decoded at its own size when H and W are
// unknown. The model under test is a one-node ONNX graph (Cast uint8 -> float),
// so its output shows exactly what the input received.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "../test_util.h"
#include "data/image_decode.h"
#include "frontends/onnx/onnx_import.h"

namespace fs = std::filesystem;
using namespace qtune;
using qtune::test::qtune_binary;
using qtune::test::shared_data;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("qtune_run_u8_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

// image_tensor (uint8 [1,h,w,3], h/w fixed when > 0) -> Cast(float) -> pixels.
std::string cast_model(int64_t h, int64_t w) {
  Graph g;
  g.name = "u8_cast";
  g.opset = 13;
  ValueInfo in;
  in.name = "image_tensor";
  in.dtype = DType::u8;
  in.has_shape = true;
  in.dims = {Dim{1, ""}, h > 0 ? Dim{h, ""} : Dim{-1, "h"}, w > 0 ? Dim{w, ""} : Dim{-1, "w"},
             Dim{3, ""}};
  g.inputs.push_back(in);
  Node n;
  n.name = "cast";
  n.op_type = "Cast";
  n.inputs = {"image_tensor"};
  n.outputs = {"pixels"};
  n.attrs["to"] = int64_t(1); // ONNX FLOAT
  g.nodes.push_back(n);
  ValueInfo out;
  out.name = "pixels";
  out.dtype = DType::f32;
  g.outputs.push_back(out);
  std::string path = (temp_dir() / ("cast_" + std::to_string(h) + ".onnx")).string();
  save_onnx(g, path);
  return path;
}

int run_cmd(const std::string &cmd, std::string *err = nullptr) {
  std::string errfile = (temp_dir() / "err.txt").string();
  int rc = std::system((cmd + " >/dev/null 2>" + errfile).c_str());
  if (err) {
    std::ifstream f(errfile);
    err->assign(std::istreambuf_iterator<char>(f), {});
  }
  return rc;
}

} // namespace

TEST(RunCliUint8, PhotoFeedsUnknownSizeInputAtItsOwnSize) {
  std::string model = cast_model(-1, -1);
  fs::path out = temp_dir() / "photo";
  fs::remove_all(out);
  std::string photo = shared_data("models/yolox_nano/dog.jpg");
  ASSERT_EQ(run_cmd(qtune_binary() + " run " + model + " --input image_tensor=" + photo +
                    " --output-dir " + out.string()),
            0);
  data::Image img = data::load_image_file(photo);
  std::vector<float> px = qtune::test::read_f32_file(out / "pixels.f32");
  ASSERT_EQ(px.size(), img.pixels.size()); // 576 x 768 x 3: not resized
  for (size_t i = 0; i < px.size(); ++i)
    ASSERT_EQ(px[i], float(img.pixels[i])) << i;
  std::ifstream j(out / "outputs.json");
  std::string desc((std::istreambuf_iterator<char>(j)), {});
  EXPECT_NE(desc.find("576"), std::string::npos) << desc;
}

TEST(RunCliUint8, RawU8FileOfTheInputShape) {
  std::string ref = shared_data("reference/aiy_ssd_dog.input.u8");
  std::ifstream in(ref, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(bytes.size(), 256u * 256 * 3);
  // Fixed [1,256,256,3], and [1,-1,-1,3] with --shape.
  for (std::string extra : {"", " --shape image_tensor=1x256x256x3"}) {
    std::string model = extra.empty() ? cast_model(256, 256) : cast_model(-1, -1);
    fs::path out = temp_dir() / "raw";
    fs::remove_all(out);
    ASSERT_EQ(run_cmd(qtune_binary() + " run " + model + " --input image_tensor=" + ref + extra +
                      " --output-dir " + out.string()),
              0)
        << extra;
    std::vector<float> px = qtune::test::read_f32_file(out / "pixels.f32");
    ASSERT_EQ(px.size(), bytes.size());
    for (size_t i = 0; i < px.size(); ++i)
      ASSERT_EQ(px[i], float(static_cast<uint8_t>(bytes[i]))) << i;
  }
}

TEST(RunCliUint8, WrongRawFileIsOneLineError) {
  std::string model = cast_model(-1, -1);
  std::string err;
  // Two unknown dims and no --shape.
  EXPECT_NE(run_cmd(qtune_binary() + " run " + model +
                        " --input image_tensor=" + shared_data("reference/aiy_ssd_dog.input.u8") +
                        " --output-dir " + (temp_dir() / "e1").string(),
                    &err),
            0);
  EXPECT_NE(err.find("--shape"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  // A float32 file for a uint8 input.
  EXPECT_NE(run_cmd(qtune_binary() + " run " + cast_model(256, 256) + " --input image_tensor=" +
                        shared_data("reference/yolox_nano_dog.input.f32") + " --output-dir " +
                        (temp_dir() / "e2").string(),
                    &err),
            0);
  EXPECT_NE(err.find("yolox_nano_dog.input.f32"), std::string::npos) << err;
  EXPECT_NE(err.find("u8"), std::string::npos) << err;
}
