#include "tune/model_backend.h"
#include "tune/kill_point.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <random>
#include <unistd.h>

#include <set>

#include "dist/comm.h"
#include "frontends/model_loader.h"
#include "frontends/onnx/onnx_import.h"
#include "ir/passes/pass.h"
#include "qtune/error.h"
#include "quant/bias_correction.h"
#include "quant/calibrate.h"
#include "quant/inference_graph.h"
#include "quant/op_names.h"
#include "quant/plan.h"
#include "quant/quantize_graph.h"
#include "quant/switch_graph.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"
#include "runtime/omp_team.h"
#include "tune/dist_calibration.h"
#include "tune/quantize_model.h"
#include "tune/tuner.h"
#include "tune/workspace.h"

namespace qtune::tune {

namespace fs = std::filesystem;

std::shared_ptr<Graph> load_model_file(const std::string &path, const LoadOptions &options) {
  auto g = std::make_shared<Graph>(load_model(path, options));
  // Exact rewrites first, so NHWC imports (TF, tf2onnx) are calibrated and
  // quantized as convs that meet directly, with their per-channel Add/Mul
  // folded in, rather than with Q/DQ around every layout Transpose.
  optimize_transposes(*g);
  fold_conv_affine(*g);
  fold_space_to_depth_conv(*g); // YOLOX Focus stem: int8 QConv straight on the image
  eliminate_dead_nodes(*g);
  return g;
}

FedInput fed_input(const Graph &graph, const ModelConfig &model) {
  FedInput in;
  if (!model.inputs.empty()) {
    in.name = model.inputs.front();
  } else {
    for (const auto &v : graph.inputs)
      if (!graph.is_initializer(v.name)) {
        in.name = v.name;
        break;
      }
  }
  for (const auto &v : graph.inputs)
    if (v.name == in.name)
      in.dtype = v.dtype;
  return in;
}

LoadOptions load_options(const ModelConfig &model) {
  LoadOptions o;
  o.framework = model.framework;
  o.inputs = model.inputs;
  o.outputs = model.outputs;
  return o;
}

void save_model_file(const Graph &graph, const std::string &path) {
  save_onnx(graph, path);
}

LatencyOptions latency_options(const PerformanceConfig &p) {
  LatencyOptions o;
  o.warmup = static_cast<int>(p.warmup);
  o.iterations = static_cast<int>(p.iteration);
  o.rounds = 3;
  return o;
}

namespace {

// Unique to this process and moment: what keys the cache of an unnamed eval_func.
std::string unique_run_tag() {
  std::random_device rd;
  return std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" +
         std::to_string(rd());
}

// The tuner's plan in the quantizer's terms: model-wise scheme, fallbacks by
// name, each with who decided it (`yaml_only`: ops the YAML allows no int8).
quant::Plan to_quant_plan(const TunePlan &p, const Config &c,
                          const std::set<std::string> &yaml_only) {
  quant::Plan q;
  q.model_wise.precision = quant::Precision::int8;
  q.model_wise.weight.per_channel = p.quant.weight_granularity == "per_channel";
  q.model_wise.activation.asymmetric = p.quant.activation_scheme == "asym";
  q.model_wise.activation.algorithm =
      quant::calib_algorithm_from_name(p.quant.activation_algorithm);
  for (const auto &[name, prec] : p.ops) {
    if (prec == Precision::int8)
      continue;
    quant::DecisionOverride o;
    o.precision = prec;
    o.reason = yaml_only.count(name)
                   ? "yaml: op_wise / optype_wise allow no int8"
                   : "tuner: fallen back to " + std::string(precision_name(prec)) + " by the " +
                         c.tuning.strategy + " strategy";
    q.op_wise[name] = o;
  }
  q.recipes = recipes_from_config(c.quantization);
  return q;
}

class ModelBackend : public TuningBackend {
public:
  explicit ModelBackend(ModelBackendSetup s) : s_(std::move(s)), c_(*s_.config) {
    const Graph &g = *s_.fp32;
    const FedInput in = fed_input(g, c_.model);
    input_name_ = in.name;
    for (const auto &v : g.outputs)
      output_names_.push_back(v.name);
    const DType input_dtype = in.dtype; // uint8 image_tensor inputs take 8-bit images as is
    if (!s_.eval) {
      evaluator_ = std::make_unique<AccuracyEvaluator>(c_, input_name_, output_names_, input_dtype);
      if (evaluator_->uses_fp32_reference() && s_.trial_groups > 1)
        throw InputError(c_.file +
                         ": parallel trials (--trial-groups) need a metric with labels: " +
                         "a label-free metric keeps its FP32 reference per rank's shard");
      if (evaluator_->uses_fp32_reference())
        evaluator_->set_reference(
            [this](const Inputs &in) {
              if (!fp32_executor_)
                fp32_executor_ = std::make_unique<Executor>(fp32_fast());
              return fp32_executor_->run(in);
            },
            reference_cache_path());
    }
    if (!s_.calibration) {
      yaml_calibration_ = true;
      if (!c_.quantization.calibration.dataloader.present())
        throw InputError(c_.file + ": 'quantization.calibration.dataloader' is needed "
                                   "(or pass a q_dataloader through the C++ API)");
      calib_source_ = std::make_unique<BatchSource>(c_.quantization.calibration.dataloader,
                                                    "quantization.calibration.dataloader",
                                                    input_name_, input_dtype);
      s_.calibration = [this](size_t limit, const std::function<void(const Inputs &)> &fn) {
        calib_source_->for_each(limit, [&](const Inputs &in, const auto &) { fn(in); });
      };
    }
  }

