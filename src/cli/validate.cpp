#include <iostream>
#include <memory>

#include "r1/cli/commands.h"
#include "r1/core/config.h"
#include "r1/core/error.h"

namespace r1::cli {

void add_validate_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("validate", "Check a config and print it fully resolved, or every error found");
  auto source = std::make_shared<ConfigSource>();
  auto file = std::make_shared<std::string>();
  add_config_options(sub, *file, source->overrides);
  sub->callback([&action, source, file] {
    action = [source, file] {
      source->file = *file;
      Config config;
      auto problems = check_config(*source, config, ConfigUse::Train);
      if (!problems.empty()) {
        std::cerr << *file << ": " << problems.size() << (problems.size() == 1 ? " problem" : " problems")
                  << ":\n";
        for (const auto& p : problems) std::cerr << "  " << p << "\n";
        return kExitBadInput;
      }
      std::cout << "# " << *file << ": valid; the resolved configuration follows\n" << to_yaml(config);
      return kExitOk;
    };
  });
}

}  // namespace r1::cli
