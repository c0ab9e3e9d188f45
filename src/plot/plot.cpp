#include "r1/plot/plot.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "r1/core/error.h"
#include "r1/core/output_file.h"
#include "r1/core/jsonl.h"

namespace r1 {

namespace fs = std::filesystem;

namespace {

struct JsonlRows {
  std::vector<nlohmann::json> rows;  // objects with a numeric "step", in file order
};

JsonlRows read_rows(const fs::path& path) {
  JsonlRows out;
  if (!std::filesystem::exists(path)) return out;
  read_jsonl(path, {.role = "a run log", .skip_malformed = true}, [&](JsonlRow& line) {
    auto& j = line.value;
    if (j.contains("step") && j["step"].is_number()) out.rows.push_back(std::move(j));
  });
  return out;
}

// The panel of `key` over the rows that hold it as a finite number; empty when none do.
PlotPanel series(const JsonlRows& rows, const std::string& key, const std::string& title) {
  PlotPanel p{title, {}, {}};
  for (const auto& r : rows.rows) {
    if (!r.contains(key) || !r[key].is_number()) continue;
    double v = r[key].get<double>();
    if (!std::isfinite(v)) continue;
    p.x.push_back(r["step"].get<double>());
    p.y.push_back(v);
  }
  return p;
}

std::string escape_xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Tick label: as few digits as the tick spacing needs.
std::string tick_label(double v, double step) {
  if (v == 0) return "0";
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  if (std::abs(v) >= 1e5 || (std::abs(v) < 1e-3 && decimals > 4)) return fmt::format("{:.1e}", v);
  return fmt::format("{:.{}f}", v, decimals);
}

constexpr double kPanelW = 300, kPanelH = 190;                       // one panel
constexpr double kLeft = 52, kRight = 12, kTop = 26, kBottom = 30;  // plot area margins inside a panel
constexpr int kColumns = 3;

void render_panel(std::string& svg, const PlotPanel& p, double ox, double oy) {
  const double w = kPanelW - kLeft - kRight, h = kPanelH - kTop - kBottom;
  const double x0 = ox + kLeft, y0 = oy + kTop;  // top-left of the plot area
  svg += fmt::format("<g><text x=\"{:.1f}\" y=\"{:.1f}\" class=\"title\">{}</text>\n", ox + kPanelW / 2, oy + 16,
                     escape_xml(p.title));
  svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" class=\"frame\"/>\n", x0, y0,
                     w, h);
  auto [xmin_it, xmax_it] = std::minmax_element(p.x.begin(), p.x.end());
  auto [ymin_it, ymax_it] = std::minmax_element(p.y.begin(), p.y.end());
  double xlo = *xmin_it, xhi = *xmax_it, ylo = *ymin_it, yhi = *ymax_it;
  if (xhi == xlo) xlo -= 1, xhi += 1;
  if (yhi == ylo) {
    double pad = ylo == 0 ? 1 : std::abs(ylo) * 0.1;
    ylo -= pad, yhi += pad;
  }
  auto yt = nice_ticks(ylo, yhi, 5);
  auto xt = nice_ticks(xlo, xhi, 5);
  ylo = std::min(ylo, yt.front()), yhi = std::max(yhi, yt.back());
  xlo = std::min(xlo, xt.front()), xhi = std::max(xhi, xt.back());
  auto sx = [&](double v) { return x0 + (v - xlo) / (xhi - xlo) * w; };
  auto sy = [&](double v) { return y0 + h - (v - ylo) / (yhi - ylo) * h; };
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1, xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  for (double t : yt) {
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>", x0, sy(t),
                       x0 + w, sy(t));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"ytick\">{}</text>\n", x0 - 5, sy(t) + 3.5,
                       tick_label(t, ystep));
  }
  for (double t : xt) {
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" class=\"tick\"/>", sx(t), y0 + h,
                       sx(t), y0 + h + 4);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"xtick\">{}</text>\n", sx(t), y0 + h + 15,
                       tick_label(t, xstep));
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"xlabel\">step</text>\n", x0 + w, y0 + h + 27);
  auto polyline = [&](const std::vector<double>& ys, const char* cls) {
    std::string pts;
    for (std::size_t i = 0; i < ys.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", sx(p.x[i]), sy(ys[i]));
    svg += fmt::format("<polyline points=\"{}\" class=\"{}\"/>\n", pts, cls);
  };
  const bool smooth = p.y.size() >= 20;
  if (p.y.size() == 1) {
    svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" class=\"dot\"/>\n", sx(p.x[0]), sy(p.y[0]));
  } else {
    polyline(p.y, smooth ? "raw" : "line");
  }
  if (p.y.size() <= 12)
    for (std::size_t i = 0; i < p.y.size(); ++i)
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" class=\"dot\"/>\n", sx(p.x[i]), sy(p.y[i]));
  if (smooth) {
    // Centered moving average over about a tenth of the points.
    const std::size_t half = std::max<std::size_t>(1, p.y.size() / 20);
    std::vector<double> avg(p.y.size());
    for (std::size_t i = 0; i < p.y.size(); ++i) {
      std::size_t a = i >= half ? i - half : 0, b = std::min(p.y.size() - 1, i + half);
      double s = 0;
      for (std::size_t k = a; k <= b; ++k) s += p.y[k];
      avg[i] = s / static_cast<double>(b - a + 1);
    }
    polyline(avg, "line");
  }
  svg += "</g>\n";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, target - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;  // in [1, 10): rounded to 1, 2, 5 or 10 (Heckbert's nice numbers)
  const double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9);  // in units of step
  for (int i = 0; i <= 2 * target + 2; ++i) {
    const double t = (first + i) * step;
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::vector<PlotPanel> collect_panels(const fs::path& run_dir) {
  const fs::path metrics = run_dir / "metrics.jsonl";
  if (!fs::is_regular_file(metrics))
    throw InputError(metrics.string() + ": not found; plot takes a run directory written by r1train train or sft");
  const JsonlRows rows = read_rows(metrics);
  std::vector<PlotPanel> panels;
  auto add = [&](PlotPanel p) {
    if (!p.x.empty()) panels.push_back(std::move(p));
  };
  add(series(rows, "reward", "reward"));
  std::set<std::string> reward_keys;  // rewards/<name>/mean, sorted with format first
  for (const auto& r : rows.rows)
    for (const auto& [key, value] : r.items())
      if (key.rfind("rewards/", 0) == 0 && key.size() > 13 && key.compare(key.size() - 5, 5, "/mean") == 0)
        reward_keys.insert(key);
  std::vector<std::string> ordered(reward_keys.begin(), reward_keys.end());
  std::stable_partition(ordered.begin(), ordered.end(), [](const std::string& k) { return k == "rewards/format/mean"; });
  for (const auto& key : ordered) {
    std::string name = key.substr(8, key.size() - 13);
    std::string what = name == "format" || name == "tag_count" ? " (format rate)" : " (accuracy)";
    add(series(rows, key, key + what));
  }
  add(series(rows, "completions/mean_length", "completions/mean_length (tokens)"));
  add(series(rows, "kl", "kl"));
  if (panels.empty()) add(series(rows, "loss", "loss"));
  if (panels.empty())
    throw InputError(metrics.string() + ": no step holds reward, rewards/<name>/mean, completions/mean_length, kl or loss");
  const fs::path eval = run_dir / "eval.jsonl";
  if (fs::is_regular_file(eval)) {
    const JsonlRows erows = read_rows(eval);
    add(series(erows, "pass@1", "eval pass@1 (held-out accuracy)"));
    add(series(erows, "format_rate", "eval format rate"));
    add(series(erows, "mean_length", "eval mean length (tokens)"));
  }
  return panels;
}

std::string render_svg(const std::vector<PlotPanel>& panels, const std::string& title) {
  const int cols = std::min<int>(kColumns, static_cast<int>(panels.size()));
  const int rows = (static_cast<int>(panels.size()) + cols - 1) / cols;
  const double width = cols * kPanelW, height = rows * kPanelH + 30;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
      width, height);
  svg +=
      "<style>.title{font-size:12px;text-anchor:middle;fill:#222}.ytick{font-size:10px;text-anchor:end;fill:#444}"
      ".xtick{font-size:10px;text-anchor:middle;fill:#444}.xlabel{font-size:10px;text-anchor:end;fill:#666}"
      ".heading{font-size:14px;font-weight:bold;fill:#111}.frame{fill:none;stroke:#888;stroke-width:1}"
      ".grid{stroke:#e3e3e3;stroke-width:1}.tick{stroke:#888;stroke-width:1}"
      ".line{fill:none;stroke:#1f77b4;stroke-width:1.8}.raw{fill:none;stroke:#9ecae1;stroke-width:1}"
      ".dot{fill:#1f77b4}</style>\n";
  svg += fmt::format("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" class=\"heading\">{}</text>\n",
                     escape_xml(title));
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const double ox = static_cast<double>(static_cast<int>(i) % cols) * kPanelW;
    const double oy = 30 + static_cast<double>(static_cast<int>(i) / cols) * kPanelH;
    render_panel(svg, panels[i], ox, oy);
  }
  svg += "</svg>\n";
  return svg;
}