  std::vector<TuneOp> quantizable_ops() override {
    std::vector<TuneOp> ops;
    for (const auto &n : quant::list_quantizable_nodes(*s_.fp32)) {
      if (n.role == quant::QuantRole::passthrough)
        continue; // follows its neighbours
      const bool bf16 = n.role == quant::QuantRole::compute && yaml_names_bf16();
      ops.push_back({n.name, n.op_type,
                     bf16 ? std::vector{Precision::int8, Precision::bf16, Precision::fp32}
                          : std::vector{Precision::int8, Precision::fp32}});
    }
    return ops;
  }

  std::map<std::string, OpOptions> resolve_op_wise(const std::map<std::string, OpOptions> &op_wise,
                                                   std::vector<std::string> &messages) override {
    std::vector<std::string> names;
    for (const auto &[k, v] : op_wise)
      names.push_back(k);
    quant::ResolvedNames r =
        quant::resolve_op_names(*s_.fp32, names, c_.file + ": quantization.op_wise");
    messages.insert(messages.end(), r.messages.begin(), r.messages.end());
    return quant::rekey_op_wise(op_wise, r);
  }

  // bf16 kernels exist for Conv/MatMul/Gemm, but on CPUs without AMX oneDNN's
  // bf16 convolutions run slower than f32 (here ~1.5x), so bf16 is a fallback
  // only when the YAML asks for it (model_wise, optype_wise or op_wise dtype).
  bool yaml_names_bf16() const {
    auto names = [](const OpOptions &o) {
      for (const auto *list : {&o.activation.dtype, &o.weight.dtype})
        if (std::find(list->begin(), list->end(), "bf16") != list->end())
          return true;
      return false;
    };
    const QuantizationConfig &q = c_.quantization;
    bool any = names(q.model_wise);
    for (const auto &[k, o] : q.optype_wise)
      any = any || names(o);
    for (const auto &[k, o] : q.op_wise)
      any = any || names(o);
    return any;
  }

  OpOptions supported_options() override {
    OpOptions o;
    o.weight.scheme = {"sym"};
    o.weight.granularity = {"per_channel", "per_tensor"};
    o.weight.algorithm = {"minmax"};
    o.activation.scheme = {"asym"};
    o.activation.granularity = {"per_tensor"};
    o.activation.algorithm = {"minmax", "kl"};
    return o;
  }

  double evaluate(const TunePlan *plan) override {
    if (dist::world().size() > 1 && dist::world().is_root())
      send_evaluate(plan);
    return evaluate_here(plan);
  }

  // A user's eval_func runs in rank 0 alone: no rank groups then.
  int parallel_trials() const override { return s_.eval ? 1 : std::max(1, s_.trial_groups); }

