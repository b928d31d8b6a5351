// The HTML tuning report, rendered by headless Chromium: `qtune tune` writes
// report.html, `qtune report` rewrites it, Chromium draws it into a PNG that
// must show the report's sections (its colours are found in the pixels), logs
// no console error, and the DOM it parsed holds every section.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli_util.h"
#include "data/image_decode.h"

namespace fs = std::filesystem;
using qtune::test::run_qtune;

namespace {

bool have_chromium() {
  return std::system("command -v chromium >/dev/null 2>&1") == 0;
}

std::string slurp(const fs::path &p) {
  std::ifstream f(p);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// Runs headless Chromium on `html`; returns its stderr log, writes `png` and `dom`.
std::string render(const fs::path &html, const fs::path &png, const fs::path &dom) {
  const fs::path log = png.string() + ".log";
  const std::string common = "timeout 120 chromium --headless --disable-gpu --no-sandbox "
                             "--enable-logging=stderr --v=0 --window-size=1200,2600 ";
  std::system((common + "--screenshot=" + png.string() + " file://" + html.string() + " 2>" +
               log.string() + " >/dev/null")
                  .c_str());
  std::system(
      (common + "--dump-dom file://" + html.string() + " >" + dom.string() + " 2>>" + log.string())
          .c_str());
  return slurp(log);
}

size_t occurrences(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// Pixels within 12 of `rgb` in every channel.
size_t count_color(const qtune::data::Image &img, int r, int g, int b) {
  size_t n = 0;
  for (size_t i = 0; i + 2 < img.pixels.size(); i += img.channels)
    n += std::abs(img.pixels[i] - r) <= 12 && std::abs(img.pixels[i + 1] - g) <= 12 &&
         std::abs(img.pixels[i + 2] - b) <= 12;
  return n;
}

} // namespace

TEST(ReportHtml, TuneWritesAReportChromiumRenders) {
  if (!have_chromium())
    GTEST_SKIP() << "chromium not installed (scripts/deps.sh installs it): the report is not "
                    "rendered";
  const fs::path ws = fs::temp_directory_path() / "qtune_report_html_ws";
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
  const std::string log = render(html, png, dom);
  EXPECT_EQ(log.find("CONSOLE"), std::string::npos) << log;
  const std::string d = slurp(dom);
  for (const char *id : {"summary", "trials", "precision", "errors", "histograms"})
    EXPECT_NE(d.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_GE(occurrences(d, "<svg"), 3u);
  // One precision row per quantizable op (4 in this CNN), one error row per
  // compared tensor.
  EXPECT_EQ(occurrences(d, "class=\"p int8\""), 4u);

  // The screenshot is a drawn page, not a blank or error page: the int8 badges'
  // blue, the histograms' grey bars and the int8-range shading are there.
  qtune::data::Image img = qtune::data::load_image_file(png.string());
  ASSERT_EQ(img.width, 1200);
  EXPECT_GT(count_color(img, 0x2a, 0x7a, 0xb0), 200u);  // int8 badges + accuracy points
  EXPECT_GT(count_color(img, 0x55, 0x55, 0x55), 2000u); // histogram bars
  size_t non_white = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i)
    non_white += img.pixels[i] < 240;
  EXPECT_GT(non_white, img.pixels.size() / 50);
}

TEST(ReportHtml, MissingWorkspaceIsOneLineError) {
  auto r = run_qtune("report /nonexistent/qtune_ws");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("qtune: error: /nonexistent/qtune_ws/report_inputs.json"), std::string::npos)
      << r.out;
}
