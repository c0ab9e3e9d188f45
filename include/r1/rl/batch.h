// One step's rollout batch (prompt groups with their scored samples) and its padded training tensors.
//
// Dimension letters: B prompts, G group size, N rows of a micro-batch, P prompt
// tokens (left-padded), T completion tokens (right-padded), D hidden size.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "r1/generation/generate.h"
#include "r1/generation/prompts.h"
#include "r1/model/decoder.h"
#include "r1/model/logprobs.h"
#include "r1/rewards/reward_set.h"

namespace r1 {

// One completion of a group, with what it scored.
struct Sample {
  Completion completion;       // tokens, their sampling log-probs, text, finish reason
  std::vector<double> scores;  // unweighted, one per reward in RewardSet::names() order
  double reward = 0;           // weighted sum of the scores
  double advantage = 0;        // set by the advantage estimator
};

// A prompt and its G samples.
struct PromptGroup {
  std::size_t example_index = 0;  // dataset row
  std::string prompt_text;        // after the template
  std::vector<int> prompt_ids;
  std::vector<Sample> samples;    // [G]
};

// Where the step's rollout time went, and what dynamic sampling dropped (summed over refill rounds).
struct RolloutStats {
  double generate_s = 0;
  double reward_s = 0;
  int64_t dropped_groups = 0;
  std::map<std::string, int> reward_failures;  // defaults used by rewards, by reward key
  int64_t decode_row_steps = 0;  // slots the rollout engine computed (GenerateStats::row_steps)
  int64_t decode_tokens = 0;     // tokens it kept

  // Another refill round of the same rank, run after this one: times and counts add up.
  void add_round(const RolloutStats& later);
  // Another rank's stats of the same rounds, run alongside: wall times are the slowest rank's,
  // counts add up.
  void add_rank(const RolloutStats& other);
};

struct RolloutBatch {
  std::vector<PromptGroup> groups;  // [B]
  RolloutStats stats;

  std::size_t num_completions() const;
  // Rewards [B*G] float64, prompt-major.
  torch::Tensor rewards() const;
  // Writes advantages [B*G] (prompt-major) into the samples.
  void set_advantages(const torch::Tensor& advantages);
  // Appends another round's groups and adds up its stats.
  void append(RolloutBatch&& other);
};

// A sample with the group it belongs to, for building training rows.
struct SampleRef {
  const PromptGroup* group;
  const Sample* sample;
};

// Every sample of the batch, prompt-major.
// The batch (groups, samples and stats) as JSON and back, exactly (CBOR keeps doubles' bits): how
// ranks exchange their shares of a step's rollouts.
nlohmann::json rollout_to_json(const RolloutBatch& batch);
RolloutBatch rollout_from_json(const nlohmann::json& j);

std::vector<SampleRef> sample_refs(const RolloutBatch& batch);

// Whether a completion's tokens count in the loss: all of them, unless mask_truncated and it was cut
// at max_new_tokens, or mask_void_turns and its last turn was void (SimpleTIR).
inline bool counts_in_loss(const Completion& c, bool mask_truncated, bool mask_void_turns = false) {
  return !(mask_truncated && c.finish_reason == FinishReason::Length) && !(mask_void_turns && c.void_turn);
}

// How `rows` rows are split into micro-batches of at most `size`: [start, end) of each, in order.
std::vector<std::pair<std::size_t, std::size_t>> micro_batch_ranges(std::size_t rows, std::size_t size);

// Padded model inputs for some samples of a rollout batch.
struct TrainingBatch {
  torch::Tensor input_ids;        // [N, P+T] int64: left-padded prompt, then right-padded completion
  torch::Tensor attention_mask;   // [N, P+T] int64, 1 = token
  torch::Tensor targets;          // [N, T] int64 completion ids (0 at padding)
  torch::Tensor completion_mask;  // [N, T] float32, 1 = completion token that counts in the loss
  torch::Tensor sampler_logp;     // [N, T] float32 log-probs the rollout engine recorded (0 at padding)
  torch::Tensor advantages;       // [N] float32
  int64_t prompt_len = 0;         // P
  bool left_padded = true;        // some prompt is shorter than P (else the model may skip the mask)
};

// `rows` as tensors on `device`. With mask_truncated, completions that hit max_new_tokens get an
// all-zero completion mask.
TrainingBatch make_training_batch(const std::vector<SampleRef>& rows, int pad_id, bool mask_truncated,
                                  torch::Device device, bool mask_void_turns = false);

// Log-probs and entropies [N, T] of the completion tokens under `model` at `temperature`; the
// entropies only when `with_entropy` (they cost a second pass over each chunk's logits).
TokenLogProbs completion_logprobs(CausalLM& model, const TrainingBatch& batch, double temperature,
                                  bool with_entropy = true);

}  // namespace r1
