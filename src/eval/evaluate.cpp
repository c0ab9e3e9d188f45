#include "r1/eval/evaluate.h"

#include <fmt/format.h>

#include <map>

#include "r1/data/prompt_template.h"
#include "r1/generation/prompts.h"
#include "r1/rewards/reward_set.h"

namespace r1 {

nlohmann::json EvalSummary::to_json() const {
  return {{"problems", problems},   {"k", k}, {"temperature", temperature}, {"top_p", top_p},
          {"pass@1", pass_at_1},    {fmt::format("pass@{}", k), pass_at_k},
          {fmt::format("maj@{}", k), maj_at_k}, {"format_rate", format_rate},
          {"mean_length", mean_length}};
}

EvalSummary summarize(const std::vector<ProblemResult>& problems, const GenerateOptions& generate) {
  const int k_samples = generate.group_size;
  double correct_sum = 0, any_sum = 0, maj_sum = 0, format_sum = 0, length_sum = 0;
  for (const auto& r : problems) {
    const double k = static_cast<double>(std::max<std::size_t>(1, r.correct.size()));
    const double c = static_cast<double>(std::count(r.correct.begin(), r.correct.end(), true));
    correct_sum += c / k;
    any_sum += c > 0 ? 1 : 0;
    maj_sum += r.majority_correct ? 1 : 0;
    format_sum += static_cast<double>(std::count(r.formatted.begin(), r.formatted.end(), true)) / k;
    for (int len : r.lengths) length_sum += len / k;
  }
  EvalSummary s;
  s.problems = static_cast<int>(problems.size());
  s.k = k_samples;
  const double denom = std::max<double>(1.0, static_cast<double>(problems.size()));
  s.pass_at_1 = correct_sum / denom;
  s.pass_at_k = any_sum / denom;
  s.maj_at_k = maj_sum / denom;
  s.format_rate = format_sum / denom;
  s.mean_length = length_sum / denom;
  s.temperature = generate.sampling.temperature;
  s.top_p = generate.sampling.top_p;
  return s;
}

nlohmann::json to_json(const ProblemResult& r) {
  return {{"index", r.index},           {"prompt", r.prompt},       {"answer", r.answer},
          {"completions", r.completions}, {"predictions", r.predictions}, {"correct", r.correct},
          {"formatted", r.formatted},   {"lengths", r.lengths},     {"majority", r.majority},
          {"majority_correct", r.majority_correct}};
}

ProblemResult problem_from_json(const nlohmann::json& j) {
  ProblemResult r;
  r.index = j.at("index").get<std::size_t>();
  r.prompt = j.at("prompt").get<std::string>();
  r.answer = j.at("answer").get<std::string>();
  r.completions = j.at("completions").get<std::vector<std::string>>();
  r.predictions = j.at("predictions").get<std::vector<std::string>>();
  r.correct = j.at("correct").get<std::vector<bool>>();
  r.formatted = j.at("formatted").get<std::vector<bool>>();
  r.lengths = j.at("lengths").get<std::vector<int>>();
  r.majority = j.at("majority").get<std::string>();
  r.majority_correct = j.at("majority_correct").get<bool>();
  return r;
}

EvalOptions eval_options(const Config& config, std::shared_ptr<const PromptRenderer> prompts,
                         std::shared_ptr<ToolBox> tools) {
  EvalOptions options;
  if (!tools && !config.tools.empty()) tools = std::make_shared<ToolBox>(config.tools, config.sandbox);
  options.tools = std::move(tools);
  options.task = config.eval.task;
  options.extract = config.eval.extract;
  options.prompts = prompts ? std::move(prompts) : std::make_shared<const PromptRenderer>(config.data, config.model.path);
  options.max_problems = config.eval.max_problems;
  options.generate = rollout_generate_options(config.rollout);
  options.generate.group_size = config.eval.num_samples;
  auto& sampling = options.generate.sampling;
  sampling.temperature = config.eval.temperature >= 0 ? config.eval.temperature : (config.eval.num_samples > 1 ? 1.0 : 0.0);
  sampling.top_p = config.eval.top_p;
  options.generate.seed = static_cast<uint64_t>(config.train.seed);
  if (options.tools) options.generate.render_answer = tool_answer_renderer(options.prompts);
  return options;
}

EvalReport evaluate(CausalLM& model, const Tokenizer& tokenizer, const Dataset& data, const EvalOptions& options) {
  std::size_t n = data.size();
  if (options.max_problems > 0) n = std::min<std::size_t>(n, static_cast<std::size_t>(options.max_problems));
  const std::size_t last = options.last > 0 ? std::min(n, options.last) : n;
  EvalReport report;
  std::vector<std::vector<int>> prompts;
  for (std::size_t i = options.first; i < last; ++i) {
    ProblemResult r;
    r.index = i;
    r.prompt = options.prompts->render(data[i]);
    r.answer = data[i].answer;
    prompts.push_back(encode_prompt(tokenizer, r.prompt));
    report.problems.push_back(std::move(r));
  }
  GenerateOptions gen = options.generate;
  gen.batch_size = std::max(gen.batch_size, gen.group_size);  // a problem's samples decode together
  gen.first_prompt_index = static_cast<int64_t>(options.first);
  std::vector<std::string> prompt_texts;
  if (options.tools) {
    for (const auto& r : report.problems) prompt_texts.push_back(r.prompt);
    gen.tools = options.tools.get();
    gen.prompt_texts = &prompt_texts;
  }
  auto completions = generate(model, tokenizer, prompts, gen);

  for (const auto& c : completions) {
    auto& r = report.problems[static_cast<std::size_t>(c.prompt_index)];
    const auto& ex = data[r.index];
    auto predicted = extract_answer(options.task, c.text, options.extract);
    bool ok = predicted && answers_match(options.task, *predicted, ex.answer, ex.metadata);
    r.completions.push_back(c.text);
    r.predictions.push_back(predicted.value_or(""));
    r.correct.push_back(ok);
    r.formatted.push_back(format_score(r.prompt, c.text, /*strict=*/true) >= 1.0);
    r.lengths.push_back(static_cast<int>(c.token_ids.size()));
  }
  for (auto& r : report.problems) {
    std::map<std::string, int> votes;
    int first_best = 0;
    for (std::size_t s = 0; s < r.predictions.size(); ++s) {
      if (r.predictions[s].empty()) continue;
      int v = ++votes[r.predictions[s]];
      if (v > first_best) {  // ties go to the answer that reached the count first
        first_best = v;
        r.majority = r.predictions[s];
      }
    }
    const auto& ex = data[r.index];
    r.majority_correct = !r.majority.empty() && answers_match(options.task, r.majority, ex.answer, ex.metadata);
  }
  report.summary = summarize(report.problems, options.generate);
  return report;
}

}  // namespace r1
