// Synthetic training tasks (countdown, arithmetic): seeded generators that write dataset rows.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace r1 {

// Deterministic integers for generators: uniform in [lo, hi], the same on every platform.
class TaskRng {
 public:
  explicit TaskRng(uint64_t seed) : rng_(seed) {}
  long long uniform(long long lo, long long hi);
  std::mt19937_64& engine() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

// One kind of task: name, one-line description, and a function that makes one row
// ({"prompt", "answer", ...extra fields the reward needs}).
struct TaskGenerator {
  std::string name;
  std::string description;
  std::function<nlohmann::json(TaskRng&)> make;
};

// Every registered generator; add a task by adding an entry in src/task_generators.cpp.
const std::vector<TaskGenerator>& task_generators();

// n rows from the generator named `task` among `generators`, seeded by `seed`; nullopt if none has that name.
std::optional<std::vector<nlohmann::json>> generate_rows(const std::vector<TaskGenerator>& generators,
                                                         const std::string& task, std::size_t n, uint64_t seed);

// n rows of `task` from `seed`; InputError for an unknown task (listing the known ones).
std::vector<nlohmann::json> generate_task(const std::string& task, std::size_t n, uint64_t seed);

}  // namespace r1
