// Logging: one console format for every subcommand, plus a run's train.log file sink.
#pragma once

#include <filesystem>
#include <string>

namespace r1 {

// Sets the console logger (stderr) and its level: trace|debug|info|warn|error|off.
// Throws InputError on an unknown level.
void init_logging(const std::string& level);

// Also writes every log line to `path` (appending), e.g. OUTPUT_DIR/train.log.
void add_log_file(const std::filesystem::path& path);

}  // namespace r1
