#include "tune/tuner.h"
#include "tune/kill_point.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <limits>
#include <set>
#include <unistd.h>

#include "qtune/error.h"
#include "tune/bootstrap.h"
#include "tune/eta.h"
#include "tune/workspace.h"

namespace qtune::tune {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string format_objective(double v, const std::string &kind) {
  char buf[48];
  if (kind == "performance")
    std::snprintf(buf, sizeof(buf), "%.3f ms", v);
  else
    std::snprintf(buf, sizeof(buf), "%.1f KB", v / 1024.0);
  return buf;
}

class Session : public TuneSession {
public:
  Session(const Config &c, TuningBackend &b, Workspace &w, std::vector<TuneOp> ops,
          std::vector<QuantChoice> space, double baseline, const PairedBootstrap *bootstrap,
          std::FILE *progress, Clock::time_point start)
      : config_(c), backend_(b), workspace_(w), ops_(std::move(ops)), space_(std::move(space)),
        baseline_(baseline), bootstrap_(bootstrap), progress_(progress), start_(start),
        rng_(c.tuning.random_seed) {}

  const std::vector<TuneOp> &ops() const override { return ops_; }
  const std::vector<QuantChoice> &quant_space() const override { return space_; }
  double baseline() const override { return baseline_; }
  bool higher_is_better() const override { return config_.tuning.higher_is_better; }
  bool finished() const override { return finished_; }
  std::mt19937_64 &rng() override { return rng_; }
  void set_planned_trials(int64_t n) override { planned_ = n; }
  void announce(std::vector<TunePlan> next) override { announced_ = std::move(next); }
  int lookahead() const override { return std::max(1, backend_.parallel_trials()); }
  std::map<std::string, double> op_damage(const TunePlan &plan) override {
    if (progress_)
      std::fprintf(progress_, "[rank] measuring per-op damage (%s)\n", plan.summary().c_str());
    return backend_.op_damage(plan);
  }

  // With tuning.accuracy_criterion.confidence, the upper end of the loss
  // interval decides; otherwise (LPOT) the point estimate.
  bool meets(double acc, const LossInterval &interval) const {
    if (config_.tuning.confidence > 0 && interval.valid)
      return interval.high <= config_.tuning.criterion;
    return meets(acc);
  }

  bool meets(double acc) const {
    const auto &t = config_.tuning;
    double b = baseline_;
    if (t.relative) {
      double margin = std::fabs(b) * t.criterion;
      return t.higher_is_better ? acc >= b - margin : acc <= b + margin;
    }
    return t.higher_is_better ? acc >= b - t.criterion : acc <= b + t.criterion;
  }

  double relative_loss(double acc) const {
    if (baseline_ == 0)
      return 0;
    double loss = (baseline_ - acc) / std::fabs(baseline_);
    return config_.tuning.higher_is_better ? loss : -loss;
  }

  const Trial *evaluate(const TunePlan &plan) override {
    if (finished_)
      return nullptr;
    std::string key = plan.key();
    auto seen = by_key_.find(key);
    if (seen != by_key_.end())
      return &trials_[seen->second];

    Trial t;
    t.plan = plan;
    if (const TrialRecord *r = workspace_.resumed(key)) {
      t.accuracy = r->accuracy;
      t.objective = r->objective;
      t.seconds = r->seconds;
      t.interval = r->interval;
      t.resumed = true;
    } else {
      PlanResult fresh = result_of(plan, key);
      t.accuracy = fresh.accuracy;
      t.interval = loss_interval(fresh.samples ? &*fresh.samples : nullptr);
      t.objective = fresh.objective;
      t.seconds = fresh.seconds;
      workspace_.append_trial({key, plan, t.accuracy, t.objective, t.seconds, t.interval});
    }
    t.meets = meets(t.accuracy, t.interval);
    t.index = static_cast<int>(trials_.size()) + 1;
    by_key_[key] = trials_.size();
    trials_.push_back(std::move(t));
    const Trial &done = trials_.back();

    const auto &ex = config_.tuning;
    if (done.meets && ex.timeout == 0)
      finished_ = true;
    if (static_cast<int64_t>(trials_.size()) >= ex.max_trials)
      finished_ = true;
    if (ex.timeout > 0 && seconds_since(start_) >= ex.timeout)
      finished_ = true;
    report(done); // after the exit policy: the last trial's ETA is 0
    warn_if_unresolved(done.interval);
    return &done;
  }

