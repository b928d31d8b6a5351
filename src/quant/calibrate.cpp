#include "quant/calibrate.h"

#include "quant/op_descriptor.h"

namespace qtune::quant {

Calibrator::Calibrator(std::shared_ptr<const Graph> fp32, ExecutorOptions options)
    : graph_(fp32), executor_(fp32, options) {
  for (const Node &n : graph_->nodes)
    if (const OpDescriptor *d = find_descriptor(n); d && d->conv_bias_correction && n.has_input(0))
      conv_inputs_.insert(n.inputs[0]); // fast_bias_correction needs their channel means
  executor_.set_node_hook([this](const Node &n, std::span<const Tensor> outputs) {
    for (size_t i = 0; i < outputs.size() && i < n.outputs.size(); ++i)
      if (!n.outputs[i].empty())
        see(n.outputs[i], outputs[i]);
  });
}

void Calibrator::see(const std::string &name, const Tensor &t) {
  if (t.dtype() != DType::f32 || t.numel() == 0)
    return;
  if (capturing_)
    capturing_->emplace_back(name, t.clone()); // the executor reuses its buffers
  else
    observe(name, t);
}

Calibrator::Observed Calibrator::capture(const std::unordered_map<std::string, Tensor> &inputs) {
  Observed seen;
  capturing_ = &seen;
  try {
    for (const auto &[name, t] : inputs)
      see(name, t);
    executor_.run(inputs);
  } catch (...) {
    capturing_ = nullptr;
    throw;
  }
  capturing_ = nullptr;
  stats_.samples += 1;
  return seen;
}

void Calibrator::observe(const std::string &name, const Tensor &t) {
  if (t.dtype() != DType::f32 || t.numel() == 0)
    return;
  TensorStats &s = stats_.tensors[name];
  s.add(t.span<float>());
  if (conv_inputs_.count(name) && t.rank() >= 2)
    s.add_channel_sums(t.span<float>(), t.shape());
}

std::vector<Tensor> Calibrator::add(const std::unordered_map<std::string, Tensor> &inputs) {
  for (const auto &[name, t] : inputs)
    see(name, t);
  std::vector<Tensor> out = executor_.run(inputs);
  stats_.samples += 1;
  return out;
}

} // namespace qtune::quant
