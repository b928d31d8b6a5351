// TF 1.x control flow: hand-built flat graphs (the form the TF importer emits)
// turned into tf:While nodes and run by the executor, checked against values
// computed by hand; tf.cond dead tensors; TensorArrays; malformed frames.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "frontends/onnx/onnx_import.h"
#include "frontends/tensorflow/tf_control_flow.h"
#include "qtune/error.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"

namespace qtune {
namespace {

// Builds a flat graph with TF tensor names ("n", "n:1").
struct Builder {
  Graph g;

  Node &add(const std::string &op, const std::string &name, std::vector<std::string> in,
            int outputs = 1, const std::string &domain = "tf") {
    Node n;
    n.name = name;
    n.op_type = op;
    n.domain = domain;
    n.inputs = std::move(in);
    n.outputs = {name};
    for (int k = 1; k < outputs; ++k)
      n.outputs.push_back(name + ":" + std::to_string(k));
    g.nodes.push_back(std::move(n));
    return g.nodes.back();
  }
  Node &onnx(const std::string &op, const std::string &name, std::vector<std::string> in) {
    return add(op, name, std::move(in), 1, "");
  }
  void enter(const std::string &name, const std::string &in, const std::string &frame,
             bool is_constant) {
    Node &n = add("Enter", name, {in});
    n.attrs["frame_name"] = frame;
    n.attrs["is_constant"] = int64_t(is_constant);
    n.attrs["parallel_iterations"] = int64_t(10);
  }
  void merge(const std::string &name, const std::string &a, const std::string &b) {
    add("Merge", name, {a, b}, 2);
  }
  void i32(const std::string &name, int32_t v) {
    g.initializers[name] = Tensor::from_vector<int32_t>({}, {v});
  }
  void f32(const std::string &name, float v) { g.initializers[name] = Tensor::scalar_f32(v); }
  static ValueInfo named(const std::string &name) {
    ValueInfo vi;
    vi.name = name;
    return vi;
  }
  void input(const std::string &name) { g.inputs.push_back(named(name)); }
  void output(const std::string &name) { g.outputs.push_back(named(name)); }

  // The loop plumbing of one variable `v` of frame prefix `w` (TF's names):
  // w/Enter_v -> w/Merge_v -> w/Switch_v -> (w/Exit_v, w/Identity_v), and
  // w/NextIteration_v fed by `next`.
  void loop_var(const std::string &w, const std::string &v, const std::string &init,
                const std::string &next) {
    enter(w + "/Enter_" + v, init, w + "/while_context", false);
    merge(w + "/Merge_" + v, w + "/Enter_" + v, w + "/NextIteration_" + v);
    add("Switch", w + "/Switch_" + v, {w + "/Merge_" + v, w + "/LoopCond"}, 2);
    add("Exit", w + "/Exit_" + v, {w + "/Switch_" + v});
    onnx("Identity", w + "/Identity_" + v, {w + "/Switch_" + v + ":1"});
    add("NextIteration", w + "/NextIteration_" + v, {next});
  }

  // The counter of frame `w`: v from 0 while v < limit (an invariant); v + 1
  // is w/add_v.
  void counter(const std::string &w, const std::string &v, const std::string &limit) {
    i32("zero", 0);
    i32("one", 1);
    loop_var(w, v, "zero", w + "/add_" + v);
    enter(w + "/limit", limit, w + "/while_context", true);
    onnx("Less", w + "/Less", {w + "/Merge_" + v, w + "/limit"});
    add("LoopCond", w + "/LoopCond", {w + "/Less"});
    onnx("Add", w + "/add_" + v, {w + "/Identity_" + v, "one"});
  }

