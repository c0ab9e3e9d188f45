#include "r1/rewards.h"

#include <cctype>

#include "r1/error.h"
#include "r1/expression.h"
#include "r1/math_verify.h"
#include "reward_factories.h"

namespace r1 {

std::string trim_copy(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::unique_ptr<RewardFunction> make_reward(const RewardConfig& config) {
  using Factory = std::unique_ptr<RewardFunction> (*)(const RewardConfig&);
  static const std::map<std::string, Factory> factories = {
      {"format", make_format_reward}, {"tag_count", make_tag_count_reward}, {"math", make_math_reward},
      {"gsm8k", make_gsm8k_reward},   {"countdown", make_countdown_reward}, {"exact", make_exact_reward},
      {"regex", make_regex_reward},   {"choice", make_choice_reward},       {"command", make_command_reward}};
  auto it = factories.find(config.name);
  if (it == factories.end()) {
    std::string names;
    for (const auto& [name, f] : factories) names += (names.empty() ? "" : ", ") + name;
    throw InputError("unknown reward '" + config.name + "'; rewards are: " + names);
  }
  if (config.name == "format" && !config.mode.empty() && config.mode != "strict" && config.mode != "lenient")
    throw InputError("format reward: mode '" + config.mode + "' is neither strict nor lenient");
  if (config.name == "gsm8k" && !config.mode.empty() && config.mode != "strict" && config.mode != "flexible")
    throw InputError("gsm8k reward: mode '" + config.mode + "' is neither strict nor flexible");
  if (config.on_error != "error" && config.on_error != "default")
    throw InputError(config.name + " reward: on_error '" + config.on_error + "' is neither error nor default");
  return it->second(config);
}

RewardSet::RewardSet(const std::vector<RewardConfig>& configs) {
  std::map<std::string, int> seen;
  for (const auto& c : configs) {
    int n = ++seen[c.name];
    std::string key = n == 1 ? c.name : c.name + "_" + std::to_string(n);
    entries_.push_back({key, c.weight, make_reward(c)});
  }
}

std::vector<std::string> RewardSet::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.key);
  return out;
}

RewardScores RewardSet::score(const std::vector<RewardInput>& batch) {
  RewardScores out;
  out.total.assign(batch.size(), 0.0);
  for (auto& e : entries_) {
    std::vector<double> s = e.fn->score(batch);
    for (std::size_t i = 0; i < s.size(); ++i) out.total[i] += e.weight * s[i];
    int failures = e.fn->failures();
    out.failures[e.key] = failures - e.failures_seen;
    e.failures_seen = failures;
    out.per_reward[e.key] = std::move(s);
  }
  return out;
}

std::optional<std::string> extract_answer(const std::string& task, const std::string& completion) {
  if (task == "math") return extract_math_answer(completion);
  if (task == "gsm8k") return extract_gsm8k_answer(completion, false);
  if (task == "countdown") {
    auto tag = answer_tag(completion);
    if (!tag) return std::nullopt;
    return trim_copy(*tag);
  }
  if (task == "exact") return extract_exact_answer(completion);
  if (task == "choice") {
    auto c = extract_choice(completion);
    if (!c) return std::nullopt;
    return std::string(1, *c);
  }
  throw InputError("unknown task '" + task + "'; tasks are: math, gsm8k, countdown, exact, choice");
}

bool answers_match(const std::string& task, const std::string& predicted, const std::string& reference,
                   const nlohmann::json& metadata) {
  if (task == "math") return math_answers_equal(predicted, reference);
  if (task == "gsm8k") return gsm8k_answers_equal(predicted, reference);
  if (task == "countdown") {
    CountdownProblem p = countdown_problem(metadata, reference);
    return countdown_score("<answer>" + predicted + "</answer>", p.numbers, p.target, 0.0) == 1.0;
  }
  if (task == "exact") return exact_answers_equal(predicted, reference);
  if (task == "choice") {
    auto a = extract_choice(predicted);
    auto b = extract_choice(reference);
    return a && b && *a == *b;
  }
  throw InputError("unknown task '" + task + "'; tasks are: math, gsm8k, countdown, exact, choice");
}

}  // namespace r1
