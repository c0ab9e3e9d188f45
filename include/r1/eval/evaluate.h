// Evaluation of a model on a test set with a task's verifier: pass@1, pass@k, maj@k and format rate.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "r1/core/config.h"
#include "r1/data/dataset.h"
#include "r1/generation/generate.h"
#include "r1/generation/prompts.h"
#include "r1/model/decoder.h"
#include "r1/tokenizer/tokenizer.h"

namespace r1 {

struct EvalOptions {
  EvalTask task = EvalTask::Math;        // verifier: math | gsm8k | countdown | exact | choice
  MathExtract extract = MathExtract::Tagged;  // math: where the final answer is (tagged | any)
  std::shared_ptr<const PromptRenderer> prompts;  // the prompt text of each problem (data.template)
  int max_problems = 0;                  // 0 = all
  // k samples per problem (group_size), length, batch, sampling (temperature 0 = greedy), stop
  // strings, seed, progress; first_prompt_index is set from `first`.
  GenerateOptions generate;
  // Problems [first, last) of those evaluated (last 0 = all): a rank's share. Sampling streams
  // follow the problem's position, so the results do not depend on the split.
  std::size_t first = 0, last = 0;
  std::shared_ptr<ToolBox> tools;  // tools: the completions call them as in training
};

struct ProblemResult {
  std::size_t index = 0;                  // dataset row
  std::string prompt;                     // after the template
  std::string answer;                     // reference
  std::vector<std::string> completions;   // k samples
  std::vector<std::string> predictions;   // extracted final answers ("" when none)
  std::vector<bool> correct;
  std::vector<bool> formatted;            // strict R1 format
  std::vector<int> lengths;               // completion tokens
  std::string majority;                   // most frequent non-empty prediction
  bool majority_correct = false;
};

struct EvalSummary {
  int problems = 0;
  int k = 1;
  double pass_at_1 = 0;       // mean fraction of correct samples
  double pass_at_k = 0;       // fraction of problems with at least one correct sample
  double maj_at_k = 0;        // fraction whose majority answer is correct
  double format_rate = 0;     // fraction of samples in the strict R1 format
  double mean_length = 0;     // completion tokens
  double temperature = 0;     // the protocol: sampling temperature (0 = greedy) and top_p
  double top_p = 1;
  nlohmann::json to_json() const;
};

struct EvalReport {
  EvalSummary summary;
  std::vector<ProblemResult> problems;
};

// Options from a run config: the rollout's generation settings (rollout_generate_options: length,
// batch, sampling, stop strings) with eval.num_samples samples per problem at eval.temperature
// (-1: greedy for one sample, else 1.0) and eval.top_p, seeded with train.seed; `prompts` renders
// the problems (made from data.template and model.path when not given).
EvalOptions eval_options(const Config& config, std::shared_ptr<const PromptRenderer> prompts = nullptr,
                         std::shared_ptr<ToolBox> tools = nullptr);

EvalReport evaluate(CausalLM& model, const Tokenizer& tokenizer, const Dataset& data, const EvalOptions& options);

// The summary of `problems` (k = generate.group_size samples each, sampled as `generate` says, which
// the summary records): what evaluate() reports, also for results gathered from several ranks.
EvalSummary summarize(const std::vector<ProblemResult>& problems, const GenerateOptions& generate);

nlohmann::json to_json(const ProblemResult& result);
ProblemResult problem_from_json(const nlohmann::json& j);

}  // namespace r1
