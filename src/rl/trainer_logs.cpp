// What each GRPO step writes: metrics.jsonl (step_metrics), the console line, samples.jsonl, and the
// memory estimate logged at start. The rest of the trainer is in trainer.cpp.
#include "r1/rl/trainer.h"

#include <spdlog/spdlog.h>

#include <numeric>

#include "r1/core/stopwatch.h"
#include "r1/core/strings.h"

namespace r1 {

namespace {

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace

nlohmann::json Trainer::step_metrics(int64_t step, const RolloutBatch& batch, const UpdateStats& stats,
                                     const StepTimings& timings, int64_t step_tokens) const {
  nlohmann::json m;
  m["step"] = step;
  const auto rewards = batch.rewards();  // [B*G]
  const auto total = std::vector<double>(rewards.data_ptr<double>(), rewards.data_ptr<double>() + rewards.numel());
  m["reward"] = mean(total);
  double std_sum = 0;
  int zero_std = 0;
  const auto groups = batch.groups.size();
  if (groups > 0) {
    auto stds = group_std(rewards, config_.rollout.group_size).contiguous();  // [B]
    for (std::size_t i = 0; i < groups; ++i) {
      double s = stds.data_ptr<double>()[i];
      std_sum += s;
      zero_std += s == 0 ? 1 : 0;
    }
  }
  m["reward_std"] = groups ? std_sum / static_cast<double>(groups) : 0.0;
  m["frac_reward_zero_std"] = groups ? static_cast<double>(zero_std) / static_cast<double>(groups) : 0.0;
  const auto names = rewards_.names();
  for (std::size_t r = 0; r < names.size(); ++r) {
    std::vector<double> values;
    for (const auto& g : batch.groups)
      for (const auto& s : g.samples) values.push_back(s.scores[r]);
    m["rewards/" + names[r] + "/mean"] = mean(values);
  }
  for (const auto& [name, n] : batch.stats.reward_failures) m["rewards/" + name + "/failures"] = n;
  double len_sum = 0, len_max = 0, clipped = 0, tool_tokens = 0, calls = 0, errors = 0, timeouts = 0, seconds = 0,
         void_turns = 0;
  int64_t rollout_tokens = 0;
  for (const auto& g : batch.groups) {
    for (const auto& s : g.samples) {
      const auto len = static_cast<double>(s.completion.token_ids.size());
      len_sum += len;
      len_max = std::max(len_max, len);
      clipped += s.completion.finish_reason == FinishReason::Length ? 1 : 0;
      rollout_tokens += static_cast<int64_t>(s.completion.token_ids.size());
      tool_tokens += static_cast<double>(s.completion.tool_tokens());
      void_turns += s.completion.void_turn ? 1 : 0;
      for (const auto& t : s.completion.turns) {
        calls += 1;
        errors += t.error.empty() ? 0 : 1;
        timeouts += t.timed_out ? 1 : 0;
        seconds += t.seconds;
      }
    }
  }
  const double count = std::max<double>(1.0, static_cast<double>(batch.num_completions()));
  m["completions/mean_length"] = len_sum / count;
  if (tools_) {  // with tools, both counts: all tokens above, the tools' here
    m["completions/mean_tool_tokens"] = tool_tokens / count;
    m["completions/mean_model_tokens"] = (len_sum - tool_tokens) / count;
    m["tools/calls_mean"] = calls / count;
    m["tools/error_rate"] = calls > 0 ? errors / calls : 0.0;
    m["tools/timeout_rate"] = calls > 0 ? timeouts / calls : 0.0;
    m["tools/seconds"] = calls > 0 ? seconds / calls : 0.0;
    m["turns/mean"] = 1.0 + calls / count;  // a completion's model turns: one more than its calls
    m["tools/void_turn_ratio"] = void_turns / count;  // SimpleTIR's env/void_turn_ratio
  }
  m["completions/max_length"] = len_max;
  m["completions/clipped_ratio"] = clipped / count;
  m["loss"] = stats.loss;
  m["policy_loss"] = stats.policy_loss;
  m["kl"] = stats.kl;
  m["entropy"] = stats.entropy;
  m["clip_ratio/low_mean"] = stats.clip_low;
  m["clip_ratio/high_mean"] = stats.clip_high;
  m["clip_ratio/region_mean"] = stats.clip_low + stats.clip_high;
  if (config_.grpo.clip_ratio_c > 0) m["clip_ratio/dual_mean"] = stats.clip_dual;
  if (config_.grpo.top_entropy_quantile < 1) m["entropy/kept_fraction"] = stats.entropy_kept;
  m["mismatch/kl"] = stats.mismatch_kl;
  m["mismatch/max_abs_logprob"] = stats.mismatch_max_abs;
  m["mismatch/ratio_mean"] = stats.mismatch_ratio;
  if (config_.grpo.rollout_correction != RolloutCorrection::None) m["mismatch/corrected_fraction"] = stats.corrected;
  m["grad_norm"] = stats.grad_norm;
  m["lr"] = stats.lr;
  m["memory/peak_gib"] = stats.peak_memory_gib;
  m["num_tokens"] = state_.num_tokens;
  m["nonfinite_skips"] = state_.nonfinite_skips;
  if (config_.grpo.dynamic_sampling) m["dynamic_sampling/dropped_groups"] = batch.stats.dropped_groups;
  m["epoch"] = sampler_.cursor().epoch;
  m["timing/rollout_s"] = timings.rollout_s;
  m["timing/reward_s"] = timings.reward_s;
  m["timing/logprob_s"] = stats.logprob_s;
  m["timing/update_s"] = timings.update_s;
  m["throughput/update_tokens_per_s"] =
      timings.update_s > 0 ? static_cast<double>(step_tokens) * config_.grpo.num_iterations / timings.update_s : 0.0;
  m["timing/step_s"] = timings.step_s;
  m["throughput/rollout_tokens_per_s"] =
      timings.rollout_s > 0 ? static_cast<double>(rollout_tokens) / timings.rollout_s : 0.0;
  const auto& rs = batch.stats;  // decode slots computed for rows already finished (or empty)
  m["throughput/rollout_wasted_row_steps"] =
      rs.decode_row_steps > 0
          ? static_cast<double>(rs.decode_row_steps - rs.decode_tokens) / static_cast<double>(rs.decode_row_steps)
          : 0.0;
  return m;
}

void Trainer::log_console(int64_t step, const nlohmann::json& m) const {
  std::string per_reward;
  for (const auto& name : rewards_.names()) {
    per_reward += fmt::format(" {} {:.3f}", name, m["rewards/" + name + "/mean"].get<double>());
  }
  const double elapsed = seconds_since(started_);
  const int64_t done = step - start_step_;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(config_.train.steps - step) : 0;
  spdlog::info("step {}/{} | reward {:.3f} |{} | len {:.0f} | kl {:.4f} | clip {:.3f} | {:.0f} tok/s | {} ETA {}",
               step, config_.train.steps, m["reward"].get<double>(), per_reward,
               m["completions/mean_length"].get<double>(), m["kl"].get<double>(),
               m["clip_ratio/region_mean"].get<double>(), m["throughput/rollout_tokens_per_s"].get<double>(),
               human_duration(elapsed), human_duration(eta));
}

void Trainer::log_samples(int64_t step, const RolloutBatch& batch) {
  const auto names = rewards_.names();
  for (const auto& g : batch.groups) {
    for (const auto& s : g.samples) {
      nlohmann::json rewards;
      for (std::size_t r = 0; r < names.size(); ++r) rewards[names[r]] = s.scores[r];
      nlohmann::json line = {{"step", step},
                             {"prompt", g.prompt_text},
                             {"answer", dataset_[g.example_index].answer},
                             {"sample", s.completion.sample},
                             {"completion", s.completion.text},
                             {"completion_tokens", s.completion.token_ids.size()},
                             {"finish_reason", option_name(s.completion.finish_reason)},
                             {"rewards", rewards},
                             {"reward", s.reward},
                             {"advantage", s.advantage}};
      if (tools_) {  // each call: what the model asked, what came back, where its tokens are
        line["turns"] = turns_to_json(s.completion.turns);
        line["tool_tokens"] = s.completion.tool_tokens();
      }
      run_.log("samples.jsonl").write(line);
    }
  }
}

void Trainer::log_memory_estimate() const {
  const int shards = optimizer_->sharded() ? comm_.size() : 1;
  auto m = training_memory(trainable_, shards);
  if (config_.lora.r > 0)  // the frozen base's weights come on top of the adapters'
    for (const auto& p : policy_.model->parameters()) m.weights += p.numel() * static_cast<int64_t>(p.element_size());
  const auto b = [](int64_t bytes) { return human_bytes(static_cast<uint64_t>(bytes)); };
  spdlog::info("memory per rank (estimated, before activations): weights {} + gradients {} + AdamW moments {} + "
               "fp32 masters {} = {}{}",
               b(m.weights), b(m.gradients), b(m.moments), b(m.masters), b(m.total()),
               shards > 1 ? fmt::format(" (optimizer state sharded over {} ranks)", shards) : std::string());
}

}  // namespace r1
