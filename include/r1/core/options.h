// Option values as enums, each with one table (name, meaning) that the YAML parser, the emitter, the
// validator, --help texts and error messages share.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.h"
#include "r1/core/text_distance.h"

namespace r1 {

template <class E>
struct OptionInfo {
  E value;
  std::string_view name;
  std::string_view meaning;
};

// Each option enum E has a table, found by argument-dependent lookup: `option_table(E{})`.

enum class LossType { Grpo, Bnpo, DrGrpo, Dapo, Cispo, Sapo };
constexpr auto option_table(LossType) {
  using E = LossType;
  return std::array{
      OptionInfo<E>{E::Grpo, "grpo", "each sequence's token mean, averaged over sequences (DeepSeekMath)"},
      OptionInfo<E>{E::Bnpo, "bnpo", "sum over tokens / tokens in the micro-batch"},
      OptionInfo<E>{E::DrGrpo, "dr_grpo", "sum over tokens / (sequences x max_new_tokens) (Dr. GRPO)"},
      OptionInfo<E>{E::Dapo, "dapo", "sum over tokens / tokens in the whole step's batch (DAPO)"},
      OptionInfo<E>{E::Cispo, "cispo",
                    "-sg(min(r, 1 + epsilon_high)) A log p, normalised as dapo (MiniMax-M1's CISPO)"},
      OptionInfo<E>{E::Sapo, "sapo",
                    "-(4 / tau) sigmoid(tau (r - 1)) A, a soft gate instead of the clip, normalised as dapo (SAPO)"},
  };
}

enum class ImportanceLevel { Token, Sequence };
constexpr auto option_table(ImportanceLevel) {
  using E = ImportanceLevel;
  return std::array{
      OptionInfo<E>{E::Token, "token", "one ratio per token, pi / pi_old"},
      OptionInfo<E>{E::Sequence, "sequence",
                    "one ratio per completion, exp(mean over its tokens of log(pi / pi_old)) (GSPO)"},
  };
}

enum class RolloutCorrection { None, Tis, Mis };
constexpr auto option_table(RolloutCorrection) {
  using E = RolloutCorrection;
  return std::array{
      OptionInfo<E>{E::None, "none", "train on the sampled tokens as they are"},
      OptionInfo<E>{E::Tis, "tis",
                    "weight each token's policy term by min(pi_old / pi_sampler, cap) (truncated importance sampling)"},
      OptionInfo<E>{E::Mis, "mis",
                    "drop tokens (sequences, with importance_sampling_level sequence) whose pi_old / pi_sampler leaves "
                    "[1/cap, cap] (masked importance sampling)"},
  };
}

enum class AdvantageEstimator { Grpo, Rloo, ReinforcePP };
constexpr auto option_table(AdvantageEstimator) {
  using E = AdvantageEstimator;
  return std::array{
      OptionInfo<E>{E::Grpo, "grpo", "r - group mean, scaled as scale_rewards says"},
      OptionInfo<E>{E::Rloo, "rloo", "r - mean of the group's other rewards, scaled as scale_rewards says (RLOO)"},
      OptionInfo<E>{E::ReinforcePP, "reinforce_pp",
                    "r - group mean, then whitened over the batch (REINFORCE++ with baseline; needs scale_rewards "
                    "batch)"},
  };
}

enum class RewardAggregation { SumThenNormalize, NormalizeThenSum };
constexpr auto option_table(RewardAggregation) {
  using E = RewardAggregation;
  return std::array{
      OptionInfo<E>{E::SumThenNormalize, "sum_then_normalize", "the weighted sum of the rewards, then the advantage"},
      OptionInfo<E>{E::NormalizeThenSum, "normalize_then_sum",
                    "each reward normalised within its group, weighted sum, whitened over the batch (GDPO)"},
  };
}

enum class ScaleRewards { Group, Batch, None };
constexpr auto option_table(ScaleRewards) {
  using E = ScaleRewards;
  return std::array{
      OptionInfo<E>{E::Group, "group", "(r - group mean) / group std"},
      OptionInfo<E>{E::Batch, "batch", "(r - group mean) / batch std"},
      OptionInfo<E>{E::None, "none", "r - group mean (Dr. GRPO)"},
  };
}

enum class KlEstimator { K1, K2, K3 };
constexpr auto option_table(KlEstimator) {
  using E = KlEstimator;
  return std::array{
      OptionInfo<E>{E::K1, "k1", "logp - ref"},
      OptionInfo<E>{E::K2, "k2", "(logp - ref)^2 / 2"},
      OptionInfo<E>{E::K3, "k3", "exp(ref - logp) - (ref - logp) - 1"},
  };
}

enum class Schedule { Constant, Linear, Cosine };
constexpr auto option_table(Schedule) {
  using E = Schedule;
  return std::array{
      OptionInfo<E>{E::Constant, "constant", "the peak rate after warmup"},
      OptionInfo<E>{E::Linear, "linear", "linear decay to 0 after warmup"},
      OptionInfo<E>{E::Cosine, "cosine", "cosine decay to 0 after warmup"},
  };
}

// The one dtype rule of every command: auto is bfloat16 on CUDA and float32 on the CPU.
enum class Dtype { Auto, Float32, BFloat16, Float16 };
constexpr auto option_table(Dtype) {
  using E = Dtype;
  return std::array{
      OptionInfo<E>{E::Auto, "auto", "bfloat16 on CUDA, float32 on the CPU"},
      OptionInfo<E>{E::Float32, "float32", "32-bit floats"},
      OptionInfo<E>{E::BFloat16, "bfloat16", "bfloat16 weights and activations"},
      OptionInfo<E>{E::Float16, "float16", "float16 weights and activations"},
  };
}

enum class DistBackend { Auto, Gloo, Nccl };
constexpr auto option_table(DistBackend) {
  using E = DistBackend;
  return std::array{
      OptionInfo<E>{E::Auto, "auto", "nccl on CUDA, gloo on the CPU"},
      OptionInfo<E>{E::Gloo, "gloo", "c10d's Gloo backend (CPU tensors, TCP)"},
      OptionInfo<E>{E::Nccl, "nccl", "c10d's NCCL backend (CUDA tensors)"},
  };
}

enum class OnError { Error, Default };
constexpr auto option_table(OnError) {
  using E = OnError;
  return std::array{
      OptionInfo<E>{E::Error, "error", "a failing reward program stops the run"},
      OptionInfo<E>{E::Default, "default", "a failing reward program scores default_score"},
  };
}

enum class RewardKind { Format, TagCount, Math, Gsm8k, Countdown, Exact, Regex, Choice, Command, Overlong, Cosine, Repetition };
constexpr auto option_table(RewardKind) {
  using E = RewardKind;
  return std::array{
      OptionInfo<E>{E::Format, "format", "1 for <think>...</think><answer>...</answer>"},
      OptionInfo<E>{E::TagCount, "tag_count", "0.25 per well-placed format tag"},
      OptionInfo<E>{E::Math, "math", "the final answer equals the reference (LaTeX-aware)"},
      OptionInfo<E>{E::Gsm8k, "gsm8k", "the final number equals the reference"},
      OptionInfo<E>{E::Countdown, "countdown", "the <answer> expression reaches the target"},
      OptionInfo<E>{E::Exact, "exact", "the answer equals the reference, whitespace squeezed"},
      OptionInfo<E>{E::Regex, "regex", "1 when the completion matches `pattern`"},
      OptionInfo<E>{E::Choice, "choice", "the multiple-choice letter equals the reference"},
      OptionInfo<E>{E::Command, "command", "the score a program prints"},
      OptionInfo<E>{E::Overlong, "overlong", "0, or down to -penalty over the last `buffer` tokens before the limit (DAPO)"},
      OptionInfo<E>{E::Cosine, "cosine", "correctness scaled by length along a cosine (open-r1)"},
      OptionInfo<E>{E::Repetition, "repetition", "max_penalty x the fraction of repeated word n-grams (open-r1)"},
  };
}

// Built-in tool kinds (tools[].kind).
enum class ToolKind { Python, Command };
constexpr auto option_table(ToolKind) {
  using E = ToolKind;
  return std::array{
      OptionInfo<E>{E::Python, "python", "the call is Python code, run in the sandbox; its output comes back"},
      OptionInfo<E>{E::Command, "command", "a program started once, fed one JSON line per call, answering one"},
  };
}

enum class SandboxNetwork { Deny, Allow };
constexpr auto option_table(SandboxNetwork) {
  using E = SandboxNetwork;
  return std::array{
      OptionInfo<E>{E::Deny, "deny", "no network: an own network namespace"},
      OptionInfo<E>{E::Allow, "allow", "the host's network"},
  };
}

enum class SandboxFilesystem { Isolated, Open };
constexpr auto option_table(SandboxFilesystem) {
  using E = SandboxFilesystem;
  return std::array{
      OptionInfo<E>{E::Isolated, "isolated", "read-only outside the code's working directory"},
      OptionInfo<E>{E::Open, "open", "writable wherever the code's uid may write"},
  };
}

// The verifiers that grade evaluation (their final-answer extraction and equivalence).
enum class EvalTask { Math, Gsm8k, Countdown, Exact, Choice };
constexpr auto option_table(EvalTask) {
  using E = EvalTask;
  return std::array{
      OptionInfo<E>{E::Math, "math", "LaTeX-aware final-answer equivalence"},
      OptionInfo<E>{E::Gsm8k, "gsm8k", "the final number"},
      OptionInfo<E>{E::Countdown, "countdown", "the expression reaches the target with the given numbers"},
      OptionInfo<E>{E::Exact, "exact", "the answer, whitespace squeezed"},
      OptionInfo<E>{E::Choice, "choice", "the multiple-choice letter"},
  };
}

enum class FormatMode { Strict, Lenient };
constexpr auto option_table(FormatMode) {
  using E = FormatMode;
  return std::array{
      OptionInfo<E>{E::Strict, "strict", "nothing but whitespace around the blocks, one of each tag"},
      OptionInfo<E>{E::Lenient, "lenient", "the blocks may be surrounded by other text"},
  };
}

enum class Gsm8kMode { Strict, Flexible };
constexpr auto option_table(Gsm8kMode) {
  using E = Gsm8kMode;
  return std::array{
      OptionInfo<E>{E::Strict, "strict", "the number after '#### '"},
      OptionInfo<E>{E::Flexible, "flexible", "the last number in the completion"},
  };
}

// Where the math verifier looks for the final answer.
enum class MathExtract { Tagged, Any };
constexpr auto option_table(MathExtract) {
  using E = MathExtract;
  return std::array{
      OptionInfo<E>{E::Tagged, "tagged", "the <answer> block (its \\boxed if it has any), else the last \\boxed"},
      OptionInfo<E>{E::Any, "any",
                    "also prose: \\boxed, \"the final answer is X\", \"answer: X\", the last $...$, the last standalone number"},
  };
}

// How a percentage answer ("50\\%") compares with a plain number.
enum class PercentMode { Both, Fraction, Number };
constexpr auto option_table(PercentMode) {
  using E = PercentMode;
  return std::array{
      OptionInfo<E>{E::Both, "both", "50\\% equals 0.5 and 50"},
      OptionInfo<E>{E::Fraction, "fraction", "50\\% equals 0.5 only (Math-Verify)"},
      OptionInfo<E>{E::Number, "number", "50\\% equals 50 only"},
  };
}

enum class SftInit { Pretrained, Random };
constexpr auto option_table(SftInit) {
  using E = SftInit;
  return std::array{
      OptionInfo<E>{E::Pretrained, "pretrained", "model.path's weights"},
      OptionInfo<E>{E::Random, "random", "fresh weights drawn from sft.seed with model.path's config.json"},
  };
}

enum class FinishReason { Stop, Length, MaxTurns, ToolError };
constexpr auto option_table(FinishReason) {
  using E = FinishReason;
  return std::array{
      OptionInfo<E>{E::Stop, "stop", "an end token, stop token or stop string ended the completion (or a tool said done)"},
      OptionInfo<E>{E::Length, "length", "max_new_tokens (or, with tools, max_total_tokens) was reached"},
      OptionInfo<E>{E::MaxTurns, "max_turns", "a tool call past rollout.max_turns"},
      OptionInfo<E>{E::ToolError, "tool_error", "a command tool gave no usable answer"},
  };
}

// The named prompt templates (data.template may also be a text with {prompt}).
enum class TemplateName { R1Zero, Countdown, Plain, Chat, ChatMl, Llama3, Model };
constexpr auto option_table(TemplateName) {
  using E = TemplateName;
  return std::array{
      OptionInfo<E>{E::R1Zero, "r1_zero", "DeepSeek-R1-Zero's conversation prompt"},
      OptionInfo<E>{E::Countdown, "countdown", "TinyZero's countdown prompt"},
      OptionInfo<E>{E::Plain, "plain", "the prompt as it is"},
      OptionInfo<E>{E::Chat, "chat", "the ChatML format (as chatml)"},
      OptionInfo<E>{E::ChatMl, "chatml", "<|im_start|>user ... <|im_start|>assistant"},
      OptionInfo<E>{E::Llama3, "llama3", "the Llama 3 chat format"},
      OptionInfo<E>{E::Model, "model", "the model's own chat template (tokenizer_config.json or chat_template.jinja)"},
  };
}

// The option's name ("dr_grpo").
template <class E>
std::string option_name(E value) {
  for (const auto& o : option_table(E{}))
    if (o.value == value) return std::string(o.name);
  return "?";
}

// The value named `name`, if any.
template <class E>
std::optional<E> parse_option(std::string_view name) {
  for (const auto& o : option_table(E{}))
    if (o.name == name) return o.value;
  return std::nullopt;
}

// Every name, in table order.
template <class E>
std::vector<std::string> option_names() {
  std::vector<std::string> out;
  for (const auto& o : option_table(E{})) out.emplace_back(o.name);
  return out;
}

// "a | b | c", for help texts.
template <class E>
std::string option_list(std::string_view separator = " | ") {
  std::string out;
  for (const auto& o : option_table(E{})) out += (out.empty() ? "" : std::string(separator)) + std::string(o.name);
  return out;
}

// "a (meaning), b (meaning)", for help texts.
template <class E>
std::string option_help() {
  std::string out;
  for (const auto& o : option_table(E{}))
    out += (out.empty() ? "" : ", ") + std::string(o.name) + " (" + std::string(o.meaning) + ")";
  return out;
}

// "unknown value 'x'; use one of a, b, c (did you mean 'y'?)".
template <class E>
std::string unknown_option_message(std::string_view name) {
  const auto names = option_names<E>();
  const std::string hint = closest(std::string(name), names);
  return "unknown value '" + std::string(name) + "'; use one of " + option_list<E>(", ") +
         (hint.empty() ? "" : " (did you mean '" + hint + "'?)");
}

// The value named `name`; InputError "{what}: unknown value ..." otherwise.
template <class E>
E require_option(std::string_view name, const std::string& what) {
  if (auto v = parse_option<E>(name)) return *v;
  throw InputError(what + ": " + unknown_option_message<E>(name));
}

}  // namespace r1
