#pragma once
// qtune::Model: a loaded model (FP32 or quantized) you can run, save and hand to
// qtune::Quantization. Copies share the graph.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "qtune/tensor.h"

namespace qtune {

struct Graph;

class Model {
public:
  Model();
  // Loads a model file as the CLI does (ONNX, TensorFlow, TF.js); InputError on bad input.
  explicit Model(const std::string &path);
  explicit Model(std::shared_ptr<const Graph> graph, std::string path = "");
  ~Model();
  Model(const Model &);
  Model &operator=(const Model &);
  Model(Model &&) noexcept;
  Model &operator=(Model &&) noexcept;

  // Runs on inputs by graph-input name; outputs in graph order. The executor is
  // built on first use and kept.
  std::vector<Tensor> run(const std::unordered_map<std::string, Tensor> &inputs);
  // Writes ONNX (quantized models as QDQ), atomically.
  void save(const std::string &path) const;

  bool empty() const;
  const Graph &graph() const;
  std::shared_ptr<const Graph> graph_ptr() const;
  const std::string &path() const; // where it was loaded from / last saved ("" if none)
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  // Declared shape of a graph input (-1 for unknown dims, empty when the rank is
  // unknown) and its element type; InputError for a name the model lacks.
  Shape input_shape(const std::string &name) const;
  DType input_dtype(const std::string &name) const;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace qtune
