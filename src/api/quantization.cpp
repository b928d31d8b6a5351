#include "qtune/quantization.h"

#include "qtune/error.h"
#include "tune/config.h"
#include "tune/model_backend.h"
#include "tune/quantize_model.h"
#include "tune/tuner.h"

namespace qtune {

struct Quantization::Impl {
  tune::Config config;
  std::string output;
  std::FILE *progress = stderr;
  std::string eval_name;
  TuneSummary summary;
};

Quantization::Quantization(const std::string &config_path) : impl_(std::make_unique<Impl>()) {
  impl_->config = tune::load_config(config_path);
}

Quantization::~Quantization() = default;

void Quantization::set_output(const std::string &path) {
  impl_->output = path;
}
void Quantization::set_workspace(const std::string &dir) {
  impl_->config.tuning.workspace_path = dir;
}
void Quantization::set_strategy(const std::string &name) {
  tune::make_strategy(name); // validates the name
  impl_->config.tuning.strategy = name;
}
void Quantization::set_max_trials(int64_t n) {
  if (n < 1)
    throw InputError("max_trials must be >= 1, got " + std::to_string(n));
  impl_->config.tuning.max_trials = n;
}
void Quantization::set_eval_name(const std::string &name) {
  impl_->eval_name = name;
}
void Quantization::set_progress(std::FILE *out) {
  impl_->progress = out;
}
Model Quantization::load_model(const std::string &path) const {
  return Model(tune::load_model_file(path, tune::load_options(impl_->config.model)), path);
}
const TuneSummary &Quantization::summary() const {
  return impl_->summary;
}

namespace {

// Samples in a batch: the leading dimension of its first tensor.
size_t batch_items(const Batch &b) {
  if (b.empty())
    return 0;
  const Tensor &t = b.begin()->second;
  return t.rank() > 0 ? static_cast<size_t>(t.dim(0)) : 1;
}

} // namespace

Model Quantization::operator()(const Model &model, DataLoader *q_dataloader, EvalFunc eval_func) {
  tune::ModelBackendSetup setup;
  setup.config = &impl_->config;
  std::vector<std::string> messages;
  setup.fp32 = tune::apply_graph_recipes(
      model.graph_ptr(), tune::recipes_from_config(impl_->config.quantization), messages);
  for (const std::string &m : messages)
    if (impl_->progress)
      std::fprintf(impl_->progress, "[recipes] %s\n", m.c_str());
  setup.model_path = model.path();
  setup.progress = impl_->progress;
  setup.eval_name = impl_->eval_name;
  if (eval_func) {
    setup.eval = [eval_func](const std::shared_ptr<const Graph> &g) {
      Model candidate(g);
      return eval_func(candidate);
    };
  }
  if (q_dataloader) {
    setup.calibration = [q_dataloader](size_t limit,
                                       const std::function<void(const tune::Inputs &)> &fn) {
      q_dataloader->reset();
      size_t seen = 0;
      while (auto batch = q_dataloader->next()) {
        fn(*batch);
        seen += batch_items(*batch);
        if (limit && seen >= limit)
          break;
      }
    };
  }
  auto backend = tune::make_model_backend(setup);
  tune::TuneOptions opt;
  opt.progress = impl_->progress;
  opt.output = impl_->output;
  tune::TuneResult r = tune::run_tuning(impl_->config, *backend, opt);

  TuneSummary &s = impl_->summary;
  s = TuneSummary{};
  s.goal_met = r.goal_met;
  s.baseline_accuracy = r.baseline_accuracy;
  s.best_accuracy = r.best.accuracy;
  s.relative_loss = r.relative_loss;
  s.baseline_latency_ms = r.baseline_objective;
  s.best_latency_ms = r.best.objective;
  s.ops_int8 = static_cast<int>(quant::count_at(r.precisions, tune::Precision::int8));
  s.ops_bf16 = static_cast<int>(quant::count_at(r.precisions, tune::Precision::bf16));
  s.ops_fp32 = static_cast<int>(quant::count_at(r.precisions, tune::Precision::fp32));
  s.fp32_ops = quant::names_at(r.precisions, tune::Precision::fp32);
  s.trials = r.trials;
  s.full_evaluations = r.full_evaluations;
  s.wall_s = r.wall_s;
  s.output = r.output;
  s.deploy = r.deploy;
  s.history = r.history;
  return Model(r.output);
}

} // namespace qtune