  std::vector<PlanResult> evaluate_batch(const std::vector<TunePlan> &plans,
                                         const std::string &kind) override {
    if (plans.size() <= 1 || parallel_trials() <= 1 || dist::world().size() == 1)
      return TuningBackend::evaluate_batch(plans, kind); // each plan on all ranks
    nlohmann::json j = {{"cmd", "batch"},
                        {"kind", kind},
                        {"plans", nlohmann::json::array()},
                        {"stats", nlohmann::json::array()}};
    for (const TunePlan &p : plans) {
      j["plans"].push_back(p.to_json());
      const int64_t n = p.quant.sampling_size;
      if (stats_sent_.insert(n).second) // calibrated (by all ranks) or read here, before the batch
        j["stats"].push_back({{"sampling_size", n}, {"stats", stats(n).to_json()}});
    }
    std::string text = j.dump();
    dist::world().broadcast(text);
    return batch_results(run_batch(j), plans.size());
  }

  // Under mpirun, ranks other than 0 (which runs the tuner alone and owns the
  // workspace) wait here for each plan rank 0 evaluates and run their shard
  // of it, until rank 0 sends "stop". Messages are JSON: {"cmd": "evaluate",
  // "plan": plan or null (FP32), "sampling_size": N, "stats": calibration
  // statistics the first time a sampling size is used}, {"cmd": "batch",
  // "plans": [...], "kind": objective, "stats": [{"sampling_size", "stats"}]}
  // (one plan per rank group), {"cmd": "calibrate", "sampling_size": N}
  // (tune/dist_calibration.h) or {"cmd": "stop"}.
  void serve() {
    for (;;) {
      std::string text;
      dist::world().broadcast(text);
      const nlohmann::json j = nlohmann::json::parse(text);
      if (j.at("cmd") == "stop")
        return;
      if (j.at("cmd") == "batch") {
        run_batch(j);
        continue;
      }
      if (j.at("cmd") == "calibrate") {
        collect_stats(j.at("sampling_size").get<size_t>()); // rank 0 keeps the merged result
        continue;
      }
      if (j.contains("stats"))
        stats_[j.at("sampling_size").get<int64_t>()] =
            quant::CalibrationStats::from_json(j.at("stats"), "calibration statistics of rank 0");
      if (j.at("plan").is_null()) {
        evaluate_here(nullptr);
      } else {
        const TunePlan plan = TunePlan::from_json(j.at("plan"));
        evaluate_here(&plan);
      }
    }
  }

  void stop_workers() {
    std::string text = nlohmann::json{{"cmd", "stop"}}.dump();
    dist::world().broadcast(text);
  }

private:
  void send_evaluate(const TunePlan *plan) {
    nlohmann::json j = {{"cmd", "evaluate"}, {"plan", nullptr}};
    if (plan) {
      j["plan"] = plan->to_json();
      const int64_t n = plan->quant.sampling_size;
      j["sampling_size"] = n;
      if (stats_sent_.insert(n).second)
        j["stats"] = stats(n).to_json(); // calibrated (or read) here once, shared
    }
    std::string text = j.dump();
    dist::world().broadcast(text);
  }

  // `comm`: the ranks sharing this evaluation (null: all).
  double evaluate_here(const TunePlan *plan, dist::Comm *comm = nullptr) {
    std::shared_ptr<const Graph> g = plan ? built(*plan).lowered : fp32_fast();
    if (s_.eval)
      return s_.eval(g);
    Executor ex(g, {.threads = s_.threads});
    return evaluator_->evaluate(
        [&](const Inputs &in) {
          std::vector<Tensor> out = ex.run(in);
          threads_used_ = std::max(threads_used_, omp_team_size()); // on the running thread
          return out;
        },
        plan == nullptr, comm);
  }

