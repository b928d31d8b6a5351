// The HTML tuning report, rendered by headless Chromium: `qtune tune` writes
// report.html, `qtune report` rewrites it, Chromium draws it into a PNG that
// must show the report's sections (its colours are found in the pixels), logs
// no console error, and the DOM it parsed holds every section.
#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <unistd.h>

#include "cli_util.h"
#include "report_render.h"

namespace fs = std::filesystem;
using qtune::test::run_qtune;

using qtune::test::count_color;
using qtune::test::have_chromium;
using qtune::test::occurrences;
using qtune::test::slurp;

TEST(ReportHtml, TuneWritesAReportChromiumRenders) {
  if (!have_chromium())
    GTEST_SKIP() << "chromium not installed (scripts/deps.sh installs it): the report is not "
                    "rendered";
  const fs::path ws =
      fs::temp_directory_path() / ("qtune_report_html_ws_" + std::to_string(::getpid()));
  fs::remove_all(ws);
  auto r = run_qtune("tune --config examples/fashion_mnist/fashion_mnist.yaml --threads 1 "
                     "--workspace " +
                     ws.string());
  ASSERT_EQ(r.status, 0) << r.out;
  const fs::path html = ws / "report.html";
  ASSERT_TRUE(fs::exists(html)) << r.out;
  EXPECT_NE(r.out.find("[report] " + html.string()), std::string::npos) << r.out;

  // Self-contained: no script, no external resource.
  const std::string text = slurp(html);
  EXPECT_EQ(text.find("<script"), std::string::npos);
  EXPECT_FALSE(std::regex_search(text, std::regex(R"((src|href)\s*=)")));
  EXPECT_EQ(
      std::regex_replace(text, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "").find("http"),
      std::string::npos);

  // `qtune report` rewrites it from the workspace.
  fs::remove(html);
  auto again = run_qtune("report " + ws.string() + " --threads 1");
  ASSERT_EQ(again.status, 0) << again.out;
  ASSERT_TRUE(fs::exists(html));

  const fs::path png = ws / "report.png", dom = ws / "report.dom.html";
  const std::string log = qtune::test::render_report(html, png, dom, 1200, 2600);
  EXPECT_EQ(log.find("CONSOLE"), std::string::npos) << log;
  const std::string d = slurp(dom);
  for (const char *id : {"summary", "trials", "precision", "errors", "histograms"})
    EXPECT_NE(d.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_GE(occurrences(d, "<svg"), 3u);
  // One precision row per quantizable op of the saved model (7 in this CNN:
  // 2 Conv, 2 MaxPool, Flatten, 2 Gemm; all int8 at the example's goal).
  EXPECT_EQ(occurrences(d, "class=\"p int8\""), 7u);

  // The screenshot is a drawn page, not a blank or error page: the int8 badges'
  // blue, the histograms' grey bars and the int8-range shading are there.
  qtune::data::Image img = qtune::data::load_image_file(png.string());
  ASSERT_EQ(img.width, 1200);
  EXPECT_GT(count_color(img, 0x2a, 0x7a, 0xb0), 200u);  // int8 badges + accuracy points
  EXPECT_GT(count_color(img, 0x55, 0x55, 0x55), 2000u); // histogram bars
  EXPECT_GT(qtune::test::drawn_share(img), 0.02);
}

TEST(ReportHtml, MissingWorkspaceIsOneLineError) {
  auto r = run_qtune("report /nonexistent/qtune_ws");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("qtune: error: /nonexistent/qtune_ws/report_inputs.json"), std::string::npos)
      << r.out;
}
