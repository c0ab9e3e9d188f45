// The r1train subcommands: each file under src/cli/ registers one on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "r1/checkpoint.h"

namespace r1::cli {

// The work a parsed subcommand will do; returns the process exit code.
using Action = std::function<int()>;

// Adds the `--config FILE` (required unless `optional`) and repeatable `--set KEY=VALUE` options.
void add_config_options(CLI::App* sub, std::string& file, std::vector<std::string>& overrides, bool optional = false);

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
void add_inspect_command(CLI::App& app, Action& action);
void add_generate_command(CLI::App& app, Action& action);
void add_sft_command(CLI::App& app, Action& action);
void add_plot_command(CLI::App& app, Action& action);

// Parses argv, sets up logging and threads, runs the chosen subcommand and maps
// errors to exit codes (0 ok, 1 failure, 2 bad input, 130 interrupted).
int run(int argc, char** argv);

}  // namespace r1::cli
