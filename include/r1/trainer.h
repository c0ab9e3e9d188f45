// GRPO training: Trainer::run() reads as the algorithm (rollout, reward, advantage, update, log, checkpoint).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "r1/checkpoint.h"
#include "r1/config.h"
#include "r1/dataset.h"
#include "r1/metrics.h"
#include "r1/model.h"
#include "r1/optimizer.h"
#include "r1/rewards.h"
#include "r1/rollout.h"
#include "r1/tokenizer.h"

namespace r1 {

// What one step's policy updates measured (means over completion tokens).
struct UpdateStats {
  double loss = 0;          // the step's objective (sum over micro-batches), last iteration
  double policy_loss = 0;   // mean per-token clipped surrogate
  double kl = 0;            // mean per-token KL estimate (0 when beta == 0)
  double entropy = 0;       // mean per-token policy entropy
  double clip_low = 0;      // fraction of tokens clipped at 1 - epsilon (A < 0)
  double clip_high = 0;     // fraction clipped at 1 + epsilon_high (A > 0)
  double grad_norm = 0;     // before clipping, last iteration
  double lr = 0;
  int64_t tokens = 0;       // completion tokens in the loss
  int skipped_updates = 0;  // updates skipped for a non-finite loss or gradient
  double logprob_s = 0;     // seconds computing frozen log-probs (reference, old policy)
};

class Trainer {
 public:
  // Loads the model (or the checkpoint to resume), tokenizer, data and rewards;
  // InputError for anything wrong with them, before any training work.
  Trainer(Config config, ResumeOptions resume);
  ~Trainer();

  // Trains to config.train.steps. On SIGINT/SIGTERM: finishes the current step,
  // saves a checkpoint and throws Interrupted.
  void run();

  const std::filesystem::path& run_dir() const { return run_dir_; }

 private:
  RolloutBatch rollout(int64_t step);
  RolloutBatch sample_groups(int64_t step, int round, std::size_t num_prompts);
  void compute_advantages(RolloutBatch& batch) const;
  UpdateStats update(const RolloutBatch& batch);
  nlohmann::json step_metrics(int64_t step, const RolloutBatch& batch, const UpdateStats& stats, double rollout_s,
                              double reward_s, double update_s, double step_s, int64_t rollout_tokens);
  void log_console(int64_t step, const nlohmann::json& m) const;
  void log_samples(int64_t step, const RolloutBatch& batch);
  void evaluate(int64_t step);
  void save(int64_t step);
  void resume_from(const std::filesystem::path& checkpoint, bool allow_config_change);

  // Declared in the order they are built: cheap checks of data and rewards come
  // before the model is loaded.
  Config config_;
  std::filesystem::path run_dir_;
  torch::Device device_;
  Dataset dataset_;
  DataSampler sampler_;
  RewardSet rewards_;
  std::optional<std::filesystem::path> checkpoint_;  // the checkpoint resumed from, if any
  LoadedModel policy_;
  std::shared_ptr<Tokenizer> tokenizer_;
  std::optional<LoadedModel> reference_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<JsonlLog> metrics_log_;
  std::unique_ptr<JsonlLog> samples_log_;
  std::unique_ptr<JsonlLog> eval_log_;

  int64_t start_step_ = 0;       // steps completed before this process started
  int64_t updates_done_ = 0;     // optimizer updates applied or skipped, for the schedule
  int64_t total_tokens_ = 0;     // prompt + completion tokens processed so far
  int64_t nonfinite_total_ = 0;  // updates skipped for non-finite values, whole run
  int nonfinite_streak_ = 0;     // consecutive steps whose updates were all skipped
  int64_t dropped_groups_ = 0;   // dynamic sampling: zero-variance groups dropped this step
  double reward_seconds_ = 0;    // time spent scoring in the last sample_groups()
  std::chrono::steady_clock::time_point started_;
};

}  // namespace r1
