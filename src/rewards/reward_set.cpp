#include "r1/rewards/reward_set.h"

#include <cctype>

#include "r1/core/error.h"
#include "r1/rewards/expression.h"
#include "r1/rewards/math_verify.h"
#include "factories.h"

namespace r1 {

std::unique_ptr<RewardFunction> make_reward(const RewardConfig& config) {
  const std::string what = option_name(config.name) + " reward";
  if (config.name == RewardKind::Format && !config.mode.empty()) require_option<FormatMode>(config.mode, what + ": mode");
  if (config.name == RewardKind::Gsm8k && !config.mode.empty()) require_option<Gsm8kMode>(config.mode, what + ": mode");
  switch (config.name) {
    case RewardKind::Format: return make_format_reward(config);
    case RewardKind::TagCount: return make_tag_count_reward(config);
    case RewardKind::Math: return make_math_reward(config);
    case RewardKind::Gsm8k: return make_gsm8k_reward(config);
    case RewardKind::Countdown: return make_countdown_reward(config);
    case RewardKind::Exact: return make_exact_reward(config);
    case RewardKind::Regex: return make_regex_reward(config);
    case RewardKind::Choice: return make_choice_reward(config);
    case RewardKind::Command: return make_command_reward(config);
    case RewardKind::Overlong: return make_overlong_reward(config);
    case RewardKind::Cosine: return make_cosine_reward(config);
    case RewardKind::Repetition: return make_repetition_reward(config);
  }
  throw std::logic_error("make_reward: unhandled reward kind");
}

RewardSet::RewardSet(const std::vector<RewardConfig>& configs) {
  std::map<RewardKind, int> seen;
  for (const auto& c : configs) {
    int n = ++seen[c.name];
    const std::string name = option_name(c.name);
    std::string key = n == 1 ? name : name + "_" + std::to_string(n);
    entries_.push_back({key, c.weight, make_reward(c)});
  }
}

std::vector<std::string> RewardSet::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.key);
  return out;
}

std::vector<double> RewardSet::weights() const {
  std::vector<double> out;
  for (const auto& e : entries_) out.push_back(e.weight);
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

std::optional<std::string> extract_answer(EvalTask task, const std::string& completion, MathExtract extract) {
  switch (task) {
    case EvalTask::Math: return extract_math_answer(completion, extract);
    case EvalTask::Gsm8k: return extract_gsm8k_answer(completion, false);
    case EvalTask::Countdown: {
      auto tag = answer_tag(completion);
      if (!tag) return std::nullopt;
      return trim(*tag);
    }
    case EvalTask::Exact: return extract_exact_answer(completion);
    case EvalTask::Choice: {
      auto c = extract_choice(completion);
      if (!c) return std::nullopt;
      return std::string(1, *c);
    }
  }
  throw std::logic_error("extract_answer: unhandled task");
}

bool answers_match(EvalTask task, const std::string& predicted, const std::string& reference,
                   const nlohmann::json& metadata, const MathCompareOptions& math) {
  switch (task) {
    case EvalTask::Math: return check_math_answer(predicted, reference, math).equal;
    case EvalTask::Gsm8k: return gsm8k_answers_equal(predicted, reference);
    case EvalTask::Countdown: {
      CountdownProblem p = countdown_problem(metadata, reference);
      return countdown_score("<answer>" + predicted + "</answer>", p.numbers, p.target, 0.0) == 1.0;
    }
    case EvalTask::Exact: return exact_answers_equal(predicted, reference);
    case EvalTask::Choice: {
      auto a = extract_choice(predicted);
      auto b = extract_choice(reference);
      return a && b && *a == *b;
    }
  }
  throw std::logic_error("answers_match: unhandled task");
}

}  // namespace r1
