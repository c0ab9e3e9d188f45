// The config's field list and everything driven by it: key listing, YAML parsing with file:line
// errors, --set, value rules, emitting, the run-defining lines and the generated reference
// (docs/configuration.md). Over 600 lines on purpose: every part is a visitor over the same private
// field list, which carries each key's meaning; split, the list would have to move to a header.
#include "r1/core/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "r1/core/error.h"
#include "r1/core/hub.h"
#include "r1/core/strings.h"
#include "r1/core/text_distance.h"

namespace r1 {

SamplingOptions RolloutConfig::sampling() const {
  SamplingOptions o;
  o.temperature = temperature;
  o.top_p = top_p;
  o.top_k = top_k;
  o.min_p = min_p;
  o.repetition_penalty = repetition_penalty;
  return o;
}

// Which runs a setting defines (what resume compares): a section names the commands whose results it
// alters; a field inherits its section's, or is kFree (logging, checkpointing, device, memory
// batching: may change on resume).
constexpr unsigned kFree = 0, kDefinesGrpo = 1, kDefinesSft = 2, kDefinesAll = kDefinesGrpo | kDefinesSft;

// Which rewards read a reward-specific field: one bit per RewardKind. A key set on a reward that
// does not read it is refused, and the emitter prints a reward's keys only where they are set.
using RewardMask = unsigned;
constexpr RewardMask kAllRewards = ~0u;
constexpr RewardMask read_by(std::initializer_list<RewardKind> kinds) {
  RewardMask m = 0;
  for (RewardKind k : kinds) m |= 1u << static_cast<unsigned>(k);
  return m;
}

// The names of the rewards in `readers`, in the option table's order.
std::vector<std::string> reader_names(RewardMask readers) {
  std::vector<std::string> names;
  for (const auto& info : option_table(RewardKind{}))
    if (readers & read_by({info.value})) names.emplace_back(info.name);
  return names;
}

// What visit() says of a field besides its key and member: its one-line meaning (the generated
// reference, docs/configuration.md), which runs it defines (a section: the commands whose results
// it alters; a field: kDefinesAll inherits its section's, kFree may change on resume) and, for a
// reward-specific field, which rewards read it.
struct Field {
  const char* meaning = "";
  unsigned defines = kDefinesAll;
  RewardMask read_by = kAllRewards;
};

// Every field of every section, once. The same lists drive parsing, printing, the key listing and
// the run-defining lines, so a new field is one line here plus its struct member.
template <class V>
void visit(V& v, ModelConfig& c) {
  v("path", c.path, {"Hugging Face directory: config.json, *.safetensors, tokenizer.json or tokenizer.model (required); or a hub id (`Qwen/Qwen2.5-1.5B`) found in the local Hugging Face cache (`HF_HUB_CACHE`, `HF_HOME/hub`, `~/.cache/huggingface/hub`; nothing is downloaded). An existing path wins"});
  v("revision", c.revision, {"a hub id's revision: a branch or tag the cache has in `refs/`, or a 40-hex commit"});
  v("dtype", c.dtype, {"parameters' dtype; `auto` is bfloat16 on CUDA and float32 on the CPU (the one rule of every command)"});
  v("device", c.device, {"`auto` | `cpu` | `cuda` | `cuda:N` (`auto`: CUDA when available)", kFree});
}

template <class V>
void visit(V& v, DataConfig& c) {
  v("train", c.train, {"training prompts, JSONL (required for `train`)"});
  v("prompt_field", c.prompt_field, {"field holding the prompt (e.g. `question`, `problem`)"});
  v("answer_field", c.answer_field, {"field holding the reference answer"});
  v("template", c.template_, {"prompt template: `r1_zero` | `countdown` | `chat` | `chatml` | `llama3` | `plain` | a string with `{prompt}` ([data.md](data.md))"});
  v("shuffle", c.shuffle, {"reshuffle each epoch, seeded by `train.seed`"});
  v("system_prompt", c.system_prompt, {"`template: model`: a system turn put before each prompt's messages (a row whose messages start with one keeps its own)"});
  v("chat_template", c.chat_template, {"`template: model`: a Jinja file to use instead of the model's chat template"});
  v("chat_template_kwargs", c.chat_template_kwargs, {"`template: model`: extra variables for the chat template, e.g. `{enable_thinking: false}` (transformers' `chat_template_kwargs`)"});
}

template <class V>
void visit(V& v, RolloutConfig& c) {
  v("group_size", c.group_size, {"G completions per prompt (>= 2)"});
  v("max_new_tokens", c.max_new_tokens, {"completion length limit"});
  v("temperature", c.temperature, {"sampling temperature; 0 = greedy"});
  v("top_p", c.top_p, {"nucleus mass in (0, 1]"});
  v("top_k", c.top_k, {"keep the k most likely tokens; 0 = off"});
  v("min_p", c.min_p, {"drop tokens below min_p x the top probability; 0 = off"});
  v("repetition_penalty", c.repetition_penalty, {"1 = off"});
  v("stop", c.stop, {"stop strings; the completion ends right after one"});
  v("batch_size", c.batch_size, {"completions decoded together (>= group_size)", kFree});
  v("max_turns", c.max_turns, {"with tools: calls per completion; a call past it ends the completion (finish reason `max_turns`) ([tools.md](tools.md))"});
  v("max_tool_output_tokens", c.max_tool_output_tokens, {"with tools: tokens of one answer put back; a longer one loses its middle"});
  v("max_total_tokens", c.max_total_tokens, {"with tools: model and tool tokens of a completion; 0 = max_new_tokens + max_turns x max_tool_output_tokens (max_new_tokens bounds the model's own tokens)"});
  v("tool_workers", c.tool_workers, {"with tools: calls run at once while the other rows decode", kFree});
}

template <class V>
void visit(V& v, RewardConfig& c) {
  using K = RewardKind;
  v("name", c.name, {"the reward ([rewards.md](rewards.md))"});
  v("weight", c.weight, {"its weight in the summed reward"});
  v("mode", c.mode, {"format: `strict` | `lenient`; gsm8k: `strict` | `flexible` (default flexible); cosine: the verifier, `math` | `gsm8k` | `countdown` | `exact` | `choice` (default math)", kDefinesAll, read_by({K::Format, K::Gsm8k, K::Cosine})});
  v("pattern", c.pattern, {"the PCRE2 pattern that scores 1 where it matches", kDefinesAll, read_by({K::Regex})});
  v("command", c.command, {"the program that prints one score per JSON line it reads", kDefinesAll, read_by({K::Command})});
  v("timeout_s", c.timeout_s, {"seconds the program may take per batch", kDefinesAll, read_by({K::Command})});
  v("default_score", c.default_score, {"the score of a completion the program failed on (`on_error: default`)", kDefinesAll, read_by({K::Command})});
  v("on_error", c.on_error, {"`error`: a failing program stops the run; `default`: it scores `default_score` and is restarted", kDefinesAll, read_by({K::Command})});
  v("format_score", c.format_score, {"the score of an `<answer>` that is not a right expression", kDefinesAll, read_by({K::Countdown})});
  v("buffer", c.buffer, {"tokens before the limit where the penalty ramps up (required, 1..L)", kDefinesAll, read_by({K::Overlong})});
  v("penalty", c.penalty, {"the penalty at the limit", kDefinesAll, read_by({K::Overlong})});
  v("max_len", c.max_len, {"the length limit L in tokens; 0 = `rollout.max_new_tokens`", kDefinesAll, read_by({K::Overlong, K::Cosine})});
  v("min_value_wrong", c.min_value_wrong, {"a wrong answer's score at `max_len`", kDefinesAll, read_by({K::Cosine})});
  v("max_value_wrong", c.max_value_wrong, {"a wrong answer's score at length 0", kDefinesAll, read_by({K::Cosine})});
  v("min_value_correct", c.min_value_correct, {"a right answer's score at `max_len`", kDefinesAll, read_by({K::Cosine})});
  v("max_value_correct", c.max_value_correct, {"a right answer's score at length 0", kDefinesAll, read_by({K::Cosine})});
  v("ngram", c.ngram, {"words per n-gram", kDefinesAll, read_by({K::Repetition})});
  v("max_penalty", c.max_penalty, {"the score of an all-repeating completion (<= 0)", kDefinesAll, read_by({K::Repetition})});
  v("extract", c.extract, {"where the final answer is: `tagged` (the `<answer>` block, else `\\boxed`) or `any` (also prose: \"the final answer is X\", the last `$...$`, the last standalone number) ([rewards.md](rewards.md))", kDefinesAll, read_by({K::Math, K::Cosine})});
  v("float_rounding", c.float_rounding, {"numbers compared after rounding to this many decimal places (Math-Verify's `float_rounding`)", kDefinesAll, read_by({K::Math, K::Cosine})});
  v("percent", c.percent, {"what `50\\%` equals: `both` (0.5 and 50), `fraction` (0.5, as Math-Verify) or `number` (50)", kDefinesAll, read_by({K::Math, K::Cosine})});
}

template <class V>
void visit(V& v, GrpoConfig& c) {
  v("loss_type", c.loss_type, {"the policy loss and its normaliser ([algorithms.md](algorithms.md))"});
  v("epsilon", c.epsilon, {"lower clip"});
  v("epsilon_high", c.epsilon_high, {"upper clip (clip-higher)"});
  v("beta", c.beta, {"KL weight; the reference model is loaded only when > 0"});
  v("kl_estimator", c.kl_estimator, {"per-token KL estimate of the beta term"});
  v("num_iterations", c.num_iterations, {"policy updates per rollout batch (mu)"});
  v("scale_rewards", c.scale_rewards, {"what the group-centred rewards are divided by: the group's std, the batch's, or nothing"});
  v("mask_truncated_completions", c.mask_truncated_completions, {"leave completions cut by max_new_tokens out of the loss"});
  v("mask_void_turns", c.mask_void_turns, {"with tools: leave out of the loss a completion whose last turn neither calls a tool nor answers (no `<answer>`, no `\\boxed{`): SimpleTIR's void-turn filter ([tools.md](tools.md))"});
  v("dynamic_sampling", c.dynamic_sampling, {"drop zero-variance groups and refill (DAPO)"});
  v("max_refill_rounds", c.max_refill_rounds, {"extra rollout rounds per step for dynamic sampling"});
  v("importance_sampling_level", c.importance_sampling_level, {"`sequence`: one ratio per completion (GSPO)"});
  v("sapo_temperature_pos", c.sapo_temperature_pos, {"SAPO's gate temperature for A > 0"});
  v("sapo_temperature_neg", c.sapo_temperature_neg, {"SAPO's gate temperature for A <= 0"});
  v("clip_ratio_c", c.clip_ratio_c, {"dual clip: losses of A < 0 tokens capped at -A c (> 1; verl uses 3.0); 0 = off"});
  v("delta", c.delta, {"upper bound of the unclipped ratio for every advantage (> 1 + epsilon_high; INTELLECT-2 uses 4); 0 = off"});
  v("advantage", c.advantage, {"advantage estimator ([algorithms.md](algorithms.md))"});
  v("top_entropy_quantile", c.top_entropy_quantile, {"fraction of completion tokens, the highest-entropy ones, that carry the policy gradient (the 80/20 paper: 0.2)"});
  v("entropy_coef", c.entropy_coef, {"entropy bonus: the loss minus entropy_coef x the token entropy, aggregated like the loss (verl's `entropy_coeff`); negative values minimise entropy"});
  v("reward_aggregation", c.reward_aggregation, {"`normalize_then_sum`: each reward normalised in its group before the weighted sum (GDPO; [algorithms.md](algorithms.md))"});
  v("rollout_correction", c.rollout_correction, {"`tis`: weight each token's policy term by min(pi_old / pi_sampler, cap); `mis`: drop tokens (or completions with `importance_sampling_level: sequence`) whose ratio leaves [1/cap, cap]"});
  v("rollout_correction_cap", c.rollout_correction_cap, {"the cap c of `rollout_correction` (> 1)"});
  v("ref_sync_every", c.ref_sync_every, {"steps between refreshes of the KL reference toward the policy (needs `beta` > 0, no LoRA; TRL's `ref_model_sync_steps`); 0 = never"});
  v("ref_mixup_alpha", c.ref_mixup_alpha, {"a refresh sets ref = alpha x policy + (1 - alpha) x ref (TRL's `ref_model_mixup_alpha`; 1 = copy)"});
}

template <class V>
void visit(V& v, OptimConfig& c) {
  v("lr", c.lr, {"peak learning rate"});
  v("weight_decay", c.weight_decay, {"AdamW weight decay"});
  v("betas", c.betas, {"AdamW betas"});
  v("eps", c.eps, {"AdamW epsilon"});
  v("warmup_steps", c.warmup_steps, {"linear warmup steps"});
  v("schedule", c.schedule, {"learning-rate schedule after the warmup"});
  v("max_grad_norm", c.max_grad_norm, {"gradient-norm clip; 0 = off"});
}

template <class V>
void visit(V& v, TrainConfig& c) {
  v("steps", c.steps, {"optimizer steps", kFree});
  v("prompts_per_step", c.prompts_per_step, {"prompts per step"});
  v("micro_batch_size", c.micro_batch_size, {"sequences per forward/backward", kFree});
  v("gradient_checkpointing", c.gradient_checkpointing, {"recompute activations in backward", kFree});
  v("seed", c.seed, {"seeds data order, sampling, init"});
  v("output_dir", c.output_dir, {"run directory", kFree});
  v("checkpoint_every", c.checkpoint_every, {"steps; 0 = only at the end", kFree});
  v("keep_last", c.keep_last, {"checkpoints kept; 0 = all", kFree});
  v("log_samples_every", c.log_samples_every, {"steps; 0 = never", kFree});
  v("threads", c.threads, {"torch CPU threads; 0 = all cores", kFree});
}

template <class V>
void visit(V& v, LoraConfig& c) {
  v("r", c.r, {"LoRA adapter rank; 0 = train the whole model (see [lora.md](lora.md)); with 0, any other `lora.*` key set is an error"});
  v("alpha", c.alpha, {"scaling alpha / r"});
  v("dropout", c.dropout, {"dropout on the adapters' input, in training only (seeded per update: resume stays exact)"});
  v("target_modules", c.target_modules, {"module kinds to adapt, or `[all-linear]` (every linear layer but `lm_head`, which cannot carry one); an unknown name lists the model's"});
  v("use_rslora", c.use_rslora, {"scaling alpha / sqrt(r) (rank-stabilised LoRA)"});
  v("adapter_path", c.adapter_path, {"start from this adapter directory (PEFT layout; its r, alpha and use_rslora must match `lora.*`) instead of fresh adapters"});
  v("save_merged", c.save_merged, {"also write base + adapter folded into `merged/` inside each checkpoint", kFree});
}

template <class V>
void visit(V& v, DistConfig& c) {
  v("backend", c.backend, {"with several processes ([distributed.md](distributed.md)): `auto` is nccl on CUDA, gloo on the CPU"});
  v("timeout_s", c.timeout_s, {"a collective waiting longer than this (another rank died or hangs) fails the run"});
  v("shard_optimizer", c.shard_optimizer, {"ZeRO-1: AdamW moments and fp32 master weights split over the ranks (see [distributed.md](distributed.md))"});
}

template <class V>
void visit(V& v, EvalConfig& c) {
  v("data", c.data, {"evaluation JSONL"});
  v("task", c.task, {"verifier used to grade (rewards such as `format` are not verifiers)"});
  v("every", c.every, {"steps; 0 = off. A fresh run also evaluates the starting model (step 0)"});
  v("num_samples", c.num_samples, {"samples per problem"});
  v("max_problems", c.max_problems, {"0 = all"});
  v("temperature", c.temperature,
    {"sampling temperature of the evaluation; -1: greedy for one sample, else 1.0 (R1's protocol: 0.6 with "
     "top_p 0.95 and several samples, pass@1 averaged over them); the other sampling settings are the rollout's"});
  v("top_p", c.top_p, {"nucleus mass of the evaluation's sampling, in (0, 1]"});
  v("extract", c.extract, {"math task: where the final answer is, `tagged` or `any` (prose too, for models that do not box; [rewards.md](rewards.md))"});
}

template <class V>
void visit(V& v, SftConfig& c) {
  v("data", c.data, {"training corpus, JSONL (required for `sft`)"});
  v("text_field", c.text_field, {"the whole example; rows without it use prompt + completion"});
  v("prompt_field", c.prompt_field, {"the part before the completion"});
  v("completion_field", c.completion_field, {"the part after the prompt"});
  v("completion_only_loss", c.completion_only_loss, {"loss on completion tokens only"});
  v("add_eos", c.add_eos, {"append the tokenizer's eos token to each example"});
  v("init", c.init, {"`pretrained`: model.path's weights; `random`: fresh weights (seeded) with model.path's config.json and tokenizer"});
  v("epochs", c.epochs, {"passes over the corpus"});
  v("batch_size", c.batch_size, {"examples per optimizer step"});
  v("micro_batch_size", c.micro_batch_size, {"examples per forward/backward", kFree});
  v("max_length", c.max_length, {"tokens per example; longer ones are cut"});
  v("lr", c.lr, {"peak learning rate (betas, eps, max_grad_norm from `optim`)"});
  v("weight_decay", c.weight_decay, {"AdamW weight decay"});
  v("warmup_steps", c.warmup_steps, {"linear warmup steps"});
  v("schedule", c.schedule, {"learning-rate schedule after the warmup"});
  v("seed", c.seed, {"seeds data order and random init"});
  v("output_dir", c.output_dir, {"run directory: config.yaml, metrics.jsonl (`loss`, `lr`, `grad_norm`, `tokens`, ...), train.log, checkpoints/step-NNNNNN", kFree});
  v("save_every", c.save_every, {"steps; 0 = only at the end", kFree});
  v("keep_last", c.keep_last, {"checkpoints kept; 0 = all", kFree});
  v("log_every", c.log_every, {"steps between console lines", kFree});
}

template <class V>
void visit(V& v, ToolConfig& c) {
  v("name", c.name, {"how calls, metrics and `r1train tool` name the tool (required, unique)"});
  v("kind", c.kind, {"`python`: the call is Python code run in the sandbox; `command`: a program started once, fed one JSON line per call ([tools.md](tools.md))"});
  v("command", c.command, {"python: the interpreter, an absolute path (default `/usr/bin/python3`); command: the program and its arguments (required)"});
  v("start", c.start, {"what opens a call; \"\" = the kind's: ```` ```python ```` (python), `<tool_call>` (command)"});
  v("stop", c.stop, {"what closes a call; \"\" = the kind's: ```` ``` ```` (python), `</tool_call>` (command)"});
  v("output_template", c.output_template, {"how the answer is appended, `{output}` standing for it; \"\" = the kind's: ToRL's output block (python), the answer as is (command)"});
  v("timeout_s", c.timeout_s, {"command: seconds the program may take for one answer"});
}

template <class V>
void visit(V& v, SandboxConfig& c) {
  v("cpu_seconds", c.cpu_seconds, {"CPU seconds of the code (RLIMIT_CPU); 0 = unlimited"});
  v("wall_seconds", c.wall_seconds, {"wall-clock seconds of one call; past it everything the call started is killed"});
  v("memory_mb", c.memory_mb, {"address space of the code (RLIMIT_AS); 0 = unlimited"});
  v("max_processes", c.max_processes, {"processes and threads of the code (RLIMIT_NPROC of its own uid; needs root); 0 = no limit"});
  v("max_file_mb", c.max_file_mb, {"largest file the code may write (RLIMIT_FSIZE) and the size of its working directory"});
  v("max_output_bytes", c.max_output_bytes, {"stdout and stderr kept; past it the code is killed and its output cut"});
  v("network", c.network, {"`deny`: no network (an own network namespace); `allow`: the host's"});
  v("filesystem", c.filesystem, {"`isolated`: read-only outside the code's fresh working directory; `open`: writable wherever its uid may"});
}

template <class V>
void visit(V& v, Config& c) {
  v("model", c.model, {"the base model", kDefinesAll});
  v("data", c.data, {"the training prompts and how they become prompts", kDefinesGrpo});
  v("rollout", c.rollout, {"sampling the completions ([engine.md](engine.md))", kDefinesGrpo});
  v("rewards", c.rewards, {"the weighted rewards ([rewards.md](rewards.md)); a key the named reward does not read is an error", kDefinesGrpo});
  v("grpo", c.grpo, {"the GRPO objective ([algorithms.md](algorithms.md))", kDefinesGrpo});
  v("optim", c.optim, {"AdamW and its schedule (sft takes betas, eps and max_grad_norm from here)", kDefinesAll});  // sft takes betas, eps and max_grad_norm from here
  v("train", c.train, {"the GRPO run ([training.md](training.md))", kDefinesGrpo});
  v("eval", c.eval, {"evaluation during training and by `r1train eval`", kFree});
  v("sft", c.sft, {"`r1train sft`, next-token training ([training.md](training.md))", kDefinesSft});
  v("lora", c.lora, {"LoRA adapters ([lora.md](lora.md))", kDefinesGrpo});
  v("dist", c.dist, {"several processes ([distributed.md](distributed.md))", kFree});
  v("tools", c.tools, {"tools the policy may call during its rollouts, and `r1train tool` runs ([tools.md](tools.md))", kDefinesGrpo});
  v("sandbox", c.sandbox, {"where model-written code runs ([tools.md](tools.md#the-sandbox))", kFree});
}

// The lists of entries, each entry a struct with its own keys: rewards and tools.
template <class T>
constexpr bool is_entry_list_v = std::is_same_v<T, std::vector<RewardConfig>> || std::is_same_v<T, std::vector<ToolConfig>>;

namespace {

// ---- key listing ------------------------------------------------------------

struct KeyLister {
  std::string prefix;
  std::vector<std::string>* out;
  template <class T>
  void operator()(const char* key, T& ref, const Field& = {}) {
    if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string> &&
                  !std::is_same_v<T, nlohmann::ordered_json> && !std::is_same_v<T, std::vector<std::string>> &&
                  !std::is_same_v<T, std::vector<double>> &&
                  !is_entry_list_v<T>) {
      KeyLister sub{prefix + key + ".", out};
      visit(sub, ref);
    } else if constexpr (is_entry_list_v<T>) {
      typename T::value_type r;
      KeyLister sub{prefix + key + "[].", out};
      visit(sub, r);
    } else {
      out->push_back(prefix + key);
    }
  }
};

// ---- parsing ------------------------------------------------------------------

// Collects problems, each prefixed with where it came from.
struct Reporter {
  const ConfigSource* source;
  std::vector<std::pair<std::string, std::string>> overrides;  // key path, raw "k=v"
  std::vector<std::string> problems;