  // Best passing trial by objective (then accuracy); else the most accurate.
  const Trial *best() const {
    const Trial *best = nullptr;
    for (const auto &t : trials_) {
      if (!best) {
        best = &t;
        continue;
      }
      if (t.meets != best->meets) {
        if (t.meets)
          best = &t;
        continue;
      }
      if (t.meets) {
        if (t.objective < best->objective ||
            (t.objective == best->objective && better(t.accuracy, best->accuracy)))
          best = &t;
      } else if (better(t.accuracy, best->accuracy)) {
        best = &t;
      }
    }
    return best;
  }

  const std::deque<Trial> &trials() const { return trials_; }
  // Plans evaluated ahead by rank groups that a one-process run would not
  // have evaluated (the search ended or changed course first): not trials,
  // not in the history.
  size_t unused_ahead() const { return ahead_.size(); }
  int64_t full_evaluations = 0; // every evaluation run, unused ones included
  double bootstrap_seconds = 0;

private:
  // `plan`'s result: evaluated ahead with an earlier plan, or now, together
  // with the announced plans after it when the backend runs several at once.
  PlanResult result_of(const TunePlan &plan, const std::string &key) {
    if (auto ahead = ahead_.find(key); ahead != ahead_.end()) {
      PlanResult r = std::move(ahead->second);
      ahead_.erase(ahead);
      return r;
    }
    const std::vector<TunePlan> batch = batch_from(plan, key);
    std::vector<PlanResult> results = backend_.evaluate_batch(batch, config_.tuning.objective);
    full_evaluations += static_cast<int64_t>(batch.size());
    for (size_t i = 1; i < batch.size(); ++i)
      ahead_[batch[i].key()] = std::move(results[i]);
    return std::move(results.at(0));
  }

  // `plan` and the announced plans after it that a one-process run would
  // evaluate next if no result changed the strategy's course: new to this run,
  // not in the history, within max_trials; at most parallel_trials() plans.
  std::vector<TunePlan> batch_from(const TunePlan &plan, const std::string &key) const {
    std::vector<TunePlan> batch{plan};
    const size_t width = static_cast<size_t>(lookahead());
    auto at = std::find_if(announced_.begin(), announced_.end(),
                           [&](const TunePlan &p) { return p.key() == key; });
    if (width == 1 || at == announced_.end())
      return batch;
    int64_t slots = config_.tuning.max_trials - static_cast<int64_t>(trials_.size()) - 1;
    std::set<std::string> keys{key};
    for (++at; at != announced_.end() && batch.size() < width && slots > 0; ++at) {
      const std::string k = at->key();
      if (by_key_.count(k) || !keys.insert(k).second)
        continue; // a repeat takes no trial
      --slots;
      if (!workspace_.resumed(k) && !ahead_.count(k))
        batch.push_back(*at);
    }
    return batch;
  }

  // The bootstrap interval of an evaluation's loss from its per-sample
  // results `s` (invalid without per-sample results on both sides).
  LossInterval loss_interval(const metrics::SampleResults *s) {
    if (!bootstrap_ || !s) {
      if (config_.tuning.confidence > 0 && !warned_no_interval_) {
        warned_no_interval_ = true;
        std::fprintf(progress_ ? progress_ : stderr,
                     "[warning] accuracy_criterion.confidence is set but the evaluation keeps no "
                     "per-sample results: the point estimate decides\n");
      }
      return {};
    }
    auto t0 = Clock::now();
    LossInterval i = bootstrap_->interval(*s);
    bootstrap_seconds += seconds_since(t0);
    return i;
  }

  // Once per run: the interval is wider than the loss the user wants to
  // resolve, so "meets goal" on the point estimate is partly luck.
  void warn_if_unresolved(const LossInterval &i) {
    const auto &t = config_.tuning;
    if (warned_unresolved_ || !i.valid || t.criterion <= 0 || i.width() <= t.criterion)
      return;
    warned_unresolved_ = true;
    const bool images =
        backend_.sample_results() && backend_.sample_results()->reduce == metrics::Reduce::coco_ap;
    char crit[32];
    if (t.relative)
      std::snprintf(crit, sizeof(crit), "%g%%", 100 * t.criterion);
    else
      std::snprintf(crit, sizeof(crit), "%g", t.criterion);
    std::fprintf(progress_ ? progress_ : stderr,
                 "[warning] evaluation set too small to resolve a %s loss: %zu %s; about %zu "
                 "needed (the %d%% interval is %.2f%s wide and narrows as 1/sqrt(N))%s\n",
                 crit, i.samples, images ? "images" : "samples", samples_needed(i, t.criterion),
                 static_cast<int>(std::lround(100 * i.confidence)),
                 t.relative ? 100 * i.width() : i.width(), t.relative ? "%" : "",
                 t.confidence > 0 ? ""
                                  : "; set tuning.accuracy_criterion.confidence to accept on the "
                                    "interval's upper end");
  }

