#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <memory>

#include <spdlog/spdlog.h>

#include "r1/cli/commands.h"
#include "r1/core/config.h"
#include "r1/core/error.h"
#include "r1/core/hub.h"
#include "r1/core/output_file.h"
#include "r1/core/jsonl.h"
#include "r1/generation/generate.h"
#include "r1/generation/prompts.h"
#include "r1/generation/sampler.h"
#include "r1/model/decoder.h"
#include "r1/model/lora.h"
#include "r1/tokenizer/tokenizer.h"

namespace r1::cli {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct GenerateArgs {
  std::string model;
  std::string adapter;  // LoRA adapter directory on the model
  std::vector<std::string> prompts;
  std::string prompts_file;
  std::string output;
  std::string tools;  // a config file whose tools: the completions call
  std::string device = "auto";
  Dtype dtype = Dtype::Auto;
  bool max_new_tokens_given = false;
  uint64_t seed = 0;
  GenerateOptions options;
  int benchmark_rows = 0;    // hidden: time decoding of this many random 16-token prompts
  bool naive = false;        // hidden, with benchmark_rows: full recomputation at every step
  bool stats = false;        // hidden: the engine's GenerateStats as one JSON line on stderr
  bool cuda_sync_check = false;  // hidden, with benchmark_rows: any host sync in the decode loop is an error
};

// Lines of FILE.jsonl: objects with a string "prompt", or bare JSON strings.
std::vector<std::string> read_prompts(const std::string& path) {
  std::vector<std::string> out;
  read_jsonl(path, {.role = "the prompts file", .objects_only = false}, [&](JsonlRow& line) {
    const json& j = line.value;
    if (j.is_string()) out.push_back(j.get<std::string>());
    else if (j.is_object() && j.contains("prompt") && j["prompt"].is_string()) out.push_back(j["prompt"].get<std::string>());
    else throw InputError(line.where + ": expected an object with a string \"prompt\" (or a JSON string)");
  });
  return out;
}

// Full recomputation at every step (no cache): the baseline scripts/bench_generate.sh compares with.
void naive_decode(CausalLM& model, torch::Tensor ids, int steps, const SamplingOptions& sampling, uint64_t seed) {
  std::vector<SampleStream> streams;
  for (int64_t r = 0; r < ids.size(0); ++r) streams.push_back(sample_stream(seed, r, 0));
  auto keys = stream_tensor(streams, ids.device());  // [N, 2]
  for (int i = 0; i < steps; ++i) {
    auto logits = model->logits(ids, torch::ones_like(ids)).select(1, ids.size(1) - 1);  // [N, V]
    auto u = sampling_uniforms(keys, torch::full({ids.size(0)}, i, keys.options()));
    ids = torch::cat({ids, sample_tokens(logits, sampling, u).tokens.unsqueeze(1)}, 1);
  }
}

// Decoding speed on random prompts: prints {"rows", "new_tokens", "seconds", "tokens_per_s"}.
int run_benchmark(GenerateArgs& args) {
  const torch::Device device = resolve_device(args.device);
  const torch::Dtype dtype = resolve_dtype(args.dtype, device, "--dtype");
  auto loaded = load_model(args.model, dtype, device);
  if (!args.adapter.empty()) load_adapter(loaded.model, args.adapter);
  const int64_t rows = args.benchmark_rows, prompt_len = 16;
  auto gen = make_generator(args.seed, device);
  auto ids = torch::randint(3, loaded.config.vocab_size, {rows, prompt_len}, gen, torch::kInt64);  // [N, 16]
  auto& o = args.options;
  o.batch_size = static_cast<int>(rows);
  torch::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  if (args.naive) {
    naive_decode(loaded.model, ids.to(device), o.max_new_tokens, o.sampling, args.seed);
  } else {
    std::vector<std::vector<int>> prompts;
    for (int64_t r = 0; r < rows; ++r) {
      auto row = ids[r];
      prompts.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + prompt_len);
    }
    TextDecoder no_text = [](const std::vector<int>&) { return std::string(); };
    o.seed = args.seed;
    std::optional<CudaSyncDebug> sync_check;
    if (args.cuda_sync_check) sync_check.emplace(CudaSyncDebug::kCheck);
    generate(loaded.model, no_text, {}, prompts, o);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double tokens = static_cast<double>(rows) * o.max_new_tokens;
  std::cout << json{{"rows", rows}, {"new_tokens", o.max_new_tokens}, {"seconds", seconds},
                    {"tokens_per_s", tokens / seconds}}.dump()
            << "\n";
  return kExitOk;
}

int run_generate(GenerateArgs& args) {
  if (args.benchmark_rows > 0) return run_benchmark(args);
  std::vector<std::string> texts = args.prompts;
  if (!args.prompts_file.empty()) {
    auto more = read_prompts(args.prompts_file);
    texts.insert(texts.end(), more.begin(), more.end());
  }
  if (texts.empty()) throw InputError("no prompts: give --prompt TEXT or --prompts FILE.jsonl");
  check_sampling_options(args.options.sampling);
  const torch::Device device = resolve_device(args.device);
  const torch::Dtype dtype = resolve_dtype(args.dtype, device, "--dtype");
  auto tokenizer = Tokenizer::load(args.model);
  std::vector<std::vector<int>> prompt_ids;
  for (const auto& t : texts) {
    prompt_ids.push_back(tokenizer->encode(t, /*add_special_tokens=*/true));
    if (prompt_ids.back().empty())
      throw InputError(fmt::format("prompt {} encodes to no tokens; give a non-empty prompt", prompt_ids.size() - 1));
  }
  if (args.max_new_tokens_given) {  // a length the user set must fit with every prompt; the default is capped
    const auto context = TransformerConfig::from_json_file(fs::path(args.model) / "config.json").max_position_embeddings;
    for (std::size_t i = 0; i < prompt_ids.size(); ++i)
      check_fits_context(static_cast<int64_t>(prompt_ids[i].size()), args.options.max_new_tokens, context,
                         fmt::format("prompt {}", i), "--max-new-tokens");
  }
  OutputFile out = args.output.empty() ? OutputFile::standard_output() : OutputFile(args.output);
  auto loaded = load_model(args.model, dtype, device);
  if (!args.adapter.empty()) load_adapter(loaded.model, args.adapter);
  args.options.progress = isatty(STDERR_FILENO);
  args.options.seed = args.seed;
  std::shared_ptr<ToolBox> tools;
  if (!args.tools.empty()) {  // multi-turn: the file's tools, sandbox and rollout.max_turns ... tool_workers
    const Config config = load_config({args.tools, {}}, ConfigUse::Any);
    if (config.tools.empty()) throw InputError("--tools " + args.tools + ": tools: none configured");
    tools = std::make_shared<ToolBox>(config.tools, config.sandbox);
    for (const auto& g : tools->guarantees()) spdlog::info("sandbox: {}", g);
    const auto& ro = config.rollout;
    args.options.tools = tools.get();
    args.options.max_turns = ro.max_turns;
    args.options.max_tool_output_tokens = ro.max_tool_output_tokens;
    args.options.max_total_tokens = ro.max_total_tokens;
    args.options.tool_workers = ro.tool_workers;
    args.options.prompt_texts = &texts;
  }
  GenerateStats stats;
  args.options.stats = &stats;
  auto completions = generate(loaded.model, *tokenizer, prompt_ids, args.options);
  if (args.stats)
    std::cerr << json{{"tokens", stats.tokens}, {"row_steps", stats.row_steps},
                      {"prefill_tokens", stats.prefill_tokens}, {"wasted_row_steps", stats.wasted_fraction()}}.dump()
              << "\n";
  for (const auto& c : completions) {
    json j = {{"prompt", texts[c.prompt_index]},
              {"prompt_ids", prompt_ids[c.prompt_index]},
              {"sample", c.sample},
              {"completion", c.text},
              {"completion_ids", c.token_ids},
              {"logprobs", c.logprobs},
              {"finish_reason", option_name(c.finish_reason)}};
    if (tools) {
      j["from_tool"] = c.from_tool;
      j["turns"] = turns_to_json(c.turns);
    }
    out.write(j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  }
  out.close();
  return kExitOk;
}

}  // namespace

void add_generate_command(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("generate", "Sample completions from a model: one JSON object per completion "
                                             "{prompt, prompt_ids, sample, completion, completion_ids, logprobs, "
                                             "finish_reason}");
  auto args = std::make_shared<GenerateArgs>();
  auto& o = args->options;
  sub->add_option("--model,-m", args->model, "Model directory (config.json, *.safetensors, tokenizer files)")
      ->required();
  sub->add_option("--adapter", args->adapter, "LoRA adapter directory (PEFT layout, e.g. a LoRA checkpoint) on the "
                                               "model");
  sub->add_option("--prompt", args->prompts, "A prompt (repeatable)")->expected(1)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--prompts", args->prompts_file, "JSONL file: {\"prompt\": TEXT} or a JSON string per line");
  sub->add_option("--num-samples,-n", o.group_size, "Completions per prompt")->check(at_least(1))
      ->capture_default_str();
  auto* max_new = sub->add_option("--max-new-tokens", o.max_new_tokens,
                                  "Tokens per completion at most (then finish_reason length); without it, "
                                  "completions also end where the model's context does")
                       ->check(at_least(1))
                       ->capture_default_str();
  sub->add_option("--temperature", o.sampling.temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  sub->add_option("--top-p", o.sampling.top_p, "Nucleus sampling mass in (0, 1]")->capture_default_str();
  sub->add_option("--top-k", o.sampling.top_k, "Keep the k most likely tokens; 0 = all")->capture_default_str();
  sub->add_option("--min-p", o.sampling.min_p, "Drop tokens below min_p x the top probability")->capture_default_str();
  sub->add_option("--repetition-penalty", o.sampling.repetition_penalty, "> 1 discourages repeated tokens")
      ->capture_default_str();
  sub->add_option("--seed", args->seed, "Random seed: same seed, prompts and device give the same samples")
      ->capture_default_str();
  sub->add_option("--stop", o.stop, "Stop string, e.g. </answer> (repeatable); the completion ends with it")
      ->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--batch-size", o.batch_size, "Completions decoded together")->check(at_least(1))
      ->capture_default_str();
  sub->add_option("--device", args->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  add_choice_option(sub, "--dtype", args->dtype, "Weights' dtype (default auto)");
  sub->add_option("--output,-o", args->output, "Write JSONL here instead of stdout");
  sub->add_option("--tools", args->tools,
                  "A config file whose tools: the completions call (multi-turn; with its sandbox: and "
                  "rollout.max_turns, max_tool_output_tokens, max_total_tokens, tool_workers); adds from_tool and "
                  "turns to each line");
  sub->add_option("--benchmark-rows", args->benchmark_rows, "")->group("");
  sub->add_flag("--naive", args->naive, "")->group("");
  sub->add_flag("--stats", args->stats, "")->group("");
  sub->add_flag("--cuda-sync-check", args->cuda_sync_check, "")->group("");
  sub->callback([&action, args, max_new] {
    args->max_new_tokens_given = max_new->count() > 0;
    action = [args] {
      args->model = resolve_model_dir(args->model);  // a hub id: its snapshot in the local cache
      return run_generate(*args);
    };
  });
}

}  // namespace r1::cli
