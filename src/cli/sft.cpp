#include <iostream>
#include <memory>

#include "r1/cli/commands.h"
#include "r1/core/config.h"
#include "r1/core/error.h"
#include "r1/sft/sft.h"

namespace r1::cli {

void add_sft_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand(
      "sft", "Next-token training on a JSONL corpus (the sft: config section), writing Hugging Face checkpoints");
  auto source = std::make_shared<ConfigSource>();
  auto file = std::make_shared<std::string>();
  auto resume = std::make_shared<ResumeOptions>();
  add_config_options(sub, *file, source->overrides);
  add_resume_options(sub, *resume, "sft.output_dir");
  sub->callback([&action, source, file, resume] {
    action = [source, file, resume] {
      source->file = *file;
      Config config = load_config(*source, ConfigUse::Sft);
      auto result = run_sft(config, *resume);
      std::cout << result.checkpoint.string() << "\n";
      return kExitOk;
    };
  });
}

}  // namespace r1::cli
