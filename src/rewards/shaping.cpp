// Length and repetition shaping: DAPO's soft overlong punishment, open-r1's cosine-scaled correctness
// and n-gram repetition penalty.
#include <cctype>
#include <cmath>
#include <numbers>
#include <set>

#include "r1/core/error.h"
#include "factories.h"

namespace r1 {

double overlong_score(int64_t length, int64_t limit, int64_t buffer, double penalty) {
  const int64_t free_len = limit - buffer;  // no penalty up to here
  if (length <= free_len) return 0.0;
  if (length > limit) return -penalty;
  return penalty * static_cast<double>(free_len - length) / static_cast<double>(buffer);
}

double cosine_score(bool correct, int64_t length, int64_t max_len, const RewardConfig& values) {
  // open-r1 swaps the bounds for wrong answers: a short wrong answer scores max_value_wrong (the
  // harsher value, -0.5 by default), a long one min_value_wrong (0): longer thinking is punished less.
  const double hi = correct ? values.max_value_correct : values.max_value_wrong;  // at length 0
  const double lo = correct ? values.min_value_correct : values.min_value_wrong;  // at max_len
  // Clamped at 1: past max_len open-r1's cosine would turn back up.
  const double progress = std::min(1.0, static_cast<double>(length) / static_cast<double>(std::max<int64_t>(max_len, 1)));
  return lo + 0.5 * (hi - lo) * (1.0 + std::cos(progress * std::numbers::pi));
}

double repetition_score(const std::string& completion, int ngram, double max_penalty) {
  std::vector<std::string> words;  // lower-cased, split at whitespace (Python's str.lower().split() on ASCII)
  std::string word;
  for (char c : completion) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  const auto n = static_cast<std::size_t>(ngram);
  if (words.size() < n) return 0.0;
  std::set<std::vector<std::string>> distinct;
  const std::size_t total = words.size() - n + 1;
  for (std::size_t i = 0; i < total; ++i) distinct.emplace(words.begin() + static_cast<std::ptrdiff_t>(i),
                                                           words.begin() + static_cast<std::ptrdiff_t>(i + n));
  return max_penalty * (1.0 - static_cast<double>(distinct.size()) / static_cast<double>(total));
}

namespace {

// The completion's length in tokens and the limit it is measured against (`max_len`, else the
// limit it was sampled under); InputError when either is unknown.
int64_t known_length(const RewardInput& in, const std::string& reward) {
  if (in.completion_tokens < 0)
    throw InputError(reward + " reward: the completion's length in tokens is unknown; give each line a "
                              "completion_tokens field, or --model DIR to count them");
  return in.completion_tokens;
}

int64_t length_limit(const RewardInput& in, int max_len, const std::string& reward) {
  if (max_len > 0) return max_len;
  if (in.max_new_tokens <= 0)
    throw InputError(reward + " reward: no length limit; set max_len on the reward (a run uses rollout.max_new_tokens)");
  return in.max_new_tokens;
}

}  // namespace

std::unique_ptr<RewardFunction> make_overlong_reward(const RewardConfig& config) {
  if (config.buffer < 1) throw InputError("overlong reward: buffer is " + std::to_string(config.buffer) + "; set it >= 1");
  return std::make_unique<PerCompletionReward>("overlong", [config](const RewardInput& in) {
    const int64_t limit = length_limit(in, config.max_len, "overlong");
    if (config.buffer > limit)
      throw InputError("overlong reward: buffer " + std::to_string(config.buffer) + " exceeds the length limit " +
                       std::to_string(limit));
    return overlong_score(known_length(in, "overlong"), limit, config.buffer, config.penalty);
  });
}

std::unique_ptr<RewardFunction> make_cosine_reward(const RewardConfig& config) {
  const EvalTask task = config.mode.empty() ? EvalTask::Math : require_option<EvalTask>(config.mode, "cosine reward: mode");
  return std::make_unique<PerCompletionReward>("cosine", [config, task](const RewardInput& in) {
    auto predicted = extract_answer(task, in.completion, config.extract);
    const bool correct = predicted && answers_match(task, *predicted, in.answer, in.metadata, math_options(config));
    return cosine_score(correct, known_length(in, "cosine"), length_limit(in, config.max_len, "cosine"), config);
  });
}

std::unique_ptr<RewardFunction> make_repetition_reward(const RewardConfig& config) {
  if (config.ngram < 1) throw InputError("repetition reward: ngram is " + std::to_string(config.ngram) + "; set it >= 1");
  if (config.max_penalty > 0)
    throw InputError("repetition reward: max_penalty is " + std::to_string(config.max_penalty) + "; it must be <= 0");
  return std::make_unique<PerCompletionReward>("repetition", [config](const RewardInput& in) {
    return repetition_score(in.completion, config.ngram, config.max_penalty);
  });
}

}  // namespace r1