std::string render_html(const std::string& svg, const std::string& title) {
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title></head>\n"
      "<body style=\"margin:16px;background:#fafafa\">\n{1}</body></html>\n",
      escape_xml(title), svg);
}

std::vector<fs::path> write_plot(const fs::path& run_dir, const fs::path& output) {
  const auto panels = collect_panels(run_dir);
  const std::string title = "r1train: " + fs::absolute(run_dir).lexically_normal().filename().string();
  const std::string svg = render_svg(panels, title);
  auto write = [](const fs::path& path, const std::string& text) { write_file(path, text); };
  if (output.empty()) {
    write(run_dir / "plot.svg", svg);
    write(run_dir / "plot.html", render_html(svg, title));
    return {run_dir / "plot.svg", run_dir / "plot.html"};
  }
  const std::string ext = output.extension().string();
  if (ext == ".svg") {
    write(output, svg);
  } else if (ext == ".html" || ext == ".htm") {
    write(output, render_html(svg, title));
  } else if (ext == ".png") {
    if (std::system("command -v rsvg-convert >/dev/null 2>&1") != 0)
      throw InputError(output.string() + ": PNG needs rsvg-convert (apt-get install librsvg2-bin); or write .svg/.html");
    fs::path tmp = output;
    tmp += ".svg";
    write(tmp, svg);
    auto quote = [](const fs::path& p) {
      std::string s = "'";
      for (char c : p.string()) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
      return s + "'";
    };
    int rc = std::system(("rsvg-convert -b white -o " + quote(output) + " " + quote(tmp)).c_str());
    fs::remove(tmp);
    if (rc != 0) throw std::runtime_error("rsvg-convert failed to write " + output.string());
  } else {
    throw InputError(output.string() + ": unknown plot format '" + ext + "'; use .svg, .html or .png");
  }
  return {output};
}

}  // namespace r1
