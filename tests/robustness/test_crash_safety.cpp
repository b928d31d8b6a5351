// Crash safety with the real backend (issue 13): `qtune tune` of the
// Fashion-MNIST example is SIGKILLed at four places (mid-baseline,
// mid-calibration, mid-trial, between writing the output model's temporary and
// renaming it) through the QTUNE_KILL_AT hook, each time rerun with --resume;
// no finished trial may run twice, no partial output or temporary may remain,
// and the chain must choose the plan an uninterrupted run chooses.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>

#include "bad_input_util.h"

namespace qtune::test {
namespace {

using nlohmann::json;

// The first `n` items of a gzip'ed IDX file, as a plain IDX file.
void idx_head(const std::string &gz, const fs::path &out, uint32_t n, size_t item_bytes,
              size_t header) {
  gzFile f = gzopen(gz.c_str(), "rb");
  ASSERT_NE(f, nullptr) << gz;
  std::string bytes(header + n * item_bytes, '\0');
  int got = gzread(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  ASSERT_EQ(got, static_cast<int>(bytes.size())) << gz;
  for (int i = 0; i < 4; ++i) // item count, big-endian, at byte 4
    bytes[4 + i] = static_cast<char>(n >> (24 - 8 * i));
  write_file(out, bytes);
}

// 600 test images in batches of 100 (6 evaluate batches per evaluation), 64
// calibration images in batches of 16, three trials of the basic strategy.
std::string config(const fs::path &dir) {
  std::string ds = "      dataset:\n        FashionMNIST:\n";
  std::string tf = "      transform:\n        Rescale: {scale: 0.00392156862745098}\n"
                   "        Layout: {layout: NCHW}\n";
  return "model:\n  name: fm\n  framework: onnxrt_qdq\n  path: " +
         source_dir("examples/fashion_mnist/fashion_mnist_cnn.onnx") +
         "\n  inputs: image\n  outputs: logits\n"
         "quantization:\n  calibration:\n    sampling_size: 64\n    dataloader:\n"
         "      batch_size: 16\n" +
         ds + "          images: " + (dir / "train-images").string() +
         "\n          labels: " + (dir / "train-labels").string() + "\n" + tf +
         "evaluation:\n  accuracy:\n    metric: {topk: 1}\n    dataloader:\n"
         "      batch_size: 100\n" +
         ds + "          images: " + (dir / "test-images").string() +
         "\n          labels: " + (dir / "test-labels").string() + "\n" + tf +
         "tuning:\n  strategy: {name: basic}\n  accuracy_criterion: {relative: 0.5}\n"
         "  objective: modelsize\n  exit_policy: {timeout: 3600, max_trials: 3}\n"
         "  random_seed: 9527\n"
         "  workspace: {path: " +
         (dir / "ws").string() + "}\n";
}

struct TuneRun {
  int status;
  std::string out;
};

// `qtune tune` in `dir` with QTUNE_KILL_AT=`kill_at` (empty: none).
TuneRun tune(const fs::path &dir, const std::string &kill_at, const std::string &extra) {
  std::string cmd = "cd '" + dir.string() + "' && " +
                    (kill_at.empty() ? "" : "QTUNE_KILL_AT=" + kill_at + " ") +
                    "timeout -s KILL 300 " + qtune_binary() + " tune --config c.yaml --json " +
                    extra + " </dev/null >out.json 2>progress.txt";
  int status = std::system(cmd.c_str());
  return {status, read_file(dir / "out.json")};
}

bool killed(int status) {
  // std::system's shell reports the child's SIGKILL as exit code 137.
  return (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
         (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL);
}

// Every history line parses; returns the trial keys in order.
std::vector<std::string> history_trials(const fs::path &ws) {
  std::vector<std::string> keys;
  std::ifstream in(ws / "history.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "partial history line: " << line;
    if (!j.is_discarded() && j.value("event", "") == "trial")
      keys.push_back(j["key"]);
  }
  return keys;
}

std::vector<std::string> temporaries(const fs::path &ws) {
  std::vector<std::string> out;
  for (const auto &e : fs::directory_iterator(ws))
    if (e.path().filename().string().find(".tmp.") != std::string::npos)
      out.push_back(e.path().filename().string());
  return out;
}

void expect_no_repeats(const std::vector<std::string> &keys, const std::string &when) {
  std::set<std::string> unique(keys.begin(), keys.end());
  EXPECT_EQ(unique.size(), keys.size()) << when << ": a finished trial was evaluated again";
}

class CrashSafety : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("qtune_crash_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    idx_head(fashion_mnist("train-images-idx3-ubyte.gz"), dir_ / "train-images", 64, 784, 16);
    idx_head(fashion_mnist("train-labels-idx1-ubyte.gz"), dir_ / "train-labels", 64, 1, 8);
    idx_head(fashion_mnist("t10k-images-idx3-ubyte.gz"), dir_ / "test-images", 600, 784, 16);
    idx_head(fashion_mnist("t10k-labels-idx1-ubyte.gz"), dir_ / "test-labels", 600, 1, 8);
    write_file(dir_ / "c.yaml", config(dir_));
  }
  void TearDown() override {
    if (!HasFailure())
      fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(CrashSafety, KilledTuneResumesWithoutRepeatsOrLeftovers) {
  // Reference: one uninterrupted run in its own workspace.
  TuneRun ref = tune(dir_, "", "--workspace ref_ws");
  ASSERT_TRUE(WIFEXITED(ref.status)) << read_file(dir_ / "progress.txt");
  json ref_json = json::parse(ref.out, nullptr, false);
  ASSERT_FALSE(ref_json.is_discarded()) << ref.out << read_file(dir_ / "progress.txt");
  ASSERT_EQ(history_trials(dir_ / "ref_ws").size(), 3u);
  fs::path ws = dir_ / "ws", model = ws / "fm_int8.onnx";

  // 1. Mid-baseline (3rd of 6 evaluate batches): nothing cached, no trial.
  ASSERT_TRUE(killed(tune(dir_, "evaluate-batch:3", "").status));
  EXPECT_FALSE(fs::exists(ws / "baseline_cache.json"));
  EXPECT_TRUE(history_trials(ws).empty());

  // 2. Mid-calibration (2nd of 4 batches), after a completed baseline.
  ASSERT_TRUE(killed(tune(dir_, "calibrate-batch:2", "--resume").status));
  EXPECT_TRUE(fs::exists(ws / "baseline_cache.json"));
  EXPECT_TRUE(history_trials(ws).empty());

  // 3. Mid-trial: the baseline is cached, so evaluate batch 9 is the 3rd
  //    batch of trial 2; trial 1 is finished and recorded.
  ASSERT_TRUE(killed(tune(dir_, "evaluate-batch:9", "--resume").status));
  std::vector<std::string> after3 = history_trials(ws);
  ASSERT_EQ(after3.size(), 1u);

  // 4. During the model write: trials 2 and 3 run (trial 1 is reused), the
  //    model's temporary is written, the process dies before the rename.
  ASSERT_TRUE(killed(tune(dir_, "model-write:1", "--resume").status));
  std::vector<std::string> after4 = history_trials(ws);
  EXPECT_EQ(after4.size(), 3u);
  expect_no_repeats(after4, "after the model-write kill");
  EXPECT_FALSE(fs::exists(model)) << "a partial output model is in place";
  EXPECT_FALSE(temporaries(ws).empty()) << "the kill did not happen inside the model write";

  // 5. The rerun reuses all three trials, writes the model, cleans up.
  TuneRun last = tune(dir_, "", "--resume");
  ASSERT_TRUE(WIFEXITED(last.status)) << read_file(dir_ / "progress.txt");
  json j = json::parse(last.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << last.out << read_file(dir_ / "progress.txt");
  std::vector<std::string> final_keys = history_trials(ws);
  EXPECT_EQ(final_keys, after4) << "the resumed run evaluated a finished trial again";
  expect_no_repeats(final_keys, "after the final run");
  EXPECT_TRUE(temporaries(ws).empty()) << temporaries(ws).front();
  EXPECT_TRUE(fs::exists(model));
  EXPECT_EQ(
      std::system(
          ("exec " + qtune_binary() + " inspect '" + model.string() + "' >/dev/null 2>&1").c_str()),
      0);
  EXPECT_EQ(j["resumed_trials"], 3);
  EXPECT_EQ(j["full_evaluations"], 0);
  // Same decision as the uninterrupted run (model size is the objective, so
  // the choice does not depend on timings).
  EXPECT_EQ(j["best"]["plan"].dump(), ref_json["best"]["plan"].dump());
  EXPECT_EQ(j["best"]["accuracy"], ref_json["best"]["accuracy"]);
  EXPECT_EQ(history_trials(dir_ / "ref_ws"), final_keys);
}

} // namespace
} // namespace qtune::test
