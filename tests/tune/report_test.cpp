// The final table and the --json object carry what the CLI promises.
#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>

#include "fake_backend.h"
#include "tune/report.h"
#include "tune/report_data.h"

namespace qtune::tune {
namespace {

TEST(Report, JsonHasTheDocumentedFieldsAndSummaryPrints) {
  std::string ws = (std::filesystem::temp_directory_path() / "qtune_tune_test_report").string();
  std::filesystem::remove_all(ws);
  std::vector<double> d(5, 0.0005);
  d[2] = 0.05;
  test::FakeBackend b(d);
  Config c;
  c.model.name = "fake";
  c.tuning.workspace_path = ws;
  TuneResult r = run_tuning(c, b, {});
  nlohmann::json j = result_json(c, r);
  for (const char *k : {"goal_met", "baseline", "best", "relative_loss", "trials",
                        "full_evaluations", "wall_s", "speedup", "output"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["goal_met"].get<bool>());
  EXPECT_EQ(j["best"]["fp32_ops"], nlohmann::json::array({"op2"}));
  // Counts are of the saved model's classification (TuningBackend::saved_precisions).
  EXPECT_EQ(j["best"]["ops_int8"], 4);
  EXPECT_EQ(j["best"]["ops_fp32"], 1);
  EXPECT_EQ(j["best"]["precisions"].size(), 5u);
  EXPECT_EQ(j["best"]["not_int8_by_source"], nlohmann::json({{"tuner", 1}}));
  // 15 ms FP32 (10 + 5 ops) vs 11 ms with four int8 ops.
  EXPECT_NEAR(j["speedup"].get<double>(), 15.0 / 11.0, 1e-9);
  EXPECT_NEAR(j["relative_loss"].get<double>(), 0.002 / 0.8, 1e-9);

  char *buf = nullptr;
  size_t len = 0;
  std::FILE *mem = open_memstream(&buf, &len);
  print_summary(mem, c, r);
  std::fclose(mem);
  std::string text(buf, len);
  std::free(buf);
  EXPECT_NE(text.find("goal met"), std::string::npos) << text;
  EXPECT_NE(text.find("speedup"), std::string::npos) << text;
  EXPECT_NE(text.find(r.output), std::string::npos) << text;
  EXPECT_NE(text.find("4/0/1"), std::string::npos) << text;
  EXPECT_NE(text.find("not int8 because of:   1 tuner"), std::string::npos) << text;
}

// history.jsonl's interval is of the loss (criterion units, positive = worse);
// the trial chart draws accuracy, so the bars go through accuracy_at_loss (a
// YOLOX run drew its -2% .. 5% relative loss interval at accuracy -0.02 .. 0.05).
TEST(Report, LossIntervalIsDrawnInAccuracyUnits) {
  ReportData d;
  d.baseline_accuracy = 0.30, d.relative = true, d.higher_is_better = true, d.criterion = 0.01;
  EXPECT_NEAR(d.accuracy_at_loss(0.05), 0.285, 1e-12);
  EXPECT_NEAR(d.accuracy_at_loss(-0.02), 0.306, 1e-12);
  EXPECT_DOUBLE_EQ(d.goal_accuracy(), d.accuracy_at_loss(0.01));
  d.baseline_accuracy = 2.0, d.relative = false, d.higher_is_better = false; // an absolute MSE
  EXPECT_NEAR(d.accuracy_at_loss(0.1), 2.1, 1e-12);
}

} // namespace
} // namespace qtune::tune
