// Lowering rules as a table of cases (llama.cpp's test-backend-ops is the
// model): each case builds a small QDQ graph, names the rule that must fire
// and how often, and the largest difference allowed between the lowered graph
// and the unlowered QDQ graph run by the executor on the same input.
#include <algorithm>
#include <cmath>
#include <cstdio>
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

// x -> Q/DQ (u8, zero point 128) -> Sigmoid -> Q/DQ, optionally the Mul of SiLU.
std::string qdq_sigmoid(Builder &b, bool silu) {
  std::string x = b.qdq("x", 0.03f, 128);
  b.node("Sigmoid", {x}, "sig");
  std::string s = b.qdq("sig", 1.f / 255, 0);
  if (!silu)
    return s;
  b.node("Mul", {x, s}, "silu");
  return b.qdq("silu", 0.02f, 20);
}

// Two int8 sources from x (different scales); `op` of their DQ values -> Q/DQ.
void binary_graph(Builder &b, const char *op, bool broadcast) {
  std::string a = b.qdq("x", 0.03f, 128);
  b.node(broadcast ? "GlobalAveragePool" : "Relu", {"x"}, "y");
  std::string c = b.qdq("y", 0.01f, 0);
  b.node(op, {a, c}, "z");
  b.output(b.qdq("z", 0.04f, 100));
}