  std::string origin(const std::string& path, const YAML::Mark& mark) const {
    for (const auto& [key, raw] : overrides) {
      if (path == key || path.rfind(key + ".", 0) == 0 || path.rfind(key + "[", 0) == 0) {
        return "--set " + raw;
      }
    }
    std::string file = source->file.empty() ? "<defaults>" : source->file.string();
    if (mark.is_null()) return file;
    return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
  }
  void add(const std::string& path, const YAML::Mark& mark, const std::string& msg) {
    problems.push_back(fmt::format("{}: {}: {}", origin(path, mark), path, msg));
  }
};

std::string describe(const YAML::Node& n) {
  if (n.IsNull()) return "nothing";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a section (map)";
  return "'" + n.Scalar() + "'";
}

bool parse_value(const YAML::Node& n, std::string& out) {
  if (!n.IsScalar()) return false;
  out = n.Scalar();
  return true;
}

bool parse_value(const YAML::Node& n, int& out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  if (v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<int>(v);
  return true;
}

bool parse_value(const YAML::Node& n, double& out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  if (s.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool parse_value(const YAML::Node& n, bool& out) {
  if (!n.IsScalar()) return false;
  std::string s = n.Scalar();
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  if (s == "true" || s == "yes" || s == "on") {
    out = true;
  } else if (s == "false" || s == "no" || s == "off") {
    out = false;
  } else {
    return false;
  }
  return true;
}

template <class E>
  requires std::is_enum_v<E>
bool parse_value(const YAML::Node& n, E& out) {
  if (!n.IsScalar()) return false;
  auto v = parse_option<E>(n.Scalar());
  if (v) out = *v;
  return v.has_value();
}

template <class T>
std::string type_name() {
  if constexpr (std::is_enum_v<T>) return "one of " + option_list<T>(", ");
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  if constexpr (std::is_same_v<T, int>) return "an integer";
  if constexpr (std::is_same_v<T, double>) return "a number";
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  return "a value";
}

// A YAML map as JSON: plain scalars typed as YAML reads them (true/false, null, numbers), quoted
// ones kept as strings.
nlohmann::ordered_json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const auto& e : n) a.push_back(yaml_to_json(e));
    return a;
  }
  if (n.IsNull()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s == "true" || s == "True") return true;
  if (s == "false" || s == "False") return false;
  if (s == "null" || s == "~") return nullptr;
  long long i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return i;
  try {
    std::size_t used = 0;
    double d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (...) {
  }
  return s;
}

struct Parser {
  Reporter* rep;
  YAML::Node node;  // the map being read
  std::string prefix;
  std::vector<std::string> known;

  template <class T>
  void operator()(const char* key, T& ref, const Field& = {}) {
    known.emplace_back(key);
    const YAML::Node n = node[key];
    if (!n) return;
    std::string path = prefix + key;
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      parse_list(n, path, ref);
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      parse_list(n, path, ref);
    } else if constexpr (is_entry_list_v<T>) {
      parse_entries(n, path, ref);
    } else if constexpr (std::is_same_v<T, nlohmann::ordered_json>) {
      if (n.IsNull()) return;
      if (!n.IsMap()) {
        rep->add(path, n.Mark(), "expected a map of variables, e.g. {enable_thinking: false}, got " + describe(n));
        return;
      }
      ref = yaml_to_json(n);
    } else if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string>) {
      if (n.IsNull()) return;  // an empty section keeps its defaults
      if (!n.IsMap()) {
        rep->add(path, n.Mark(), "expected a section (map of keys), got " + describe(n));
        return;
      }
      Parser sub{rep, n, path + ".", {}};
      visit(sub, ref);
      sub.finish();
    } else if constexpr (std::is_enum_v<T>) {
      if (parse_value(n, ref)) return;
      rep->add(path, n.Mark(),
               n.IsScalar() ? unknown_option_message<T>(n.Scalar())
                            : fmt::format("expected {}, got {}", type_name<T>(), describe(n)));
    } else {
      if (!parse_value(n, ref)) {
        rep->add(path, n.Mark(), fmt::format("expected {}, got {}", type_name<T>(), describe(n)));
      }
    }
  }