  // Every rank's part of a batch: rank group g evaluates plan g, sharded over
  // its ranks, and the group's first rank measures the objective; those
  // results reach rank 0 (in group order), which gets them back, the other
  // ranks nothing.
  std::vector<std::string> run_batch(const nlohmann::json &j) {
    dist::Comm &world = dist::world();
    if (!world.is_root())
      for (const auto &st : j.at("stats"))
        stats_[st.at("sampling_size").get<int64_t>()] =
            quant::CalibrationStats::from_json(st.at("stats"), "calibration statistics of rank 0");
    const auto &plans = j.at("plans");
    const size_t g =
        static_cast<size_t>(dist::group_of(world.rank(), world.size(), s_.trial_groups));
    std::string mine;
    if (g < plans.size()) {
      const auto t0 = std::chrono::steady_clock::now();
      const TunePlan plan = TunePlan::from_json(plans[g]);
      const double accuracy = evaluate_here(&plan, s_.group.get());
      if (s_.group->is_root()) {
        nlohmann::json r = {{"accuracy", accuracy},
                            {"objective", objective(&plan, j.at("kind").get<std::string>())}};
        if (evaluator_)
          r["samples"] = metrics::to_json(evaluator_->last_run().samples);
        r["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        mine = r.dump();
      }
    }
    return world.gather(mine);
  }

  // The group leaders' messages (empty from the other ranks) as results.
  static std::vector<PlanResult> batch_results(const std::vector<std::string> &messages,
                                               size_t plans) {
    std::vector<PlanResult> out;
    for (const std::string &m : messages) {
      if (m.empty())
        continue;
      const std::string where = "result of rank group " + std::to_string(out.size());
      const nlohmann::json r = nlohmann::json::parse(m);
      PlanResult p;
      p.accuracy = r.at("accuracy").get<double>();
      p.objective = r.at("objective").get<double>();
      p.seconds = r.at("seconds").get<double>();
      if (r.contains("samples"))
        p.samples = metrics::sample_results_from_json(r.at("samples"), where);
      out.push_back(std::move(p));
    }
    if (out.size() != plans)
      throw Error("parallel trials: " + std::to_string(out.size()) + " rank groups answered for " +
                  std::to_string(plans) + " plans");
    return out;
  }

public:
  const metrics::SampleResults *sample_results() override {
    return evaluator_ ? &evaluator_->last_run().samples : nullptr;
  }
  bool keeps_sample_results() const override { return evaluator_ != nullptr; }

  double objective(const TunePlan *plan, const std::string &kind) override {
    if (kind != "performance")
      return static_cast<double>(model_bytes(plan));
    return interleaved_latency({plan}).front();
  }

  std::vector<double> interleaved_latency(const std::vector<const TunePlan *> &plans) override {
    const Inputs &in = sample_batch();
    std::vector<std::unique_ptr<Executor>> ex;
    std::vector<std::function<void()>> runs;
    for (const TunePlan *plan : plans) {
      ex.push_back(std::make_unique<Executor>(plan ? built(*plan).lowered : fp32_fast(),
                                              ExecutorOptions{.threads = s_.threads}));
      runs.push_back([&in, e = ex.back().get()] { e->run(in); });
    }
    std::vector<double> ms;
    for (const LatencyStats &s : measure_interleaved(runs, latency_options(c_.performance)))
      ms.push_back(s.median_ms);
    threads_used_ = std::max(threads_used_, omp_team_size()); // the runs' thread
    return ms;
  }

  int inference_threads() const override { return threads_used_; }

  std::map<std::string, double> op_damage(const TunePlan &plan) override {
    // Each int8 op of `plan` measured alone: the error at the model outputs
    // when it is the only int8 op, on a few calibration batches. Measuring ops
    // inside one all-int8 model would charge an early op's error to every op
    // downstream of it; alone, the op that really hurts stands out. Independent
    // of the rest of the plan, so each op is measured once per scheme.
    std::vector<std::string> todo;
    for (const auto &[name, p] : plan.ops)
      if (p == Precision::int8 && !damage_cache_.count(alone_key(plan, name)))
        todo.push_back(name);
    if (!todo.empty())
      measure_alone(plan, todo);
    std::map<std::string, double> damage;
    for (const auto &[name, p] : plan.ops)
      if (p == Precision::int8)
        damage[name] = damage_cache_.at(alone_key(plan, name));
    return damage;
  }

  void save(const TunePlan *plan, const std::string &path) override {
    save_model_file(plan ? *built(*plan).qdq : *s_.fp32, path);
  }

  std::vector<quant::OpPrecision> saved_precisions(const TunePlan &,
                                                   const std::string &path) override {
    return quant::op_precisions(load_model(path));
  }

  // Hashes the model file once: the tuner and the statistics cache both ask.
  std::string context_key() override {
    if (!context_key_.empty())
      return context_key_;
    std::string model =
        fs::exists(s_.model_path) ? file_hash(s_.model_path) : "graph:" + s_.fp32->name;
    std::string eval;
    if (s_.eval) {
      // An unnamed eval_func gets a key of its own run: two different functions
      // on one workspace must never share a cached baseline.
      eval = s_.eval_name.empty() ? "eval_func (unnamed) " + unique_run_tag()
                                  : "eval_func " + s_.eval_name;
    } else {
      YAML::Emitter e;
      e << c_.accuracy.dataloader.node << c_.accuracy.metric << c_.accuracy.postprocess;
      eval = e.c_str();
    }
    context_key_ = model + "-" + fnv1a_hex(model + "|" + eval);
    return context_key_;
  }

  int64_t model_bytes(const TunePlan *plan) override {
    if (!plan && fs::exists(s_.model_path))
      return static_cast<int64_t>(fs::file_size(s_.model_path));
    std::string tmp =
        (fs::temp_directory_path() / ("qtune_size_" + std::to_string(::getpid()) + ".onnx"))
            .string();
    save(plan, tmp);
    int64_t n = static_cast<int64_t>(fs::file_size(tmp));
    fs::remove(tmp);
    return n;
  }

private:
  static constexpr size_t kDamageSamples = 1;
  static constexpr size_t kBiasCorrectionSamples = 16;

  static std::string alone_key(const TunePlan &plan, const std::string &op) {
    TunePlan scheme_only = plan;
    scheme_only.ops.clear();
    return scheme_only.key() + "|" + op;
  }

  // The first `n` calibration batches (kept: ranking and bias correction reuse them).
  std::vector<Inputs> calibration_batches(size_t n) {
    if (kept_batches_.size() < n) {
      kept_batches_.clear();
      s_.calibration(n, [&](const Inputs &in) {
        Inputs copy;
        for (const auto &[k, v] : in)
          copy.emplace(k, v.clone());
        kept_batches_.push_back(std::move(copy));
      });
    }
    const size_t k = std::min(n, kept_batches_.size());
    return {kept_batches_.begin(), kept_batches_.begin() + static_cast<std::ptrdiff_t>(k)};
  }

  // One switch graph (quant/switch_graph.h) for all `todo` ops: built and
  // ranked on the plain quantization (activation_equalization's rewrite is not
  // in it: the ranking orders ops, it does not score the trial model), and
  // prepared once, then run once per op and batch with that op's switch on.
  // Costs (ops + 1) x batches inferences of the FP32 graph plus the switches,
  // instead of one quantize + lower + kernel preparation per op.
  void measure_alone(const TunePlan &plan, const std::vector<std::string> &todo) {
    auto t0 = std::chrono::steady_clock::now();
    TunePlan all = plan;
    for (const std::string &name : todo)
      all.ops[name] = Precision::int8;
    Graph qdq = quant::quantize_graph(*s_.fp32, stats(plan.quant.sampling_size),
                                      to_quant_plan(all, c_, yaml_only()));
    quant::SwitchGraph sg = quant::build_switch_graph(*s_.fp32, qdq, todo);
    const std::vector<std::string> ranked = sg.ops;
    const std::vector<Inputs> batches = calibration_batches(kDamageSamples);
    std::vector<double> err = quant::score_ops_alone(std::move(sg), batches);
    for (const std::string &name : todo)
      damage_cache_[alone_key(plan, name)] = 0.0; // no int8 input: no damage
    for (size_t k = 0; k < ranked.size(); ++k)
      damage_cache_[alone_key(plan, ranked[k])] = err[k];
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s_.progress) {
      std::fprintf(s_.progress, "[rank] %zu ops measured alone on %zu batches (%.1f s)\n",
                   ranked.size(), batches.size(), seconds);
      std::fflush(s_.progress);
    }
    write_ranking(plan, seconds, batches.size());
  }

