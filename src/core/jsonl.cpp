#include "r1/core/jsonl.h"

#include <string>
#include <vector>

#include "r1/core/error.h"

namespace r1 {

void read_jsonl(const std::filesystem::path& path, const JsonlReadOptions& options,
                const std::function<void(JsonlRow&)>& each) {
  if (std::filesystem::is_directory(path))
    throw InputError(path.string() + ": is a directory; expected " + options.role + " (a .jsonl file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open " + options.role);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    JsonlRow row{n, path.string() + ":" + std::to_string(n), {}};
    try {
      row.value = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      if (options.skip_malformed) continue;
      throw InputError(row.where + ": not valid JSON (" + e.what() + ")");
    }
    if (options.objects_only && !row.value.is_object()) {
      if (options.skip_malformed) continue;
      throw InputError(row.where + ": expected a JSON object per line, got " + row.value.type_name());
    }
    each(row);
  }
}

namespace {

// The lines of a log to keep through `keep_through_step` (none when it is negative).
std::string kept_lines(const std::filesystem::path& path, int64_t keep_through_step) {
  std::string kept;
  if (keep_through_step >= 0 && std::filesystem::exists(path)) {
    read_jsonl(path, {.role = "a run log", .objects_only = true, .skip_malformed = true}, [&](JsonlRow& row) {
      const auto& j = row.value;
      if (j.contains("step") && j["step"].is_number() && j["step"].get<int64_t>() > keep_through_step) return;
      kept += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    });
  }
  return kept;
}

}  // namespace

JsonlLog::JsonlLog(const std::filesystem::path& path, int64_t keep_through_step)
    : out_([&] {
        const std::string kept = kept_lines(path, keep_through_step);  // read before the file is truncated
        OutputFile out(path);
        out.write(kept);
        return out;
      }()) {}

void JsonlLog::write(const nlohmann::json& record) {
  out_.write(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace r1