  template <class T>
  void parse_list(const YAML::Node& n, const std::string& path, std::vector<T>& out) {
    std::vector<T> items;
    if (n.IsScalar() && std::is_same_v<T, std::string>) {  // a single string is a list of one
      T v{};
      parse_value(n, v);
      out = {v};
      return;
    }
    if (!n.IsSequence()) {
      rep->add(path, n.Mark(), fmt::format("expected a list of {}s, got {}",
                                           std::is_same_v<T, double> ? "number" : "string",
                                           describe(n)));
      return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      T v{};
      if (!parse_value(n[i], v)) {
        rep->add(fmt::format("{}[{}]", path, i), n[i].Mark(),
                 fmt::format("expected {}, got {}", type_name<T>(), describe(n[i])));
        return;
      }
      items.push_back(v);
    }
    out = items;
  }

  template <class E>
  void parse_entries(const YAML::Node& n, const std::string& path, std::vector<E>& out) {
    constexpr bool reward = std::is_same_v<E, RewardConfig>;
    const char* example = reward ? "{name: format, weight: 1.0}" : "{name: python, kind: python}";
    if (n.IsNull() && !reward) {
      out.clear();
      return;
    }
    if (!n.IsSequence()) {
      rep->add(path, n.Mark(), fmt::format("expected a list of entries, e.g. [{}], got {}", example, describe(n)));
      return;
    }
    std::vector<E> items;
    for (std::size_t i = 0; i < n.size(); ++i) {
      std::string ipath = fmt::format("{}[{}]", path, i);
      E r;
      if constexpr (!reward) {
        if (!n[i].IsMap()) {
          rep->add(ipath, n[i].Mark(), fmt::format("expected {}, got {}", example, describe(n[i])));
          continue;
        }
        Parser sub{rep, n[i], ipath + ".", {}};
        visit(sub, r);
        sub.finish();
        if (!n[i]["name"]) rep->add(ipath + ".name", n[i].Mark(), "missing; every tool needs a name");
      } else if (n[i].IsScalar()) {  // "- math" is shorthand for {name: math}
        if (!parse_value(n[i], r.name))
          rep->add(ipath + ".name", n[i].Mark(), unknown_option_message<RewardKind>(n[i].Scalar()));
      } else if (n[i].IsMap()) {
        Parser sub{rep, n[i], ipath + ".", {}};
        visit(sub, r);
        sub.finish();
        if (!n[i]["name"]) rep->add(ipath + ".name", n[i].Mark(), "missing; every reward needs a name");
      } else {
        rep->add(ipath, n[i].Mark(), "expected {name: NAME, weight: W}, got " + describe(n[i]));
        continue;
      }
      items.push_back(r);
    }
    out = items;
  }

