#include <spdlog/spdlog.h>

#include <memory>

#include "r1/cli/commands.h"
#include "r1/config.h"
#include "r1/runtime.h"
#include "r1/trainer.h"

namespace r1::cli {

void add_train_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("train", "GRPO training from a YAML config (`r1train --config F` is the same)");
  struct Args {
    std::string file;
    std::vector<std::string> overrides;
    ResumeOptions resume;
  };
  auto args = std::make_shared<Args>();
  add_config_options(sub, args->file, args->overrides);
  sub->add_option("--resume", args->resume.from,
                  "auto: continue from the newest complete checkpoint in train.output_dir if any; none: start "
                  "fresh (refused if the run directory has checkpoints); DIR: that checkpoint")
      ->capture_default_str();
  sub->add_flag("--allow-config-change", args->resume.allow_config_change,
                "Resume even if settings that alter the run (model, data, rollout, rewards, grpo, optim) changed");
  sub->callback([&action, args] {
    action = [args] {
      Config config = load_config({args->file, args->overrides}, ConfigUse::Train);
      if (config.train.threads > 0) configure_threads(config.train.threads);
      Trainer trainer(config, args->resume);
      trainer.run();
      return 0;
    };
  });
}

}  // namespace r1::cli
