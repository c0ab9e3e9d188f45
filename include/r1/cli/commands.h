// The r1train subcommands: each file under src/cli/ registers one on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "r1/core/options.h"
#include "r1/train/checkpoint.h"

namespace r1::cli {

// The work a parsed subcommand will do; returns the process exit code.
using Action = std::function<int()>;

// Adds the `--config FILE` (required unless `optional`) and repeatable `--set KEY=VALUE` options.
void add_config_options(CLI::App* sub, std::string& file, std::vector<std::string>& overrides, bool optional = false);

// Adds an option that takes one of the names in E's table (listed in the help); any other value is
// bad usage (exit 2), reported before any work.
template <class E>
CLI::Option* add_choice_option(CLI::App* sub, const std::string& flags, E& target, const std::string& help) {
  std::map<std::string, E> names;
  for (const auto& o : option_table(E{})) names.emplace(std::string(o.name), o.value);
  return sub->add_option(flags, target, help + ": " + option_list<E>())
      ->transform(CLI::CheckedTransformer(names).description(""));
}

// Checks for a numeric flag: "is V; must be >= MIN" (or "> MIN") otherwise; CLI11 prefixes the flag.
CLI::Validator at_least(double min);
CLI::Validator above(double min);

// Adds `--resume auto|none|DIR` and `--allow-config-change`; `output_dir_key` names the run
// directory's config key in the help.
void add_resume_options(CLI::App* sub, ResumeOptions& resume, const std::string& output_dir_key);

// Each add_*_command registers its subcommand, flags and help on `app`; when the
// user picks it, its callback stores the work in `action`.
void add_train_command(CLI::App& app, Action& action);
void add_eval_command(CLI::App& app, Action& action);
void add_validate_command(CLI::App& app, Action& action);
void add_score_command(CLI::App& app, Action& action);
void add_gen_data_command(CLI::App& app, Action& action);
void add_tokenize_command(CLI::App& app, Action& action);
void add_template_command(CLI::App& app, Action& action);
void add_tool_command(CLI::App& app, Action& action);
void add_inspect_command(CLI::App& app, Action& action);
void add_generate_command(CLI::App& app, Action& action);
void add_sft_command(CLI::App& app, Action& action);
void add_plot_command(CLI::App& app, Action& action);
void add_merge_command(CLI::App& app, Action& action);

}  // namespace r1::cli