  // Reports keys present in the node that no field claimed.
  void finish() {
    std::map<std::string, YAML::Mark> first_seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.Scalar();
      auto [pos, inserted] = first_seen.emplace(key, it->first.Mark());
      if (!inserted) {
        rep->add(prefix + key, it->first.Mark(),
                 fmt::format("duplicate key (first at line {}); merge the two", pos->second.line + 1));
        continue;
      }
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string path = prefix + key;
      std::string hint = closest(key, known);
      if (hint.empty()) {
        // Maybe the key belongs to another section: train.lr -> optim.lr.
        for (const auto& full : config_keys()) {
          auto dot = full.rfind('.');
          if (full.substr(dot + 1) == key) {
            hint = full;  // the first section that has it: optim.lr before sft.lr
            break;
          }
        }
      } else {
        hint = prefix + hint;
      }
      rep->add(path, it->first.Mark(),
               "unknown key" + (hint.empty() ? std::string("; valid keys here: ") + join(known)
                                             : "; did you mean '" + hint + "'?"));
    }
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& k : v) s += (s.empty() ? "" : ", ") + k;
    return s;
  }
};

// ---- printing -----------------------------------------------------------------

std::string format_double(double d) { return fmt::format("{}", d); }

// A reward field's value as printed, to tell a set key from its default.
template <class T>
std::string scalar_text(const T& ref) {
  if constexpr (std::is_same_v<T, std::string>) return ref;
  else if constexpr (std::is_same_v<T, nlohmann::ordered_json>) return ref.dump();
  else if constexpr (std::is_enum_v<T>) return std::string(option_name(ref));
  else if constexpr (std::is_same_v<T, double>) return format_double(ref);
  else if constexpr (std::is_same_v<T, bool>) return ref ? "true" : "false";
  else return std::to_string(ref);
}

// The default RewardConfig's values as printed, in visit order.
const std::vector<std::string>& reward_default_texts() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    RewardConfig d;
    auto collect = [&](const char*, auto& ref, const Field& = {}) {
      out.push_back(scalar_text(ref));
    };
    visit(collect, d);
    return out;
  }();
  return texts;
}

struct Emitter {
  YAML::Emitter* out;
  unsigned runs = kDefinesAll;  // emit only settings that define these runs (all: the whole config)
  bool only_defining = false;
  bool reward_entry = false;    // inside a reward: name and weight always, other keys only when set
  std::size_t field = 0;        // reward_entry: the field's position in visit order

  template <class T>
  void operator()(const char* key, T& ref, const Field& field_info = {}) {
    const unsigned defines = field_info.defines;
    if (only_defining && (defines & runs) == 0) return;
    const bool always = std::string_view(key) == "name" || std::string_view(key) == "weight";
    if constexpr (std::is_same_v<T, std::string> || std::is_enum_v<T> || std::is_arithmetic_v<T>) {
      if (reward_entry && !always && scalar_text(ref) == reward_default_texts()[field++]) return;
      if (reward_entry && always) ++field;
    }
    *out << YAML::Key << key << YAML::Value;
    if constexpr (std::is_same_v<T, std::string>) {
      *out << YAML::DoubleQuoted << ref;
    } else if constexpr (std::is_enum_v<T>) {
      if (reward_entry && always) *out << option_name(ref);  // {name: math, ...}
      else *out << YAML::DoubleQuoted << option_name(ref);
    } else if constexpr (std::is_same_v<T, double>) {
      *out << format_double(ref);
    } else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, bool>) {
      *out << ref;
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      *out << YAML::Flow << YAML::BeginSeq;
      for (const auto& s : ref) *out << YAML::DoubleQuoted << s;
      *out << YAML::EndSeq;
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      *out << YAML::Flow << YAML::BeginSeq;
      for (double d : ref) *out << format_double(d);
      *out << YAML::EndSeq;
    } else if constexpr (std::is_same_v<T, nlohmann::ordered_json>) {
      *out << YAML::Flow << YAML::BeginMap;
      for (const auto& [k, v] : ref.items()) *out << YAML::Key << k << YAML::Value << YAML::Load(v.dump());  // JSON is YAML
      *out << YAML::EndMap;
    } else if constexpr (is_entry_list_v<T>) {
      *out << YAML::BeginSeq;
      for (auto& r : ref) {
        *out << YAML::Flow << YAML::BeginMap;
        // A reward shows its set keys only (a key it does not read is an error); a tool all of them.
        Emitter entry{out, runs & defines, only_defining, std::is_same_v<T, std::vector<RewardConfig>>};
        visit(entry, r);
        *out << YAML::EndMap;
      }
      *out << YAML::EndSeq;
    } else {
      *out << YAML::BeginMap;
      Emitter sub{out, runs & defines, only_defining};
      visit(sub, ref);
      *out << YAML::EndMap;
    }
  }
};

// ---- --set --------------------------------------------------------------------

