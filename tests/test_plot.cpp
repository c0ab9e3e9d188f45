// `r1train plot`: tick choice, which metrics become panels, and the SVG/HTML written.
#include <nlohmann/json.hpp>
#include <gtest/gtest.h>

#include <fstream>

#include "r1/core/error.h"
#include "r1/plot/plot.h"
#include "test_util.h"

namespace r1 {
namespace {

using test::run_r1train;
using test::TempDir;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

void expect_ticks(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << i;
}

TEST(PlotTicks, RoundStepsCoveringTheRange) {
  // (1 - 0) / 4 = 0.25 per gap rounds to 0.2.
  expect_ticks(nice_ticks(0, 1, 5), {0, 0.2, 0.4, 0.6, 0.8, 1});
  // (97 - 3) / 4 = 23.5 rounds to 20; 0 is the multiple at or below 3, 100 the one at or above 97.
  EXPECT_EQ(nice_ticks(3, 97, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  // (60 - 25) / 4 = 8.75 rounds to 10.
  EXPECT_EQ(nice_ticks(25, 60, 5), (std::vector<double>{20, 30, 40, 50, 60}));
  EXPECT_EQ(nice_ticks(2, 2, 5), (std::vector<double>{2}));
}

void write_run(const TempDir& dir, bool with_eval) {
  std::string metrics;
  for (int s = 1; s <= 30; ++s) {
    metrics += nlohmann::json({{"step", s},
                               {"reward", 0.05 * s},
                               {"rewards/math/mean", 0.03 * s},
                               {"rewards/format/mean", 0.02 * s},
                               {"completions/mean_length", 20 + s},
                               {"kl", 0.0},
                               {"loss", 1.0}})
                   .dump() +
               "\n";
  }
  metrics += "{\"step\": 31, \"reward\": \n";  // a line cut short by a crash is skipped
  dir.write("run/metrics.jsonl", metrics);
  if (with_eval)
    dir.write("run/eval.jsonl", "{\"step\": 0, \"pass@1\": 0.3, \"format_rate\": 0.1, \"mean_length\": 25}\n"
                                "{\"step\": 30, \"pass@1\": 0.9, \"format_rate\": 1.0, \"mean_length\": 55}\n");
}

TEST(PlotPanels, RewardsFormatFirstThenLengthKlAndEval) {
  TempDir dir;
  write_run(dir, true);
  auto panels = collect_panels(dir.path / "run");
  std::vector<std::string> titles;
  for (const auto& p : panels) titles.push_back(p.title);
  EXPECT_EQ(titles, (std::vector<std::string>{"reward", "rewards/format/mean (format rate)",
                                              "rewards/math/mean (accuracy)", "completions/mean_length (tokens)",
                                              "kl", "eval pass@1 (held-out accuracy)", "eval format rate",
                                              "eval mean length (tokens)"}));
  EXPECT_EQ(panels[0].x.size(), 30u);
  EXPECT_DOUBLE_EQ(panels[0].y.back(), 1.5);
  EXPECT_EQ(panels[5].x, (std::vector<double>{0, 30}));
}

TEST(PlotPanels, SftRunShowsLossAndMissingRunIsBadInput) {
  TempDir dir;
  dir.write("sft/metrics.jsonl", "{\"step\": 1, \"loss\": 5.5}\n{\"step\": 2, \"loss\": 3.0}\n");
  auto panels = collect_panels(dir.path / "sft");
  ASSERT_EQ(panels.size(), 1u);
  EXPECT_EQ(panels[0].title, "loss");
  EXPECT_THROW(collect_panels(dir.path / "nothing"), InputError);
  dir.write("odd/metrics.jsonl", "{\"step\": 1, \"other\": 1}\n");
  EXPECT_THROW(collect_panels(dir.path / "odd"), InputError);
}

TEST(PlotSvg, OnePanelPerMetricWithTicksAndLabels) {
  TempDir dir;
  write_run(dir, false);
  auto panels = collect_panels(dir.path / "run");
  std::string svg = render_svg(panels, "demo");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(count(svg, "class=\"title\""), panels.size());
  EXPECT_EQ(count(svg, "class=\"frame\""), panels.size());
  // 30 points: each panel draws the raw line and its moving average.
  EXPECT_EQ(count(svg, "<polyline"), 2 * panels.size());
  EXPECT_NE(svg.find(">rewards/format/mean (format rate)</text>"), std::string::npos);
  // The reward panel (0.05 .. 1.5) has ticks 0, 0.5, 1, 1.5 labelled with one decimal ...
  EXPECT_NE(svg.find("class=\"ytick\">1.5</text>"), std::string::npos);
  // ... and steps 1..30 ticks 0, 10, 20, 30.
  EXPECT_NE(svg.find("class=\"xtick\">30</text>"), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  std::string html = render_html(svg, "a <b> run");
  EXPECT_NE(html.find("<title>a &lt;b&gt; run</title>"), std::string::npos);
  EXPECT_NE(html.find(svg), std::string::npos);
}

TEST(PlotCli, WritesSvgAndHtmlAndRejectsUnknownFormats) {
  TempDir dir;
  write_run(dir, true);
  auto run = (dir.path / "run").string();
  auto r = run_r1train("plot " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir.path / "run" / "plot.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir.path / "run" / "plot.html"));
  r = run_r1train("plot " + run + " --output " + (dir.path / "p.svg").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir.path / "p.svg");
  std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(count(svg, "class=\"title\""), 8u);
  r = run_r1train("plot " + run + " --output " + (dir.path / "p.gif").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(".svg, .html or .png"), std::string::npos) << r.output;
  r = run_r1train("plot " + (dir.path / "missing").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("metrics.jsonl"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace r1
