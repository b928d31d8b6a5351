// The bad-input corpus (issue 13): each case writes a hostile file into its own
// folder, runs one qtune command under a timeout and expects exit code 1 (no
// signal, no hang) with a one-line message that names the file and the problem.
#include <gtest/gtest.h>
#include <unistd.h>

#include "bad_input_util.h"

namespace qtune::test {
namespace {

struct Case {
  const char *name;
  const char *kind; // what the input used to cause: crash, hang, escape, silent, memory
  // Writes the files into `dir`, returns the qtune arguments.
  std::function<std::string(const fs::path &dir)> setup;
  std::vector<std::string> expect; // fragments of the error message
};

void PrintTo(const Case &c, std::ostream *os) {
  *os << c.name;
}

constexpr int64_t kHuge = (int64_t(1) << 62) + 1;

// X[1,1,4,4] -> op(window attrs) -> Y.
std::string window_model(const fs::path &dir, const std::string &op, std::vector<int64_t> strides,
                         std::vector<int64_t> dilations = {}) {
  OnnxModel m;
  m.input("X", {1, 1, 4, 4});
  std::vector<std::string> in = {"X"};
  auto &n = op == "Conv" ? m.node(op, "bad_window", {"X", "W"}, {"Y"})
                         : m.node(op, "bad_window", {"X"}, {"Y"});
  if (op == "Conv")
    m.init_f32("W", {1, 1, 2, 2}, 1.f);
  OnnxModel::ints(n, "kernel_shape", {2, 2});
  OnnxModel::ints(n, "strides", strides);
  if (!dilations.empty())
    OnnxModel::ints(n, "dilations", dilations);
  m.output("Y");
  m.save(dir / "model.onnx");
  return "inspect model.onnx";
}

// X[1] f32 input -> op(X, shape initializer) -> Y, run with a 4-byte input.
std::string shape_model(const fs::path &dir, const std::string &op, std::vector<int64_t> shape) {
  OnnxModel m;
  m.input("X", {1, 1});
  m.init_i64("S", shape);
  m.node(op, "too_big", {"X", "S"}, {"Y"});
  m.output("Y");
  m.save(dir / "model.onnx");
  write_file(dir / "x.f32", std::string(4, '\0'));
  return "run model.onnx --input X=x.f32 --output-dir out";
}

std::vector<Case> cases() {
  return {
      // ---- crashes
      {"maxpool_zero_strides",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "MaxPool", {0, 0});
       },
       {"model.onnx", "bad_window", "strides", "0"}},
      {"averagepool_zero_strides",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "AveragePool", {0, 0});
       },
       {"model.onnx", "bad_window", "strides"}},
      {"conv_zero_strides",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "Conv", {0, 0});
       },
       {"model.onnx", "bad_window", "strides"}},
      {"conv_negative_strides",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "Conv", {-1, 1});
       },
       {"model.onnx", "bad_window", "strides"}},
      {"conv_zero_dilations",
       "crash",
       [](const fs::path &d) {
         return window_model(d, "Conv", {1, 1}, {0, 0});
       },
       {"model.onnx", "bad_window", "dilations"}},
      {"expand_overflowing_shape",
       "crash",
       [](const fs::path &d) {
         return shape_model(d, "Expand", {kHuge, 4});
       },
       {"model.onnx", "too_big", "64 bits"}},
      {"tile_overflowing_repeats",
       "silent",
       [](const fs::path &d) {
         return shape_model(d, "Tile", {kHuge, 4});
       },
       {"model.onnx", "too_big", "64 bits"}},
      {"gather_overflowing_indices",
       "crash",
       [](const fs::path &d) {
         OnnxModel m;
         m.input("X", {1, 1});
         m.init_i64("S", {kHuge, 4});
         auto &c = m.node("ConstantOfShape", "idx", {"S"}, {"I"});
         auto *a = c.add_attribute();
         a->set_name("value");
         a->set_type(onnx::AttributeProto::TENSOR);
         a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
         a->mutable_t()->add_dims(1);
         a->mutable_t()->add_int64_data(0);
         m.node("Gather", "gather", {"X", "I"}, {"Y"});
         m.output("Y");
         m.save(d / "model.onnx");
         write_file(d / "x.f32", std::string(4, '\0'));
         return std::string("run model.onnx --input X=x.f32 --output-dir out");
       },
       {"model.onnx", "idx", "64 bits"}},
      {"initializer_dims_overflow",
       "crash",
       [](const fs::path &d) {
         OnnxModel m;
         m.input("X", {1});
         m.init("W", {kHuge, 4});
         m.node("Add", "add", {"X", "W"}, {"Y"});
         m.output("Y");
         m.save(d / "model.onnx");
         return std::string("inspect model.onnx");
       },
       {"model.onnx", "'W'", "64 bits"}},
  };
}

class BadInput : public ::testing::TestWithParam<Case> {};

TEST_P(BadInput, ExitsOneWithClearMessage) {
  const Case &c = GetParam();
  fs::path dir = fs::temp_directory_path() /
                 ("qtune_bad_" + std::string(c.name) + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string args = c.setup(dir);
  RunResult r = run_qtune(dir, args);
  EXPECT_EQ(r.outcome, Outcome::clear_error)
      << c.name << " (" << c.kind << "): qtune " << args << " -> " << outcome_name(r.outcome) << " "
      << r.code << "\n"
      << r.err;
  for (const auto &frag : c.expect)
    EXPECT_NE(r.err.find(frag), std::string::npos)
        << c.name << ": message lacks '" << frag << "': " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find("what()"), std::string::npos) << r.err;
  if (!HasFailure())
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInput, ::testing::ValuesIn(cases()),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
} // namespace qtune::test