// Applies "a.b.c=value" to the YAML tree; returns the key path or reports a problem.
std::optional<std::string> apply_override(YAML::Node& root, const std::string& raw, Reporter& rep) {
  auto eq = raw.find('=');
  if (eq == std::string::npos || eq == 0) {
    rep.problems.push_back("--set " + raw + ": expected KEY=VALUE, e.g. --set optim.lr=1e-6");
    return std::nullopt;
  }
  std::string key = raw.substr(0, eq);
  std::string value = raw.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  if (std::any_of(parts.begin(), parts.end(), [](const auto& p) { return p.empty(); })) {
    rep.problems.push_back("--set " + raw + ": malformed key path '" + key + "'");
    return std::nullopt;
  }
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    rep.problems.push_back("--set " + raw + ": value is not valid YAML: " + e.msg);
    return std::nullopt;
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node cur = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next;
    bool index = !parts[i].empty() && std::all_of(parts[i].begin(), parts[i].end(), ::isdigit);
    if (cur.IsSequence() && index) {
      std::size_t k = 0;
      const auto [end, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), k);
      if (ec != std::errc() || end != parts[i].data() + parts[i].size() || k >= cur.size()) {
        rep.problems.push_back(fmt::format("--set {}: index {} is past the end of the list ({} entries)",
                                           raw, parts[i], cur.size()));
        return std::nullopt;
      }
      next.reset(cur[k]);
    } else if (cur.IsMap() || cur.IsNull()) {
      if (cur.IsNull()) cur = YAML::Node(YAML::NodeType::Map);
      next.reset(cur[parts[i]]);
      if (!next.IsDefined() || next.IsNull()) {
        cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
        next.reset(cur[parts[i]]);
      }
    } else {
      rep.problems.push_back("--set " + raw + ": '" + parts[i] + "' is not a section");
      return std::nullopt;
    }
    cur.reset(next);
  }
  const std::string& last = parts.back();
  if (cur.IsSequence()) {
    rep.problems.push_back("--set " + raw + ": cannot set a list entry by key; use an index, e.g. rewards.0.weight=2");
    return std::nullopt;
  }
  if (!cur.IsMap() && !cur.IsNull()) {
    rep.problems.push_back("--set " + raw + ": the parent of '" + last + "' is not a section");
    return std::nullopt;
  }
  cur[last] = parsed;
  // Sequence indices in the key become "[i]" in error paths: rewards.0.weight -> rewards[0].weight.
  std::string path;
  for (const auto& p : parts) {
    bool index = std::all_of(p.begin(), p.end(), ::isdigit);
    path += index ? "[" + p + "]" : (path.empty() ? "" : ".") + p;
  }
  return path;
}

// ---- value rules ----------------------------------------------------------------

struct Rules {
  Reporter* rep;
  const YAML::Node* root;

  // Finds where the user wrote "a.b[2].c" in the YAML tree (null mark if nowhere).
  YAML::Mark mark_of(const std::string& path) const {
    std::vector<std::string> tokens;
    std::string token;
    for (char ch : path + ".") {
      if (ch == '.' || ch == '[' || ch == ']') {
        if (!token.empty()) tokens.push_back(token);
        token.clear();
      } else {
        token += ch;
      }
    }
    YAML::Mark mark = YAML::Mark::null_mark();
    try {
      std::vector<YAML::Node> chain{*root};
      for (const auto& t : tokens) {
        const YAML::Node& cur = chain.back();
        bool index = std::all_of(t.begin(), t.end(), ::isdigit);
        std::optional<YAML::Node> next;
        std::size_t k = 0;
        const bool small = index && std::from_chars(t.data(), t.data() + t.size(), k).ec == std::errc();
        if (cur.IsSequence() && small && k < cur.size()) {
          next.emplace(cur[k]);
        } else if (cur.IsMap() && cur[t]) {
          next.emplace(cur[t]);
        } else {
          break;
        }
        mark = next->Mark();
        chain.push_back(*next);
      }
    } catch (const YAML::Exception&) {
      return mark;
    }
    return mark;
  }

  void fail(const std::string& path, const std::string& msg) { rep->add(path, mark_of(path), msg); }

  void check(bool ok, const std::string& path, const std::string& msg) {
    if (!ok) fail(path, msg);
  }

  // A string option whose meaning depends on another key (a reward's mode).
  template <class E>
  void choice(const std::string& value, const std::string& path) {
    if (!parse_option<E>(value)) fail(path, unknown_option_message<E>(value));
  }
};

bool valid_device(const std::string& d) {
  if (d == "auto" || d == "cpu" || d == "cuda") return true;
  if (d.rfind("cuda:", 0) != 0 || d.size() == 5) return false;
  return std::all_of(d.begin() + 5, d.end(), ::isdigit);
}

void check_tools(const Config& c, Rules& r) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < c.tools.size(); ++i) {
    const auto& t = c.tools[i];
    const std::string p = fmt::format("tools[{}]", i);
    r.check(!t.name.empty(), p + ".name", "is empty; name the tool (calls and metrics use it)");
    r.check(t.name.empty() || names.insert(t.name).second, p + ".name",
            "'" + t.name + "' names two tools; give each its own name");
    if (t.kind == ToolKind::Command)
      r.check(!t.command.empty(), p + ".command", "is empty; a command tool needs its program, e.g. command: python3 env.py");
    else
      r.check(t.command.empty() || t.command[0] == '/', p + ".command",
              "'" + t.command + "': the python tool's interpreter must be an absolute path (the sandbox has no PATH "
              "search), e.g. /usr/bin/python3");
    r.check(t.output_template.empty() || t.output_template.find("{output}") != std::string::npos,
            p + ".output_template", "has no {output}: the tool's answer would be dropped");
    r.check(t.timeout_s > 0, p + ".timeout_s", fmt::format("is {}; must be > 0", t.timeout_s));
  }
  const auto& ro = c.rollout;
  r.check(ro.max_turns >= 0, "rollout.max_turns", fmt::format("is {}; must be >= 0", ro.max_turns));
  r.check(ro.max_tool_output_tokens >= 1, "rollout.max_tool_output_tokens",
          fmt::format("is {}; must be >= 1", ro.max_tool_output_tokens));
  r.check(ro.max_total_tokens == 0 || ro.max_total_tokens >= ro.max_new_tokens, "rollout.max_total_tokens",
          fmt::format("is {} but rollout.max_new_tokens is {}: the total holds the model's own tokens too; set it >= "
                      "max_new_tokens, or 0",
                      ro.max_total_tokens, ro.max_new_tokens));
  r.check(!c.grpo.mask_void_turns || !c.tools.empty(), "grpo.mask_void_turns",
          "is true but no tools are configured: a void turn is a turn of a multi-turn rollout; add tools: or drop it");
  r.check(ro.tool_workers >= 1, "rollout.tool_workers", fmt::format("is {}; must be >= 1", ro.tool_workers));
  const auto& s = c.sandbox;
  r.check(s.wall_seconds > 0, "sandbox.wall_seconds", fmt::format("is {}; must be > 0", s.wall_seconds));
  r.check(s.cpu_seconds >= 0, "sandbox.cpu_seconds", fmt::format("is {}; must be >= 0 (0 = unlimited)", s.cpu_seconds));
  r.check(s.memory_mb >= 0, "sandbox.memory_mb", fmt::format("is {}; must be >= 0 (0 = unlimited)", s.memory_mb));
  r.check(s.max_processes >= 0, "sandbox.max_processes",
          fmt::format("is {}; must be >= 0 (0 = no limit)", s.max_processes));
  r.check(s.max_file_mb >= 1, "sandbox.max_file_mb", fmt::format("is {}; must be >= 1", s.max_file_mb));
  r.check(s.max_output_bytes >= 1, "sandbox.max_output_bytes", fmt::format("is {}; must be >= 1", s.max_output_bytes));
}