  std::shared_ptr<Graph> finish() {
    tf::build_while_loops(g);
    g.toposort();
    return std::make_shared<Graph>(g);
  }
};

Tensor i32_scalar(int32_t v) {
  return Tensor::from_vector<int32_t>({}, {v});
}

int count_ops(const Graph &g, const std::string &op) {
  int n = 0;
  for (const Node &node : g.nodes)
    n += node.op_type == op;
  return n;
}

const Graph &subgraph(const Node &n, const std::string &key) {
  return *std::get<std::shared_ptr<Graph>>(n.attrs.at(key));
}

const Node &find_op(const Graph &g, const std::string &op) {
  for (const Node &n : g.nodes)
    if (n.op_type == op)
      return n;
  throw std::runtime_error("no " + op + " node");
}

// while i < n: i += 1; acc *= 2   (i0 = 0, acc0 and n inputs)
Builder counting_loop() {
  Builder b;
  b.input("acc0");
  b.input("n");
  b.f32("two", 2.f);
  b.counter("w", "i", "n");
  b.loop_var("w", "acc", "acc0", "w/mul");
  b.onnx("Mul", "w/mul", {"w/Identity_acc", "two"});
  b.output("w/Exit_i");
  b.output("w/Exit_acc");
  return b;
}

TEST(TfWhile, CountingLoopBecomesOneWhileNode) {
  Builder b = counting_loop();
  auto g = b.finish();
  EXPECT_EQ(count_ops(*g, "While"), 1);
  for (const char *op : {"Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond"})
    EXPECT_EQ(count_ops(*g, op), 0) << op;
  const Node &w = find_op(*g, "While");
  EXPECT_EQ(w.name, "w");
  EXPECT_EQ(w.inputs, (std::vector<std::string>{"zero", "acc0", "n"}));
  EXPECT_EQ(w.outputs, (std::vector<std::string>{"w/Exit_i", "w/Exit_acc"}));
  EXPECT_EQ(w.attr_int("num_loop_vars", 0), 2);
  EXPECT_EQ(subgraph(w, "cond").outputs.size(), 1u);
  EXPECT_EQ(subgraph(w, "body").outputs.size(), 2u);
}

TEST(TfWhile, CountingLoopRuns) {
  Builder b = counting_loop();
  Executor ex(b.finish());
  for (int n : {5, 0, 3}) {
    auto out = ex.run({{"acc0", Tensor::scalar_f32(3.f)}, {"n", i32_scalar(n)}});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].dtype(), DType::i32);
    EXPECT_EQ(out[0].data<int32_t>()[0], n);
    EXPECT_FLOAT_EQ(out[1].data<float>()[0], 3.f * float(1 << n));
  }
}

// acc += k * y for n iterations, k a loop invariant (constant Enter) and
// y = x * x an outer value the body reads directly (captured).
TEST(TfWhile, InvariantAndCapturedOuterValue) {
  Builder b;
  for (const char *in : {"x", "k", "n"})
    b.input(in);
  b.f32("acc0", 0.5f);
  b.onnx("Mul", "y", {"x", "x"});
  b.counter("w", "i", "n");
  b.loop_var("w", "acc", "acc0", "w/acc_next");
  b.enter("w/k", "k", "w/while_context", true);
  b.onnx("Mul", "w/ky", {"w/k", "y"});
  b.onnx("Add", "w/acc_next", {"w/Identity_acc", "w/ky"});
  b.output("w/Exit_acc");
  std::erase_if(b.g.nodes, [](const Node &n) { return n.name == "w/Exit_i"; }); // pruned
  auto g = b.finish();
  const Node &w = find_op(*g, "While");
  EXPECT_EQ(w.inputs, (std::vector<std::string>{"zero", "acc0", "n", "k", "y"}));
  EXPECT_EQ(w.outputs, (std::vector<std::string>{"", "w/Exit_acc"}));
  EXPECT_TRUE(subgraph(w, "body").is_initializer("one"));
  Executor ex(g);
  auto out = ex.run(
      {{"x", Tensor::scalar_f32(3.f)}, {"k", Tensor::scalar_f32(0.25f)}, {"n", i32_scalar(4)}});
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 0.5f + 4 * 0.25f * 9.f);
}

// The standard optimization pipeline reaches into while bodies: a Transpose
// pair on a loop variable cancels there, and the loop computes the same.
TEST(TfWhile, OptimizerReachesTheBody) {
  Builder b = counting_loop(); // acc *= 2, here through a Transpose pair
  b.onnx("Transpose", "w/t1", {"w/Identity_acc"}).attrs["perm"] = std::vector<int64_t>{1, 0};
  b.onnx("Transpose", "w/t2", {"w/t1"}).attrs["perm"] = std::vector<int64_t>{1, 0};
  for (Node &n : b.g.nodes)
    if (n.name == "w/mul")
      n.inputs[0] = "w/t2";
  auto g = b.finish();
  auto optimized = std::make_shared<Graph>(*g);
  optimize_graph_with_runtime(*optimized);
  EXPECT_EQ(count_ops(subgraph(find_op(*g, "While"), "body"), "Transpose"), 2); // not shared
  EXPECT_EQ(count_ops(subgraph(find_op(*optimized, "While"), "body"), "Transpose"), 0);
  std::vector<float> acc{1, 2, 3, 4, 5, 6};
  std::unordered_map<std::string, Tensor> feed{{"acc0", Tensor::from_vector<float>({2, 3}, acc)},
                                               {"n", i32_scalar(3)}};
  auto out = Executor(optimized).run(feed);
  ASSERT_EQ(out[1].shape(), (Shape{2, 3}));
  for (int k = 0; k < 6; ++k)
    EXPECT_FLOAT_EQ(out[1].data<float>()[k], acc[k] * 8) << k;
}

