// JSON Lines files: the one reader (errors name file:line) and the append-only logs of a run.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "r1/core/output_file.h"

namespace r1 {

// One parsed line of a JSONL file.
struct JsonlRow {
  std::size_t line = 0;   // 1-based line number
  std::string where;      // "FILE:LINE", for error messages
  nlohmann::json value;   // the parsed line (an object, unless the reader allows other values)
};

struct JsonlReadOptions {
  std::string role = "the input file";  // what the file is, for "cannot open" errors ("the data file (data.train)")
  bool objects_only = true;             // a line that is not a JSON object is an error
  bool skip_malformed = false;          // skip lines that do not parse (logs cut short by a crash)
};

// Calls `each` for every non-blank line of `path`, in order. InputError when the file cannot be
// opened (or is a directory), and, unless skip_malformed, "FILE:LINE: not valid JSON (...)" or
// "FILE:LINE: expected a JSON object per line, got TYPE".
void read_jsonl(const std::filesystem::path& path, const JsonlReadOptions& options,
                const std::function<void(JsonlRow&)>& each);

class JsonlLog {
 public:
  // Opens `path` for appending. With keep_through_step >= 0, first drops lines
  // whose "step" is greater (steps a crashed run logged after its last checkpoint);
  // with keep_through_step < 0, starts the file empty.
  JsonlLog(const std::filesystem::path& path, int64_t keep_through_step);

  // Writes one line (one checked write); WriteError naming the file when it fails.
  void write(const nlohmann::json& record);

 private:
  OutputFile out_;
};

}  // namespace r1
