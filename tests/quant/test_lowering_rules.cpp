// Lowering rules as a table of cases (llama.cpp's test-backend-ops is the
// model): each case builds a small QDQ graph, names the rule that must fire
// and how often, and the largest difference allowed between the lowered graph
// and the unlowered QDQ graph run by the executor on the same input.
#include <functional>
#include <gtest/gtest.h>

#include "../test_util.h"
#include "frontends/onnx/onnx_import.h"
#include "qdq_builder.h"
#include "quant/calibrate.h"
#include "quant/inference_graph.h"
#include "quant/lower_qdq.h"
#include "quant/quantize_graph.h"

namespace qtune {
namespace {

struct RuleCase {
  const char *name;
  std::function<void(Builder &)> build; // graph input "x" [1, 4, 6, 6] f32
  const char *rule;
  int fires;        // how many nodes the rule rewrites
  double tolerance; // max |lowered - unlowered| over every output
};

// x -> Q -> DQ -> Split(axis 1, sizes [1, 3]) -> Q/DQ on each output.
// `second_scale` 0 gives the second output x's parameters.
void split_graph(Builder &b, float second_scale) {
  std::string x = b.qdq("x", 0.02f, 128);
  b.g.initializers["sizes"] = Tensor::from_vector<int64_t>({2}, {1, 3});
  Node split;
  split.name = "shuffle_split";
  split.op_type = "Split";
  split.inputs = {x, "sizes"};
  split.outputs = {"a", "b"};
  split.attrs["axis"] = int64_t{1};
  b.g.nodes.push_back(split);
  b.output(b.qdq("a", 0.02f, 128));
  std::string bq = second_scale == 0 ? b.qdq("b", 0.02f, 128) : b.qdq("b", second_scale, 128);
  b.output(bq);
}

const RuleCase kCases[] = {
    // Data movement on int8 values: bit-exact.
    {"split_shared_scale", [](Builder &b) { split_graph(b, 0); }, "split", 1, 0.0},
    // An output with its own scale: int8 Split, then DQ -> Q of that part (same values).
    {"split_output_scale_differs", [](Builder &b) { split_graph(b, 0.05f); }, "split", 1, 0.0},
};

class LoweringRules : public testing::TestWithParam<RuleCase> {};

TEST_P(LoweringRules, MatchesUnloweredGraph) {
  const RuleCase &c = GetParam();
  Builder b;
  b.input("x");
  c.build(b);
  Graph lowered = b.g;
  quant::LowerReport report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count(c.rule), c.fires) << report.summary();
  std::unordered_map<std::string, Tensor> in{{"x", b.random_input({1, 4, 6, 6}, 0.f, 1.f)}};
  auto [want, got] = run_both(b.g, lowered, in);
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_LE(max_abs_diff(want[i], got[i]), c.tolerance) << "output " << i;
}

INSTANTIATE_TEST_SUITE_P(Cases, LoweringRules, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<RuleCase> &i) { return i.param.name; });

// NanoDet-m's ShuffleNetV2 channel shuffles (Concat -> Reshape -> Transpose ->
// Reshape -> Split, calibrated on two seeded inputs): every Split lowers, and
// no fp32 Split, Transpose or Reshape is left between int8 ops.
TEST(LoweringRulesModels, NanoDetChannelShuffleSplitsRunInt8) {
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
