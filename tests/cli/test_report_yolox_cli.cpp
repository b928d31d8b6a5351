// The report of the YOLOX-Nano example tuning (examples/coco/yolox_nano.yaml,
// README "Examples"), rendered by headless Chromium at the size of
// docs/report_yolox_nano.png. Checked against what others computed: the FP32 AP
// in the report's summary is ONNX Runtime + pycocotools' (reference/stats.json,
// within preprocessing noise); the precision map, read back from the saved best
// model's graph, is what `qtune inspect` and `tune --json` say, and accounts for
// every op of the plan the tuner chose.
// A real tuning (calibration on 100 images, FP32 and one trial on 80, the error
// table on 4): 47 s at 2 threads on the shared 2-core machine (load ~2.5).
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
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

  // Precision map = `qtune inspect --json` of the saved model = `tune --json`:
  // one classification (quant/precision_map.h), the same op list, precisions
  // and reasons. Every op the plan made int8 is int8 or says who kept it fp32:
  // YOLOX-Nano's dark2 depthwise conv (recipe depthwise_range_check) and the
  // head's Concat / Reshape / Slice / Transpose on the fp32 decode (quantizer).
  const auto &best = result.at("best");
  auto inspect = run_qtune("inspect --json " + result.at("output").get<std::string>(), false);
  ASSERT_EQ(inspect.status, 0) << inspect.out;
  const nlohmann::json model_ops = nlohmann::json::parse(inspect.out).at("precisions");
  ASSERT_EQ(model_ops, best.at("precisions"));
  std::map<std::string, std::string> precision, why;
  for (const auto &op : model_ops) {
    const std::string source = op.at("source"), reason = op.at("reason");
    precision[op.at("name")] = op.at("precision");
    why[op.at("name")] = source == "graph" ? reason : source + ": " + reason;
    EXPECT_NE(dom.find("<tr><td>" + op.at("name").get<std::string>() + "</td><td>" +
                       op.at("op_type").get<std::string>() + "</td><td><span class=\"p " +
                       precision[op.at("name")] + "\">"),
              std::string::npos)
        << op;
  }
  for (const char *p : {"int8", "bf16", "fp32"})
    EXPECT_EQ(occurrences(dom, std::string("class=\"p ") + p + "\""),
              best.at(std::string("ops_") + p).get<size_t>())
        << p;
  EXPECT_GE(best.at("ops_int8").get<int>(), 100); // nearly all of YOLOX-Nano's 120 convs / adds
  for (const auto &[name, planned] : best.at("plan").at("ops").items()) {
    ASSERT_TRUE(precision.count(name)) << name;
    if (planned == "int8" && precision[name] != "int8") {
      EXPECT_TRUE(why[name].rfind("recipe: ", 0) == 0 || why[name].rfind("quantizer: ", 0) == 0)
          << name << ": " << why[name];
    }
  }
  EXPECT_EQ(why.at("/backbone/backbone/dark2/dark2.0/dconv/conv/Conv").rfind("recipe: ", 0), 0u);

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
