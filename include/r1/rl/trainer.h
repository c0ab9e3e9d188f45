// GRPO training: Trainer::run() reads as the algorithm (rollout, reward, advantage, update, log, checkpoint).
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "r1/core/config.h"
#include "r1/data/dataset.h"
#include "r1/dist/world.h"
#include "r1/generation/prompts.h"
#include "r1/model/decoder.h"
#include "r1/rewards/reward_set.h"
#include "r1/rl/grpo.h"
#include "r1/rl/batch.h"
#include "r1/tools/tools.h"
#include "r1/rl/reference.h"
#include "r1/rl/trainer_state.h"
#include "r1/tokenizer/tokenizer.h"
#include "r1/train/nonfinite.h"
#include "r1/train/optimizer.h"
#include "r1/train/run_directory.h"

namespace r1 {

// What one step's policy updates measured (means over completion tokens).
struct UpdateStats {
  double loss = 0;          // the step's objective (sum over micro-batches), last iteration
  double policy_loss = 0;   // mean per-token clipped surrogate
  double kl = 0;            // mean per-token KL estimate (0 when beta == 0)
  double entropy = 0;       // mean per-token policy entropy
  double clip_low = 0;      // fraction of tokens clipped at 1 - epsilon (A < 0)
  double clip_high = 0;     // fraction clipped at 1 + epsilon_high (A > 0)
  double clip_dual = 0;     // fraction whose loss the dual clip capped (A < 0; clip_ratio_c > 0)
  double entropy_kept = 0;  // fraction carrying the policy term (top_entropy_quantile < 1)
  double corrected = 0;     // fraction of tokens rollout_correction capped (tis) or dropped (mis)
  // The rollout engine's log-probs against the training forward's (the old policy), r = pi_train / pi_sampler:
  double mismatch_kl = 0;       // mean over completion tokens of r - 1 - log r
  double mismatch_ratio = 1;    // mean r
  double mismatch_max_abs = 0;  // max |log pi_train - log pi_sampler|
  double grad_norm = 0;     // before clipping, last iteration
  double lr = 0;
  int64_t tokens = 0;       // completion tokens in the loss
  int skipped_updates = 0;  // updates skipped for a non-finite loss or gradient
  double logprob_s = 0;     // seconds computing frozen log-probs (reference, old policy)
  double peak_memory_gib = 0;  // the most any rank has held so far (GPU: allocated; CPU: resident)
};

// Where one step's time went.
struct StepTimings {
  double rollout_s = 0;  // generation (all refill rounds)
  double reward_s = 0;   // scoring
  double update_s = 0;   // frozen log-probs and policy updates
  double step_s = 0;
};

class Trainer {
 public:
  // Loads the model (or the checkpoint to resume), tokenizer, data and rewards;
  // InputError for anything wrong with them, before any training work. With a distributed
  // `comm`, this process is one rank of the run: it generates, scores and trains its share of
  // each step's prompts, sees every rank's rollouts (advantages and metrics are those of the
  // whole batch), sums gradients with the others, and only rank 0 writes the run directory.
  Trainer(Config config, ResumeOptions resume, Communicator* comm = nullptr);
  ~Trainer();

  // Trains to config.train.steps. On SIGINT/SIGTERM: finishes the current step,
  // saves a checkpoint and throws Interrupted.
  void run();

  const std::filesystem::path& run_dir() const { return run_.path(); }

 private:
  RolloutBatch rollout(int64_t step);
  RolloutBatch sample_groups(int64_t step, int round, std::size_t num_prompts);
  // Each sample's advantage from the batch's rewards (grpo.advantage, scale_rewards, reward_aggregation).
  void assign_advantages(RolloutBatch& batch) const;
  UpdateStats update(const RolloutBatch& batch);

  // The parts of update(): padded micro-batches of rows sorted by length (except for bnpo); the
  // frozen log-probs (reference model, and the policy before the first update when
  // num_iterations > 1); one pass of loss and gradient.
  std::vector<TrainingBatch> micro_batches(const RolloutBatch& batch) const;
  struct FrozenLogProbs {
    std::vector<torch::Tensor> reference;   // [N, T] per micro-batch; undefined when beta == 0
    std::vector<torch::Tensor> old_policy;  // [N, T] per micro-batch; undefined when num_iterations == 1
  };
  FrozenLogProbs frozen_logprobs(const std::vector<TrainingBatch>& micro);
  struct IterationSums;
  IterationSums policy_iteration(const std::vector<TrainingBatch>& micro, const FrozenLogProbs& frozen,
                                 const LossNormalizer& norm);

  nlohmann::json step_metrics(int64_t step, const RolloutBatch& batch, const UpdateStats& stats,
                              const StepTimings& timings, int64_t step_tokens) const;
  void log_console(int64_t step, const nlohmann::json& m) const;
  void log_samples(int64_t step, const RolloutBatch& batch);
  void evaluate(int64_t step);
  void save(int64_t step);
  void log_memory_estimate() const;
  // lora.r > 0: freezes the base, adds fresh adapters (or loads lora.adapter_path, or the
  // resumed checkpoint's) and returns the adapter tensors, what the optimizer trains.
  std::vector<torch::Tensor> attach_lora();

  // Every rank's rollouts of this step, in prompt order (the rank's own when alone); stats merged.
  RolloutBatch exchange(RolloutBatch&& mine);
  // This rank's share of the batch's groups (all of them when alone).
  RolloutBatch own_share(const RolloutBatch& batch) const;
  // Whether any rank was asked to stop (SIGINT/SIGTERM): every rank stops at the same step.
  bool any_rank_stopping();
  // memory/peak_gib: peak_memory_bytes() of the device, the largest over the ranks.
  double peak_memory_gib();

  // Declared in the order they are built: cheap checks of data and rewards come
  // before the model is loaded.
  Config config_;
  Communicator solo_;    // one process, when no communicator is given
  Communicator& comm_;
  RunDirectory run_;
  torch::Device device_;
  Dataset dataset_;
  DataSampler sampler_;
  RewardSet rewards_;
  std::shared_ptr<ToolBox> tools_;  // tools: (null without): multi-turn rollouts, also in evaluations
  std::function<std::string(std::size_t, const ToolResult&)> tool_answer_;  // the chat template's tool turn, if any
  LoadedModel policy_;
  std::shared_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<const PromptRenderer> prompts_;  // data.template (the model's chat template with `model`)
  KlReference reference_;  // grpo.beta's KL reference (a frozen copy, or the base under LoRA)
  std::optional<Dataset> eval_data_;  // when eval.every > 0
  std::vector<torch::Tensor> trainable_;  // the model's parameters, or the LoRA adapters'
  std::unique_ptr<Optimizer> optimizer_;

  TrainerState state_;      // what the run has done, saved in checkpoints
  NonFiniteStreak nonfinite_{run_.path(), "optim.lr"};  // stops after 3 steps without a finite update
  int64_t start_step_ = 0;  // steps completed before this process started
  std::chrono::steady_clock::time_point started_;
};

}  // namespace r1