void check_values(const Config& c, ConfigUse use, Rules& r) {
  r.check(!(c.model.dtype == Dtype::Float16 && c.model.device == "cpu"), "model.dtype",
          "float16 does not run on the CPU (libtorch has no float16 matrix multiply there); use float32 or bfloat16");
  r.check(valid_device(c.model.device), "model.device",
          "unknown device '" + c.model.device + "'; use auto, cpu, cuda or cuda:N");

  const bool named = parse_option<TemplateName>(c.data.template_).has_value();
  r.check(named || c.data.template_.find("{prompt}") != std::string::npos ||
              c.data.template_.find("{question}") != std::string::npos,
          "data.template",
          "'" + c.data.template_ + "' is neither one of " + option_list<TemplateName>(", ") +
              " nor a string containing {prompt}");
  const bool model_template = c.data.template_ == "model";
  r.check(model_template || c.data.system_prompt.empty(), "data.system_prompt",
          "is set but data.template is '" + c.data.template_ + "'; a system turn needs the model's chat template "
          "(data.template: model)");
  r.check(model_template || c.data.chat_template.empty(), "data.chat_template",
          "is set but data.template is '" + c.data.template_ + "'; set data.template: model");
  r.check(model_template || c.data.chat_template_kwargs.empty(), "data.chat_template_kwargs",
          "are set but data.template is '" + c.data.template_ + "'; set data.template: model");
  r.check(c.data.chat_template.empty() || std::filesystem::is_regular_file(c.data.chat_template),
          "data.chat_template", "file '" + c.data.chat_template + "' does not exist");
  r.check(!c.data.prompt_field.empty(), "data.prompt_field", "must not be empty");
  r.check(!c.data.answer_field.empty(), "data.answer_field", "must not be empty");

  const auto& ro = c.rollout;
  r.check(ro.group_size >= 2, "rollout.group_size",
          fmt::format("is {}; GRPO compares completions within a group, so it needs at least 2", ro.group_size));
  r.check(ro.max_new_tokens >= 1, "rollout.max_new_tokens", fmt::format("is {}; must be >= 1", ro.max_new_tokens));
  for (const auto& [name, message] : sampling_range_problems(ro.sampling())) r.fail("rollout." + name, message);
  r.check(ro.batch_size >= ro.group_size, "rollout.batch_size",
          fmt::format("is {} but rollout.group_size is {}; a prompt's group is decoded together, so "
                      "batch_size must be >= group_size",
                      ro.batch_size, ro.group_size));
  for (std::size_t i = 0; i < ro.stop.size(); ++i) {
    r.check(!ro.stop[i].empty(), fmt::format("rollout.stop[{}]", i), "empty stop string");
  }

  check_tools(c, r);
  r.check(!c.rewards.empty(), "rewards", "no rewards configured; add e.g. [{name: format}, {name: math}]");
  for (std::size_t i = 0; i < c.rewards.size(); ++i) {
    const auto& rw = c.rewards[i];
    std::string p = fmt::format("rewards[{}]", i);
    if (rw.name == RewardKind::Regex) r.check(!rw.pattern.empty(), p + ".pattern", "the regex reward needs a pattern");
    if (rw.name == RewardKind::Command) {
      r.check(!rw.command.empty(), p + ".command", "the command reward needs a program, e.g. command: python3 verify.py");
      r.check(rw.timeout_s > 0, p + ".timeout_s", "must be > 0");
    }
    if (rw.name == RewardKind::Format && !rw.mode.empty()) r.choice<FormatMode>(rw.mode, p + ".mode");
    if (rw.name == RewardKind::Gsm8k && !rw.mode.empty()) r.choice<Gsm8kMode>(rw.mode, p + ".mode");
    if (rw.name == RewardKind::Cosine && !rw.mode.empty()) r.choice<EvalTask>(rw.mode, p + ".mode");
    const int limit = rw.max_len > 0 ? rw.max_len : ro.max_new_tokens;
    if (rw.name == RewardKind::Overlong) {
      r.check(rw.buffer >= 1 && rw.buffer <= limit, p + ".buffer",
              fmt::format("is {}; the overlong reward needs the tokens before the limit ({}) where its penalty "
                          "ramps up, from 1 to {} (DAPO: 4096 of 20480)",
                          rw.buffer, limit, limit));
      r.check(rw.penalty >= 0, p + ".penalty", fmt::format("is {}; must be >= 0 (the score at the limit is -penalty)", rw.penalty));
    }
    if (rw.name == RewardKind::Math || rw.name == RewardKind::Cosine)
      r.check(rw.float_rounding >= 0 && rw.float_rounding <= 15, p + ".float_rounding",
              fmt::format("is {}; must be 0..15 (decimal places numbers are compared at; Math-Verify uses 6)",
                          rw.float_rounding));
    if (rw.name == RewardKind::Overlong || rw.name == RewardKind::Cosine)
      r.check(rw.max_len >= 0, p + ".max_len", fmt::format("is {}; must be >= 0 (0 = rollout.max_new_tokens)", rw.max_len));
    if (rw.name == RewardKind::Repetition) {
      r.check(rw.ngram >= 1, p + ".ngram", fmt::format("is {}; must be >= 1 (words per n-gram)", rw.ngram));
      r.check(rw.max_penalty <= 0, p + ".max_penalty",
              fmt::format("is {}; must be <= 0 (the score of an all-repeating completion)", rw.max_penalty));
    }
    // A reward-specific key set on a reward that does not read it is a mistake (a key under the wrong
    // entry): which rewards read each key is the field's tag in visit(RewardConfig).
    RewardConfig entry = rw;
    std::size_t field = 0;
    auto check_read = [&](const char* key, auto& ref, const Field& f = {}) {
      const RewardMask readers = f.read_by;
      const bool set = scalar_text(ref) != reward_default_texts()[field++];
      if (!set || (readers & read_by({rw.name})) != 0) return;
      r.fail(p + "." + key, fmt::format("the {} reward does not read {}; only {} do(es)", option_name(rw.name), key,
                                        fmt::join(reader_names(readers), ", ")));
    };
    visit(check_read, entry);
  }

  const auto& g = c.grpo;
  r.check(g.epsilon > 0 && g.epsilon < 1, "grpo.epsilon", fmt::format("is {}; must be in (0, 1)", g.epsilon));
  r.check(g.epsilon_high > 0, "grpo.epsilon_high", fmt::format("is {}; must be > 0", g.epsilon_high));
  r.check(g.beta >= 0, "grpo.beta", fmt::format("is {}; must be >= 0 (0 = no KL term)", g.beta));
  r.check(g.num_iterations >= 1, "grpo.num_iterations", fmt::format("is {}; must be >= 1", g.num_iterations));
  r.check(g.max_refill_rounds >= 0, "grpo.max_refill_rounds", "must be >= 0");
  r.check(g.sapo_temperature_pos > 0, "grpo.sapo_temperature_pos", fmt::format("is {}; must be > 0", g.sapo_temperature_pos));
  r.check(g.sapo_temperature_neg > 0, "grpo.sapo_temperature_neg", fmt::format("is {}; must be > 0", g.sapo_temperature_neg));
  r.check(g.clip_ratio_c == 0 || g.clip_ratio_c > 1, "grpo.clip_ratio_c",
          fmt::format("is {}; must be > 1 (the dual clip's bound, verl uses 3.0) or 0 = off", g.clip_ratio_c));
  r.check(g.delta == 0 || g.delta > 1 + g.epsilon_high, "grpo.delta",
          fmt::format("is {}; must be > 1 + epsilon_high = {} (INTELLECT-2 uses 4) or 0 = off", g.delta,
                      1 + g.epsilon_high));
  r.check(g.top_entropy_quantile > 0 && g.top_entropy_quantile <= 1, "grpo.top_entropy_quantile",
          fmt::format("is {}; must be in (0, 1] (1 = every token; the 80/20 paper uses 0.2)", g.top_entropy_quantile));
  r.check(g.advantage != AdvantageEstimator::ReinforcePP || g.scale_rewards == ScaleRewards::Batch,
          "grpo.scale_rewards",
          "grpo.advantage reinforce_pp whitens the advantages over the batch: set grpo.scale_rewards: batch");
  r.check(g.reward_aggregation == RewardAggregation::SumThenNormalize ||
              (g.advantage == AdvantageEstimator::Grpo && g.scale_rewards == ScaleRewards::Group),
          "grpo.reward_aggregation",
          "normalize_then_sum normalises each reward within its group and whitens the sum over the batch (GDPO): it "
          "takes the place of grpo.advantage and grpo.scale_rewards; leave them at grpo and group");
  r.check(g.ref_sync_every >= 0, "grpo.ref_sync_every", fmt::format("is {}; must be >= 0 (0 = never)", g.ref_sync_every));
  if (g.ref_sync_every > 0) {
    r.check(g.beta > 0, "grpo.ref_sync_every",
            "refreshes the KL reference, but grpo.beta is 0 (no reference model); set grpo.beta > 0 or remove it");
    r.check(c.lora.r == 0, "grpo.ref_sync_every",
            "with LoRA the reference is the base model (adapters off), which cannot be refreshed; remove it or lora.r");
    r.check(g.ref_mixup_alpha > 0 && g.ref_mixup_alpha <= 1, "grpo.ref_mixup_alpha",
            fmt::format("is {}; must be in (0, 1] (1 = copy the policy; TRL's default is 0.6)", g.ref_mixup_alpha));
  } else {
    r.check(g.ref_mixup_alpha == GrpoConfig{}.ref_mixup_alpha, "grpo.ref_mixup_alpha",
            "is set but grpo.ref_sync_every is 0 (no refresh); set grpo.ref_sync_every (steps) too");
  }
  if (g.rollout_correction != RolloutCorrection::None) {
    r.check(g.rollout_correction_cap > 1, "grpo.rollout_correction_cap",
            fmt::format("is {}; must be > 1 (tis caps the weight there; mis keeps ratios in [1/cap, cap]; verl "
                        "uses 2.0)", g.rollout_correction_cap));
  } else {
    r.check(g.rollout_correction_cap == GrpoConfig{}.rollout_correction_cap, "grpo.rollout_correction_cap",
            "is set but grpo.rollout_correction is none; set grpo.rollout_correction: tis or mis too");
  }
  const bool clip_family = g.loss_type != LossType::Cispo && g.loss_type != LossType::Sapo;
  r.check(clip_family || (g.clip_ratio_c == 0 && g.delta == 0), "grpo.loss_type",
          "cispo and sapo have no clipped surrogate: grpo.clip_ratio_c and grpo.delta apply to grpo, bnpo, dr_grpo "
          "and dapo only");

  const auto& o = c.optim;
  r.check(o.lr >= 0, "optim.lr", fmt::format("is {}; the learning rate must be >= 0", o.lr));
  r.check(o.weight_decay >= 0, "optim.weight_decay", fmt::format("is {}; must be >= 0", o.weight_decay));
  r.check(o.betas.size() == 2, "optim.betas", fmt::format("has {} values; AdamW needs two, e.g. [0.9, 0.99]", o.betas.size()));
  for (std::size_t i = 0; i < o.betas.size(); ++i) {
    r.check(o.betas[i] >= 0 && o.betas[i] < 1, fmt::format("optim.betas[{}]", i),
            fmt::format("is {}; must be in [0, 1)", o.betas[i]));
  }
  r.check(o.eps > 0, "optim.eps", "must be > 0");
  r.check(o.warmup_steps >= 0, "optim.warmup_steps", "must be >= 0");
  r.check(o.max_grad_norm >= 0, "optim.max_grad_norm", "must be >= 0 (0 = no clipping)");

  const auto& t = c.train;
  r.check(t.steps >= 1, "train.steps", fmt::format("is {}; must be >= 1", t.steps));
  r.check(t.prompts_per_step >= 1, "train.prompts_per_step", fmt::format("is {}; must be >= 1", t.prompts_per_step));
  r.check(t.micro_batch_size >= 1, "train.micro_batch_size", fmt::format("is {}; must be >= 1", t.micro_batch_size));
  r.check(t.checkpoint_every >= 0, "train.checkpoint_every", "must be >= 0 (0 = only at the end)");
  r.check(t.keep_last >= 0, "train.keep_last", "must be >= 0 (0 = keep all)");
  r.check(t.log_samples_every >= 0, "train.log_samples_every", "must be >= 0 (0 = never)");
  r.check(t.threads >= 0, "train.threads", "must be >= 0 (0 = all cores)");
  r.check(!t.output_dir.empty(), "train.output_dir", "must not be empty");

  const auto& e = c.eval;
  r.check(e.every >= 0, "eval.every", "must be >= 0 (0 = off)");
  r.check(e.num_samples >= 1, "eval.num_samples", "must be >= 1");
  r.check(e.max_problems >= 0, "eval.max_problems", "must be >= 0 (0 = all)");
  r.check(e.temperature >= 0 || e.temperature == -1, "eval.temperature",
          fmt::format("is {}; must be >= 0 (0 = greedy) or -1 (greedy for one sample, else 1.0)", e.temperature));
  r.check(e.top_p > 0 && e.top_p <= 1, "eval.top_p", fmt::format("is {}; must be in (0, 1]", e.top_p));
  r.check(e.every == 0 || !e.data.empty(), "eval.data", "eval.every > 0 needs eval.data (a JSONL file)");

  const auto& l = c.lora;
  r.check(l.r >= 0, "lora.r", fmt::format("is {}; must be >= 0 (0 = off, train the whole model)", l.r));
  if (l.r > 0) {
    r.check(l.alpha > 0, "lora.alpha", fmt::format("is {}; must be > 0", l.alpha));
    r.check(l.dropout >= 0 && l.dropout < 1, "lora.dropout", fmt::format("is {}; must be in [0, 1)", l.dropout));
    r.check(!l.target_modules.empty(), "lora.target_modules",
            "is empty; name the linear modules to adapt (q_proj, ..., or all-linear)");
    r.check(l.adapter_path.empty() || std::filesystem::is_directory(l.adapter_path), "lora.adapter_path",
            fmt::format("'{}' is not a directory; it should hold adapter_config.json and adapter_model.safetensors",
                        l.adapter_path));
  } else {
    const LoraConfig off;
    const bool other_keys = l.alpha != off.alpha || l.dropout != off.dropout || l.use_rslora ||
                            !l.adapter_path.empty() || l.save_merged || l.target_modules != off.target_modules;
    r.check(!other_keys, "lora.r",
            "is 0 (LoRA off) but other lora keys are set; set lora.r > 0 (e.g. 16) to train adapters, or remove them");
  }
  r.check(c.dist.timeout_s >= 1, "dist.timeout_s", fmt::format("is {}; must be >= 1 (seconds)", c.dist.timeout_s));

  const auto& s = c.sft;
  r.check(!s.text_field.empty(), "sft.text_field", "must not be empty");
  r.check(!s.prompt_field.empty(), "sft.prompt_field", "must not be empty");
  r.check(!s.completion_field.empty(), "sft.completion_field", "must not be empty");
  r.check(s.epochs >= 1, "sft.epochs", fmt::format("is {}; must be >= 1", s.epochs));
  r.check(s.batch_size >= 1, "sft.batch_size", fmt::format("is {}; must be >= 1", s.batch_size));
  r.check(s.micro_batch_size >= 1, "sft.micro_batch_size", fmt::format("is {}; must be >= 1", s.micro_batch_size));
  r.check(s.max_length >= 2, "sft.max_length", fmt::format("is {}; must be >= 2", s.max_length));
  r.check(s.lr >= 0, "sft.lr", fmt::format("is {}; the learning rate must be >= 0", s.lr));
  r.check(s.weight_decay >= 0, "sft.weight_decay", "must be >= 0");
  r.check(s.warmup_steps >= 0, "sft.warmup_steps", "must be >= 0");
  r.check(s.save_every >= 0, "sft.save_every", "must be >= 0 (0 = only at the end)");
  r.check(s.keep_last >= 0, "sft.keep_last", "must be >= 0 (0 = keep all)");
  r.check(s.log_every >= 1, "sft.log_every", "must be >= 1");
  r.check(!s.output_dir.empty(), "sft.output_dir", "must not be empty");

  if (use == ConfigUse::Sft) {
    r.check(c.lora.r == 0, "lora.r",
            "r1train sft trains the whole model; LoRA adapters are trained by r1train train (set lora.r: 0 for sft)");
    if (c.model.path.empty()) {
      r.fail("model.path", "missing; set the Hugging Face model directory (with sft.init: random, only its "
                           "config.json and tokenizer are read)");
    } else if (!std::filesystem::is_directory(c.model.path)) {
      r.fail("model.path", "'" + c.model.path + "' is not a directory; it should hold config.json and a tokenizer");
    }
    if (s.data.empty()) {
      r.fail("sft.data", "missing; set the training corpus (sft.data: FILE.jsonl or --set sft.data=FILE)");
    } else if (!std::filesystem::is_regular_file(s.data)) {
      r.fail("sft.data", "file '" + s.data + "' does not exist");
    }
  }

  if (use == ConfigUse::Train) {
    if (c.model.path.empty()) {
      r.fail("model.path", "missing; set the Hugging Face model directory (model.path: DIR or --set model.path=DIR)");
    } else if (!std::filesystem::is_directory(c.model.path)) {
      r.fail("model.path", "'" + c.model.path + "' is not a directory; it should hold config.json and *.safetensors");
    }
    if (c.data.train.empty()) {
      r.fail("data.train", "missing; set the training prompts (data.train: FILE.jsonl or --set data.train=FILE)");
    } else if (!std::filesystem::is_regular_file(c.data.train)) {
      r.fail("data.train", "file '" + c.data.train + "' does not exist");
    }
    if (e.every > 0 && !e.data.empty() && !std::filesystem::is_regular_file(e.data)) {
      r.fail("eval.data", "file '" + e.data + "' does not exist");
    }
  }
}

