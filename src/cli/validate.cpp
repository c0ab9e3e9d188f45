#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "r1/cli/commands.h"
#include "r1/core/config.h"
#include "r1/core/error.h"
#include "r1/core/strings.h"
#include "r1/data/dataset.h"
#include "r1/generation/prompts.h"

namespace r1::cli {

namespace {

// One command's flags as a table: names, value type (with its check), default, meaning; hidden
// flags (no group) and --help left out.
void flag_table(const CLI::App& app, std::string& out) {
  out += "| flag | value | default | meaning |\n| --- | --- | --- | --- |\n";
  for (const CLI::Option* opt : app.get_options()) {
    if (opt == app.get_help_ptr() || opt->get_group().empty()) continue;
    const std::string names = opt->get_positional() ? opt->get_name(true) : opt->get_name(false, true);
    std::string value = opt->get_type_name().empty() ? "(flag)" : opt->get_type_name();
    if (opt->get_required()) value += " (required)";
    if (opt->get_items_expected_max() > 1 || opt->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll)
      value += " (repeatable)";
    const std::string fallback = opt->get_default_str();
    out += fmt::format("| `{}` | {} | {} | {} |\n", names, markdown_cell(value), fallback.empty() ? "" : markdown_cell("`" + fallback + "`"),
                       markdown_cell(opt->get_description()));
  }
}

// Every command's flags, in the order `r1train --help` lists them, generated from the command line
// itself (docs/commands.md holds it).
std::string commands_reference(const CLI::App& app) {
  std::string out = "## `r1train` (global flags)\n\n" + app.get_description() + "\n\n";
  flag_table(app, out);
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    out += fmt::format("\n## `r1train {}`\n\n{}\n\n", sub->get_name(), sub->get_description());
    flag_table(*sub, out);
  }
  return out;
}

// data.template: model renders with a Jinja program from the model directory: load it and render
// the first training row, so a missing or unrenderable template is found here, not at step 0. The
// rendered prompt comes back as YAML comment lines (the output stays a loadable config).
std::string rendered_first_prompt(const Config& config) {
  if (config.data.template_ != "model") return "";
  const PromptRenderer prompts(config.data, config.model.path);
  const Dataset train = Dataset::load_jsonl(config.data.train, config.data);
  const Example& first = train[0];
  std::string out = "\n# data.template: model; the first training prompt (" + first.where + "), as the model sees it:\n";
  const std::string text = prompts.render(first);
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    out += "#   " + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

}  // namespace

void add_validate_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("validate", "Check a config and print it fully resolved (with data.template: model, also the first training prompt "
                                                      "rendered by the chat template), or every error found");
  auto source = std::make_shared<ConfigSource>();
  auto file = std::make_shared<std::string>();
  auto reference = std::make_shared<std::string>();
  add_config_options(sub, *file, source->overrides, /*optional=*/true);
  sub->add_option("--reference", *reference,
                  "Print a generated reference instead: configuration (every config key, as in "
                  "docs/configuration.md) | commands (every command's flags, as in docs/commands.md)")
      ->check(CLI::IsMember({"configuration", "commands"}));
  sub->callback([&app, &action, source, file, reference] {
    action = [&app, source, file, reference] {
      if (*reference == "configuration") {
        std::cout << configuration_reference();
        return kExitOk;
      }
      if (*reference == "commands") {
        std::cout << commands_reference(app);
        return kExitOk;
      }
      if (file->empty()) throw InputError("validate: give --config FILE (or --reference configuration|commands)");
      source->file = *file;
      Config config;
      auto problems = check_config(*source, config, ConfigUse::Train);
      if (!problems.empty()) {
        std::cerr << *file << ": " << problems.size() << (problems.size() == 1 ? " problem" : " problems")
                  << ":\n";
        for (const auto& p : problems) std::cerr << "  " << p << "\n";
        return kExitBadInput;
      }
      std::string rendered;
      try {
        rendered = rendered_first_prompt(config);
      } catch (const InputError& e) {
        std::cerr << *file << ": 1 problem:\n  " << e.what() << "\n";
        return kExitBadInput;
      }
      std::cout << "# " << *file << ": valid; the resolved configuration follows\n" << to_yaml(config) << rendered;
      return kExitOk;
    };
  });
}

}  // namespace r1::cli
