// Where a GRPO run stands: the one value that a checkpoint's trainer_state.json saves and resume reads.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "r1/data/dataset.h"

namespace r1 {

struct TrainerState {
  int64_t step = 0;                     // steps completed
  int64_t updates = 0;                  // optimizer updates applied or skipped (drives the lr schedule)
  int64_t num_tokens = 0;               // prompt + completion tokens processed
  int64_t nonfinite_skips = 0;          // updates skipped for a NaN/Inf loss or gradient
  DataCursor data_cursor;               // where the data sampler continues
  int64_t seed = 0;                     // train.seed of the run (informational)
  std::vector<std::string> run_config;  // the run-defining settings, "section.key: value"

  nlohmann::json to_json() const;
  // InputError naming `file` and the field when a field is missing, of the wrong type, or out of
  // range (negative counts, or more updates than steps allow).
  static TrainerState from_json(const nlohmann::json& j, const std::filesystem::path& file);
};

}  // namespace r1
