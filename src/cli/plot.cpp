#include <iostream>
#include <memory>

#include "r1/cli/commands.h"
#include "r1/core/error.h"
#include "r1/plot/plot.h"

namespace r1::cli {

namespace {

struct PlotOptions {
  std::string run_dir;
  std::string output;
};

}  // namespace

void add_plot_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand(
      "plot", "Draw a run's metrics.jsonl (and eval.jsonl): reward, each reward, length, KL, eval accuracy");
  auto o = std::make_shared<PlotOptions>();
  sub->add_option("run_dir", o->run_dir, "Run directory (holds metrics.jsonl)")->required();
  sub->add_option("--output,-o", o->output,
                  "FILE.svg | FILE.html | FILE.png (PNG through rsvg-convert); default RUN_DIR/plot.svg and plot.html");
  sub->callback([&action, o] {
    action = [o] {
      for (const auto& path : write_plot(o->run_dir, o->output)) std::cout << path.string() << "\n";
      return kExitOk;
    };
  });
}

}  // namespace r1::cli
