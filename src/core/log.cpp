#include "r1/core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "r1/core/error.h"

namespace r1 {

namespace {
constexpr const char* kPattern = "[%H:%M:%S] [%^%l%$] %v";
}

void init_logging(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw InputError("--log-level: unknown level '" + level +
                     "'; use one of trace, debug, info, warn, error, off");
  }
  auto logger = spdlog::get("r1train");
  if (!logger) logger = spdlog::stderr_color_mt("r1train");
  logger->set_pattern(kPattern);
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

void log_as_rank(int rank) {
  if (rank <= 0) return;
  auto logger = spdlog::default_logger();
  logger->set_pattern("[%H:%M:%S] [rank " + std::to_string(rank) + "] [%^%l%$] %v");
  if (logger->level() < spdlog::level::warn) logger->set_level(spdlog::level::warn);
}

LogFile::LogFile(const std::filesystem::path& path)
    : sink_(std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string(), false)) {
  sink_->set_pattern("[%Y-%m-%d %H:%M:%S] [%l] %v");
  spdlog::default_logger()->sinks().push_back(sink_);
  spdlog::default_logger()->flush_on(spdlog::level::info);
}

LogFile::~LogFile() {
  auto& sinks = spdlog::default_logger()->sinks();
  std::erase(sinks, sink_);
}

}  // namespace r1