// total = sum over i < n of (sum over j <= i of j), an inner loop nested in
// the outer one's body.
TEST(TfWhile, NestedLoops) {
  Builder b;
  b.input("n");
  b.counter("o", "i", "n");
  b.loop_var("o", "t", "zero", "o/in/Exit_t");
  // inner: j from 0 while j < i + 1: t += j
  b.counter("o/in", "j", "o/add_i");
  b.loop_var("o/in", "t", "o/Identity_t", "o/in/add_t");
  b.onnx("Add", "o/in/add_t", {"o/in/Identity_t", "o/in/Identity_j"});
  b.output("o/Exit_t");
  auto g = b.finish();
  ASSERT_EQ(count_ops(*g, "While"), 1);
  const Node &outer = find_op(*g, "While");
  EXPECT_EQ(outer.name, "o");
  EXPECT_EQ(count_ops(subgraph(outer, "body"), "While"), 1);
  Executor ex(g);
  for (int n : {4, 0, 6}) {
    int expect = 0;
    for (int i = 0; i < n; ++i)
      expect += i * (i + 1) / 2;
    auto out = ex.run({{"n", i32_scalar(n)}});
    EXPECT_EQ(out[0].data<int32_t>()[0], expect) << "n=" << n;
  }
}

// map_fn: x [3,2] scattered into a TensorArray, read per element in the loop,
// y = e * e + 1 written to a second array, gathered / concatenated after.
Builder map_fn_graph() {
  Builder b;
  b.input("x");
  b.i32("size", 3);
  b.f32("onef", 1.f);
  b.g.initializers["range"] = Tensor::from_vector<int32_t>({3}, {0, 1, 2});
  Node &ta_in = b.add("TensorArrayV3", "ta_in", {"size"}, 2);
  ta_in.attrs["dtype"] = int64_t(DType::f32);
  ta_in.attrs["element_shape"] = std::vector<int64_t>{-1};
  b.add("TensorArrayScatterV3", "scatter", {"ta_in", "range", "x", "ta_in:1"});
  Node &ta_out = b.add("TensorArrayV3", "ta_out", {"size"}, 2);
  ta_out.attrs["dtype"] = int64_t(DType::f32); // element shape unknown
  const std::string fr = "m/while_context";
  b.counter("m", "i", "size");
  b.loop_var("m", "flow", "ta_out:1", "m/write");
  b.enter("m/h_in", "ta_in", fr, true);
  b.enter("m/f_in", "scatter", fr, true);
  b.enter("m/h_out", "ta_out", fr, true);
  b.add("TensorArrayReadV3", "m/read", {"m/h_in", "m/Identity_i", "m/f_in"});
  b.onnx("Mul", "m/sq", {"m/read", "m/read"});
  b.onnx("Add", "m/y", {"m/sq", "onef"});
  b.add("TensorArrayWriteV3", "m/write", {"m/h_out", "m/Identity_i", "m/y", "m/Identity_flow"});
  b.add("TensorArraySizeV3", "size_out", {"ta_out", "m/Exit_flow"});
  b.add("TensorArrayGatherV3", "stack", {"ta_out", "range", "m/Exit_flow"});
  b.add("TensorArrayConcatV3", "concat", {"ta_out", "m/Exit_flow"}, 2);
  for (const char *o : {"size_out", "stack", "concat", "concat:1"})
    b.output(o);
  return b;
}

void check_map_fn(std::shared_ptr<Graph> g) {
  Executor ex(std::move(g));
  std::vector<float> x{1, -2, 3, 0.5f, -1, 4};
  for (int run = 0; run < 2; ++run) {
    for (float &v : x)
      v += run;
    auto out = ex.run({{"x", Tensor::from_vector<float>({3, 2}, x)}});
    EXPECT_EQ(out[0].dtype(), DType::i32);
    EXPECT_EQ(out[0].data<int32_t>()[0], 3);
    ASSERT_EQ(out[1].shape(), (Shape{3, 2}));
    ASSERT_EQ(out[2].shape(), (Shape{6}));
    for (int k = 0; k < 6; ++k) {
      EXPECT_FLOAT_EQ(out[1].data<float>()[k], x[k] * x[k] + 1) << k;
      EXPECT_FLOAT_EQ(out[2].data<float>()[k], x[k] * x[k] + 1) << k;
    }
    EXPECT_EQ(out[3].to_i64_vector(), (std::vector<int64_t>{2, 2, 2}));
  }
}

