#include "r1/core/sampling.h"

#include <fmt/format.h>

namespace r1 {

std::vector<std::pair<std::string, std::string>> sampling_range_problems(const SamplingOptions& o) {
  std::vector<std::pair<std::string, std::string>> out;
  auto check = [&](bool ok, const char* name, std::string message) {
    if (!ok) out.emplace_back(name, std::move(message));
  };
  // Written as !(in range) so that NaN is out of range too.
  check(o.temperature >= 0, "temperature", fmt::format("is {}; must be >= 0 (0 = greedy)", o.temperature));
  check(o.top_p > 0 && o.top_p <= 1, "top_p", fmt::format("is {}; must be in (0, 1]", o.top_p));
  check(o.top_k >= 0, "top_k", fmt::format("is {}; must be >= 0 (0 = off)", o.top_k));
  check(o.min_p >= 0 && o.min_p < 1, "min_p", fmt::format("is {}; must be in [0, 1)", o.min_p));
  check(o.repetition_penalty > 0, "repetition_penalty", fmt::format("is {}; must be > 0 (1 = off)", o.repetition_penalty));
  return out;
}

}  // namespace r1