  // <workspace>/ranking.json: the ops of the last ranking, most damaging first.
  // {"method": "switch_graph_alone_nmse", "batches": B, "seconds": S,
  //  "ops": [{"op": NAME, "type": OP_TYPE, "score": NMSE}, ...]}
  // score = sum over the model outputs of |out - out_fp32|^2 / |out_fp32|^2 when
  // only that op is int8, averaged over B calibration batches (larger = worse).
  void write_ranking(const TunePlan &plan, double seconds, size_t batches) {
    if (c_.tuning.workspace_path.empty())
      return;
    std::vector<std::pair<double, std::string>> order;
    for (const auto &[name, p] : plan.ops)
      if (auto it = damage_cache_.find(alone_key(plan, name)); it != damage_cache_.end())
        order.push_back({-it->second, name});
    std::sort(order.begin(), order.end());
    std::map<std::string, std::string> types;
    for (const auto &n : quant::list_quantizable_nodes(*s_.fp32))
      types[n.name] = n.op_type;
    nlohmann::json ops = nlohmann::json::array();
    for (const auto &[neg, name] : order)
      ops.push_back({{"op", name}, {"type", types[name]}, {"score", -neg}});
    nlohmann::json j = {{"method", "switch_graph_alone_nmse"},
                        {"batches", batches},
                        {"seconds", seconds},
                        {"ops", ops}};
    fs::create_directories(c_.tuning.workspace_path);
    write_file_atomic((fs::path(c_.tuning.workspace_path) / "ranking.json").string(),
                      j.dump(1) + "\n");
  }

