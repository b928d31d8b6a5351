// The report of the YOLOX-Nano example tuning (examples/coco/yolox_nano.yaml,
// README "Examples"), rendered by headless Chromium at the size of
// docs/report_yolox_nano.png. Checked against what others computed: the FP32 AP
// in the report's summary is ONNX Runtime + pycocotools' (reference/stats.json,
// within preprocessing noise), and the precision map, which is read back from
// the saved best model's graph, accounts for every op of the plan the tuner chose.
// A real tuning (calibration on 100 images, FP32 and one trial on 80, the error
// table on 4): 47 s at 2 threads on the shared 2-core machine (load ~2.5).
#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "report_render.h"

namespace fs = std::filesystem;
using namespace qtune::test;

namespace {

constexpr int kWidth = 1000, kHeight = 1400; // docs/report_yolox_nano.png

double reference_fp32_ap() {
  nlohmann::json j = nlohmann::json::parse(slurp(shared_data("reference/stats.json")));
  return j.at("yolox_nano_val2017_tiny_bbox").at(0);
}

} // namespace

TEST(ReportYolox, ExampleTuningReportRenders) {
  if (!have_chromium())
    GTEST_SKIP() << "chromium not installed (scripts/deps.sh installs it)";
  const fs::path ws =
      fs::temp_directory_path() / ("qtune_report_yolox_" + std::to_string(::getpid()));
  fs::remove_all(ws);
  auto r = run_qtune("tune --config examples/coco/yolox_nano.yaml --threads 2 --json --workspace " +
                         ws.string(),
                     false);
  ASSERT_TRUE(r.status == 0 || WEXITSTATUS(r.status) == 3) << r.out;
  const nlohmann::json result = nlohmann::json::parse(r.out);
  const fs::path html = ws / "report.html";
  ASSERT_TRUE(fs::exists(html));

  const fs::path png = ws / "report.png", dom_file = ws / "report.dom.html";
  const std::string log = render_report(html, png, dom_file, kWidth, kHeight);
  EXPECT_EQ(log.find("CONSOLE"), std::string::npos) << log;
  const std::string dom = slurp(dom_file);
  for (const char *id : {"summary", "trials", "precision", "errors", "histograms"})
    EXPECT_NE(dom.find(std::string("id=\"") + id + "\""), std::string::npos) << id;

  // Summary: FP32 AP as pycocotools scores ONNX Runtime's detections (our
  // decode + letterbox differ by ~0.001 AP, README "Detection decoders").
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      dom, m,
      std::regex(R"(<td>accuracy</td><td class="n">([0-9.]+)</td><td class="n">([0-9.]+))")))
      << "summary accuracy row";
  EXPECT_NEAR(std::stod(m[1]), reference_fp32_ap(), 0.005);
  EXPECT_NEAR(std::stod(m[2]), result.at("best").at("accuracy").get<double>(), 5e-5);

  // Precision map, read from the saved model: one row per quantizable op; each op
  // the plan made int8 is int8 in the model, or its row says why not (a recipe
  // such as depthwise_range_check).
  const auto &best = result.at("best");
  const size_t planned_int8 = best.at("ops_int8"), planned = planned_int8 +
                                                             best.at("ops_bf16").get<size_t>() +
                                                             best.at("ops_fp32").get<size_t>();
  EXPECT_GE(planned_int8, 100u); // YOLOX-Nano: 120 quantizable ops, nearly all int8
  const size_t int8_rows = occurrences(dom, "class=\"p int8\"");
  EXPECT_EQ(int8_rows + occurrences(dom, "class=\"p bf16\"") + occurrences(dom, "class=\"p fp32\""),
            planned);
  EXPECT_EQ(int8_rows + occurrences(dom, "planned int8; the quantizer"), planned_int8);
  // ... with the quantizer's own reason (passed on through report_inputs.json).
  EXPECT_EQ(occurrences(dom, "the quantizer wrote it"), 0u);
  for (const auto &op : best.at("fp32_ops"))
    EXPECT_NE(dom.find("<td>" + op.get<std::string>() + "</td>"), std::string::npos) << op;

  // The screenshot is the drawn page: int8 badges / accuracy points in blue,
  // the latency series in orange, text and tables.
  qtune::data::Image img = qtune::data::load_image_file(png.string());
  ASSERT_EQ(img.width, kWidth);
  ASSERT_EQ(img.height, kHeight);
  EXPECT_GT(count_color(img, 0x2a, 0x7a, 0xb0), 500u);
  EXPECT_GT(count_color(img, 0xb0, 0x5a, 0x2a), 20u);
  EXPECT_GT(drawn_share(img), 0.02);
  if (const char *keep = std::getenv("QTUNE_REPORT_PNG")) // docs/report_yolox_nano.png
    fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
  fs::remove_all(ws);
}
