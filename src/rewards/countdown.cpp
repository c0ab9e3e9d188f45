#include <cmath>
#include <cstdlib>

#include "r1/core/error.h"
#include "r1/rewards/expression.h"
#include "r1/rewards/math_verify.h"
#include "factories.h"

namespace r1 {

double countdown_score(const std::string& completion, const std::vector<long long>& numbers, double target,
                       double format_score) {
  auto equation = answer_tag(completion);
  if (!equation) return 0;
  auto value = evaluate_countdown(*equation);
  if (!value) return format_score;
  std::vector<long long> used = value->numbers;
  std::vector<long long> given = numbers;
  std::sort(used.begin(), used.end());
  std::sort(given.begin(), given.end());
  if (used != given) return format_score;
  return std::abs(value->value - target) < 1e-5 ? 1.0 : format_score;
}

CountdownProblem countdown_problem(const nlohmann::json& metadata, const std::string& answer) {
  auto fields = [&] {
    std::string names;
    if (metadata.is_object())
      for (const auto& [k, v] : metadata.items()) names += (names.empty() ? "" : ", ") + k;
    return names.empty() ? std::string("none") : names;
  };
  CountdownProblem p;
  const nlohmann::json* numbers = nullptr;
  if (metadata.is_object()) {
    if (metadata.contains("numbers")) numbers = &metadata["numbers"];
    else if (metadata.contains("nums")) numbers = &metadata["nums"];
  }
  if (!numbers || !numbers->is_array())
    throw InputError("countdown reward: the example has no 'numbers' (or 'nums') list; its extra fields are: " +
                     fields());
  for (const auto& n : *numbers) {
    if (!n.is_number_integer()) throw InputError("countdown reward: 'numbers' must hold integers, got " + numbers->dump());
    p.numbers.push_back(n.get<long long>());
  }
  if (metadata.contains("target") && metadata["target"].is_number()) {
    p.target = metadata["target"].get<double>();
    return p;
  }
  char* end = nullptr;
  std::string a = trim(answer);
  p.target = std::strtod(a.c_str(), &end);
  if (a.empty() || *end != '\0')
    throw InputError("countdown reward: the example has no numeric 'target' and its answer '" + answer +
                     "' is not a number; its extra fields are: " + fields());
  return p;
}

std::unique_ptr<RewardFunction> make_countdown_reward(const RewardConfig& config) {
  double format = config.format_score;
  return std::make_unique<PerCompletionReward>("countdown", [format](const RewardInput& in) {
    CountdownProblem p = countdown_problem(in.metadata, in.answer);
    return countdown_score(in.completion, p.numbers, p.target, format);
  });
}

}  // namespace r1
