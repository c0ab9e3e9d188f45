// Typed run configuration: YAML parsed once (default < file < --set) into structs with defaults.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "r1/core/options.h"
#include "r1/core/sampling.h"

namespace r1 {

struct ModelConfig {
  std::string path;                 // Hugging Face directory: config.json, *.safetensors, tokenizer;
                                    // or a hub id (ORG/NAME) found in the local Hugging Face cache
  std::string revision = "main";    // a hub id's revision: a branch or tag in refs/, or a commit
  Dtype dtype = Dtype::Auto;        // auto (bfloat16 on CUDA, float32 on CPU) | float32 | bfloat16 | float16
  std::string device = "auto";      // auto | cpu | cuda | cuda:N
};

struct DataConfig {
  std::string train;                    // training prompts, JSONL
  std::string prompt_field = "prompt";  // e.g. question, problem
  std::string answer_field = "answer";  // e.g. solution
  std::string template_ = "r1_zero";    // r1_zero | countdown | chat | plain | model | a string with {prompt}
  bool shuffle = true;                  // reshuffle every epoch, seeded by train.seed
  std::string system_prompt;            // template model: a system turn put first (unless a row has one)
  std::string chat_template;            // template model: a Jinja file instead of the model's template
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();  // template model:
                                        // extra template variables, e.g. {enable_thinking: false}
};

struct RolloutConfig {
  int group_size = 8;                         // G completions per prompt
  int max_new_tokens = 512;                   // completion length limit
  double temperature = 1.0;                   // 0 = greedy
  double top_p = 1.0;                         // nucleus mass, (0, 1]
  int top_k = 0;                              // 0 = off
  double min_p = 0.0;                         // 0 = off
  double repetition_penalty = 1.0;            // 1 = off
  std::vector<std::string> stop = {"</answer>"};  // stop strings, kept in the completion
  int batch_size = 64;                        // completions decoded together
  int max_turns = 4;                          // tools: calls per completion; one more ends it (max_turns)
  int max_tool_output_tokens = 256;           // tools: tokens of one answer kept (middle cut out)
  int max_total_tokens = 0;                   // tools: model + tool tokens; 0 = max_new_tokens + max_turns x max_tool_output_tokens
  int tool_workers = 4;                       // tools: calls run at once while other rows decode

