// Rule-based rewards: verifiers that score completions, combined into a weighted RewardSet.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "r1/core/config.h"
#include "r1/rewards/latex_math.h"

namespace r1 {

// One completion to score. `prompt` is the text the model saw (after the template), so that the
// format reward knows when the prompt already opened the <think> block. The members refer to the
// caller's strings and metadata: build the batch next to the data it points into and score it at
// once; a RewardInput is valid only for the RewardFunction::score call it is passed to.
struct RewardInput {
  const std::string& prompt;
  const std::string& completion;
  const std::string& answer;          // the reference answer
  const nlohmann::json& metadata;     // extra dataset fields, e.g. countdown numbers and target
  int64_t completion_tokens = -1;     // the completion's length in tokens; -1 = unknown
  int64_t max_new_tokens = 0;         // the limit it was sampled under; 0 = unknown
};

class RewardFunction {
 public:
  virtual ~RewardFunction() = default;
  virtual std::string name() const = 0;
  // One score per input, in order.
  virtual std::vector<double> score(const std::vector<RewardInput>& batch) = 0;
  // Scores replaced by a default since construction (the command reward with on_error: default).
  virtual int failures() const { return 0; }
};

// Builds the reward `config.name` names; InputError on a bad config (unknown mode, bad regex,
// a command program that does not exist or is not executable).
std::unique_ptr<RewardFunction> make_reward(const RewardConfig& config);

struct RewardScores {
  std::vector<double> total;                                  // weighted sum per completion
  std::map<std::string, std::vector<double>> per_reward;      // unweighted, by reward key (see names())
  std::map<std::string, int> failures;                        // defaults used in this call, by reward key
};

// The weighted list of rewards from the config.
class RewardSet {
 public:
  explicit RewardSet(const std::vector<RewardConfig>& configs);
  RewardScores score(const std::vector<RewardInput>& batch);
  // Reward keys in config order: the name, or name_2, name_3... when a name repeats.
  std::vector<std::string> names() const;
  // Their weights, in the same order.
  std::vector<double> weights() const;

 private:
  struct Entry {
    std::string key;
    double weight;
    std::unique_ptr<RewardFunction> fn;
    int failures_seen = 0;
  };
  std::vector<Entry> entries_;
};

// For evaluation (pass@k, maj@k): the task's final-answer extraction and equivalence; `extract`
// and `math` apply to the math task.
std::optional<std::string> extract_answer(EvalTask task, const std::string& completion,
                                          MathExtract extract = MathExtract::Tagged);
bool answers_match(EvalTask task, const std::string& predicted, const std::string& reference,
                   const nlohmann::json& metadata, const MathCompareOptions& math = {});

// Tags of the R1-Zero format.
struct FormatTags {
  std::string think_open = "<think>";
  std::string think_close = "</think>";
  std::string answer_open = "<answer>";
  std::string answer_close = "</answer>";
};

// Format reward for one completion: 1 when it is <think>...</think> then <answer>...</answer> (the
// <think> may sit at the end of the prompt instead). strict: nothing but whitespace around and one
// of each tag; lenient: the blocks may be surrounded by other text.
double format_score(const std::string& prompt, const std::string& completion, bool strict,
                    const FormatTags& tags = {});

// tag_count reward: 0.25 for each of the four tags that occurs exactly once and after the previous tag.
double tag_count_score(const std::string& prompt, const std::string& completion, const FormatTags& tags = {});

// GSM8K: the number after "#### " (strict), or the last number (flexible), with commas and $ removed.
std::optional<std::string> extract_gsm8k_answer(const std::string& completion, bool strict);
// Numeric equality of a GSM8K prediction and a reference (a bare number or a solution ending in #### N).
bool gsm8k_answers_equal(const std::string& predicted, const std::string& reference);

// Countdown: 1 when the <answer> expression uses each of `numbers` exactly once and equals `target`
// (|value - target| < 1e-5), `format_score` when an <answer> is present but wrong, else 0.
double countdown_score(const std::string& completion, const std::vector<long long>& numbers, double target,
                       double format_score);

// Length and repetition shaping (src/rewards/shaping.cpp).
// DAPO's soft overlong punishment (Yu et al. 2025, eq. 13; TRL's get_soft_overlong_punishment):
// 0 for length <= limit - buffer, then (limit - buffer - length) / buffer x penalty down to -penalty
// at the limit, -penalty beyond it.
double overlong_score(int64_t length, int64_t limit, int64_t buffer, double penalty);
// open-r1's cosine-scaled correctness (Yeo et al. 2025, "Demystifying Long CoT"): with progress
// p = min(length / max_len, 1), lo + (hi - lo)(1 + cos(p pi)) / 2, where (hi, lo) is (max_value_correct,
// min_value_correct) for a correct answer and (max_value_wrong, min_value_wrong) for a wrong one: the
// score at length 0 is hi, at max_len lo.
double cosine_score(bool correct, int64_t length, int64_t max_len, const RewardConfig& values);
// open-r1's n-gram repetition penalty: max_penalty x (1 - distinct / total) over the word n-grams of
// the lower-cased, whitespace-split completion; 0 when it has fewer than `ngram` words.
double repetition_score(const std::string& completion, int ngram, double max_penalty);

// Multiple choice: the letter (A-J) a completion or reference answer names, if any.
std::optional<char> extract_choice(const std::string& text);

// exact: the <answer> block, else the last \boxed, else the whole completion, whitespace squeezed.
std::optional<std::string> extract_exact_answer(const std::string& completion);
bool exact_answers_equal(const std::string& predicted, const std::string& reference);

}  // namespace r1
