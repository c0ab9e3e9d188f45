// Append-only JSON-lines logs of a run (metrics.jsonl, samples.jsonl, eval.jsonl).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace r1 {

class JsonlLog {
 public:
  // Opens `path` for appending. With keep_through_step >= 0, first drops lines
  // whose "step" is greater (steps a crashed run logged after its last checkpoint);
  // with keep_through_step < 0, starts the file empty.
  JsonlLog(const std::filesystem::path& path, int64_t keep_through_step);

  // Writes one line and flushes it.
  void write(const nlohmann::json& record);

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace r1