  SamplingOptions sampling() const;  // the five sampling settings above
};

struct RewardConfig {
  RewardKind name = RewardKind::Format;  // format | tag_count | math | ... | overlong | cosine | repetition
  double weight = 1.0;         // weight in the summed reward
  std::string mode;            // reward-specific mode: format strict|lenient, gsm8k strict|flexible, cosine's verifier
  std::string pattern;         // regex: the pattern a completion must match
  std::string command;         // command: the program (and arguments) to start
  double timeout_s = 30.0;     // command: seconds to wait for one score
  double default_score = 0.0;  // command: score used when the program fails, if on_error=default
  OnError on_error = OnError::Error;  // command: error | default
  double format_score = 0.1;   // countdown: score of a well-formed but wrong answer
  int buffer = 0;              // overlong: tokens before the limit where the penalty ramps up (DAPO's L_cache)
  double penalty = 1.0;        // overlong: the penalty at the limit (score -penalty)
  int max_len = 0;             // overlong, cosine: the length limit in tokens; 0 = rollout.max_new_tokens
  double min_value_wrong = 0.0;     // cosine: a wrong answer at max_len
  double max_value_wrong = -0.5;    // cosine: a wrong answer of length 0
  double min_value_correct = 0.5;   // cosine: a correct answer at max_len
  double max_value_correct = 1.0;   // cosine: a correct answer of length 0
  int ngram = 3;               // repetition: words per n-gram
  double max_penalty = -1.0;   // repetition: the score when every n-gram repeats (<= 0)
  MathExtract extract = MathExtract::Tagged;  // math, cosine: where the final answer is (tagged | any)
  int float_rounding = 6;      // math, cosine: decimal places numbers are compared at (Math-Verify's name)
  PercentMode percent = PercentMode::Both;  // math, cosine: what "50\%" equals (both | fraction | number)
};

// A tool the policy may call during its rollouts (`tools:`): what it wrote between `start` and
// `stop` is the call; the tool's answer, put into `output_template`, is appended to the completion.
struct ToolConfig {
  std::string name;                  // how calls, metrics and `r1train tool` name it
  ToolKind kind = ToolKind::Python;  // python | command
  std::string command;               // python: the interpreter (default /usr/bin/python3); command: PROGRAM [ARGS...]
  std::string start;                 // call opener; "" = the kind's ("```python" | "<tool_call>")
  std::string stop;                  // call closer; "" = the kind's ("```" | "</tool_call>")
  std::string output_template;       // "" = the kind's ("\n```output\n{output}\n```\n" | "{output}")
  double timeout_s = 30.0;           // command: seconds to wait for one answer
};

// Where model-written code runs (tools of kind python).
struct SandboxConfig {
  double cpu_seconds = 10.0;     // RLIMIT_CPU of the code
  double wall_seconds = 10.0;    // wall clock; past it everything the call started is killed
  int memory_mb = 1024;          // RLIMIT_AS; 0 = unlimited
  int max_processes = 64;        // RLIMIT_NPROC of the code's own uid (needs root); 0 = no limit
  int max_file_mb = 16;          // RLIMIT_FSIZE and the working directory's size
  int max_output_bytes = 16384;  // stdout + stderr kept; past it the code is killed
  SandboxNetwork network = SandboxNetwork::Deny;           // deny | allow
  SandboxFilesystem filesystem = SandboxFilesystem::Isolated;  // isolated | open
};

struct GrpoConfig {
  LossType loss_type = LossType::Dapo;   // grpo | bnpo | dr_grpo | dapo | cispo | sapo
  double epsilon = 0.2;                  // lower clip: ratio >= 1 - epsilon
  double epsilon_high = 0.28;            // upper clip: ratio <= 1 + epsilon_high
  double beta = 0.0;                     // KL weight; reference model loaded only when > 0
  KlEstimator kl_estimator = KlEstimator::K3;  // k1 | k2 | k3
  int num_iterations = 1;                // updates per rollout batch (mu)
  ScaleRewards scale_rewards = ScaleRewards::Group;  // group | batch | none
  bool mask_truncated_completions = false;  // drop completions cut by max_new_tokens from the loss
  bool mask_void_turns = false;  // tools: drop completions whose last turn neither calls nor answers (SimpleTIR)
  bool dynamic_sampling = false;         // drop zero-variance groups and refill (DAPO)
  int max_refill_rounds = 3;             // dynamic_sampling: extra rollout rounds per step at most
  ImportanceLevel importance_sampling_level = ImportanceLevel::Token;  // token | sequence (GSPO)
  double sapo_temperature_pos = 1.0;     // sapo: tau for A > 0
  double sapo_temperature_neg = 1.05;    // sapo: tau for A <= 0
  double clip_ratio_c = 0;               // dual clip: A < 0 losses capped at -A c (verl); 0 = off
  double delta = 0;                      // upper bound of the ratio for every advantage (INTELLECT-2); 0 = off
  AdvantageEstimator advantage = AdvantageEstimator::Grpo;  // grpo | rloo | reinforce_pp
  double top_entropy_quantile = 1.0;     // train on this fraction of tokens, the highest-entropy ones (1 = all)
  double entropy_coef = 0;               // entropy bonus: the loss minus entropy_coef x the mean token entropy
  RewardAggregation reward_aggregation = RewardAggregation::SumThenNormalize;  // how several rewards combine
  RolloutCorrection rollout_correction = RolloutCorrection::None;  // none | tis | mis: sampler/trainer mismatch
  double rollout_correction_cap = 2.0;   // tis: the weight's cap; mis: tokens kept while the ratio is in [1/cap, cap]
  int ref_sync_every = 0;                // steps between reference refreshes (needs beta > 0); 0 = never
  double ref_mixup_alpha = 0.6;          // refresh: ref = alpha policy + (1 - alpha) ref
};

struct OptimConfig {
  double lr = 1.0e-6;                        // peak learning rate
  double weight_decay = 0.0;                 // AdamW decoupled weight decay
  std::vector<double> betas = {0.9, 0.99};   // AdamW betas
  double eps = 1.0e-8;                       // AdamW epsilon
  int warmup_steps = 0;                      // linear warmup from 0
  Schedule schedule = Schedule::Constant;    // constant | linear | cosine
  double max_grad_norm = 1.0;                // 0 = no clipping
};

// LoRA adapters (PEFT's layout): off when r is 0.
struct LoraConfig {
  int r = 0;                      // adapter rank; 0 = train the whole model
  double alpha = 16;              // scaling alpha / r (alpha / sqrt(r) with use_rslora)
  double dropout = 0;             // on the adapter's input, in training only
  std::vector<std::string> target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  bool use_rslora = false;
  std::string adapter_path;       // start from this adapter directory ("" = fresh: A random, B zero)
  bool save_merged = false;       // also write base + adapter folded, as merged/ in each checkpoint
};

// Several processes (torchrun / srun): read only when the launcher's environment says so.
struct DistConfig {
  DistBackend backend = DistBackend::Auto;  // auto | gloo | nccl
  int timeout_s = 1800;                     // a collective waiting longer than this fails the run
  bool shard_optimizer = false;             // ZeRO-1: AdamW moments and fp32 masters split over the ranks
};

struct TrainConfig {
  int steps = 500;                       // optimizer steps (rollout batches)
  int prompts_per_step = 16;             // B prompts per step
  int micro_batch_size = 4;              // sequences per forward/backward
  bool gradient_checkpointing = false;   // recompute layer activations in backward
  int seed = 42;                         // seeds data order, sampling and init
  std::string output_dir = "runs/r1train";  // run directory
  int checkpoint_every = 50;             // steps; 0 = only at the end
  int keep_last = 3;                     // checkpoints kept; 0 = all
  int log_samples_every = 10;            // steps; 0 = never
  int threads = 0;                       // CPU threads for torch; 0 = all available cores
};

struct EvalConfig {
  std::string data;            // evaluation JSONL
  EvalTask task = EvalTask::Math;  // verifier used to grade: math | gsm8k | countdown | exact | choice
  int every = 0;               // steps; 0 = off
  int num_samples = 1;         // samples per problem (pass@k, maj@k)
  int max_problems = 0;        // 0 = all
  double temperature = -1;     // -1: greedy for one sample, else 1.0; R1 reports 0.6
  double top_p = 1.0;          // R1 reports 0.95
  MathExtract extract = MathExtract::Tagged;  // math task: where the final answer is (tagged | any)
};

// `r1train sft`: next-token training on a JSONL corpus (a base model from scratch, or R1's cold-start SFT).
// The optimizer's betas, eps and max_grad_norm come from `optim`; lr, warmup and schedule from here.
struct SftConfig {
  std::string data;                             // training corpus, JSONL
  std::string text_field = "text";              // the whole example; rows without it use prompt + completion
  std::string prompt_field = "prompt";          // the part before the completion
  std::string completion_field = "completion";  // the part after the prompt
  bool completion_only_loss = false;            // loss on completion tokens only (rows need both fields)
  bool add_eos = true;                          // append the tokenizer's eos token to every example
  SftInit init = SftInit::Pretrained;           // pretrained: model.path's weights | random: fresh weights
                                                // drawn from sft.seed with model.path's config.json
  int epochs = 1;                               // passes over the corpus
  int batch_size = 32;                          // examples per optimizer step
  int micro_batch_size = 32;                    // examples per forward/backward (gradient accumulation)
  int max_length = 512;                         // tokens per example; longer ones are truncated
  double lr = 1.0e-4;                           // peak learning rate
  double weight_decay = 0.0;                    // AdamW decoupled weight decay
  int warmup_steps = 0;                         // linear warmup from 0
  Schedule schedule = Schedule::Cosine;         // constant | linear | cosine
  int seed = 42;                                // seeds data order and random init
  std::string output_dir = "runs/sft";          // run directory (metrics.jsonl, checkpoints/)
  int save_every = 0;                           // steps between checkpoints; 0 = only at the end
  int keep_last = 1;                            // checkpoints kept; 0 = all
  int log_every = 10;                           // steps between console lines
};

struct Config {
  ModelConfig model;
  DataConfig data;
  RolloutConfig rollout;
  std::vector<RewardConfig> rewards = {{.name = RewardKind::Format}, {.name = RewardKind::Math}};
  GrpoConfig grpo;
  OptimConfig optim;
  TrainConfig train;
  EvalConfig eval;
  SftConfig sft;
  LoraConfig lora;
  DistConfig dist;
  std::vector<ToolConfig> tools;
  SandboxConfig sandbox;
};

// Where a config came from, for error messages.
struct ConfigSource {
  std::filesystem::path file;             // empty: built-in defaults only
  std::vector<std::string> overrides;     // "key.path=value" from --set, applied in order
};

// What a command needs from the config beyond type and range checks.
enum class ConfigUse { Any, Train, Sft };

// Loads defaults < file < overrides, checks every key, type, range and cross-key
// rule, and throws InputError listing every problem found (file, line, key, fix).
Config load_config(const ConfigSource& source, ConfigUse use = ConfigUse::Train);

// Like load_config, but returns the problems instead of throwing (empty = valid).
std::vector<std::string> check_config(const ConfigSource& source, Config& out,
                                      ConfigUse use = ConfigUse::Train);

// The fully resolved configuration as YAML (what a run writes to config.yaml).
std::string to_yaml(const Config& config);

// The settings that alter a run's results, one "section.key: value" line each (list items flattened): for ConfigUse::Train the GRPO sections
// (model, data, rollout, rewards, grpo, optim, train) and for ConfigUse::Sft the model, optim and sft
// sections, each without the fields the config marks free (logging, checkpointing, device, threads,
// micro-batch split, step count). What a checkpoint records and resume compares.
std::vector<std::string> run_defining_lines(const Config& config, ConfigUse use);

// The configuration reference in markdown, generated from the field list: one table per section
// (key, type or allowed values, default, whether resume may see it change, meaning), in the order
// of the config. `r1train validate --reference configuration` prints it; docs/configuration.md holds it.
std::string configuration_reference();

// Every valid key path ("grpo.epsilon_high", "rewards[].weight", ...).
std::vector<std::string> config_keys();

// Every setting of `config` as (key path, value as text), in the order of config_keys (reward
// entries as "rewards[I].key", lists as one value): the fields compared one by one, independently
// of the YAML emitter.
std::vector<std::pair<std::string, std::string>> config_values(const Config& config);

}  // namespace r1
