// `r1train plot`: a run's metrics.jsonl (and eval.jsonl) drawn as small SVG line charts, one panel per metric.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace r1 {

// One metric over steps.
struct PlotPanel {
  std::string title;      // e.g. "rewards/format/mean (format rate)"
  std::vector<double> x;  // steps
  std::vector<double> y;  // values (non-finite values are left out)
};

// The panels of a run: from RUN_DIR/metrics.jsonl reward, each rewards/<name>/mean, completion
// length, KL (and loss when there is no reward, as in an SFT run); from RUN_DIR/eval.jsonl, when
// present, eval pass@1, format rate and length. Metrics missing from every line are skipped.
// InputError when metrics.jsonl is missing or holds no step with a known metric.
std::vector<PlotPanel> collect_panels(const std::filesystem::path& run_dir);

// About `target` evenly spaced round tick values (steps of 1, 2 or 5 x 10^k) from at or below lo to at
// or above hi.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// A self-contained SVG: a grid of panels, each with axes, ticks, tick labels, a title and the
// line (plus a moving average when there are many noisy points).
std::string render_svg(const std::vector<PlotPanel>& panels, const std::string& title);

// An HTML page with the SVG inline.
std::string render_html(const std::string& svg, const std::string& title);

// Writes the plot of run_dir to `output` (.svg, .html, or .png through rsvg-convert); with an
// empty output, writes RUN_DIR/plot.svg and RUN_DIR/plot.html. Returns the files written.
std::vector<std::filesystem::path> write_plot(const std::filesystem::path& run_dir, const std::filesystem::path& output);

}  // namespace r1
