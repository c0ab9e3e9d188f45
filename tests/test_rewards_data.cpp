// The math and GSM8K verifiers against real benchmark data: every reference solution grades correct
// against its own answer and (MATH-500) incorrect against another problem's answer.
#include <gtest/gtest.h>

#include <numeric>

#include "r1/data/dataset.h"
#include "r1/rewards/math_verify.h"
#include "r1/rewards/reward_set.h"
#include "test_util.h"

namespace r1 {
namespace {

TEST(RewardsData, Math500SolutionsGradeCorrectAndShuffledAnswersIncorrect) {
  auto ds = Dataset::load_jsonl(test::benchmarks_dir() / "math500_test.jsonl", DataConfig{.prompt_field = "problem"});
  ASSERT_EQ(ds.size(), 500u);
  std::size_t correct = 0, rejected = 0;
  std::string misses, false_matches;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    auto boxed = last_boxed(ds[i].metadata["solution"].get<std::string>());
    if (boxed && math_answers_equal(*boxed, ds[i].answer)) ++correct;
    else misses += "\n  " + std::to_string(i) + ": " + boxed.value_or("<no \\boxed>") + " vs " + ds[i].answer;
    // The derangement i -> i + 1 (mod 500). Three neighbours share an answer ("7", "3", 5 vs x=5).
    const auto& other = ds[(i + 1) % ds.size()].answer;
    if (!boxed || !math_answers_equal(*boxed, other)) ++rejected;
    else false_matches += "\n  " + std::to_string(i) + ": " + *boxed + " vs " + other;
  }
  EXPECT_GE(correct, 495u) << misses;   // >= 99%
  EXPECT_GE(rejected, 495u) << false_matches;
  EXPECT_EQ(correct, 500u) << misses;   // what the verifier achieves today
  EXPECT_EQ(rejected, 497u) << false_matches;
}

// "1234567" -> "1,234,567"; other forms (negative, decimal) as they are.
std::string with_thousands(const std::string& n) {
  if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) return n;
  std::string out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (i > 0 && (n.size() - i) % 3 == 0) out += ',';
    out += n[i];
  }
  return out;
}

TEST(RewardsData, Gsm8kSolutionsGradeCorrectStrictAndFlexible) {
  for (const char* file : {"gsm8k_train.jsonl", "gsm8k_test.jsonl"}) {
    std::ifstream in(test::benchmarks_dir() / file);
    ASSERT_TRUE(in) << file;
    auto ds = Dataset::load_jsonl(test::benchmarks_dir() / file, DataConfig{.prompt_field = "question"});
    // Completions written as a model would, from the benchmark's own text: the worked solution as
    // the reasoning, then the final number the solution states after "####", parsed here by the test
    // (not by the verifier) and re-printed with thousands separators and a "$".
    std::vector<std::string> strict_completions, flexible_completions;
    std::string line;
    while (std::getline(in, line)) {
      const auto solution = nlohmann::json::parse(line)["answer"].get<std::string>();
      const auto hashes = solution.rfind("####");
      ASSERT_NE(hashes, std::string::npos) << solution;
      std::string number;
      for (char c : solution.substr(hashes + 4))
        if (c != ',' && c != ' ' && c != '\n') number += c;
      const std::string reasoning = solution.substr(0, hashes);
      strict_completions.push_back(reasoning + "#### " + with_thousands(number));
      flexible_completions.push_back("<think>" + reasoning + "</think>\n<answer>The answer is $" +
                                     with_thousands(number) + ".</answer>");
    }
    ASSERT_EQ(strict_completions.size(), ds.size());
    for (const char* mode : {"strict", "flexible"}) {
      const auto& completions = std::string(mode) == "strict" ? strict_completions : flexible_completions;
      auto reward = make_reward({.name = RewardKind::Gsm8k, .mode = mode});
      std::vector<RewardInput> batch;
      std::string prompt;
      for (std::size_t i = 0; i < ds.size(); ++i) batch.push_back({prompt, completions[i], ds[i].answer, ds[i].metadata});
      auto scores = reward->score(batch);
      std::size_t correct = 0;
      std::string misses;
      for (std::size_t i = 0; i < scores.size(); ++i) {
        if (scores[i] == 1.0) ++correct;
        else if (misses.size() < 2000) misses += "\n  " + std::to_string(i) + ": " + ds[i].answer;
      }
      EXPECT_EQ(correct, ds.size()) << file << " " << mode << misses;
      // Shifted by one, answers mostly differ (GSM8K answers repeat; a few neighbours coincide).
      std::vector<RewardInput> shifted;
      for (std::size_t i = 0; i < ds.size(); ++i)
        shifted.push_back({prompt, completions[i], ds[(i + 1) % ds.size()].answer, ds[i].metadata});
      auto wrong = reward->score(shifted);
      double accepted = std::accumulate(wrong.begin(), wrong.end(), 0.0);
      EXPECT_LT(accepted, 0.02 * static_cast<double>(ds.size())) << file << " " << mode;
    }
  }
}

}  // namespace
}  // namespace r1
