// Internal: the constructor of each reward kind, one per src/reward_*.cpp, used by make_reward.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "r1/core/strings.h"
#include "r1/rewards/reward_set.h"

namespace r1 {

// A reward that scores each completion on its own with `fn`.
class PerCompletionReward : public RewardFunction {
 public:
  PerCompletionReward(std::string name, std::function<double(const RewardInput&)> fn)
      : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  std::vector<double> score(const std::vector<RewardInput>& batch) override {
    std::vector<double> out;
    out.reserve(batch.size());
    for (const auto& in : batch) out.push_back(fn_(in));
    return out;
  }

 private:
  std::string name_;
  std::function<double(const RewardInput&)> fn_;
};

std::unique_ptr<RewardFunction> make_format_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_tag_count_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_math_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_gsm8k_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_countdown_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_exact_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_regex_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_choice_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_command_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_overlong_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_cosine_reward(const RewardConfig& config);
std::unique_ptr<RewardFunction> make_repetition_reward(const RewardConfig& config);

// The math verifier's comparison settings of a math or cosine reward.
MathCompareOptions math_options(const RewardConfig& config);

// Countdown numbers and target from a dataset row's metadata (numbers | nums, target), the target
// falling back to the reference answer; InputError naming the fields when absent.
struct CountdownProblem {
  std::vector<long long> numbers;
  double target = 0;
};
CountdownProblem countdown_problem(const nlohmann::json& metadata, const std::string& answer);

}  // namespace r1
