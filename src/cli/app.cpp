#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "r1/cli/commands.h"
#include "r1/cli/run.h"
#include "r1/core/error.h"
#include "r1/core/log.h"
#include "r1/core/runtime.h"
#include "r1/core/signals.h"
#include "r1/dist/world.h"
#include "r1/model/device.h"

namespace r1::cli {

namespace {

bool has_subcommand(const CLI::App& app, const std::string& name) {
  auto subs = app.get_subcommands([&](const CLI::App* s) { return s->get_name() == name; });
  return !subs.empty();
}

// `r1train --config F ...` means `r1train train --config F ...`.
std::vector<std::string> with_default_command(int argc, char** argv, const CLI::App& app) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool has_command = false;
  for (const auto& a : args) has_command = has_command || has_subcommand(app, a);
  if (has_command) return args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" || args[i].rfind("--config=", 0) == 0) {
      args.insert(args.begin() + static_cast<std::ptrdiff_t>(i), "train");
      break;
    }
  }
  return args;
}

// Every command, with what it needs before it runs: the one list of them (a new command is one row).
struct CommandKind {
  void (*add)(CLI::App&, Action&);
  bool runs_models;      // wants idle OpenMP/OpenBLAS workers asleep (the re-execution in runtime.h)
  bool saves_on_signal;  // saves a checkpoint on SIGINT/SIGTERM: the handlers go in before the
                         // re-execution and the model load (exec resets them; the new image
                         // installs them again at once)
};
constexpr CommandKind kCommands[] = {
    {add_train_command, true, true},        {add_eval_command, true, false},     {add_validate_command, false, false},
    {add_score_command, false, false},      {add_gen_data_command, false, false}, {add_tokenize_command, false, false},
    {add_inspect_command, true, false},     {add_generate_command, true, false}, {add_sft_command, true, true},
    {add_plot_command, false, false},       {add_merge_command, true, false},    {add_template_command, false, false},
    {add_tool_command, false, false},
};

// Adds every command to `app`; returns each subcommand's kind.
std::map<const CLI::App*, const CommandKind*> add_commands(CLI::App& app, Action& action) {
  std::map<const CLI::App*, const CommandKind*> kinds;
  for (const auto& kind : kCommands) {
    kind.add(app, action);
    kinds[app.get_subcommands([](const CLI::App*) { return true; }).back()] = &kind;
  }
  return kinds;
}

// The kind of the command the arguments chose (nullptr: none).
const CommandKind* chosen(const CLI::App& app, const std::map<const CLI::App*, const CommandKind*>& kinds) {
  for (const auto* sub : app.get_subcommands())
    if (auto it = kinds.find(sub); it != kinds.end()) return it->second;
  return nullptr;
}

}  // namespace

void add_config_options(CLI::App* sub, std::string& file, std::vector<std::string>& overrides, bool optional) {
  auto* opt = sub->add_option("--config,-c", file, "YAML config file");
  if (!optional) opt->required();
  sub->add_option("--set", overrides, "Override a config key: KEY.PATH=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

namespace {

CLI::Validator bound(double min, bool inclusive) {
  return CLI::Validator(
      [min, inclusive](std::string& value) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end != '\0') return "is '" + value + "'; expected a number";
        if (inclusive ? v >= min : v > min) return {};
        return fmt::format("is {}; must be {} {}", value, inclusive ? ">=" : ">", min);
      },
      fmt::format("{} {}", inclusive ? ">=" : ">", min));
}

}  // namespace

CLI::Validator at_least(double min) { return bound(min, true); }
CLI::Validator above(double min) { return bound(min, false); }

void add_resume_options(CLI::App* sub, ResumeOptions& resume, const std::string& output_dir_key) {
  sub->add_option("--resume", resume.from,
                  "auto: continue from the newest complete checkpoint in " + output_dir_key +
                      " if any; none: start fresh (refused if the run directory has checkpoints); DIR: that checkpoint")
      ->capture_default_str();
  sub->add_flag("--allow-config-change", resume.allow_config_change,
                "Resume even if settings that alter the run changed since the checkpoint was saved");
}

int run(int argc, char** argv) {
  // A write past a file-size limit (ulimit -f) then fails with EFBIG, reported like a full disk,
  // instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"r1train: turn a pretrained base language model into a reasoning model with GRPO "
               "(the DeepSeek-R1-Zero recipe).\n`r1train --config F` is `r1train train --config F`.",
               "r1train"};
  app.require_subcommand(0, 1);
  bool version = false;
  std::string log_level = "info";
  int threads = 0;
  app.add_flag("--version", version, "Print the r1train and libtorch versions, whether CUDA is available and the distributed backends built in");
  app.add_option("--log-level", log_level, "trace | debug | info | warn | error | off")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads for torch (0 = all cores, or $R1TRAIN_THREADS)")
      ->check(at_least(0));

  Action action;
  const auto kinds = add_commands(app, action);

  std::vector<std::string> args = with_default_command(argc, argv, app);
  if (!args.empty() && args.front() == "train" && !has_subcommand(app, "train")) {
    std::cerr << "error: the train command is not available in this build of r1train\n";
    return kExitBadInput;
  }
  std::reverse(args.begin(), args.end());  // CLI11 consumes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }

  try {
    // Commands that run a model want idle OpenMP/OpenBLAS workers asleep (see runtime.h); the
    // others start 0.4 s sooner without the re-execution that this takes.
    // The handlers go in first; SIGINT/SIGTERM stay blocked over the re-execution (a blocked signal
    // stays pending across exec, where the handlers are reset) until the new image installs them.
    const CommandKind* command = chosen(app, kinds);
    const bool handles_signals = action && command && command->saves_on_signal;
    if (handles_signals) install_stop_handlers();
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (handles_signals) sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    if (action && command && command->runs_models) ensure_idle_threads_sleep(argv);
    if (handles_signals) sigprocmask(SIG_UNBLOCK, &stop_signals, nullptr);
    init_logging(log_level);
    if (version) {
      std::cout << "r1train " << R1_VERSION << " (" << torch_build_info() << ", BLAS " << loaded_blas()
                << ", dist backends: " << built_backends() << ")\n";
      return kExitOk;
    }
    if (!action) {
      std::cout << app.help();
      return kExitBadInput;
    }
    configure_threads(threads);
    return action();
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const Interrupted& e) {
    std::cerr << e.what() << "\n";
    return kExitInterrupted;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace r1::cli
