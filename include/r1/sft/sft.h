// Supervised next-token training (`r1train sft`): a JSONL corpus, loss on all tokens or completions only, HF checkpoints.
//
// Dimension letters: N examples in a micro-batch, T tokens (right-padded).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "r1/core/config.h"
#include "r1/model/decoder.h"
#include "r1/tokenizer/tokenizer.h"
#include "r1/train/checkpoint.h"

namespace r1 {

// One tokenized example: the model learns to predict ids[i] for every i >= loss_start.
struct SftExample {
  std::vector<int> ids;
  std::size_t loss_start = 1;  // first token trained on (>= 1: the first token has no context)
};

// Reads the corpus: each line a JSON object with cfg.text_field, or else cfg.prompt_field and
// cfg.completion_field (concatenated). With completion_only_loss, every line needs the prompt and
// completion fields and only completion tokens count. The tokenizer's bos is prepended when it asks
// for one, its eos appended when cfg.add_eos, and examples are cut to cfg.max_length tokens.
// InputError (file:line) on malformed JSON, missing or non-string fields, or no examples.
std::vector<SftExample> load_sft_corpus(const std::filesystem::path& path, const SftConfig& cfg,
                                        const Tokenizer& tokenizer);

// A right-padded micro-batch.
struct SftBatch {
  torch::Tensor input_ids;       // [N, T] int64
  torch::Tensor attention_mask;  // [N, T] int64, 1 = token
  torch::Tensor targets;         // [N, T-1] int64: input_ids shifted left by one
  torch::Tensor loss_mask;       // [N, T-1] float32: 1 where the target counts in the loss
};

SftBatch make_sft_batch(const std::vector<const SftExample*>& examples, int pad_id, torch::Device device);

// Log-probabilities [N, T-1] of each batch target given the tokens before it.
torch::Tensor sft_target_logprobs(CausalLM& model, const SftBatch& batch);

struct SftResult {
  int64_t steps = 0;                   // optimizer steps taken
  double final_loss = 0;               // mean loss per trained token of the last step
  std::filesystem::path checkpoint;    // the final checkpoint (a Hugging Face model directory)
  double seconds = 0;                  // wall time of the training loop
};

// Trains model.path (or a fresh model with sft.init: random) on sft.data and writes
// sft.output_dir: config.yaml, metrics.jsonl (step, epoch, loss, lr, grad_norm, tokens,
// num_tokens, timing/step_s, throughput/tokens_per_s), train.log and checkpoints/step-NNNNNN
// (model, tokenizer, optimizer.pt, trainer_state.json), the last one after the final step. On
// SIGINT/SIGTERM it saves a checkpoint after the current step and throws Interrupted. With a
// checkpoint to resume from (per `resume`, as for train), it continues from it exactly: same
// data order, optimizer state and schedule; changed settings that alter the run are refused
// unless resume.allow_config_change.
SftResult run_sft(const Config& config, const ResumeOptions& resume = {});

}  // namespace r1