  void report(const Trial &t) {
    if (!progress_)
      return;
    EtaInput in{planned_,
                t.index,
                config_.tuning.max_trials,
                {},
                seconds_since(start_),
                config_.tuning.timeout};
    for (const auto &x : trials_)
      if (!x.resumed)
        in.trial_seconds.push_back(x.seconds);
    const std::string eta = finished_ ? format_duration(0) : format_eta(estimate_eta(in));
    // "k/N" shows the strategy's plan when it has one, else how far max_trials is.
    const int64_t total =
        std::max<int64_t>(t.index, planned_ > 0 ? std::min(planned_, config_.tuning.max_trials)
                                                : config_.tuning.max_trials);
    const double elapsed = in.elapsed;
    char loss[128];
    if (t.interval.valid)
      std::snprintf(loss, sizeof(loss), "%s",
                    format_loss(t.interval, config_.tuning.relative).c_str());
    else
      std::snprintf(loss, sizeof(loss), "loss %+.2f%%", 100.0 * relative_loss(t.accuracy));
    std::fprintf(progress_,
                 "[trial %d/%lld] %s | %s | acc %.4f | %s | %s | elapsed %s | ETA %s%s%s\n",
                 t.index, static_cast<long long>(total), t.plan.summary().c_str(),
                 t.plan.quant.summary().c_str(), t.accuracy, loss,
                 format_objective(t.objective, config_.tuning.objective).c_str(),
                 format_duration(elapsed).c_str(), eta.c_str(), t.resumed ? " [from history]" : "",
                 t.meets ? " [meets goal]" : "");
    std::fflush(progress_);
  }