// Relative paths in a config file are relative to the file's directory only
// when they do not exist relative to the working directory.
void resolve_path(std::string& p, const std::filesystem::path& base) {
  if (p.empty() || std::filesystem::path(p).is_absolute() || std::filesystem::exists(p)) return;
  auto candidate = base / p;
  if (std::filesystem::exists(candidate)) p = candidate.lexically_normal().string();
}

}  // namespace

namespace {

// (key path, value text) of every field: config_values.
struct ValueLister {
  std::string prefix;
  std::vector<std::pair<std::string, std::string>>* out;
  template <class T>
  void operator()(const char* key, T& ref, const Field& = {}) {
    const std::string path = prefix + key;
    if constexpr (is_entry_list_v<T>) {
      for (std::size_t i = 0; i < ref.size(); ++i) {
        ValueLister sub{fmt::format("{}[{}].", path, i), out};
        visit(sub, ref[i]);
      }
    } else if constexpr (std::is_same_v<T, std::vector<std::string>> || std::is_same_v<T, std::vector<double>>) {
      out->emplace_back(path, fmt::format("[{}]", fmt::join(ref, ", ")));
    } else if constexpr (std::is_same_v<T, nlohmann::ordered_json>) {
      out->emplace_back(path, ref.dump());
    } else if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string>) {
      ValueLister sub{path + ".", out};
      visit(sub, ref);
    } else {
      out->emplace_back(path, scalar_text(ref));
    }
  }
};

}  // namespace

