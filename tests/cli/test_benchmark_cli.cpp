// `qtune benchmark` as LPOT users run it: N instances pinned to their own
// cores (each instance reports the CPU affinity it actually ran with), the
// YAML's evaluation.performance keys, and a core count the machine lacks.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sched.h>
#include <set>
#include <string>
#include <sys/wait.h>

#include "cli_util.h"

namespace fs = std::filesystem;
using qtune::test::shared_data;

namespace {

struct Out {
  int rc = 0;
  std::string text;
};

// JSON runs keep stderr out of the text.
Out run(const std::string &args, bool json = true) {
  qtune::test::CliResult r = qtune::test::run_qtune("benchmark " + args, !json);
  return {WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, r.out};
}

int usable_cpus() {
  cpu_set_t set;
  return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
}

std::string mnist() {
  return shared_data("models/mnist/zuramai/mnist.onnx");
}

// Two instances of one core each: every instance ran its iterations on a CPU
// of its own, and the aggregate throughput is their sum.
void expect_two_pinned_instances(const nlohmann::json &j, int iterations) {
  EXPECT_EQ(j["instances"], 2);
  EXPECT_EQ(j["cores_per_instance"], 1);
  ASSERT_EQ(j["per_instance"].size(), 2u) << j.dump();
  std::set<int> cpus;
  double sum = 0;
  for (const auto &r : j["per_instance"]) {
    EXPECT_EQ(r["iterations"], iterations);
    ASSERT_EQ(r["cpus"].size(), 1u) << "instance not pinned to one core: " << r.dump();
    cpus.insert(r["cpus"][0].get<int>());
    EXPECT_GT(r["latency_ms_median"].get<double>(), 0);
    EXPECT_GE(r["latency_ms_p90"].get<double>(), r["latency_ms_median"].get<double>());
    sum += r["throughput_per_s"].get<double>();
  }
  EXPECT_EQ(cpus.size(), 2u) << "instances share a core: " << j.dump();
  EXPECT_NEAR(j["throughput_per_s"].get<double>(), sum, 1e-6 * sum);
}

} // namespace

TEST(BenchmarkCli, InstancesArePinnedToTheirOwnCores) {
  if (usable_cpus() < 2)
    GTEST_SKIP() << "needs 2 CPUs";
  Out o = run(mnist() + " --instances 2 --cores-per-instance 1 --iterations 9 --json");
  ASSERT_EQ(o.rc, 0) << o.text;
  expect_two_pinned_instances(nlohmann::json::parse(o.text), 9);
}

TEST(BenchmarkCli, LpotPerformanceKeysOfTheYamlAreHonoured) {
  if (usable_cpus() < 2)
    GTEST_SKIP() << "needs 2 CPUs";
  fs::path yaml = fs::temp_directory_path() / "qtune_benchmark_cli.yaml";
  std::ofstream(yaml) << "model:\n  name: mnist\n  framework: onnxrt_qlinearops\n"
                         "evaluation:\n  performance:\n    warmup: 2\n    iteration: 7\n"
                         "    configs:\n      cores_per_instance: 1\n      num_of_instance: 2\n";
  Out o = run(mnist() + " --config " + yaml.string() + " --json");
  fs::remove(yaml);
  ASSERT_EQ(o.rc, 0) << o.text;
  expect_two_pinned_instances(nlohmann::json::parse(o.text), 7);
}

TEST(BenchmarkCli, RoundsAndMoreCoresThanTheMachineHas) {
  Out o = run(mnist() + " --rounds 3 --iterations 4 --json");
  ASSERT_EQ(o.rc, 0) << o.text;
  nlohmann::json j = nlohmann::json::parse(o.text);
  EXPECT_EQ(j["iterations"], 12);
  ASSERT_EQ(j["round_medians_ms"].size(), 3u);
  double smallest = 1e30;
  for (double m : j["round_medians_ms"])
    smallest = std::min(smallest, m);
  EXPECT_EQ(j["latency_ms_median"].get<double>(), smallest);

  const int too_many = usable_cpus() + 1;
  o = run(mnist() + " --instances " + std::to_string(too_many) + " --cores-per-instance 1", false);
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.text.find("qtune: error: " + std::to_string(too_many) + " instances x 1 cores need"),
            std::string::npos)
      << o.text;
}

// --profile --json lists every node of the prepared graph once, with a time
// per run, and per-op-type rows whose node counts and times add up to them.
// UltraFace RFB-320 keeps far more than the text table's 15 nodes.
TEST(BenchmarkCli, ProfileJsonListsEveryNode) {
  std::string model = shared_data("models/ultraface/version-RFB-320.onnx");
  Out o = run(model + " --threads 1 --iterations 2 --warmup 1 --profile --json");
  ASSERT_EQ(o.rc, 0) << o.text;
  nlohmann::json j = nlohmann::json::parse(o.text);
  ASSERT_TRUE(j.contains("profile")) << o.text;
  const auto &nodes = j["profile"]["nodes"];
  ASSERT_GT(nodes.size(), 40u) << o.text;
  std::set<std::string> names;
  double node_ms = 0;
  for (const auto &n : nodes) {
    names.insert(n["name"].get<std::string>());
    EXPECT_GE(n["ms_per_run"].get<double>(), 0);
    node_ms += n["ms_per_run"].get<double>();
  }
  EXPECT_EQ(names.size(), nodes.size()) << "a node listed twice";
  size_t typed_nodes = 0;
  double type_ms = 0;
  for (const auto &t : j["profile"]["op_types"]) {
    typed_nodes += t["nodes"].get<size_t>();
    type_ms += t["ms_per_run"].get<double>();
  }
  EXPECT_EQ(typed_nodes, nodes.size());
  EXPECT_NEAR(type_ms, node_ms, 1e-6 + 1e-9 * node_ms);
  EXPECT_FALSE(run(mnist() + " --iterations 2 --json").text.find("\"profile\"") !=
               std::string::npos);
}
