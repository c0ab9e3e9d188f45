// The rollout engine: B prompts x G samples, prefilled once per prompt, decoded together with a KV cache.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "r1/core/config.h"
#include "r1/generation/sampler.h"
#include "r1/generation/stop.h"
#include "r1/model/decoder.h"
#include "r1/tokenizer/tokenizer.h"
#include "r1/tools/tools.h"

namespace r1 {

// What a generate call did, for benchmarks: row-steps are slots computed per decode step.
struct GenerateStats {
  int64_t tokens = 0;          // completion tokens kept
  int64_t row_steps = 0;       // slots computed over all decode steps (tokens + wasted)
  int64_t prefill_tokens = 0;  // prompt tokens prefilled (each prompt once per refill of its samples)
  double wasted_fraction() const {
    return row_steps > 0 ? static_cast<double>(row_steps - tokens) / static_cast<double>(row_steps) : 0.0;
  }
};

struct GenerateOptions {
  int group_size = 1;                  // G completions per prompt
  int max_new_tokens = 256;            // finish_reason "length" when reached
  int batch_size = 64;                 // completion rows decoded together (bounds memory)
  SamplingOptions sampling;
  std::vector<std::string> stop;       // stop strings, e.g. "</answer>", matched on the decoded text
  std::vector<int> stop_token_ids;     // ended like EOS, in addition to the EOS ids
  uint64_t seed = 0;                   // sampling streams: sample_stream(seed, first_prompt_index + p, sample)
  int64_t first_prompt_index = 0;      // the global position of prompts[0] (a rank's share of a step)
  bool progress = false;               // progress line on stderr
  GenerateStats* stats = nullptr;      // filled when set

  // Multi-turn rollouts: with `tools`, a completion that writes a call pauses, the call runs (up to
  // `tool_workers` at once, while the other rows decode), the answer's tokens are fed into the same
  // row's cache and decoding resumes. max_new_tokens bounds the model's own tokens,
  // `max_total_tokens` all of them (0: max_new_tokens + max_turns x max_tool_output_tokens).
  ToolBox* tools = nullptr;
  int max_turns = 4;
  int max_tool_output_tokens = 256;
  int max_total_tokens = 0;
  int tool_workers = 4;
  std::function<std::vector<int>(const std::string&)> encode;  // an answer's text to ids (no special tokens)
  // The text put back after a call (default: the tool's output_template around its answer); with a
  // chat template, the template's tool turn (PromptRenderer::tool_answer).
  std::function<std::string(std::size_t tool, const ToolResult&)> render_answer;
  const std::vector<std::string>* prompt_texts = nullptr;      // for command tools' "prompt"; may be null
};

// The rollout's generation settings (rollout.*): group size, length, batch, sampling and stop
// strings, the one conversion from the config; callers set the seed and stream position.
GenerateOptions rollout_generate_options(const RolloutConfig& rollout);

// One tool call of a completion: what the model asked, what came back, where its tokens are.
struct ToolTurn {
  std::string tool;          // the tool's name
  std::string call;          // what the model wrote between the markers
  std::string output;        // the text put back (output_template applied, cut to its kept tokens)
  std::string error;         // the tool's error ("" when it answered)
  bool timed_out = false;
  double seconds = 0;
  int64_t first_token = 0;   // index into token_ids of its first token
  int64_t tokens = 0;        // its tokens
};

// Turns as JSON (samples.jsonl, the ranks' exchange, `generate`) and back.
nlohmann::json turns_to_json(const std::vector<ToolTurn>& turns);
std::vector<ToolTurn> turns_from_json(const nlohmann::json& j);

struct Completion {
  int prompt_index = 0;
  int sample = 0;                  // 0..G-1
  std::vector<int> token_ids;      // includes the EOS / stop token that ended it
  std::vector<float> logprobs;     // per token: log_softmax(logits / T) at the chosen token (T = 1 when greedy); 0 for tool tokens
  std::string text;                // decode(token_ids), special tokens skipped
  FinishReason finish_reason = FinishReason::Length;  // stop (EOS, stop token or stop string) or length
  std::vector<uint8_t> from_tool;  // per token, 1 = put in by a tool (not the model's); empty = none
  std::vector<ToolTurn> turns;     // the tool calls, in order
  bool void_turn = false;          // with tools: its last turn neither called a tool nor answered (<answer>, \boxed{)

  bool tool_token(std::size_t i) const { return i < from_tool.size() && from_tool[i] != 0; }
  int64_t tool_tokens() const;
  int64_t model_tokens() const { return static_cast<int64_t>(token_ids.size()) - tool_tokens(); }
};

// Generates B*G completions for `prompts` (token ids, each non-empty), ordered prompt-major,
// sample-minor, with continuous batching: `batch_size` slots decode together, one token per
// step, each with a static-shape KV cache (DecodeSlots); a finished slot takes the next pending
// completion, whose prompt is prefilled once for all of its samples that start together. Once
// nothing is pending the live slots move to the front and fewer rows run.
//
// Completion (p, g) draws from sample_stream(options.seed, first_prompt_index + p, g) at each
// token position, so its tokens do not depend on batch_size, slot, the other prompts, or which
// rank of a distributed run produced it.
//
// A row stops at an id in `end_ids` (EOS) or options.stop_token_ids (the id is kept), at the
// token whose decoding first contains a stop string (kept; text = decode(kept tokens), so it
// ends with the stop string plus whatever else that last token spells), or after
// max_new_tokens ("length"), or sooner where its prompt plus the completion fills the model's
// context (max_position_embeddings; a prompt that fills it alone is an InputError); see
// StopChecker. Runs without autograd, in the model's dtype.
std::vector<Completion> generate(CausalLM& model, const TextDecoder& decode, const std::vector<int>& end_ids,
                                 const std::vector<std::vector<int>>& prompts, const GenerateOptions& options);

// The same with text from tokenizer.decode(ids, skip_special_tokens = true) and end ids from
// the tokenizer's eos_ids() plus the model config's eos_token_id.
std::vector<Completion> generate(CausalLM& model, const Tokenizer& tokenizer,
                                 const std::vector<std::vector<int>>& prompts, const GenerateOptions& options);

}  // namespace r1