namespace {

// ---- the reference (docs/configuration.md) ----------------------------------------

// A meaning as a sentence's start: its first letter capitalised.
std::string sentence(std::string text) {
  if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') text[0] = static_cast<char>(text[0] - 'a' + 'A');
  return text;
}

template <class T>
std::string type_text() {
  if constexpr (std::is_same_v<T, std::string>) return "string";
  else if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_same_v<T, int>) return "integer";
  else if constexpr (std::is_same_v<T, double>) return "number";
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "list of strings";
  else if constexpr (std::is_same_v<T, std::vector<double>>) return "list of numbers";
  else if constexpr (std::is_same_v<T, nlohmann::ordered_json>) return "map";
  else if constexpr (std::is_enum_v<T>) {
    std::string out;
    for (const auto& o : option_table(T{})) out += (out.empty() ? "`" : " | `") + std::string(o.name) + "`";
    return out;
  } else {
    static_assert(sizeof(T) == 0, "type_text: a field type without a name in the reference");
  }
}

// One table per section, in visit order: key, type (an option's values), default, whether resume
// may see it change, meaning.
struct ReferenceWriter {
  std::string prefix;
  unsigned runs = kDefinesAll;
  std::string* out;

  void row(const std::string& key, const std::string& type, const std::string& value, unsigned defines,
           const std::string& meaning) {
    *out += fmt::format("| `{}` | {} | {} | {} | {} |\n", key, markdown_cell(type), value.empty() ? "`\"\"`" : markdown_cell("`" + value + "`"),
                        defines ? "fixed" : "may change", markdown_cell(meaning));
  }

  template <class T>
  void operator()(const char* key, T& ref, const Field& f = {}) {
    const unsigned defines = runs & f.defines;
    std::string meaning = f.meaning;
    if (f.read_by != kAllRewards) {
      meaning += fmt::format(" (read by `{}`)", fmt::join(reader_names(f.read_by), "`, `"));
    }
    if constexpr (is_entry_list_v<T>) {
      constexpr bool reward = std::is_same_v<T, std::vector<RewardConfig>>;
      std::vector<std::string> names;
      if constexpr (reward)
        for (const auto& r : ref) names.push_back(fmt::format("{{name: {}}}", option_name(r.name)));
      *out += fmt::format("\n## `{}`\n\n{}. Each entry of the list takes the keys below.\n\n", key, sentence(f.meaning));
      *out += "| key | type | default | on resume | meaning |\n| --- | --- | --- | --- | --- |\n";
      row(key, reward ? "list of reward entries" : "list of tool entries", fmt::format("[{}]", fmt::join(names, ", ")),
          defines, reward ? "the rewards, summed with their weights" : "the tools; none: rollouts are single-turn");
      typename T::value_type entry;
      ReferenceWriter sub{prefix + key + ".", defines, out};
      visit(sub, entry);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>> || std::is_same_v<T, std::vector<double>>) {
      std::vector<std::string> items;
      for (const auto& x : ref) {
        if constexpr (std::is_same_v<T, std::vector<double>>) items.push_back(format_double(x));
        else items.push_back("\"" + x + "\"");
      }
      row(prefix + key, type_text<T>(), fmt::format("[{}]", fmt::join(items, ", ")), defines, meaning);
    } else if constexpr (std::is_same_v<T, nlohmann::ordered_json>) {
      row(prefix + key, type_text<T>(), ref.dump(), defines, meaning);
    } else if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string>) {
      *out += fmt::format("\n## `{}`\n\n{}.\n\n", key, sentence(f.meaning));
      *out += "| key | type | default | on resume | meaning |\n| --- | --- | --- | --- | --- |\n";
      ReferenceWriter sub{prefix + key + ".", defines, out};
      visit(sub, ref);
    } else {
      row(prefix + key, type_text<T>(), scalar_text(ref), defines, meaning);
    }
  }
};

}  // namespace

std::string configuration_reference() {
  Config c;
  std::string out;
  ReferenceWriter writer{"", kDefinesAll, &out};
  visit(writer, c);
  return out;
}

std::vector<std::pair<std::string, std::string>> config_values(const Config& config) {
  Config c = config;
  std::vector<std::pair<std::string, std::string>> out;
  ValueLister lister{"", &out};
  visit(lister, c);
  return out;
}

std::vector<std::string> config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    Config c;
    KeyLister lister{"", &out};
    visit(lister, c);
    return out;
  }();
  return keys;
}

std::vector<std::string> check_config(const ConfigSource& source, Config& out, ConfigUse use) {
  Reporter rep{&source, {}, {}};
  YAML::Node root;
  if (!source.file.empty()) {
    std::ifstream in(source.file);
    if (!in) {
      return {fmt::format("{}: cannot read config file: {}", source.file.string(),
                          std::filesystem::exists(source.file) ? "permission denied or not a file"
                                                               : "no such file")};
    }
    if (std::filesystem::is_directory(source.file)) {
      return {source.file.string() + ": is a directory, expected a YAML file"};
    }
    try {
      const auto documents = YAML::LoadAll(in);
      if (documents.size() > 1) {
        return {fmt::format("{}: holds {} YAML documents (separated by ---); a config is one document: merge them "
                            "or split them into files",
                            source.file.string(), documents.size())};
      }
      if (!documents.empty()) root = documents.front();
    } catch (const YAML::ParserException& e) {
      return {fmt::format("{}:{}:{}: malformed YAML: {}", source.file.string(), e.mark.line + 1,
                          e.mark.column + 1, e.msg)};
    } catch (const YAML::Exception& e) {
      return {fmt::format("{}: malformed YAML: {}", source.file.string(), e.msg)};
    }
    if (!root.IsNull() && !root.IsMap()) {
      return {source.file.string() + ": expected a YAML map of sections (model:, data:, ...), got " +
              describe(root)};
    }
  }
  for (const auto& raw : source.overrides) {
    if (auto path = apply_override(root, raw, rep)) rep.overrides.emplace_back(*path, raw);
  }
  if (!rep.problems.empty()) return rep.problems;

  Config c;
  if (root.IsMap()) {
    Parser top{&rep, root, "", {}};
    visit(top, c);
    top.finish();
  }
  if (!rep.problems.empty()) return rep.problems;

  if (!source.file.empty()) {
    auto base = source.file.parent_path();
    resolve_path(c.model.path, base);
    resolve_path(c.data.train, base);
    resolve_path(c.eval.data, base);
    resolve_path(c.sft.data, base);
    resolve_path(c.data.chat_template, base);
  }
  try {
    c.model.path = resolve_model_dir(c.model.path, c.model.revision);
  } catch (const InputError& e) {
    rep.problems.push_back("model.path: " + std::string(e.what()));
    return rep.problems;
  }
  Rules rules{&rep, &root};
  check_values(c, use, rules);
  out = c;
  return rep.problems;
}

Config load_config(const ConfigSource& source, ConfigUse use) {
  Config c;
  auto problems = check_config(source, c, use);
  if (!problems.empty()) {
    std::string msg = problems.size() == 1 ? "invalid configuration:" : fmt::format("invalid configuration ({} problems):", problems.size());
    for (const auto& p : problems) msg += "\n  " + p;
    throw InputError(msg);
  }
  return c;
}

namespace {

std::string emit(const Config& config, unsigned runs, bool only_defining) {
  Config c = config;
  YAML::Emitter out;
  out << YAML::BeginMap;
  Emitter e{&out, runs, only_defining};
  visit(e, c);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

// YAML as one "section.key: value" line per setting (list items flattened).
std::vector<std::string> yaml_lines(const std::string& yaml) {
  std::vector<std::string> lines;
  std::istringstream in(yaml);
  std::string section;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line.back() == ':') {
      section = line.substr(0, line.size() - 1);
      continue;
    }
    auto first = line.find_first_not_of(" -");
    lines.push_back(section + "." + (first == std::string::npos ? line : line.substr(first)));
  }
  return lines;
}

}  // namespace

std::string to_yaml(const Config& config) { return emit(config, kDefinesAll, false); }

std::vector<std::string> run_defining_lines(const Config& config, ConfigUse use) {
  return yaml_lines(emit(config, use == ConfigUse::Sft ? kDefinesSft : kDefinesGrpo, true));
}

}  // namespace r1