  const Config &config_;
  TuningBackend &backend_;
  Workspace &workspace_;
  std::vector<TuneOp> ops_;
  std::vector<QuantChoice> space_;
  double baseline_;
  const PairedBootstrap *bootstrap_;
  bool warned_unresolved_ = false, warned_no_interval_ = false;
  std::FILE *progress_;
  Clock::time_point start_;
  std::mt19937_64 rng_;
  std::deque<Trial> trials_; // deque: pointers handed out stay valid
  std::map<std::string, size_t> by_key_;
  std::vector<TunePlan> announced_;         // the strategy's next plans (announce)
  std::map<std::string, PlanResult> ahead_; // evaluated ahead, not yet asked for
  int64_t planned_ = 0;
  bool finished_ = false;
};

template <typename T>
std::vector<T> or_default(const std::vector<T> &given, const std::vector<T> &fallback,
                          const T &last_resort) {
  if (!given.empty())
    return given;
  if (!fallback.empty())
    return fallback;
  return {last_resort};
}

std::string deploy_yaml(const Config &c, const TuneResult &r) {
  YAML::Emitter e;
  const TunePlan &p = r.best.plan;
  e << YAML::BeginMap;
  e << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << c.model.name;
  e << YAML::Key << "framework" << YAML::Value << c.model.framework;
  e << YAML::EndMap;
  e << YAML::Key << "quantization" << YAML::Value << YAML::BeginMap;
  if (p.quant.sampling_size > 0)
    e << YAML::Key << "calibration" << YAML::Value << YAML::BeginMap << YAML::Key << "sampling_size"
      << YAML::Value << p.quant.sampling_size << YAML::EndMap;
  e << YAML::Key << "model_wise" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "weight" << YAML::Value << YAML::BeginMap << YAML::Key << "scheme"
    << YAML::Value << p.quant.weight_scheme << YAML::Key << "granularity" << YAML::Value
    << p.quant.weight_granularity << YAML::Key << "algorithm" << YAML::Value
    << p.quant.weight_algorithm << YAML::EndMap;
  e << YAML::Key << "activation" << YAML::Value << YAML::BeginMap << YAML::Key << "scheme"
    << YAML::Value << p.quant.activation_scheme << YAML::Key << "granularity" << YAML::Value
    << p.quant.activation_granularity << YAML::Key << "algorithm" << YAML::Value
    << p.quant.activation_algorithm << YAML::EndMap;
  e << YAML::EndMap;
  e << YAML::Key << "op_wise" << YAML::Value << YAML::BeginMap;
  for (const auto &[name, prec] : p.ops) {
    if (prec == Precision::int8)
      continue;
    e << YAML::Key << name << YAML::Value << YAML::BeginMap << YAML::Key << "activation"
      << YAML::Value << YAML::BeginMap << YAML::Key << "dtype" << YAML::Value << YAML::Flow
      << YAML::BeginSeq << precision_name(prec) << YAML::EndSeq << YAML::EndMap << YAML::Key
      << "weight" << YAML::Value << YAML::BeginMap << YAML::Key << "dtype" << YAML::Value
      << YAML::Flow << YAML::BeginSeq << precision_name(prec) << YAML::EndSeq << YAML::EndMap
      << YAML::EndMap;
  }
  e << YAML::EndMap << YAML::EndMap;
  e << YAML::Key << "tuning_result" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "goal_met" << YAML::Value << r.goal_met;
  e << YAML::Key << "baseline_accuracy" << YAML::Value << r.baseline_accuracy;
  e << YAML::Key << "accuracy" << YAML::Value << r.best.accuracy;
  e << YAML::Key << "relative_loss" << YAML::Value << r.relative_loss;
  e << YAML::Key << "objective" << YAML::Value << r.objective_kind;
  e << YAML::Key << "baseline_objective" << YAML::Value << r.baseline_objective;
  e << YAML::Key << "best_objective" << YAML::Value << r.best.objective;
  // The saved model's ops as `qtune inspect` classifies them.
  e << YAML::Key << "ops_int8" << YAML::Value << quant::count_at(r.precisions, Precision::int8);
  e << YAML::Key << "ops_bf16" << YAML::Value << quant::count_at(r.precisions, Precision::bf16);
  e << YAML::Key << "ops_fp32" << YAML::Value << quant::count_at(r.precisions, Precision::fp32);
  e << YAML::Key << "output" << YAML::Value << r.output;
  e << YAML::EndMap << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

void save_model_atomic(TuningBackend &backend, const TunePlan *plan, const std::string &path) {
  fs::path dir = fs::path(path).parent_path();
  if (!dir.empty())
    fs::create_directories(dir);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    backend.save(plan, tmp);
    kill_point("model-write");
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    throw Error(path + ": cannot move the written model into place: " + ec.message());
}

} // namespace

std::vector<QuantChoice> quant_space(const QuantizationConfig &q, const OpOptions &sup) {
  const auto &w = q.model_wise.weight;
  const auto &a = q.model_wise.activation;
  auto ws = or_default(w.scheme, sup.weight.scheme, std::string("sym"));
  auto wg = or_default(w.granularity, sup.weight.granularity, std::string("per_channel"));
  auto wa = or_default(w.algorithm, sup.weight.algorithm, std::string("minmax"));
  auto as = or_default(a.scheme, sup.activation.scheme, std::string("asym"));
  auto ag = or_default(a.granularity, sup.activation.granularity, std::string("per_tensor"));
  auto aa = or_default(a.algorithm, sup.activation.algorithm, std::string("minmax"));
  std::vector<int64_t> sizes = q.calibration.sampling_size;
  if (sizes.empty())
    sizes.push_back(0);
  std::vector<QuantChoice> out;
  // Sampling size is the outer loop (LPOT), then activation, then weight options.
  for (int64_t n : sizes)
    for (const auto &x1 : aa)
      for (const auto &x2 : as)
        for (const auto &x3 : ag)
          for (const auto &x4 : wg)
            for (const auto &x5 : ws)
              for (const auto &x6 : wa) {
                QuantChoice c;
                c.sampling_size = n;
                c.activation_algorithm = x1;
                c.activation_scheme = x2;
                c.activation_granularity = x3;
                c.weight_granularity = x4;
                c.weight_scheme = x5;
                c.weight_algorithm = x6;
                out.push_back(c);
              }
  return out;
}

namespace {

// Precisions named by an op_wise / optype_wise entry (activation dtype wins).
std::vector<Precision> allowed_precisions(const OpOptions &o) {
  const auto &names = !o.activation.dtype.empty() ? o.activation.dtype : o.weight.dtype;
  std::vector<Precision> out;
  for (const auto &n : names)
    if (n != "fp16")
      out.push_back(precision_from_name(n));
  return out;
}

void restrict_op(TuneOp &op, const OpOptions &o, const std::string &where) {
  std::vector<Precision> allowed = allowed_precisions(o);
  if (allowed.empty())
    return;
  std::vector<Precision> kept;
  for (Precision p : op.options)
    if (std::find(allowed.begin(), allowed.end(), p) != allowed.end())
      kept.push_back(p);
  if (kept.empty())
    throw InputError(where + ": none of the requested dtypes is possible for " + op.op_type + " '" +
                     op.name + "'");
  op.options = kept;
}

} // namespace

std::map<std::string, OpOptions>
TuningBackend::resolve_op_wise(const std::map<std::string, OpOptions> &op_wise,
                               std::vector<std::string> &messages) {
  std::vector<TuneOp> ops = quantizable_ops();
  for (const auto &[name, o] : op_wise)
    if (!find_op(ops, name))
      messages.push_back("warning: quantization.op_wise: '" + name + "' is not a quantizable op");
  return op_wise;
}

std::vector<PlanResult> TuningBackend::evaluate_batch(const std::vector<TunePlan> &plans,
                                                      const std::string &kind) {
  std::vector<PlanResult> out;
  for (const TunePlan &plan : plans) {
    auto t0 = Clock::now();
    PlanResult r;
    r.accuracy = evaluate(&plan);
    if (const metrics::SampleResults *s = sample_results())
      r.samples = *s;
    r.objective = objective(&plan, kind);
    r.seconds = seconds_since(t0);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<double> TuningBackend::interleaved_latency(const std::vector<const TunePlan *> &plans) {
  std::vector<double> best(plans.size(), std::numeric_limits<double>::infinity());
  for (int round = 0; round < 3; ++round)
    for (size_t k = 0; k < plans.size(); ++k)
      best[k] = std::min(best[k], objective(plans[k], "performance"));
  return best;
}

std::vector<TuneOp> constrain_ops(std::vector<TuneOp> ops, const QuantizationConfig &q) {
  for (auto &op : ops) {
    auto t = q.optype_wise.find(op.op_type);
    if (t != q.optype_wise.end())
      restrict_op(op, t->second, "quantization.optype_wise." + op.op_type);
    auto n = q.op_wise.find(op.name);
    if (n != q.op_wise.end())
      restrict_op(op, n->second, "quantization.op_wise." + op.name);
  }
  return ops;
}

std::vector<TuneOp> tuning_ops(TuningBackend &backend, const QuantizationConfig &q,
                               std::vector<std::string> &messages) {
  QuantizationConfig qc = q;
  qc.op_wise = backend.resolve_op_wise(qc.op_wise, messages);
  return constrain_ops(backend.quantizable_ops(), qc);
}

TuneResult run_tuning(const Config &config, TuningBackend &backend, const TuneOptions &options) {
  auto start = Clock::now();
  std::FILE *out = options.progress;
  const auto &tc = config.tuning;
  TuneResult r;
  r.objective_kind = tc.objective == "performance" ? "performance" : "modelsize";

  Workspace ws(tc.workspace_path, backend.context_key(), tc.resume);
  r.history = ws.history_path();
  r.deploy = ws.deploy_path();
  std::string name = config.model.name.empty() ? "model" : config.model.name;
  r.output = options.output.empty() ? (fs::path(tc.workspace_path) / (name + "_int8.onnx")).string()
                                    : options.output;
  fs::path out_path(r.output);
  remove_stale_temporaries(out_path.parent_path().empty() ? "." : out_path.parent_path().string(),
                           out_path.filename().string() + ".tmp.");
  if (ws.resumed_count() > 0 && out)
    std::fprintf(out, "[resume] %zu trials found in %s\n", ws.resumed_count(), r.history.c_str());

  std::vector<std::string> name_messages;
  std::vector<TuneOp> ops = tuning_ops(backend, config.quantization, name_messages);
  std::vector<QuantChoice> space = quant_space(config.quantization, backend.supported_options());
  for (const auto &m : name_messages)
    std::fprintf(out ? out : stderr, "[config] %s\n", m.c_str());
  if (out) {
    std::fprintf(out, "[setup] %zu quantizable ops, %zu model-wise choices, strategy %s\n",
                 ops.size(), space.size(), tc.strategy.c_str());
  }
  r.fp32_bytes = backend.model_bytes(nullptr);
  r.ops = ops;

  ws.begin_run(tc.strategy);
  if (tc.performance_only) {
    // Quantize once with the first choice; no accuracy evaluation.
    r.best.plan = preferred_plan(ops, space.front());
    r.best.objective = backend.objective(&r.best.plan, tc.objective);
    r.baseline_objective = backend.objective(nullptr, tc.objective);
    r.best.meets = true;
    r.has_best = true;
    r.goal_met = true;
    r.trials = 1;
  } else {
    std::optional<metrics::SampleResults> samples = ws.cached_baseline_samples();
    auto cached = ws.cached_baseline();
    if (cached && !samples && backend.keeps_sample_results())
      cached.reset(); // a cache from before per-sample results: evaluate FP32 once more
    if (cached) {
      r.baseline_accuracy = cached->accuracy;
      r.baseline_objective = cached->objective;
      if (out)
        std::fprintf(out, "[baseline] FP32 accuracy %.4f, %s (cached in %s)\n", r.baseline_accuracy,
                     format_objective(r.baseline_objective, tc.objective).c_str(),
                     ws.dir().c_str());
    } else {
      if (out)
        std::fprintf(out, "[baseline] evaluating the FP32 model ...\n"), std::fflush(out);
      auto t0 = Clock::now();
      r.baseline_accuracy = backend.evaluate(nullptr);
      r.full_evaluations++;
      if (const metrics::SampleResults *s = backend.sample_results()) {
        samples = *s;
        ws.store_baseline_samples(*s);
      }
      r.baseline_objective = backend.objective(nullptr, tc.objective);
      ws.store_baseline({r.baseline_accuracy, r.baseline_objective});
      if (out)
        std::fprintf(out, "[baseline] FP32 accuracy %.4f, %s (%s)\n", r.baseline_accuracy,
                     format_objective(r.baseline_objective, tc.objective).c_str(),
                     format_duration(seconds_since(t0)).c_str());
    }
    if (out)
      std::fflush(out);
    std::optional<PairedBootstrap> bootstrap;
    if (samples && !samples->empty())
      bootstrap.emplace(std::move(*samples), LossUnits{tc.relative, tc.higher_is_better},
                        tc.random_seed, tc.confidence > 0 ? tc.confidence : 0.9);
    Session session(config, backend, ws, ops, space, r.baseline_accuracy,
                    bootstrap ? &*bootstrap : nullptr, out, start);
    make_strategy(tc.strategy)->run(session);
    r.full_evaluations += session.full_evaluations;
    r.bootstrap_seconds = session.bootstrap_seconds;
    r.trials = static_cast<int64_t>(session.trials().size());
    r.unused_ahead = static_cast<int64_t>(session.unused_ahead());
    for (const auto &t : session.trials()) {
      r.history_trials.push_back(t);
      r.resumed_trials += t.resumed;
    }
    if (const Trial *b = session.best()) {
      r.best = *b;
      r.has_best = true;
      r.goal_met = b->meets;
      r.relative_loss = session.relative_loss(b->accuracy);
    }
  }
  if (r.has_best && tc.objective == "performance") {
    // The baseline may come from the cache or from minutes ago under another
    // load: FP32 and the best plan are timed again together.
    std::vector<double> ms = backend.interleaved_latency({nullptr, &r.best.plan});
    r.baseline_objective = ms.at(0);
    r.best.objective = ms.at(1);
    if (out)
      std::fprintf(out,
                   "[latency] FP32 %.3f ms, best %.3f ms (measured interleaved, smallest "
                   "round median)\n",
                   ms[0], ms[1]);
  }
  if (r.has_best) {
    save_model_atomic(backend, &r.best.plan, r.output);
    r.precisions = backend.saved_precisions(r.best.plan, r.output);
    r.best_bytes = static_cast<int64_t>(fs::file_size(r.output));
    write_file_atomic(r.deploy, deploy_yaml(config, r));
  }
  r.inference_threads = backend.inference_threads();
  r.trial_groups = backend.parallel_trials();
  if (r.trial_groups > 1 && out)
    std::fprintf(out,
                 "[parallel] %d rank groups: %lld evaluations, %lld trials; %lld plans evaluated "
                 "ahead were not needed (not trials, not in the history)\n",
                 r.trial_groups, static_cast<long long>(r.full_evaluations),
                 static_cast<long long>(r.trials), static_cast<long long>(r.unused_ahead));
  ws.end_run(r.goal_met, r.inference_threads, r.trial_groups, r.unused_ahead);
  r.wall_s = seconds_since(start);
  return r;
}

} // namespace qtune::tune
