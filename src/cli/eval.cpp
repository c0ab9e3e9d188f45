#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "r1/cli/commands.h"
#include "r1/core/config.h"
#include "r1/core/error.h"
#include "r1/core/hub.h"
#include "r1/core/output_file.h"
#include "r1/eval/evaluate.h"
#include "r1/generation/prompts.h"
#include "r1/model/decoder.h"
#include "r1/model/lora.h"
#include "r1/tokenizer/tokenizer.h"

namespace r1::cli {

void add_eval_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand(
      "eval", "Evaluate a model on a JSONL test set: pass@1, pass@k, maj@k (k = --num-samples) and format rate");
  struct Args {
    std::string config_file, model, adapter, data, output, template_name, device = "auto";
    EvalTask task = EvalTask::Math;
    MathExtract extract = MathExtract::Tagged;
    Dtype dtype = Dtype::Auto;
    std::vector<std::string> overrides;
    std::string prompt_field, answer_field;
    int num_samples = 0, max_problems = -1, max_new_tokens = 0;
    double temperature = -1, top_p = 0;
    uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  add_config_options(sub, a->config_file, a->overrides, /*optional=*/true);
  sub->add_option("--model", a->model, "Hugging Face model directory (overrides model.path)");
  sub->add_option("--adapter", a->adapter, "LoRA adapter directory (PEFT layout, e.g. a LoRA checkpoint) on the model");
  sub->add_option("--data", a->data, "Test set, JSONL (overrides eval.data)");
  auto* task_opt = add_choice_option(sub, "--task", a->task, "Verifier (overrides eval.task)");
  auto* extract_opt = add_choice_option(sub, "--extract", a->extract,
                                        "math: where the final answer is (overrides eval.extract; any: prose too)");
  sub->add_option("--num-samples,-k", a->num_samples, "Samples per problem (pass@k, maj@k)")
      ->check(at_least(1));
  sub->add_option("--max-problems", a->max_problems, "Evaluate only the first N problems (0 = all)")
      ->check(at_least(0));
  auto* max_new_opt = sub->add_option("--max-new-tokens", a->max_new_tokens, "Completion length limit")->check(at_least(1));
  sub->add_option("--temperature", a->temperature,
                  "Sampling temperature (default: eval.temperature, else 0 = greedy for k = 1 and 1.0 above; R1: 0.6)")
      ->check(at_least(0));
  sub->add_option("--top-p", a->top_p, "Nucleus sampling mass in (0, 1] (default: eval.top_p, else 1.0; R1: 0.95)")
      ->check(above(0))
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--template", a->template_name, "Prompt template (default r1_zero, or data.template)");
  sub->add_option("--prompt-field", a->prompt_field, "JSONL field holding the prompt");
  sub->add_option("--answer-field", a->answer_field, "JSONL field holding the reference answer");
  auto* device_opt =
      sub->add_option("--device", a->device, "auto | cpu | cuda | cuda:N (default: model.device, else auto)")
          ->capture_default_str();
  auto* dtype_opt = add_choice_option(sub, "--dtype", a->dtype, "Weights' dtype (default: model.dtype, else auto)");
  sub->add_option("--seed", a->seed, "Sampling seed")->capture_default_str();
  sub->add_option("--output,-o", a->output, "Write per-problem results as JSONL here");
  sub->callback([&action, a, task_opt, extract_opt, dtype_opt, max_new_opt, device_opt] {
    const bool extract_given = extract_opt->count() > 0;
    const bool task_given = task_opt->count() > 0, dtype_given = dtype_opt->count() > 0,
               device_given = device_opt->count() > 0;
    const bool length_given = max_new_opt->count() > 0;
    action = [a, task_given, extract_given, dtype_given, device_given, length_given] {
      Config config;
      if (!a->config_file.empty()) {
        config = load_config({a->config_file, a->overrides}, ConfigUse::Any);
        if (!dtype_given) a->dtype = config.model.dtype;
        if (!device_given) a->device = config.model.device;
      } else if (a->model.empty() || a->data.empty() || !task_given) {
        throw InputError("eval needs --config F, or all of --model DIR --data FILE --task NAME");
      }
      if (!a->model.empty()) config.model.path = resolve_model_dir(a->model, config.model.revision);
      if (!a->data.empty()) config.eval.data = a->data;
      if (task_given) config.eval.task = a->task;
      if (extract_given) config.eval.extract = a->extract;
      if (!a->template_name.empty()) config.data.template_ = a->template_name;
      if (!a->prompt_field.empty()) config.data.prompt_field = a->prompt_field;
      if (!a->answer_field.empty()) config.data.answer_field = a->answer_field;
      if (a->num_samples > 0) config.eval.num_samples = a->num_samples;
      if (a->max_problems >= 0) config.eval.max_problems = a->max_problems;
      if (a->max_new_tokens > 0) config.rollout.max_new_tokens = a->max_new_tokens;
      if (a->temperature >= 0) config.eval.temperature = a->temperature;
      if (a->top_p > 0) config.eval.top_p = a->top_p;
      if (config.model.path.empty()) throw InputError("eval: no model; pass --model DIR or set model.path");
      if (config.eval.data.empty()) throw InputError("eval: no test set; pass --data FILE or set eval.data");

      // Everything that can be wrong with the arguments is found before the model is loaded.
      std::optional<OutputFile> results;
      if (!a->output.empty()) results.emplace(a->output);
      OutputFile out = OutputFile::standard_output();
      const torch::Device device = resolve_device(a->device);
      auto loaded = load_model(config.model.path, resolve_dtype(a->dtype, device, "--dtype (or model.dtype)"), device);
      if (!a->adapter.empty()) load_adapter(loaded.model, a->adapter);
      auto tokenizer = Tokenizer::load(config.model.path);
      Dataset data = Dataset::load_jsonl(config.eval.data, config.data);
      // A length the user set must fit with every prompt; the default only caps at the context.
      EvalOptions options = eval_options(config);
      if (length_given || !a->config_file.empty())
        check_dataset_fits_context(data, *options.prompts, *tokenizer, config.rollout.max_new_tokens,
                                   loaded.config.max_position_embeddings, "--max-new-tokens (rollout.max_new_tokens)");
      options.generate.seed = a->seed;
      options.generate.progress = true;
      torch::NoGradGuard no_grad;
      loaded.model->eval();
      auto report = evaluate(loaded.model, *tokenizer, data, options);
      if (results) {
        for (const auto& p : report.problems) results->write(to_json(p).dump() + "\n");
        results->close();
      }
      auto summary = report.summary.to_json();
      summary["model"] = config.model.path;
      summary["data"] = config.eval.data;
      summary["task"] = option_name(config.eval.task);
      if (config.eval.task == EvalTask::Math) summary["extract"] = option_name(config.eval.extract);
      out.write(summary.dump() + "\n");
      return 0;
    };
  });
}

}  // namespace r1::cli