TEST(TfWhile, MapFnTensorArrays) {
  Builder b = map_fn_graph();
  check_map_fn(b.finish());
}

// What `qtune quantize` writes and `qtune run` loads: tf:While with its
// sub-graphs and the TensorArray ops survive an ONNX file round trip.
TEST(TfWhile, OnnxFileRoundTrip) {
  Builder b = map_fn_graph();
  auto g = b.finish();
  auto path = std::filesystem::temp_directory_path() /
              ("qtune_tf_while_" + std::to_string(getpid()) + ".onnx");
  save_onnx(*g, path.string());
  auto loaded = std::make_shared<Graph>(load_onnx(path.string()));
  std::filesystem::remove(path);
  check_map_fn(loaded);
}

// y = x > 0 ? x * 2 : -x, outside any loop (Switch/Merge stay as they are).
Builder cond_graph() {
  Builder b;
  b.input("x");
  b.f32("zero", 0.f);
  b.f32("two", 2.f);
  b.onnx("Greater", "pred", {"x", "zero"});
  b.add("Switch", "sw", {"x", "pred"}, 2);
  b.onnx("Mul", "t", {"sw:1", "two"});
  b.onnx("Neg", "f", {"sw"});
  b.merge("m", "f", "t");
  b.output("m");
  b.output("m:1");
  return b;
}

TEST(TfCond, OutsideLoopBothBranches) {
  Builder b = cond_graph();
  auto g = b.finish();
  EXPECT_EQ(count_ops(*g, "Switch"), 1);
  EXPECT_EQ(count_ops(*g, "Merge"), 1);
  Executor ex(g);
  for (float x : {3.f, -2.f, 0.f, 5.f}) {
    auto out = ex.run({{"x", Tensor::scalar_f32(x)}});
    EXPECT_FLOAT_EQ(out[0].data<float>()[0], x > 0 ? x * 2 : -x) << x;
    EXPECT_EQ(out[1].dtype(), DType::i32);
    EXPECT_EQ(out[1].data<int32_t>()[0], x > 0 ? 1 : 0) << x;
  }
}

// A branch that is a constant (TF gated it by a control edge the importer
// drops) loses to a live branch downstream of the Switch, whatever the order.
TEST(TfCond, ConstantBranchYieldsToTheLiveOne) {
  for (bool constant_first : {true, false}) {
    Builder b;
    b.input("x");
    b.f32("zero", 0.f);
    b.f32("two", 2.f);
    b.f32("five", 5.f);
    b.onnx("Greater", "pred", {"x", "zero"});
    b.add("Switch", "sw", {"x", "pred"}, 2);
    b.onnx("Mul", "t", {"sw:1", "two"});
    if (constant_first)
      b.merge("m", "five", "t");
    else
      b.merge("m", "t", "five");
    b.output("m");
    Executor ex(b.finish());
    for (float x : {3.f, -2.f})
      EXPECT_FLOAT_EQ(ex.run({{"x", Tensor::scalar_f32(x)}})[0].data<float>()[0],
                      x > 0 ? x * 2 : 5.f)
          << x << " constant_first " << constant_first;
  }
}

TEST(TfCond, DeadGraphOutputIsAnError) {
  Builder b = cond_graph();
  b.output("t"); // lives only when x > 0
  Executor ex(b.finish());
  auto out = ex.run({{"x", Tensor::scalar_f32(1.f)}});
  EXPECT_FLOAT_EQ(out[2].data<float>()[0], 2.f);
  try {
    ex.run({{"x", Tensor::scalar_f32(-1.f)}});
    FAIL() << "expected an error";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("'t' is dead"), std::string::npos) << e.what();
  }
}

// while i < n: acc += (i < 2 ? 10 : 1); i += 1 -- a tf.cond in the body.
TEST(TfCond, InsideLoop) {
  Builder b;
  b.input("n");
  b.i32("two", 2);
  b.f32("acc0", 0.f);
  b.f32("onef", 1.f);
  b.f32("ten", 10.f);
  b.counter("w", "i", "n");
  b.loop_var("w", "acc", "acc0", "w/cond/Merge");
  b.onnx("Less", "w/cond/pred", {"w/Identity_i", "two"});
  b.add("Switch", "w/cond/Switch", {"w/Identity_acc", "w/cond/pred"}, 2);
  b.onnx("Add", "w/cond/t", {"w/cond/Switch:1", "ten"});
  b.onnx("Add", "w/cond/f", {"w/cond/Switch", "onef"});
  b.merge("w/cond/Merge", "w/cond/f", "w/cond/t");
  b.output("w/Exit_acc");
  auto g = b.finish();
  const Node &w = find_op(*g, "While");
  EXPECT_EQ(count_ops(subgraph(w, "body"), "Switch"), 1);
  Executor ex(g);
  for (int n : {4, 1, 0, 7}) {
    float expect = 0;
    for (int i = 0; i < n; ++i)
      expect += i < 2 ? 10.f : 1.f;
    auto out = ex.run({{"n", i32_scalar(n)}});
    EXPECT_FLOAT_EQ(out[0].data<float>()[0], expect) << "n=" << n;
  }
}