  struct Built {
    std::string key;
    std::shared_ptr<const Graph> qdq, lowered;
  };

  const quant::CalibrationStats &stats(int64_t sampling_size) {
    auto it = stats_.find(sampling_size);
    if (it != stats_.end())
      return it->second;
    const std::string cache = stats_cache_path(sampling_size);
    if (!cache.empty() && fs::exists(cache)) {
      try {
        auto &st = stats_[sampling_size] = quant::CalibrationStats::load(cache);
        if (s_.progress)
          std::fprintf(s_.progress, "[calibration] statistics from %s\n", cache.c_str());
        return st;
      } catch (const Error &e) {
        stats_.erase(sampling_size); // unreadable cache: calibrate again below
        if (s_.progress)
          std::fprintf(s_.progress, "[calibration] ignoring %s\n", e.what());
      }
    }
    if (s_.progress) {
      std::fprintf(s_.progress, "[calibration] collecting statistics on %s samples ...\n",
                   sampling_size > 0 ? std::to_string(sampling_size).c_str() : "all");
      std::fflush(s_.progress);
    }
    auto t0 = std::chrono::steady_clock::now();
    auto &st = stats_[sampling_size] = collect_stats(static_cast<size_t>(sampling_size));
    if (s_.progress)
      std::fprintf(s_.progress, "[calibration] done in %.1f s\n",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!cache.empty())
      st.save(cache);
    return st;
  }

  // Statistics of the YAML's calibration data are kept in the workspace (keyed
  // by model, dataloader section and sample count), so a resumed or repeated
  // tuning run skips calibration. Batches from the API's q_dataloader cannot be
  // identified, so they are not cached.
  std::string stats_cache_path(int64_t sampling_size) {
    if (!yaml_calibration_ || c_.tuning.workspace_path.empty() || !dist::world().is_root())
      return "";
    YAML::Emitter e;
    e << c_.quantization.calibration.dataloader.node;
    std::string key = context_key() + "|" + e.c_str() + "|" + std::to_string(sampling_size);
    if (recipes_from_config(c_.quantization).cross_layer_equalization)
      key += "|cross_layer_equalization"; // the statistics are of the equalized graph
    fs::create_directories(c_.tuning.workspace_path);
    return (fs::path(c_.tuning.workspace_path) / ("calibration-" + fnv1a_hex(key) + ".json"))
        .string();
  }

  // The FP32 outputs a label-free metric compares with, kept in the workspace
  // (keyed by model + evaluation data + metric) so a resumed run reuses them.
  std::string reference_cache_path() {
    if (c_.tuning.workspace_path.empty() || dist::world().size() > 1)
      return "";
    fs::create_directories(c_.tuning.workspace_path);
    return (fs::path(c_.tuning.workspace_path) /
            ("fp32_reference-" + fnv1a_hex(context_key()) + ".bin"))
        .string();
  }

