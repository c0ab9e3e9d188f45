#include "r1/rl/trainer_state.h"

#include <fmt/format.h>

#include "r1/core/error.h"

namespace r1 {

nlohmann::json TrainerState::to_json() const {
  return {{"step", step},
          {"updates", updates},
          {"num_tokens", num_tokens},
          {"nonfinite_skips", nonfinite_skips},
          {"data_cursor", data_cursor.to_json()},
          {"seed", seed},
          {"run_config", run_config}};
}

TrainerState TrainerState::from_json(const nlohmann::json& j, const std::filesystem::path& file) {
  const std::string where = file.string();
  if (!j.is_object()) throw InputError(where + ": expected a JSON object, got " + j.type_name());
  auto count = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number_integer())
      throw InputError(fmt::format("{}: '{}' is missing or not an integer", where, key));
    const auto v = j[key].get<int64_t>();
    if (v < 0) throw InputError(fmt::format("{}: '{}' is {}; it must be >= 0", where, key, v));
    return v;
  };
  TrainerState s;
  s.step = count("step");
  s.updates = count("updates");
  s.num_tokens = count("num_tokens");
  s.nonfinite_skips = count("nonfinite_skips");
  s.seed = j.contains("seed") && j["seed"].is_number_integer() ? j["seed"].get<int64_t>() : 0;
  if (!j.contains("data_cursor")) throw InputError(where + ": 'data_cursor' is missing");
  try {
    s.data_cursor = DataCursor::from_json(j["data_cursor"]);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
  if (!j.contains("run_config") || !j["run_config"].is_array())
    throw InputError(where + ": 'run_config' is missing or not a list");
  for (const auto& line : j["run_config"]) {
    if (!line.is_string()) throw InputError(where + ": 'run_config' holds a non-string entry " + line.dump());
    s.run_config.push_back(line.get<std::string>());
  }
  if (s.nonfinite_skips > s.updates)
    throw InputError(fmt::format("{}: 'nonfinite_skips' ({}) exceeds 'updates' ({})", where, s.nonfinite_skips,
                                 s.updates));
  return s;
}

}  // namespace r1
