#include "qtune/model.h"

#include <filesystem>
#include <mutex>
#include <unistd.h>

#include "qtune/error.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"
#include "tune/model_backend.h"

namespace qtune {

struct Model::Impl {
  std::shared_ptr<const Graph> graph;
  std::string path;
  std::mutex mutex; // the executor is built once, on first run
  std::unique_ptr<Executor> executor;
  // A model read from a file runs as `qtune evaluate` runs it: fusions, and a
  // QDQ model on the int8 kernels (not Q/DQ simulated in float). Graphs handed
  // in by the tuner are already prepared.
  bool prepare_on_run = false;
};

Model::Model() : impl_(std::make_shared<Impl>()) {}

Model::Model(const std::string &path) : impl_(std::make_shared<Impl>()) {
  impl_->graph = tune::load_model_file(path);
  impl_->path = path;
  impl_->prepare_on_run = true;
}

Model::Model(std::shared_ptr<const Graph> graph, std::string path)
    : impl_(std::make_shared<Impl>()) {
  impl_->graph = std::move(graph);
  impl_->path = std::move(path);
}

Model::~Model() = default;
Model::Model(const Model &) = default;
Model &Model::operator=(const Model &) = default;
Model::Model(Model &&) noexcept = default;
Model &Model::operator=(Model &&) noexcept = default;

bool Model::empty() const {
  return !impl_ || !impl_->graph;
}

const Graph &Model::graph() const {
  if (empty())
    throw Error("qtune::Model: no model loaded");
  return *impl_->graph;
}

std::shared_ptr<const Graph> Model::graph_ptr() const {
  return impl_ ? impl_->graph : nullptr;
}

const std::string &Model::path() const {
  return impl_->path;
}

std::vector<std::string> Model::input_names() const {
  std::vector<std::string> out;
  for (const auto &v : graph().inputs)
    out.push_back(v.name);
  return out;
}

namespace {

const ValueInfo &find_input(const Graph &g, const std::string &name) {
  for (const auto &v : g.inputs)
    if (v.name == name)
      return v;
  throw InputError((g.source.empty() ? std::string("model") : g.source) + ": no input '" + name +
                   "'");
}

} // namespace

Shape Model::input_shape(const std::string &name) const {
  Shape s;
  for (const Dim &d : find_input(graph(), name).dims)
    s.push_back(d.value);
  return s;
}

DType Model::input_dtype(const std::string &name) const {
  return find_input(graph(), name).dtype;
}

std::vector<std::string> Model::output_names() const {
  std::vector<std::string> out;
  for (const auto &v : graph().outputs)
    out.push_back(v.name);
  return out;
}

std::vector<Tensor> Model::run(const std::unordered_map<std::string, Tensor> &inputs) {
  graph();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (!impl_->executor) {
    std::shared_ptr<const Graph> run_graph = impl_->graph;
    if (impl_->prepare_on_run) {
      auto prepared = std::make_shared<Graph>(*impl_->graph);
      quant::prepare_for_inference(*prepared);
      run_graph = std::move(prepared);
    }
    impl_->executor = std::make_unique<Executor>(run_graph);
  }
  return impl_->executor->run(inputs);
}

void Model::save(const std::string &path) const {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  tune::save_model_file(graph(), tmp);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error(path + ": cannot move the written model into place");
  }
  impl_->path = path;
}

} // namespace qtune
