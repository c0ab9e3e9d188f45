#include "r1/data/task_generators.h"

#include "r1/core/error.h"

namespace r1 {

namespace {

// A countdown problem built backwards, as in TinyZero's Countdown-Tasks-3to4: 3 or 4 numbers in
// 1..100 are combined pairwise by random operations (exact division only, no negatives) until one
// value is left; that value, when in 1..1000, is the target and the combination the solution.
nlohmann::json make_countdown(TaskRng& rng) {
  while (true) {
    std::size_t count = static_cast<std::size_t>(rng.uniform(3, 4));
    std::vector<long long> numbers;
    for (std::size_t i = 0; i < count; ++i) numbers.push_back(rng.uniform(1, 100));
    std::vector<std::pair<long long, std::string>> pool;  // value and the expression that makes it
    for (long long n : numbers) pool.emplace_back(n, std::to_string(n));
    bool ok = true;
    while (pool.size() > 1 && ok) {
      std::size_t i = static_cast<std::size_t>(rng.uniform(0, static_cast<long long>(pool.size()) - 1));
      std::size_t j = static_cast<std::size_t>(rng.uniform(0, static_cast<long long>(pool.size()) - 2));
      if (j >= i) ++j;
      auto [a, ea] = pool[i];
      auto [b, eb] = pool[j];
      if (a < b) {
        std::swap(a, b);
        std::swap(ea, eb);
      }
      long long value = 0;
      std::string expr;
      switch (rng.uniform(0, 3)) {
        case 0: value = a + b, expr = ea + " + " + eb; break;
        case 1: value = a - b, expr = ea + " - " + eb; break;
        case 2: value = a * b, expr = ea + " * " + eb; break;
        default:
          if (b == 0 || a % b != 0) ok = false;
          else value = a / b, expr = ea + " / " + eb;
      }
      if (!ok || value <= 0) {
        ok = false;
        break;
      }
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(std::max(i, j)));
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(std::min(i, j)));
      pool.emplace_back(value, pool.empty() ? expr : "(" + expr + ")");
    }
    if (!ok) continue;
    long long target = pool[0].first;
    if (target < 1 || target > 1000) continue;
    std::string solution = pool[0].second;  // the last combination is written without outer parentheses
    std::string listed;  // Python's list repr, as in TinyZero's prompt: [3, 5, 7]
    for (long long n : numbers) listed += (listed.empty() ? "" : ", ") + std::to_string(n);
    return {{"prompt", "Using the numbers [" + listed + "], create an equation that equals " +
                           std::to_string(target) + "."},
            {"answer", std::to_string(target)},
            {"numbers", numbers},
            {"target", target},
            {"solution", solution}};
  }
}

// Multi-digit addition or multiplication.
nlohmann::json make_arithmetic(TaskRng& rng) {
  bool multiply = rng.uniform(0, 1) == 1;
  long long a = multiply ? rng.uniform(10, 999) : rng.uniform(100, 99999);
  long long b = multiply ? rng.uniform(10, 99) : rng.uniform(100, 99999);
  long long value = multiply ? a * b : a + b;
  std::string op = multiply ? " * " : " + ";
  return {{"prompt", "What is " + std::to_string(a) + op + std::to_string(b) + "?"},
          {"answer", std::to_string(value)},
          {"expression", std::to_string(a) + op + std::to_string(b)}};
}

}  // namespace

long long TaskRng::uniform(long long lo, long long hi) {
  uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t x;
  do x = rng_();
  while (x >= limit);
  return lo + static_cast<long long>(x % span);
}

const std::vector<TaskGenerator>& task_generators() {
  static const std::vector<TaskGenerator> generators = {
      {"countdown", "TinyZero countdown: 3-4 numbers in 1..100 and a reachable target (reward: countdown)",
       make_countdown},
      {"arithmetic", "multi-digit addition and multiplication (reward: gsm8k or exact)", make_arithmetic},
  };
  return generators;
}

std::optional<std::vector<nlohmann::json>> generate_rows(const std::vector<TaskGenerator>& generators,
                                                         const std::string& task, std::size_t n, uint64_t seed) {
  for (const auto& g : generators) {
    if (g.name != task) continue;
    TaskRng rng(seed);
    std::vector<nlohmann::json> rows;
    rows.reserve(n);
    for (std::size_t i = 0; i < n; ++i) rows.push_back(g.make(rng));
    return rows;
  }
  return std::nullopt;
}

std::vector<nlohmann::json> generate_task(const std::string& task, std::size_t n, uint64_t seed) {
  if (auto rows = generate_rows(task_generators(), task, n, seed)) return *rows;
  std::string names;
  for (const auto& g : task_generators()) names += (names.empty() ? "" : ", ") + g.name;
  throw InputError("gen-data: unknown task '" + task + "'; tasks are: " + names);
}

}  // namespace r1
