// One step's rollout batch (prompts, completions, rewards, advantages) and its padded training tensors.
//
// Dimension letters: B prompts, G group size, N rows of a micro-batch, P prompt
// tokens (left-padded), T completion tokens (right-padded), D hidden size.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "r1/generate.h"
#include "r1/grpo.h"
#include "r1/model.h"
#include "r1/rewards.h"

namespace r1 {

struct RolloutBatch {
  int group_size = 1;
  std::vector<std::size_t> example_indices;  // [B] dataset rows
  std::vector<std::string> prompt_texts;     // [B] after the template
  std::vector<std::vector<int>> prompt_ids;  // [B]
  std::vector<Completion> completions;       // [B*G], prompt-major
  RewardScores scores;                       // per completion
  torch::Tensor rewards;                     // [B*G] float32, weighted sum
  torch::Tensor advantages;                  // [B*G] float32

  std::size_t num_prompts() const { return prompt_ids.size(); }
  std::size_t num_completions() const { return completions.size(); }
  // Keeps only the prompts (and their groups) listed in `keep`, in order.
  void keep_groups(const std::vector<std::size_t>& keep);
  // Appends another batch's prompts and completions (same group size).
  void append(RolloutBatch&& other);
};

// Token ids of a templated prompt, with the tokenizer's special tokens (BOS when it adds one),
// but a single BOS when the template text already starts with it (e.g. the llama3 chat format).
std::vector<int> encode_prompt(const Tokenizer& tokenizer, const std::string& text);

// Padded model inputs for some rows of a rollout batch.
struct TrainingBatch {
  torch::Tensor input_ids;        // [N, P+T] int64: left-padded prompt, then right-padded completion
  torch::Tensor attention_mask;   // [N, P+T] int64, 1 = token
  torch::Tensor targets;          // [N, T] int64 completion ids (0 at padding)
  torch::Tensor completion_mask;  // [N, T] float32, 1 = completion token that counts in the loss
  torch::Tensor advantages;       // [N] float32
  int64_t prompt_len = 0;         // P
};

// Rows `rows` of `batch` as tensors on `device`. With mask_truncated, completions
// that hit max_new_tokens get an all-zero completion mask.
TrainingBatch make_training_batch(const RolloutBatch& batch, const std::vector<std::size_t>& rows, int pad_id,
                                  bool mask_truncated, torch::Device device);

// Log-probs and entropies [N, T] of the completion tokens under `model` at `temperature`.
TokenLogProbs completion_logprobs(CausalLM& model, const TrainingBatch& batch, double temperature);

}  // namespace r1
