// The frontend seam: load_model() picks the loader by framework or by what
// the path is, and says which kinds it looked for when nothing fits.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

#include "../test_util.h"
#include "frontends/model_loader.h"
#include "qtune/error.h"

namespace fs = std::filesystem;
using namespace qtune;

namespace {

fs::path temp_dir(const std::string &name) {
  fs::path d =
      fs::temp_directory_path() / ("qtune_loader_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string error_of(const std::string &path, const LoadOptions &o = {}) {
  try {
    load_model(path, o);
  } catch (const InputError &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(ModelLoader, OnnxFileLoadsByExtensionAndByContent) {
  std::string onnx = test::shared_data("models/ultraface/version-slim-320.onnx");
  EXPECT_EQ(model_kind(onnx), "onnx");
  Graph g = load_model(onnx);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "input");

  // A tuned model written without the .onnx extension still loads as ONNX.
  fs::path d = temp_dir("noext");
  fs::copy_file(onnx, d / "model.bin");
  EXPECT_EQ(model_kind((d / "model.bin").string()), "onnx");
  EXPECT_EQ(load_model((d / "model.bin").string()).nodes.size(), g.nodes.size());
  fs::remove_all(d);
}

TEST(ModelLoader, FrameworkIsAPreferenceNotAFilter) {
  // A YAML saying tensorflow must still load the ONNX file qtune wrote for it.
  LoadOptions o;
  o.framework = "tensorflow";
  std::string onnx = test::shared_data("models/ultraface/version-slim-320.onnx");
  EXPECT_EQ(model_kind(onnx, o), "onnx");
}

TEST(ModelLoader, UnknownKindsNameWhatWasLookedFor) {
  fs::path d = temp_dir("unknown");
  std::ofstream(d / "notes.txt") << "not a model\n";
  std::string e = error_of((d / "notes.txt").string());
  EXPECT_NE(e.find("notes.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("looked for"), std::string::npos) << e;
  EXPECT_NE(e.find("ONNX"), std::string::npos) << e;

  // An empty directory is no model either.
  e = error_of(d.string());
  EXPECT_NE(e.find("looked for"), std::string::npos) << e;

  e = error_of((d / "absent.onnx").string());
  EXPECT_NE(e.find("no such file"), std::string::npos) << e;
  fs::remove_all(d);
}