void expect_input_error(Builder &b, const std::string &needle) {
  try {
    tf::build_while_loops(b.g);
    FAIL() << "expected an InputError mentioning " << needle;
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(TfWhileBadInput, CycleOutsideFrame) {
  Builder b;
  b.f32("one", 1.f);
  b.onnx("Add", "a", {"b", "one"});
  b.onnx("Add", "b", {"a", "one"});
  b.output("b");
  expect_input_error(b, "cycle");
}

TEST(TfWhileBadInput, MergeCycleOutsideFrame) {
  Builder b;
  b.input("x");
  b.f32("one", 1.f);
  b.merge("m", "x", "ni");
  b.onnx("Add", "a", {"m", "one"});
  b.add("NextIteration", "ni", {"a"});
  b.output("a");
  expect_input_error(b, "cycle");
}

TEST(TfWhileBadInput, MergeWithoutInputs) {
  Builder b;
  b.add("Merge", "m", {}, 2);
  b.output("m");
  expect_input_error(b, "Merge node 'm': has no inputs");
}

TEST(TfWhileBadInput, FrameWithoutLoopCond) {
  Builder b = counting_loop();
  auto &nodes = b.g.nodes;
  for (Node &n : nodes)
    if (n.op_type == "LoopCond")
      n.op_type = "Identity", n.domain = "";
  expect_input_error(b, "while frame 'w/while_context': has no LoopCond");
}

TEST(TfWhileBadInput, ExitOutsideFrame) {
  Builder b;
  b.input("x");
  b.add("Exit", "e", {"x"});
  b.output("e");
  expect_input_error(b, "Exit node 'e'");
}

TEST(TfWhileBadInput, LoopValueReadWithoutExit) {
  Builder b = counting_loop();
  b.output("w/add_i"); // the body's value, read outside the frame
  expect_input_error(b, "'w/add_i'");
}

TEST(TfWhileBadInput, NonConstantEnterWithoutMerge) {
  Builder b = counting_loop();
  b.enter("w/stray", "n", "w/while_context", false);
  expect_input_error(b, "Enter node 'w/stray'");
}

TEST(TfTensorArray, ReadingUnwrittenArrayIsAnError) {
  Builder b;
  b.i32("size", 2);
  b.i32("zero", 0);
  Node &ta = b.add("TensorArrayV3", "ta", {"size"}, 2);
  ta.attrs["dtype"] = int64_t(DType::f32);
  b.add("TensorArrayReadV3", "r", {"ta", "zero", "ta:1"});
  b.output("r");
  Executor ex(b.finish());
  EXPECT_THROW(ex.run({}), InputError);
}

TEST(TfTensorArray, KnownElementShapeStartsAsZerosAndWriteOutOfRangeFails) {
  Builder b;
  b.input("v");
  b.input("idx");
  b.i32("size", 2);
  b.g.initializers["all"] = Tensor::from_vector<int32_t>({2}, {0, 1});
  Node &ta = b.add("TensorArrayV3", "ta", {"size"}, 2);
  ta.attrs["dtype"] = int64_t(DType::f32);
  ta.attrs["element_shape"] = std::vector<int64_t>{2};
  b.add("TensorArrayWriteV3", "w", {"ta", "idx", "v", "ta:1"});
  b.add("TensorArrayGatherV3", "g", {"ta", "all", "w"});
  b.output("g");
  Executor ex(b.finish());
  auto out = ex.run({{"v", Tensor::from_vector<float>({2}, {7, 8})}, {"idx", i32_scalar(1)}});
  EXPECT_EQ(out[0].to_f32_vector(), (std::vector<float>{0, 0, 7, 8}));
  EXPECT_THROW(ex.run({{"v", Tensor::from_vector<float>({2}, {7, 8})}, {"idx", i32_scalar(2)}}),
               InputError);
}

} // namespace
} // namespace qtune
