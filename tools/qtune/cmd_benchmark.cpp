// `qtune benchmark MODEL [--threads N] [--iterations N] [--warmup N]
// [--rounds N] [--instances N --cores-per-instance C] [--config YAML] [--json]
// [--profile]`: latency of one inference on inputs filled with a fixed
// pseudo-random pattern (symbolic dims = 1), QDQ models lowered to int8
// kernels; prints median, p90, throughput and the lowering counts, with
// --profile a per-op-type and top-nodes table (with --json: every node), with
// --instances N pinned processes (LPOT's multi-instance benchmark) and their
// aggregate throughput.
#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "qtune/error.h"
#include "tune/benchmark_model.h"
#include "tune/config.h"

#include "instances.h"

namespace qtune::cli {

namespace {

void print_profile(const tune::BenchmarkResult &r) {
  fmt::print("\n{:<24} {:>6} {:>10} {:>7}\n", "op type", "nodes", "ms/iter", "share");
  for (const tune::OpTypeTime &t : r.by_type)
    fmt::print("{:<24} {:>6} {:>10.3f} {:>6.1f}%\n", t.op_type, t.nodes, t.ms_per_run,
               100 * t.share);
  fmt::print("\n{:<48} {:<16} {:>10}  {}\n", "top nodes", "op", "ms/iter", "implementation");
  for (size_t i = 0; i < r.nodes.size() && i < 15; ++i) {
    const NodeProfile &p = r.nodes[i];
    fmt::print("{:<48} {:<16} {:>10.3f}  {}\n", p.name.substr(0, 48), p.op_type, p.total_ms,
               p.implementation);
  }
}

// --profile --json: every op type and every node, ms per timed run.
nlohmann::json profile_json(const tune::BenchmarkResult &r) {
  nlohmann::json types = nlohmann::json::array(), nodes = nlohmann::json::array();
  for (const tune::OpTypeTime &t : r.by_type)
    types.push_back({{"op_type", t.op_type},
                     {"nodes", t.nodes},
                     {"ms_per_run", t.ms_per_run},
                     {"share", t.share}});
  for (const NodeProfile &p : r.nodes)
    nodes.push_back({{"name", p.name},
                     {"op_type", p.op_type},
                     {"ms_per_run", p.total_ms},
                     {"implementation", p.implementation}});
  return {{"op_types", types}, {"nodes", nodes}};
}

struct Options {
  std::string model;
  int threads = 0;
  int iterations = 50;
  int warmup = 5;
  int rounds = 1;
  int instances = 1;
  int cores_per_instance = 0;
  std::string config;
  bool json = false, profile = false, no_optimize = false;
};

// The model timed in this process (tune/latency.h: rounds of `iterations`
// runs, the smallest round median is the latency).
int benchmark_one(const Options &o) {
  tune::BenchmarkResult r = tune::benchmark_model({.model = o.model,
                                                   .threads = o.threads,
                                                   .iterations = o.iterations,
                                                   .warmup = o.warmup,
                                                   .rounds = o.rounds,
                                                   .profile = o.profile,
                                                   .optimize = !o.no_optimize});
  const tune::LatencyStats &st = r.latency;
  const quant::LowerReport &lowering = r.lowering;
  int used_threads = r.threads;
  if (o.json) {
    nlohmann::json j{{"model", o.model},
                     {"latency_ms_median", st.median_ms},
                     {"latency_ms_p90", st.p90_ms},
                     {"latency_ms_min", st.min_ms},
                     {"latency_ms_mean", st.mean_ms},
                     {"round_medians_ms", st.round_medians_ms},
                     {"throughput_per_s", 1000.0 / st.median_ms},
                     {"threads", used_threads},
                     {"cpus", usable_cpus()}, // the affinity this process runs with
                     {"iterations", st.runs},
                     {"rounds", o.rounds},
                     {"lowering", lowering.rules}};
    if (o.profile)
      j["profile"] = profile_json(r);
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("{}: {} threads, {} iterations{}\nlatency median {:.3f} ms, p90 {:.3f} ms, min "
               "{:.3f} ms\nthroughput {:.2f} inferences/s\n",
               o.model, used_threads, st.runs,
               o.rounds > 1 ? fmt::format(" in {} rounds (median: the smallest round's)", o.rounds)
                            : "",
               st.median_ms, st.p90_ms, st.min_ms, 1000.0 / st.median_ms);
    if (!lowering.rules.empty())
      fmt::print("int8 lowering: {}\n", lowering.summary());
  }
  if (o.profile && !o.json)
    print_profile(r);
  return 0;
}

// N pinned processes (instances.h), each running benchmark_one; aggregate
// throughput is the sum of the instances' (LPOT's multi-instance summary).
int benchmark_instances(const Options &o) {
  std::vector<std::string> args{"benchmark",    o.model,
                                "--threads",    std::to_string(o.cores_per_instance),
                                "--iterations", std::to_string(o.iterations),
                                "--warmup",     std::to_string(o.warmup),
                                "--rounds",     std::to_string(o.rounds),
                                "--json"};
  if (o.no_optimize)
    args.push_back("--no-optimize");
  std::vector<InstanceRun> runs = run_instances(args, o.instances, o.cores_per_instance);
  nlohmann::json per = nlohmann::json::array();
  double throughput = 0;
  std::vector<double> medians;
  for (const InstanceRun &r : runs) {
    nlohmann::json j = nlohmann::json::parse(r.stdout_text, nullptr, false);
    if (r.exit_code != 0 || j.is_discarded() || !j.contains("latency_ms_median"))
      throw std::runtime_error(
          fmt::format("benchmark instance {} failed (exit code {})", r.instance, r.exit_code));
    nlohmann::json row{{"instance", r.instance},
                       {"cpus", j["cpus"]}, // as the instance itself saw its affinity
                       {"latency_ms_median", j["latency_ms_median"]},
                       {"latency_ms_p90", j["latency_ms_p90"]},
                       {"throughput_per_s", j["throughput_per_s"]},
                       {"iterations", j["iterations"]}};
    throughput += j["throughput_per_s"].get<double>();
    medians.push_back(j["latency_ms_median"].get<double>());
    per.push_back(row);
  }
  std::sort(medians.begin(), medians.end());
  if (o.json) {
    nlohmann::json out{{"model", o.model},
                       {"instances", o.instances},
                       {"cores_per_instance", o.cores_per_instance},
                       {"throughput_per_s", throughput},
                       {"latency_ms_median", medians[medians.size() / 2]},
                       {"per_instance", per}};
    fmt::print("{}\n", out.dump());
    return 0;
  }
  fmt::print("{}: {} instances x {} cores\n{:>8} {:>10} {:>14} {:>12} {:>14}\n", o.model,
             o.instances, o.cores_per_instance, "instance", "cpus", "median ms", "p90 ms",
             "inferences/s");
  for (const nlohmann::json &r : per) {
    std::string cpus;
    for (int c : r["cpus"])
      cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
    fmt::print("{:>8} {:>10} {:>14.3f} {:>12.3f} {:>14.2f}\n", r["instance"].get<int>(), cpus,
               r["latency_ms_median"].get<double>(), r["latency_ms_p90"].get<double>(),
               r["throughput_per_s"].get<double>());
  }
  fmt::print("aggregate throughput {:.2f} inferences/s\n", throughput);
  return 0;
}

// evaluation.performance of an LPOT YAML: warmup, iteration and
// configs.{cores_per_instance, num_of_instance} where the command line left
// the defaults.
void apply_config(Options &o, const CLI::App &sub) {
  if (o.config.empty())
    return;
  tune::Config c = tune::load_config(o.config);
  const tune::PerformanceConfig &p = c.performance;
  if (sub.count("--warmup") == 0)
    o.warmup = static_cast<int>(p.warmup);
  if (sub.count("--iterations") == 0)
    o.iterations = static_cast<int>(p.iteration);
  if (sub.count("--instances") == 0)
    o.instances = static_cast<int>(p.num_of_instance);
  if (sub.count("--cores-per-instance") == 0)
    o.cores_per_instance = static_cast<int>(p.cores_per_instance);
}

int benchmark(Options o, const CLI::App &sub) {
  apply_config(o, sub);
  if (o.instances > 1 || o.cores_per_instance > 0) {
    if (o.cores_per_instance <= 0)
      o.cores_per_instance = std::max<int>(1, usable_cpus().size() / std::max(o.instances, 1));
    if (o.profile)
      throw InputError("--profile times one process: use it without --instances");
    return benchmark_instances(o);
  }
  return benchmark_one(o);
}

} // namespace

Command add_benchmark_command(CLI::App &app) {
  auto *sub = app.add_subcommand("benchmark", "Measure inference latency of a model (FP32 or "
                                              "QDQ int8), optionally as N pinned instances");
  auto o = std::make_shared<Options>();
  sub->add_option("MODEL", o->model, "model file: FP32, or INT8 (QDQ / QOperator ONNX)")
      ->required();
  sub->add_flag("--no-optimize", o->no_optimize, "skip graph optimization passes");
  sub->add_option("--threads", o->threads, "threads (0 = all cores)");
  sub->add_option("--iterations", o->iterations, "timed runs per round");
  sub->add_option("--warmup", o->warmup, "untimed runs first");
  sub->add_option("--rounds", o->rounds,
                  "rounds of --iterations runs; the latency is the smallest round median "
                  "(robust on a busy machine)");
  sub->add_option("--instances", o->instances, "separate processes, each pinned to its own cores");
  sub->add_option("--cores-per-instance", o->cores_per_instance,
                  "cores (and threads) of each instance (default: the usable CPUs / instances)");
  sub->add_option(
      "--config", o->config,
      "LPOT YAML: evaluation.performance warmup, iteration, configs.cores_per_instance, "
      "configs.num_of_instance (the command line wins)");
  sub->add_flag("--json", o->json, "one JSON object");
  sub->add_flag("--profile", o->profile, "per-op-type and top-node times");
  return {sub, [o, sub] { return benchmark(*o, *sub); }};
}

} // namespace qtune::cli