  // One calibration pass (the quantizer's observers) over `limit` samples.
  quant::CalibrationStats collect_stats(size_t limit) {
    if (dist::world().size() > 1 && calib_source_) { // shared by the ranks, same statistics
      if (dist::world().is_root()) {
        std::string text =
            nlohmann::json{{"cmd", "calibrate"}, {"sampling_size", static_cast<int64_t>(limit)}}
                .dump();
        dist::world().broadcast(text);
      }
      return calibrate_sharded(s_.fp32, {.threads = s_.threads}, *calib_source_, limit,
                               [] { kill_point("calibrate-batch"); });
    }
    quant::Calibrator cal(s_.fp32, {.threads = s_.threads});
    s_.calibration(limit, [&](const Inputs &in) {
      kill_point("calibrate-batch");
      cal.add(in);
    });
    return cal.take();
  }

  const Built &built(const TunePlan &plan) {
    std::string key = plan.key();
    if (last_.key == key)
      return last_;
    const auto &st = stats(plan.quant.sampling_size);
    const quant::Plan qplan = to_quant_plan(plan, c_, yaml_only());
    quant::QuantizeReport report;
    std::vector<std::string> messages; // the same every trial: not repeated
    auto qdq = std::make_shared<Graph>(quantize_with_recipes(
        *s_.fp32, st, qplan,
        has_qdq_recipes(qplan.recipes) ? calibration_batches(kBiasCorrectionSamples)
                                       : std::vector<Inputs>{},
        &report, messages));
    auto lowered = std::make_shared<Graph>(*qdq);
    quant::prepare_for_inference(*lowered);
    last_ = {key, qdq, lowered};
    return last_;
  }

  // The FP32 baseline as users would deploy it (BN folded, fused), so the
  // INT8 speedup is measured against our best FP32, not an unfused graph.
  std::shared_ptr<const Graph> fp32_fast() {
    if (!fp32_fast_) {
      auto g = std::make_shared<Graph>(*s_.fp32);
      optimize_graph_with_runtime(*g);
      fp32_fast_ = g;
    }
    return fp32_fast_;
  }

  // Ops whose precision the YAML fixes out of int8 (the tuner never had int8).
  const std::set<std::string> &yaml_only() {
    if (!yaml_only_) {
      std::vector<std::string> messages; // the tuner printed them
      yaml_only_.emplace();
      for (const TuneOp &op : tuning_ops(*this, c_.quantization, messages))
        if (std::find(op.options.begin(), op.options.end(), Precision::int8) == op.options.end())
          yaml_only_->insert(op.name);
    }
    return *yaml_only_;
  }

  // One calibration batch, the input the latency is measured on.
  const Inputs &sample_batch() {
    if (latency_input_.empty())
      s_.calibration(1, [&](const Inputs &in) {
        if (latency_input_.empty())
          latency_input_ = in;
      });
    if (latency_input_.empty())
      throw InputError(c_.file + ": the calibration data is empty");
    return latency_input_;
  }

  ModelBackendSetup s_;
  const Config &c_;
  std::string input_name_;
  std::vector<std::string> output_names_;
  std::unique_ptr<AccuracyEvaluator> evaluator_;
  std::unique_ptr<Executor> fp32_executor_; // label-free metrics' reference runs
  std::unique_ptr<BatchSource> calib_source_;
  std::map<int64_t, quant::CalibrationStats> stats_;
  std::set<int64_t> stats_sent_; // sampling sizes whose statistics the workers have
  std::optional<std::set<std::string>> yaml_only_;
  bool yaml_calibration_ = false;
  std::string context_key_;
  Built last_;
  Inputs latency_input_;
  std::shared_ptr<const Graph> fp32_fast_;
  std::vector<Inputs> kept_batches_;
  std::map<std::string, double> damage_cache_; // alone_key -> damage
  int threads_used_ = 0;                       // inference_threads()
};

ModelBackend &model_backend(TuningBackend &backend) {
  auto *b = dynamic_cast<ModelBackend *>(&backend);
  if (!b)
    throw Error("distributed tuning needs the model backend (make_model_backend)");
  return *b;
}

} // namespace

void serve_evaluations(TuningBackend &backend) {
  model_backend(backend).serve();
}

void release_workers(TuningBackend &backend) {
  if (dist::world().size() > 1 && dist::world().is_root())
    model_backend(backend).stop_workers();
}

std::unique_ptr<TuningBackend> make_model_backend(ModelBackendSetup setup) {
  if (!setup.config || !setup.fp32)
    throw Error("make_model_backend: config and model required");
  return std::make_unique<ModelBackend>(std::move(setup));
}

} // namespace qtune::tune
