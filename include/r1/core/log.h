// Logging: one console format for every subcommand, plus a run's train.log file sink.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace spdlog::sinks {
class sink;
}

namespace r1 {

// Sets the console logger (stderr) and its level: trace|debug|info|warn|error|off.
// Throws InputError on an unknown level.
void init_logging(const std::string& level);

// For rank `rank` > 0 of a distributed run: warnings and errors only, each line prefixed with the rank.
void log_as_rank(int rank);

// While it lives, every log line also goes to `path` (appending), e.g. OUTPUT_DIR/train.log; the
// file leaves the logger when it is destroyed, so a second run in one process writes only its own.
class LogFile {
 public:
  explicit LogFile(const std::filesystem::path& path);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

 private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

}  // namespace r1