const RuleCase kCases[] = {
    // Data movement on int8 values: bit-exact.
    {"split_shared_scale", [](Builder &b) { split_graph(b, 0); }, "split", 1, 0.0},
    // An output with its own scale: int8 Split, then DQ -> Q of that part (same values).
    {"split_output_scale_differs", [](Builder &b) { split_graph(b, 0.05f); }, "split", 1, 0.0},
    // Tables are the region evaluated on every input byte: bit-exact.
    {"lut_qdq_sigmoid", [](Builder &b) { b.output(qdq_sigmoid(b, false)); }, "lut", 1, 0.0},
    // ORT's SiLU: the Sigmoid's own Q/DQ inside; its table is folded into the Mul's.
    {"lut_silu_ort", [](Builder &b) { b.output(qdq_sigmoid(b, true)); }, "lut", 2, 0.0},
    {"lut_silu_fp32_sigmoid",
     [](Builder &b) {
       std::string x = b.qdq("x", 0.03f, 128);
       b.node("Sigmoid", {x}, "sig");
       b.node("Mul", {x, "sig"}, "silu");
       b.output(b.qdq("silu", 0.02f, 20));
     },
     "lut", 1, 0.0},
    // A Sigmoid read by fp32 ops (a detection head's Concat): an f32 table.
    {"lut_f32_sigmoid_to_fp32",
     [](Builder &b) {
       b.node("Sigmoid", {b.qdq("x", 0.03f, 128)}, "sig");
       b.node("Concat", {"sig", "x"}, "cat", {{"axis", int64_t{1}}});
       b.output("cat");
     },
     "lut_f32", 1, 0.0},
    {"lut_hardswish",
     [](Builder &b) {
       b.node("HardSwish", {b.qdq("x", 0.03f, 128)}, "hs");
       b.output(b.qdq("hs", 0.02f, 30));
     },
     "lut", 1, 0.0},
    {"lut_add_two_sources", [](Builder &b) { binary_graph(b, "Add", false); }, "lut", 1, 0.0},
    {"lut_mul_broadcast", [](Builder &b) { binary_graph(b, "Mul", true); }, "lut", 1, 0.0},
    // Concat inputs with their own scales: requantised by tables, then int8 Concat.
    {"requant_concat",
     [](Builder &b) {
       std::string a = b.qdq("x", 0.03f, 128);
       b.node("Relu", {"x"}, "y");
       std::string c = b.qdq("y", 0.01f, 0);
       b.node("Concat", {a, c}, "cat", {{"axis", int64_t{1}}});
       b.output(b.qdq("cat", 0.04f, 100));
     },
     "requant_concat", 1, 0.0},
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

// The SiLU table against the formula (std::exp, ONNX Q/DQ rounding half to
// even): x = (v - 128) * 0.03, s = Q(sigmoid(x), 1/255, 0), y = Q(x * DQ(s), 0.02, 20).
TEST(LoweringRulesLut, SiluTableMatchesFormula) {
  Builder b;
  b.input("x");
  b.output(qdq_sigmoid(b, true));
  Graph lowered = b.g;
  quant::lower_qdq(lowered);
  const Node *lut = nullptr;
  for (const Node &n : lowered.nodes)
    lut = n.op_type == "QLut" ? &n : lut;
  ASSERT_NE(lut, nullptr);
  const Tensor *table = lowered.initializer(lut->inputs.at(1));
  ASSERT_TRUE(table && table->numel() == 256 && table->dtype() == DType::u8);
  auto q = [](float v, float scale, int zp) {
    return std::clamp(static_cast<int>(std::nearbyint(v / scale)) + zp, 0, 255);
  };
  int off_by_one = 0;
  for (int v = 0; v < 256; ++v) {
    float x = (v - 128) * 0.03f;
    float s = q(1.f / (1.f + std::exp(-x)), 1.f / 255, 0) * (1.f / 255);
    int want = q(x * s, 0.02f, 20), got = table->data<uint8_t>()[v];
    EXPECT_LE(std::abs(want - got), 1) << "byte " << v;
    off_by_one += want != got; // an exp one ulp apart can cross a rounding tie
  }
  EXPECT_LE(off_by_one, 2);
}

// QOperator ops (com.microsoft, as ONNX Runtime's quantizer writes them)
// against the QDQ graph of their definition, run unlowered: input x ->
// Q(0.03, 128) = "a", Relu(x) -> Q(0.01, 0) = "b"; the op's output -> DQ.
struct QOperatorCase {
  const char *name;
  const char *qop;                     // com.microsoft op, inputs in its order
  std::vector<std::string> qop_inputs; // a / b and their parameters, then the output's
  const char *fp32_op;                 // what the QDQ reference runs
  std::vector<std::string> operands;   // "a", "b"
  std::map<std::string, Attribute> attrs;
  double tolerance;
};

void qoperator_sources(Builder &b) {
  b.node("QuantizeLinear", {"x", b.scalar_f("a_s", 0.03f), b.scalar_q("a_z", DType::u8, 128)}, "a");
  b.node("Relu", {"x"}, "r");
  b.node("QuantizeLinear", {"r", b.scalar_f("b_s", 0.01f), b.scalar_q("b_z", DType::u8, 0)}, "b");
  b.scalar_f("y_s", 0.04f);
  b.scalar_q("y_z", DType::u8, 100);
}

const QOperatorCase kQOperatorCases[] = {
    {"add",
     "QLinearAdd",
     {"a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"},
     "Add",
     {"a", "b"},
     {},
     0.0},
    {"mul",
     "QLinearMul",
     {"a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"},
     "Mul",
     {"a", "b"},
     {},
     0.0},
    {"sigmoid", "QLinearSigmoid", {"a", "a_s", "a_z", "y_s", "y_z"}, "Sigmoid", {"a"}, {}, 0.0},
    {"leaky_relu",
     "QLinearLeakyRelu",
     {"a", "a_s", "a_z", "y_s", "y_z"},
     "LeakyRelu",
     {"a"},
     {{"alpha", 0.1f}},
     0.0},
    {"concat",
     "QLinearConcat",
     {"y_s", "y_z", "a", "a_s", "a_z", "b", "b_s", "b_z"},
     "Concat",
     {"a", "b"},
     {{"axis", int64_t{1}}},
     0.0},
    // int8 average: one output step for a rounding tie
    {"global_average_pool",
     "QLinearGlobalAveragePool",
     {"a", "a_s", "a_z", "y_s", "y_z"},
     "GlobalAveragePool",
     {"a"},
     {},
     0.0401},
    {"average_pool",
     "QLinearAveragePool",
     {"a", "a_s", "a_z", "y_s", "y_z"},
     "AveragePool",
     {"a"},
     {{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{2, 2}}},
     0.0401},
};

class QOperatorLowering : public testing::TestWithParam<QOperatorCase> {};

TEST_P(QOperatorLowering, MatchesQdqDefinition) {
  const QOperatorCase &c = GetParam();
  Builder qop, ref;
  for (Builder *b : {&qop, &ref}) {
    b->input("x");
    qoperator_sources(*b);
  }
  qop.node(c.qop, c.qop_inputs, "y", c.attrs);
  qop.g.nodes.back().domain = "com.microsoft";
  std::vector<std::string> fp32_in;
  for (const std::string &o : c.operands) {
    ref.node("DequantizeLinear", {o, o + "_s", o + "_z"}, o + "_f");
    fp32_in.push_back(o + "_f");
  }
  ref.node(c.fp32_op, fp32_in, "yf", c.attrs);
  ref.node("QuantizeLinear", {"yf", "y_s", "y_z"}, "y");
  for (Builder *b : {&qop, &ref}) {
    b->node("DequantizeLinear", {"y", "y_s", "y_z"}, "out");
    b->output("out");
  }
  // Through an ONNX file, as a QOperator model arrives (com.microsoft domain kept).
  std::string file = testing::TempDir() + "qtune_qoperator_" + c.name + ".onnx";
  save_onnx(qop.g, file);
  Graph lowered = load_onnx(file);
  std::remove(file.c_str());
  quant::LowerReport report = quant::prepare_for_inference(lowered);
  EXPECT_EQ(report.count("qoperator"), 1) << report.summary();
  auto producers = lowered.producers();
  for (const Node &n : lowered.nodes) { // the op may stay (int8 Concat), not on fp32 values
    auto p = n.op_type == c.fp32_op ? producers.find(n.inputs[0]) : producers.end();
    EXPECT_FALSE(p != producers.end() && lowered.nodes[p->second].op_type == "DequantizeLinear")
        << "left fp32: " << report.summary();
  }
  std::unordered_map<std::string, Tensor> in{{"x", ref.random_input({1, 4, 6, 6}, 0.f, 1.f)}};
  auto [want, got] = run_both(ref.g, lowered, in);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LE(max_abs_diff(want[0], got[0]), c.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Cases, QOperatorLowering, testing::ValuesIn(kQOperatorCases),
                         [](const testing::TestParamInfo<QOperatorCase> &i) {
                           return std::string(i.param.name);
                         });

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
