// TensorFlow 1.x control flow: tf:Switch and tf:Merge of tf.cond (the
// executor decides which Switch output is dead and hands Merge its dead inputs
// as undefined tensors, see executor.cpp), and tf:While, the loop that
// frontends/tensorflow/tf_control_flow.cpp builds from a while frame.
#include <cstring>
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/executor.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

// TensorFlow has no iteration limit; this only turns a runaway loop into an error.
constexpr int64_t kMaxIterations = 10'000'000;

void copy_into(const Node &node, const Tensor &from, Tensor &to) {
  if (from.dtype() == DType::string)
    throw UnsupportedError(fmt::format("{}: string tensors are not supported", node.describe()));
  if (from.nbytes() && to.raw() != from.raw())
    std::memcpy(to.raw(), from.raw(), from.nbytes());
}

// Switch(data, pred): output 0 (false branch) and 1 (true branch) both have the
// data's type; the executor allocates and keeps only the live one.
class SwitchKernel : public Kernel {
public:
  explicit SwitchKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    return {{in[0].dtype(), in[0].shape()}, {in[0].dtype(), in[0].shape()}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    for (Tensor &o : out)
      if (o.defined())
        copy_into(node_, in[0], o);
  }
  bool value_dependent_shapes() const override { return true; } // which output lives

private:
  Node node_;
};

// Merge(inputs...): forwards the first live input; output 1 is its index (int32).
class MergeKernel : public Kernel {
public:
  explicit MergeKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    live_ = -1;
    for (size_t i = 0; i < in.size() && live_ < 0; ++i)
      if (in[i].defined())
        live_ = static_cast<int>(i);
    if (live_ < 0)
      throw InputError(fmt::format("{}: every input is dead", node_.describe()));
    return {{in[live_].dtype(), in[live_].shape()}, {DType::i32, {}}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (out[0].defined())
      copy_into(node_, in[live_], out[0]);
    if (out.size() > 1 && out[1].defined())
      *out[1].data<int32_t>() = live_;
  }
  bool value_dependent_shapes() const override { return true; } // which input lives

private:
  Node node_;
  int live_ = -1;
};

// While: runs cond and body (closed sub-graphs, Executors made once)
// until cond is false. Output shapes depend on the values, so infer() runs the
// loop and run() hands out its results.
class WhileKernel : public Kernel {
public:
  WhileKernel(const Node &n, const KernelEnv &env) : node_(n) {
    num_vars_ = static_cast<size_t>(n.attr_int("num_loop_vars", -1));
    if (num_vars_ > n.inputs.size() || n.outputs.size() > num_vars_)
      throw InputError(fmt::format("{}: num_loop_vars {} does not fit {} inputs and {} outputs",
                                   n.describe(), n.attr_int("num_loop_vars", -1), n.inputs.size(),
                                   n.outputs.size()));
    ExecutorOptions opts;
    opts.threads = env.threads;
    for (int k = 0; k < 2; ++k) {
      cond_[k] = std::make_unique<Executor>(subgraph("cond", 1), opts);
      body_[k] = std::make_unique<Executor>(subgraph("body", num_vars_), opts);
    }
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    results_ = loop(in);
    std::vector<TensorType> types;
    for (const Tensor &t : results_)
      types.push_back({t.dtype(), t.shape()});
    return types;
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    for (size_t k = 0; k < out.size() && k < results_.size(); ++k)
      if (out[k].defined())
        copy_into(node_, results_[k], out[k]);
  }
  bool value_dependent_shapes() const override { return true; }

private:
  std::shared_ptr<const Graph> subgraph(const std::string &key, size_t outputs) const {
    auto it = node_.attrs.find(key);
    const auto *g =
        it == node_.attrs.end() ? nullptr : std::get_if<std::shared_ptr<Graph>>(&it->second);
    if (!g || !*g)
      throw InputError(fmt::format("{}: missing graph attribute '{}'", node_.describe(), key));
    if ((*g)->inputs.size() != node_.inputs.size() || (*g)->outputs.size() != outputs)
      throw InputError(fmt::format("{}: '{}' has {} inputs and {} outputs, expected {} and {}",
                                   node_.describe(), key, (*g)->inputs.size(), (*g)->outputs.size(),
                                   node_.inputs.size(), outputs));
    return *g;
  }

  std::vector<Tensor> loop(std::span<const Tensor> in) {
    const Graph &cg = cond_[0]->graph();
    std::unordered_map<std::string, Tensor> feed;
    for (size_t k = 0; k < in.size(); ++k) {
      if (!in[k].defined())
        throw InputError(
            fmt::format("{}: input '{}' is missing", node_.describe(), node_.inputs[k]));
      feed[cg.inputs[k].name] = in[k];
    }
    std::vector<Tensor> vars(in.begin(), in.begin() + num_vars_);
    for (int64_t iter = 0;; ++iter) {
      int k = iter == 0 ? 0 : 1;
      if (!keep_going(cond_[k]->run(feed)))
        break;
      if (iter >= kMaxIterations)
        throw Error(fmt::format("{}: the loop ran {} iterations; stopping a runaway loop",
                                node_.describe(), kMaxIterations));
      vars = body_[k]->run(feed);
      for (size_t k = 0; k < num_vars_; ++k)
        feed[cg.inputs[k].name] = vars[k];
    }
    return vars;
  }

  bool keep_going(const std::vector<Tensor> &c) const {
    if (c.size() != 1 || c[0].numel() != 1)
      throw InputError(fmt::format("{}: the loop condition must be one scalar, got {}",
                                   node_.describe(),
                                   c.empty() ? std::string("nothing") : shape_str(c[0].shape())));
    return c[0].get_i64(0) != 0;
  }

  Node node_;
  size_t num_vars_ = 0;
  // [0] runs the first iteration, [1] the others: the first often sees other
  // shapes (a TensorArray nothing was written to yet), and one Executor per
  // shape signature keeps both memory plans instead of re-planning each time.
  std::unique_ptr<Executor> cond_[2], body_[2];
  std::vector<Tensor> results_;
};

} // namespace

void register_tf_control_flow_kernels(KernelRegistry &r) {
  r.add(
      "Switch", [](const Node &n, const KernelEnv &) { return std::make_unique<SwitchKernel>(n); },
      "tf");
  r.add(
      "Merge", [](const Node &n, const KernelEnv &) { return std::make_unique<MergeKernel>(n); },
      "tf");
  r.add(
      "While",
      [](const Node &n, const KernelEnv &env) { return std::make_unique<WhileKernel>(n, env); },
      "tf");
}

} // namespace qtune
